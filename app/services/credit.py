"""Angka kredit of functional posts: the jenjang coefficients HR keeps, and what a result earns.

A result earns the jenjang's annual coefficient × the predikat's share (app.domain.CREDIT_SHARE)
× the months the cycle covers out of twelve. Only positions of kind Fungsional with a jenjang earn
credit points; the figure follows the employee's position at the time it is read.
"""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from flask_babel import gettext as _

from app import audit
from app.domain import CREDIT_SHARE, Predikat, credit_points
from app.extensions import db
from app.inputs import plain_number
from app.models import Account, CreditJenjang, Cycle, CycleKind, Evaluation, PositionKind
from app.services import Refused

MONTHS = {CycleKind.ANNUAL: 12, CycleKind.QUARTERLY: 3, CycleKind.MONTHLY: 1}
MAX_COEFFICIENT = Decimal("1000")
MIN_REASON = 10


@dataclass(frozen=True)
class Credit:
    """What one result earns, with the figures it comes from."""

    jenjang: str
    coefficient: Decimal
    share: int  # percent of the coefficient the predikat earns
    months: int
    points: Decimal


def jenjang_list() -> list[CreditJenjang]:
    """Every jenjang, keterampilan first, lowest first."""
    return list(db.session.scalars(sa.select(CreditJenjang).order_by(CreditJenjang.rank)))


def months_of(cycle: Cycle) -> int:
    """The months a cycle's result counts for."""
    return MONTHS[CycleKind(cycle.kind)]


def credit_of(evaluation: Evaluation) -> Credit | None:
    """The credit points of a rated evaluation of a functional post with a jenjang, else None."""
    position = evaluation.employee.position
    if (
        evaluation.predikat is None
        or position.kind is not PositionKind.FUNGSIONAL
        or position.jenjang is None
    ):
        return None
    jenjang, months = position.jenjang, months_of(evaluation.cycle)
    result = Predikat(evaluation.predikat)
    return Credit(
        jenjang=jenjang.name,
        coefficient=jenjang.coefficient,
        share=CREDIT_SHARE[result],
        months=months,
        points=credit_points(jenjang.coefficient, result, months),
    )


def coefficient_problem(typed: str | None) -> tuple[Decimal | None, str | None]:
    """The coefficient typed ("12,5" or "12.5"), or why it cannot be one."""
    if typed is None or not str(typed).strip():
        return None, _("Isi koefisien tahunan.")
    try:
        value = Decimal(plain_number(str(typed)))
    except InvalidOperation:
        return None, _("Isi dengan angka, misalnya 12,5.")
    if not value.is_finite() or value <= 0 or value >= MAX_COEFFICIENT:
        return None, _("Koefisien lebih dari 0 dan kurang dari %(max)d.", max=MAX_COEFFICIENT)
    if value != value.quantize(Decimal("0.01")):
        return None, _("Paling banyak dua angka di belakang koma.")
    return value, None


def save_coefficients(typed: dict[str, str], reason: str, actor: Account | None) -> list[str]:
    """Set the coefficients of the jenjang (code → typed value); audited with the reason; commits.
    Returns the names of the jenjang that changed."""
    rows = {row.code: row for row in jenjang_list()}
    errors: dict[str, str] = {}
    values: dict[str, Decimal] = {}
    for code, text in typed.items():
        if code not in rows:
            errors[""] = _("Jenjang tidak dikenal.")
            continue
        value, problem = coefficient_problem(text)
        if problem:
            errors[code] = problem
        else:
            values[code] = value
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON:
        errors["reason"] = _("Tuliskan alasan perubahan (paling sedikit %(n)d karakter).", n=MIN_REASON)
    if errors:
        raise Refused(errors)
    changed = {code: value for code, value in values.items() if value != rows[code].coefficient}
    if not changed:
        raise Refused(_("Tidak ada yang berubah."))
    before = {rows[code].name: str(rows[code].coefficient) for code in changed}
    for code, value in changed.items():
        rows[code].coefficient = value
    audit.record(
        "credit.coefficients_changed",
        actor=actor,
        object_type="credit_jenjang",
        comment=reason,
        data={"before": before, "after": {rows[code].name: str(value) for code, value in changed.items()}},
    )
    db.session.commit()
    return [rows[code].name for code in changed]
