"""Migrations keep the data: on SQLite a changed table is copied and the old one dropped, which
must not take the rows that refer to it along (RHK of evaluations, appeals, employees)."""

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from app.extensions import db as _db
from app.models import Employee, Evaluation, Indicator, Rhk
from tests.conftest import ON_POSTGRES
from tests.test_workflow_services import World

pytestmark = pytest.mark.skipif(ON_POSTGRES, reason="PostgreSQL changes tables in place")

BEFORE_TABLE_COPIES = "e8e88a8aeba5"  # later revisions copy evaluation, position and distribution_band


def counts() -> dict[str, int]:
    _db.session.remove()
    return {
        model.__tablename__: _db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (Employee, Evaluation, Rhk, Indicator)
    }


def test_downgrading_and_upgrading_keeps_every_row(app, make):
    World(make).appealed()  # an SKP with RHK and indicators, a review and a keberatan
    before = counts()
    assert before["rhk"] > 0
    downgrade(revision=BEFORE_TABLE_COPIES)
    assert counts() == before
    upgrade()
    assert counts() == before
    problems = _db.session.execute(sa.text("PRAGMA foreign_key_check")).all()
    assert problems == []
