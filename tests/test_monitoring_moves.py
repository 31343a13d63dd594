"""When HR moves an evaluation's rater (Plt./Plh., mutasi), the monitoring stage follows: the
open follow-ups the old rater agreed to own pass to the new rater, done ones keep their owner,
and the employee's own follow-ups stay hers."""

from datetime import timedelta

import sqlalchemy as sa

from app.extensions import db as _db
from app.models.monitoring import FollowUp
from app.services.home import for_account
from app.workflow import reassign
from app.workflow.monitoring import dialog
from tests.test_dialog_records import TODAY, World, row


def owners() -> dict[str, int]:
    _db.session.expire_all()
    return {f.action: f.owner_id for f in _db.session.scalars(sa.select(FollowUp))}


def test_the_new_rater_takes_over_the_open_follow_ups_of_the_old_one(make):
    world = World(make)
    org = world.org
    record = world.dialogue(
        follow_ups=[
            row("Uji coba antrean daring di poli umum", TODAY + timedelta(days=3), "employee", 0),
            row("Minta tambahan petugas pendaftaran", TODAY + timedelta(days=3), "rater", 1),
            row("Rapat dengan dinas kesehatan", TODAY + timedelta(days=5), "rater", 2),
        ]
    )
    done = next(f for f in record.follow_ups if f.action == "Rapat dengan dinas kesehatan")
    dialog.complete_follow_up(done, org["head"].account, "Sudah dibahas.")
    acting = make.employee("Plh. Kepala Puskesmas", supervisor=org["camat"], unit=org["puskesmas"])
    _db.session.refresh(world.ev)
    reassign.reassign_evaluations(
        [world.ev], org["hr"].account, rater=acting, handler=None, reason="Cuti besar", until=None
    )
    assert owners() == {
        "Uji coba antrean daring di poli umum": org["nurse"].id,
        "Minta tambahan petugas pendaftaran": acting.id,
        "Rapat dengan dinas kesehatan": org["head"].id,  # done: it stays where it was done
    }
    acting_home = for_account(acting.account)
    assert any("Minta tambahan petugas pendaftaran" in task.action for task in acting_home.tasks)
    head_home = for_account(org["head"].account)
    assert not any("Minta tambahan petugas pendaftaran" in task.action for task in head_home.tasks)
