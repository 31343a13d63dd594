"""How many evaluations each unit has in each state and predikat, per cycle, kept by the database.

The HR dashboard, the distribution page and the HR home read these counters instead of grouping
a cycle's 100 000 evaluations on every view. Triggers made by migration 9c2e4b7f1a36 keep them
(statement-level with transition tables on PostgreSQL, per row on SQLite) on every INSERT,
UPDATE and DELETE of `evaluation` and every INSERT and DELETE of `rhk`, so no code path, bulk or
not, can leave them behind. A row whose count fell to zero stays, with `n` 0.
"""

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.evaluation import Evaluation, Rhk

# A drafted SKP with no RHK yet is counted under this state instead of "targets_draft" (the
# dashboard's "belum mulai"); the RHK triggers move it when its first RHK is added or its last
# removed. An RHK never moves from one evaluation to another.
NOT_STARTED = "targets_empty"


class EvaluationTally(db.Model):
    """The number `n` of a cycle's evaluations in one unit, state and predikat ("" for none)."""

    __tablename__ = "evaluation_tally"

    cycle_id: Mapped[int] = mapped_column(sa.ForeignKey("cycle.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(sa.String(24), primary_key=True)
    predikat: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    n: Mapped[int]

    @classmethod
    def recount(cls) -> sa.Select:
        """The same counts grouped from `evaluation` itself (what the triggers must keep equal)."""
        written = sa.exists().where(Rhk.evaluation_id == Evaluation.id)
        state = sa.case(
            (sa.and_(Evaluation.state == "targets_draft", ~written), NOT_STARTED), else_=Evaluation.state
        )
        predikat = sa.func.coalesce(sa.type_coerce(Evaluation.predikat, sa.String), "")
        return sa.select(Evaluation.cycle_id, Evaluation.unit_id, state, predikat, sa.func.count()).group_by(
            Evaluation.cycle_id, Evaluation.unit_id, state, predikat
        )
