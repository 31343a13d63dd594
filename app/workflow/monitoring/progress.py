"""Monitoring stage: progress (see app/workflow/monitoring/__init__.py)."""

from app.models import Account, Evaluation


def page_part(evaluation: Evaluation, actor: Account | None, roles: set[str]):
    """What the evaluation page shows of this part for this person (None: nothing)."""
    return None
