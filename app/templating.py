"""Jinja helpers: the policy, local-time formatting, navigation."""

from flask import Flask
from flask_babel import format_datetime
from flask_login import current_user

from app import clock
from app.policy import Action, can


def register_template_helpers(app: Flask) -> None:
    """Expose `can`, `Action` and the `localtime` filter to templates."""

    @app.context_processor
    def inject():
        def may(action, target=None) -> bool:
            return can(current_user, action, target)

        return {"can": may, "Action": Action, "agency_name": app.config["AGENCY_NAME"]}

    @app.template_filter("localtime")
    def localtime(value, fmt: str = "d MMM yyyy HH.mm"):
        if value is None:
            return "–"
        return format_datetime(value.astimezone(clock.tz()), fmt)
