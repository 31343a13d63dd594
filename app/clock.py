"""The one clock: every deadline check, job and audit stamp asks `now()`.

Tests move time with `travel_to()` / `reset()` instead of patching the world; the demo replays
past days inside `kept()`.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

_frozen: datetime | None = None
_offset = timedelta(0)


def tz() -> ZoneInfo:
    """The configured time zone (Asia/Jakarta unless TIMEZONE says otherwise)."""
    name = current_app.config["TIMEZONE"] if has_app_context() else "Asia/Jakarta"
    return ZoneInfo(name)


def utcnow() -> datetime:
    """The current instant as an aware UTC datetime."""
    if _frozen is not None:
        return _frozen
    return datetime.now(UTC) + _offset


def now() -> datetime:
    """The current instant as an aware datetime in the configured time zone."""
    return utcnow().astimezone(tz())


def end_of_day_after(instant: datetime, days: int) -> datetime:
    """The last moment (UTC) of the calendar day `days` days after the local day of `instant`: a
    period of "14 hari" that starts on the 1st ends on the 15th at 23:59:59.999999 local time."""
    last_day = instant.astimezone(tz()).date() + timedelta(days=days)
    return datetime.combine(last_day, time.max, tzinfo=tz()).astimezone(UTC)


def travel_to(moment: datetime, *, frozen: bool = True) -> None:
    """Set the clock to `moment` (aware); frozen, or ticking on from there."""
    global _frozen, _offset
    if moment.tzinfo is None:
        raise ValueError("travel_to needs an aware datetime")
    if frozen:
        _frozen, _offset = moment.astimezone(UTC), timedelta(0)
    else:
        _frozen, _offset = None, moment.astimezone(UTC) - datetime.now(UTC)


def advance(delta: timedelta) -> None:
    """Move the clock forward by `delta`."""
    global _frozen, _offset
    if _frozen is not None:
        _frozen += delta
    else:
        _offset += delta


def reset() -> None:
    """Back to real time."""
    global _frozen, _offset
    _frozen, _offset = None, timedelta(0)


@contextmanager
def kept() -> Iterator[None]:
    """Let the block move the clock (to replay past days); afterwards it reads as it did before."""
    global _frozen, _offset
    saved = _frozen, _offset
    try:
        yield
    finally:
        _frozen, _offset = saved
