"""What the monitoring stage asks of people, for the home pages and the reminder digests: each
part (app/services/progress.py, dialog.py, coaching.py, peers.py) answers for one person in a
fixed number of statements, and for the digests for everyone at once.

A digest item is a dict: task (the words), employee (whom it is about, or None for one's own),
cycle, deadline_text, days_left, path (the page, from the site root).
"""

from datetime import date, datetime

from app.models import Account
from app.services.tasks import Task


def _parts():
    from app.services import coaching, dialog, peers, progress

    return (progress, dialog, coaching, peers)


def home_tasks(account: Account, now: datetime) -> list[Task]:
    """The monitoring tasks on this person's home page."""
    found: list[Task] = []
    for part in _parts():
        found.extend(part.home_tasks(account, now))
    return found


def digest_items(now: datetime, today: date) -> dict[int, tuple[tuple, list[dict]]]:
    """Per employee id: ((id, name, email), items) of what the monitoring stage reminds them of today."""
    merged: dict[int, tuple[tuple, list[dict]]] = {}
    for part in _parts():
        for person_id, (recipient, items) in part.digest_items(now, today).items():
            merged.setdefault(person_id, (recipient, []))[1].extend(items)
    return merged
