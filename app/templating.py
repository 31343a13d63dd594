"""Jinja helpers: the policy, local-time formatting, labels for codes, navigation.

Every code a person may see (states, audit actions, predikat, outbox states) is shown through
one filter, `label`, reading the one mapping per kind (app/domain.py, app/workflow/definitions.py).
"""

import re
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import dates
from flask import Flask, g
from flask_babel import get_locale, get_translations
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup, escape

from app import clock
from app.domain import (
    MESSAGE_STATE_LABELS,
    OBJECT_LABELS,
    ORG_PREDIKAT_LABELS,
    PREDIKAT_LABELS,
    PREDIKAT_TONES,
    RATING_LABELS,
    RATING_TONES,
    Predikat,
)
from app.models import EvaluationState as E
from app.policy import Action, can
from app.services.cockpit import NOT_STARTED
from app.workflow.definitions import (
    ACTION_LABELS,
    EVALUATION_STATE_LABELS,
    LOCKED_EARLY_LABELS,
    LOCKED_LATE_LABELS,
    STATE_LABELS,
)

# One mapping per kind of code; `label(code, kind)` looks it up, and shows an unknown code as it is.
LABELS = {
    "state": STATE_LABELS,
    "action": ACTION_LABELS,
    "predikat": {str(k): v for k, v in PREDIKAT_LABELS.items()},
    "org_predikat": {str(k): v for k, v in ORG_PREDIKAT_LABELS.items()},
    "rating": {str(k): v for k, v in RATING_LABELS.items()},
    "message": MESSAGE_STATE_LABELS,
    "object": OBJECT_LABELS,
}
TONES = {
    "predikat": {str(k): v for k, v in PREDIKAT_TONES.items()},
    "rating": {str(k): v for k, v in RATING_TONES.items()},
}

# Links in plain text: http and https only (never javascript: or data:), ending before spaces,
# quotes and angle brackets; a sentence's closing punctuation is not part of the link.
URL = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
TRAILING = ".,;:!?)]}'\""
PREDIKAT_CODES = frozenset(p.value for p in Predikat)


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
        return label(value, "state")

    @app.template_filter("action_label")
    def action_label(value: str) -> str:
        return label(value, "action")

    # A lock's label when HR closed the phase early (app/workflow/locks.py says which).
    app.jinja_env.globals["zone_name"] = zone_name
    app.jinja_env.globals["early_labels"] = {str(k): v for k, v in LOCKED_EARLY_LABELS.items()}
    app.jinja_env.globals["late_labels"] = {str(k): v for k, v in LOCKED_LATE_LABELS.items()}
    app.add_template_filter(localtime, "localtime")
    app.add_template_filter(label, "label")
    app.add_template_filter(tone, "tone")
    app.add_template_filter(badge, "badge")
    app.add_template_filter(linkify, "linkify")
    app.add_template_filter(audit_comment, "audit_comment")
    app.add_template_filter(sentence, "sentence")


def label(value, kind: str = "state") -> str:
    """The Indonesian label of a code of one kind (state, action, predikat, org_predikat, rating,
    message, object); an unknown code is shown as it is."""
    if value is None:
        return ""
    code = str(getattr(value, "value", value))
    return str(LABELS[kind].get(code, code))


def tone(value, kind: str = "predikat") -> str:
    """The Bootstrap tone (success, warning, danger) saying what a predikat or rating means."""
    code = str(getattr(value, "value", value))
    return TONES[kind].get(code, "secondary")


def badge(value, kind: str = "predikat", extra: str = "") -> Markup:
    """A badge with the label of a predikat or rating in the colour of its meaning."""
    if value is None:
        return Markup("–")
    classes = f"badge text-bg-{tone(value, kind)} {extra}".strip()
    return Markup('<span class="{}">{}</span>').format(classes, label(value, kind))


def linkify(text: str | None) -> Markup:
    """Plain text as HTML: everything escaped, then each http(s) address made a link."""
    if not text:
        return Markup("")
    # Plain strings joined once: Markup.format per address, or Markup arithmetic, cost 3-4x as
    # much, and this runs for every email body of a reminder run (raters' digests list addresses).
    parts, last = [], 0
    for match in URL.finditer(text):
        url = match.group(0).rstrip(TRAILING)
        end = match.start() + len(url)
        if not url.split("://", 1)[1]:
            continue
        address = str(escape(url))
        parts.append(str(escape(text[last : match.start()])))
        parts.append(f'<a href="{address}" rel="noopener noreferrer">{address}</a>')
        last = end
    parts.append(str(escape(text[last:])))
    # Every piece is escape()'s output or the link's fixed tags around it (tests/test_linkify.py).
    return Markup("".join(parts))  # nosec B704


def audit_comment(event) -> str:
    """An audit row's comment as a person reads it: a recorded code (the predikat of a review)
    becomes its label."""
    comment = event.comment or ""
    if event.action in ("evaluation.review", "evaluation.decide_appeal") and comment in PREDIKAT_CODES:
        return _("predikat %(p)s", p=label(comment, "predikat"))
    return comment


def sentence(text: str | None) -> str:
    """Typed text as a sentence ending in one full stop (or its own ! ? …): what follows it never
    doubles the punctuation ("Ekspektasi.. Keputusan")."""
    text = (text or "").strip()
    return text if not text or text.endswith((".", "!", "?", "…")) else text + "."


def zone_name() -> str:
    """The configured zone's abbreviation (WIB, WITA, WIT), for date fields typed in local time."""
    return localtime(clock.utcnow(), "z")


def localtime(value: datetime | None, fmt: str = "d MMM yyyy HH.mm z") -> str:
    """An instant as local time in the current locale with the zone's abbreviation (WIB, WITA,
    WIT for the configured TIMEZONE): the `localtime` filter, also for text prepared outside a
    template, such as a digest's deadline."""
    if value is None:
        return "–"
    zone = clock.tz()
    return _local_text(value.astimezone(zone), fmt, str(get_locale()), str(zone))


@lru_cache(maxsize=4096)
def _local_text(value: datetime, fmt: str, locale: str, zone: str) -> str:
    """Babel's formatting, remembered: a digest or a page repeats the same deadline many times.

    The text depends only on the instant, the pattern, the locale and the zone, which are the key.
    The zone is the configured TIMEZONE (the one deadlines are computed in), so the abbreviation
    always names the zone the time is written in.
    """
    return dates.format_datetime(value, fmt, tzinfo=ZoneInfo(zone), locale=locale)


def progress_columns(units) -> list[tuple[str, str]]:
    """The columns of a progress table (the dashboard's, the progress recap's): (state, label) for the
    states that occur in `units` (app.services.cockpit.UnitProgress), in workflow order."""
    used = {state for unit in units for state in unit.states}
    # a column counts locks of both causes (deadline passed, phase closed early by HR)
    locked = {
        E.TARGETS_LOCKED: _("SKP terkunci"),
        E.ASSESSMENT_LOCKED: _("Penilaian mandiri terkunci"),
    }
    columns = [(NOT_STARTED, _("SKP belum ditulis"))] if NOT_STARTED in used else []
    columns += [
        (s.value, str(locked.get(s, label)))
        for s, label in EVALUATION_STATE_LABELS.items()
        if s.value in used
    ]
    return columns
