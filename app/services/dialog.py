"""Monitoring stage, dialog: what it asks of whom (read by app/services/monitoring.py)."""

from datetime import date, datetime

from app.models import Account
from app.services.tasks import Task


def home_tasks(account: Account, now: datetime) -> list[Task]:
    """This person's tasks of this part, for the home page."""
    return []


def digest_items(now: datetime, today: date) -> dict[int, tuple[tuple, list[dict]]]:
    """Per employee id: ((id, name, email), items) to remind them of today."""
    return {}
