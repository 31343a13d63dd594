"""Guards: each answers why a transition may not happen now (Bahasa Indonesia), or None.

A guard gets the record (evaluation or cycle) and the context the service passes (comment,
reasons). Names are referenced from app/workflow/definitions.py.
"""

import sqlalchemy as sa
from flask_babel import gettext as _

from app import clock
from app.domain import Rating
from app.extensions import db
from app.models import Cycle, CycleKind, Evaluation, EvaluationState, Indicator, Rhk, RhkKind
from app.templating import localtime
from app.workflow.definitions import OWN_PHASE, SETTLED, WITHDRAWABLE

# Each RHK of an evaluation with its number of indicators; on the tables (no ORM entity to build),
# built once: every approval runs it.
_rhk, _indicator = Rhk.__table__, Indicator.__table__
_RHK_INDICATORS = (
    sa.select(_rhk.c.kind, _rhk.c.text, sa.func.count(_indicator.c.id))
    .select_from(_rhk.outerjoin(_indicator, _indicator.c.rhk_id == _rhk.c.id))
    .where(_rhk.c.evaluation_id == sa.bindparam("evaluation_id"))
    .group_by(_rhk.c.id, _rhk.c.kind, _rhk.c.text, _rhk.c.position)
    .order_by(_rhk.c.position, _rhk.c.id)
)


def targets_complete(evaluation: Evaluation, ctx: dict) -> str | None:
    """At least one RHK utama, and every RHK with at least one indicator (one query)."""
    rows = db.session.execute(_RHK_INDICATORS, {"evaluation_id": evaluation.id}).all()
    if not any(RhkKind(kind) is RhkKind.MAIN for kind, _text, _n in rows):
        return _("SKP belum memiliki RHK utama.")
    empty = [text[:60] for _kind, text, indicators in rows if not indicators]
    if empty:
        return _("RHK berikut belum memiliki indikator: %(rhk)s", rhk="; ".join(empty))
    return None


def realisations_complete(evaluation: Evaluation, ctx: dict) -> str | None:
    """Every indicator has a realisation."""
    missing = [i.text[:60] for i in evaluation.indicators if i.realisation is None]
    if missing:
        return _("Realisasi belum diisi untuk: %(iki)s", iki="; ".join(missing))
    return None


def comment_given(evaluation: Evaluation, ctx: dict) -> str | None:
    """Returning needs a comment saying what to fix."""
    if not (ctx.get("comment") or "").strip():
        return _("Tulis komentar tentang apa yang perlu diperbaiki.")
    return None


def ratings_given(evaluation: Evaluation, ctx: dict) -> str | None:
    """Both ratings are chosen."""
    if evaluation.results_rating is None or evaluation.behaviour_rating is None:
        return _("Pilih rating hasil kerja dan rating perilaku kerja.")
    return None


def feedback_for_below(evaluation: Evaluation, ctx: dict) -> str | None:
    """A rating below expectation must come with written feedback."""
    if evaluation.results_rating is Rating.BELOW:
        if not (evaluation.review_summary or "").strip() and not any(
            (i.feedback or "").strip() for i in evaluation.indicators
        ):
            return _(
                "Rating hasil kerja Di Bawah Ekspektasi wajib disertai umpan balik tertulis "
                "(umpan balik indikator atau catatan penilaian)."
            )
    if evaluation.behaviour_rating is Rating.BELOW:
        if not (evaluation.review_summary or "").strip() and not any(
            (note.feedback or "").strip() for note in evaluation.behaviour
        ):
            return _(
                "Rating perilaku kerja Di Bawah Ekspektasi wajib disertai umpan balik tertulis "
                "(umpan balik perilaku atau catatan penilaian)."
            )
    return None


def within_appeal_window(evaluation: Evaluation, ctx: dict) -> str | None:
    """Keberatan only within the window after the result was delivered."""
    if evaluation.appeal_until is None or clock.utcnow() > evaluation.appeal_until:
        return _("Masa pengajuan keberatan sudah berakhir.")
    if evaluation.appeal_handler_id is None:
        return _(
            "Atasan pejabat penilai Anda tidak terdaftar dalam sistem; ajukan keberatan tertulis "
            "melalui admin kepegawaian."
        )
    return None


def appeal_window_closed(evaluation: Evaluation, ctx: dict) -> str | None:
    """A reviewed result becomes final only after the window closed."""
    if evaluation.appeal_until is not None and clock.utcnow() <= evaluation.appeal_until:
        return _("Masa keberatan belum berakhir.")
    return None


def no_active_extension(evaluation: Evaluation, ctx: dict) -> str | None:
    """A deadline lock spares an evaluation whose personal extension of that phase still runs."""
    if (
        evaluation.extended_until is not None
        and evaluation.extended_phase == OWN_PHASE.get(evaluation.state)
        and clock.utcnow() <= evaluation.extended_until
    ):
        return _("Tenggat pegawai ini diperpanjang sampai %(t)s.", t=localtime(evaluation.extended_until))
    return None


def reasons_given(evaluation: Evaluation, ctx: dict) -> str | None:
    """A keberatan needs its reasons."""
    if len((ctx.get("reasons") or "").strip()) < 20:
        return _("Tuliskan alasan keberatan (minimal 20 karakter).")
    return None


def decision_reasons_given(evaluation: Evaluation, ctx: dict) -> str | None:
    """A decision needs its reasons."""
    if not (ctx.get("reasons") or "").strip():
        return _("Tuliskan alasan keputusan.")
    return None


def annual(cycle: Cycle, ctx: dict) -> str | None:
    """Only for annual cycles."""
    return None if cycle.kind is CycleKind.ANNUAL else _("Hanya untuk periode tahunan.")


def periodic(cycle: Cycle, ctx: dict) -> str | None:
    """Only for periodic cycles, which need their annual cycle."""
    if cycle.kind is CycleKind.ANNUAL:
        return _("Hanya untuk periode triwulan/bulanan.")
    if cycle.annual_cycle_id is None:
        return _("Periode berkala harus merujuk periode tahunan.")
    return None


def has_scope(cycle: Cycle, ctx: dict) -> str | None:
    """A cycle covers at least one unit."""
    return None if cycle.units else _("Pilih minimal satu unit kerja.")


def next_phase_untouched(cycle: Cycle, ctx: dict) -> str | None:
    """A phase reopens only while nobody has worked in the next one."""
    ids = sa.select(Evaluation.id).where(Evaluation.cycle_id == cycle.id)
    if cycle.state == "self_assessment":
        started = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Indicator)
            .join(Rhk)
            .where(Rhk.evaluation_id.in_(ids), Indicator.realisation.is_not(None))
        ) or db.session.scalar(
            sa.select(sa.func.count()).where(
                Evaluation.cycle_id == cycle.id,
                Evaluation.state.in_([EvaluationState.ASSESSMENT_SUBMITTED, EvaluationState.REVIEWED]),
            )
        )
    else:
        started = db.session.scalar(
            sa.select(sa.func.count()).where(
                Evaluation.cycle_id == cycle.id,
                Evaluation.state.in_(
                    [EvaluationState.REVIEWED, EvaluationState.APPEALED, EvaluationState.DECIDED]
                ),
            )
        )
    if started:
        return _(
            "Fase berikutnya sudah berjalan (%(n)d pegawai), sehingga fase ini tidak dapat dibuka kembali.",
            n=started,
        )
    return None


def nothing_pending(cycle: Cycle, ctx: dict) -> str | None:
    """Publication waits for open appeal windows and undecided appeals."""
    now = clock.utcnow()
    pending = db.session.scalar(
        sa.select(sa.func.count()).where(
            Evaluation.cycle_id == cycle.id,
            sa.or_(
                Evaluation.state == EvaluationState.APPEALED,
                sa.and_(Evaluation.state == EvaluationState.REVIEWED, Evaluation.appeal_until > now),
            ),
        )
    )
    if pending:
        return _("%(n)d penilaian masih dalam masa keberatan atau keberatannya belum diputus.", n=pending)
    return None


def everyone_settled(cycle: Cycle, ctx: dict) -> str | None:
    """Publication covers everyone: each evaluation is rated, or withdrawn or marked "tidak dinilai"
    by HR (those still without either block it, listed on the publication page)."""
    unsettled = db.session.scalar(
        sa.select(sa.func.count()).where(
            Evaluation.cycle_id == cycle.id,
            Evaluation.state.not_in([str(s) for s in SETTLED + (EvaluationState.APPEALED,)]),
        )
    )
    if unsettled:
        return _(
            "%(n)d penilaian belum dinilai atasan: tandai tidak dinilai (dengan alasan) atau kecualikan "
            "dari periode sebelum mengumumkan.",
            n=unsettled,
        )
    return None


def _left(state: str):
    def left(evaluation: Evaluation, ctx: dict) -> str | None:
        """Taken back to the state it left when HR set it aside."""
        return None if evaluation.set_aside_from == state else _("Status asal penilaian ini berbeda.")

    return left


GUARDS = {name: func for name, func in globals().items() if callable(func) and func.__module__ == __name__}
GUARDS.pop("_left")
GUARDS.update({f"left_{state}": _left(str(state)) for state in WITHDRAWABLE})
