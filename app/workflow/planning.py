"""Planning helpers: copy last period's approved SKP into a new draft, and RHK templates per
position that HR or a unit head publishes for employees to start from. Both keep the cascade
links to the supervisor's current RHK."""

from app.models import Account, Evaluation


def page_part(evaluation: Evaluation, actor: Account | None, roles: set[str]):
    """What the SKP draft offers to start from for this person (None: nothing)."""
    return None
