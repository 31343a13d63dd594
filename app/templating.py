"""Jinja helpers: the policy, local-time formatting, navigation."""

from datetime import datetime
from decimal import Decimal
from functools import lru_cache

from flask import Flask, g
from flask_babel import format_datetime, get_locale, get_timezone, get_translations
from flask_login import current_user

from app import clock
from app.policy import Action, can
from app.workflow.definitions import ACTION_LABELS, STATE_LABELS


def _translations():
    """The current locale's catalogue, looked up once per request and locale.

    Flask-Babel's own `get_translations()` walks its context, domain and locale on every call
    (about 24 µs); a page calls it a few hundred times. `force_locale` (emails) sets another
    locale object, which this notices.
    """
    locale = get_locale()
    cached = g.get("_translations")
    if cached is None or cached[0] is not locale:
        cached = (locale, get_translations())
        g._translations = cached
    return cached[1]


def register_template_helpers(app: Flask) -> None:
    """Expose `can`, `Action` and the `localtime` filter to templates."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
        newstyle=True,
    )

    @app.context_processor
    def inject():
        def may(action, target=None) -> bool:
            return can(current_user, action, target)

        return {"can": may, "Action": Action, "agency_name": app.config["AGENCY_NAME"]}

    @app.template_filter("number")
    def number(value) -> str:
        if value is None:
            return ""
        text = format(Decimal(value).normalize(), "f")
        return text.replace(".", ",")

    @app.template_filter("state_label")
    def state_label(value: str) -> str:
        return str(STATE_LABELS.get(value, value))

    @app.template_filter("action_label")
    def action_label(value: str) -> str:
        return str(ACTION_LABELS.get(value, value))

    app.add_template_filter(localtime, "localtime")


def localtime(value: datetime | None, fmt: str = "d MMM yyyy HH.mm") -> str:
    """An instant as local time in the current locale (the `localtime` filter; also for text
    prepared outside a template, such as a digest's deadline)."""
    if value is None:
        return "–"
    return _local_text(value.astimezone(clock.tz()), fmt, str(get_locale()), str(get_timezone()))


@lru_cache(maxsize=4096)
def _local_text(value: datetime, fmt: str, locale: str, zone: str) -> str:
    """Babel's formatting, remembered: a digest or a page repeats the same deadline many times.

    The text depends only on the instant, the pattern, the locale and the zone, which are the key
    (the caller passes the locale and zone of the context that formats it).
    """
    return format_datetime(value, fmt)
