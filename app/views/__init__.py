"""Thin routes, one module per blueprint: parse, authorise, call a service, render."""

import sqlalchemy as sa
from flask import abort, flash, send_file
from flask_babel import gettext as _
from flask_login import current_user
from flask_sqlalchemy.pagination import Pagination

from app.extensions import csrf, db
from app.inputs import int_or_none, keeps_typed_input, page_number
from app.services import Refused


def form_checks_csrf(view):
    """Mark a view whose form checks the CSRF token itself and re-renders when refused.

    Such a view re-renders the form with a message when the token is missing or expired, or
    when the input held characters no field may hold (app/inputs.py), so the user keeps what
    they typed. Every other POST is checked by CSRFProtect, and cleaned, before the view.
    """
    return csrf.exempt(keeps_typed_input(view))


def form_version(raw) -> int:
    """The version a state-changing form was rendered with; a form without a readable one is
    refused, never taken as "no check" (it would overwrite a change made meanwhile)."""
    version = int_or_none(raw, minimum=1)
    if version is None:
        raise Refused(
            _(
                "Formulir ini tidak membawa versi data yang dapat dibaca, sehingga tidak ada yang "
                "diubah. Muat ulang halaman lalu coba lagi."
            )
        )
    return version


def send_stored(row, path):
    """An uploaded file (`row`: its content type and name) as a download, or 404 when it is gone.

    Always a download, never rendered in our origin; app/security.py adds nosniff and a sandbox
    Content-Security-Policy (SANDBOXED_ENDPOINTS). Personal data: no shared cache may keep it.
    """
    if not path.exists():
        abort(404)
    response = send_file(
        path, mimetype=row.content_type, download_name=row.filename, as_attachment=True, max_age=0
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


def actor():
    """The signed-in account (the real object, not the proxy)."""
    return current_user._get_current_object() if current_user.is_authenticated else None


def apply_refusal(form, refusal) -> None:
    """Put a service's refusal next to the fields it concerns; form-wide ones go to the form's
    `general_errors` when it shows them itself (a page of many forms), else they are flashed."""
    for field_name, message in refusal.errors.items():
        field = getattr(form, field_name, None) if field_name else None
        if field is not None:
            field.errors = list(field.errors) + [message]
        elif hasattr(form, "general_errors"):
            form.general_errors.append(message)
        else:
            flash(message, "danger")


class ListPage(Pagination):
    """A page of a list already in memory (a computed table), for the `pager` macro."""

    def __init__(self, items: list, per_page: int):
        self._all = items
        super().__init__(per_page=per_page, max_per_page=None, error_out=False)

    def _query_items(self) -> list:
        start = (self.page - 1) * self.per_page
        return self._all[start : start + self.per_page]

    def _query_count(self) -> int:
        return len(self._all)


class RowPage(Pagination):
    """A page of a statement's rows as they are (named tuples, not ORM objects: `db.paginate`
    keeps the first column only), for the `pager` macro."""

    def __init__(self, statement: sa.Select, per_page: int):
        self._statement = statement
        # the page as every list reads it (`page_number`: "٣" or an OFFSET the database cannot
        # hold is the first page), not Flask-SQLAlchemy's own int()
        super().__init__(page=page_number(), per_page=per_page, max_per_page=None, error_out=False)

    def _query_items(self) -> list:
        return db.session.execute(self._statement.limit(self.per_page).offset(self._query_offset)).all()

    def _query_count(self) -> int:
        counted = self._statement.order_by(None).subquery()
        return db.session.scalar(sa.select(sa.func.count()).select_from(counted))
