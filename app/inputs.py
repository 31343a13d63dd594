"""Input hygiene, configured once in the app factory: one request-cleaning step and one integer parser.

- `parse_int` reads an integer written in ASCII digits within the database's 32-bit range. Every
  integer taken from a request goes through it: path ids (`<int:...>`), query arguments, form
  fields and selects, the `version` of a form. `str.isdigit()` and `int()` accept "²" or "٣",
  and PostgreSQL refuses 2147483648 in an integer column, so neither may read a request.
- `clean_request` runs before every view: a control character (C0 except tab, newline and
  carriage return, and DEL), a UTF-16 surrogate, or text that is not UTF-8 in the path, the query
  string, a form field (name or value) or an upload's file name is refused with 400 — PostgreSQL
  cannot store NUL, and none of these is ever typed on purpose. A view that re-renders its own
  form (`keeps_typed_input`, which `app.views.form_checks_csrf` applies) still runs, so what was
  typed is not lost: it receives the input without those characters plus the names of the
  affected fields (`unreadable_fields()`), the form puts the message next to them, and the answer
  is 400 whatever the view returns. Every other request gets the 400 error page before its view.
"""

import re
from urllib.parse import unquote_to_bytes

from flask import Flask, current_app, g, has_request_context, request
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter, ValidationError

INT_MIN, INT_MAX = -(2**31), 2**31 - 1  # PostgreSQL `integer`, the type of every id and version
_INTEGER = re.compile(r"-?[0-9]+")
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffd]")  # U+FFFD: undecodable bytes
_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
_FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}
KEEPS_TYPED_INPUT = "keeps_typed_input"

UNREADABLE_MESSAGE = _l(
    "Isian memuat karakter yang tidak diizinkan (karakter kendali atau teks yang rusak); karakter itu "
    "sudah dibuang dan belum ada yang disimpan. Periksa isian lalu kirim ulang."
)


class OutOfRange(ValueError):
    """An integer the database cannot store (or beyond the bounds asked for)."""


def parse_int(value, *, minimum: int = INT_MIN, maximum: int = INT_MAX) -> int:
    """An integer in ASCII digits (optional minus) within [minimum, maximum]; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError("not an integer")
    text = value.strip() if isinstance(value, str) else ""
    if isinstance(value, int):
        number = value
    elif not _INTEGER.fullmatch(text):
        raise ValueError(f"not an integer: {value!r:.40}")
    elif len(text.lstrip("-").lstrip("0")) > 10:  # far beyond any bound: not worth converting
        raise OutOfRange(f"{text:.40} has too many digits")
    else:
        number = int(text)
    if not minimum <= number <= maximum:
        raise OutOfRange(f"{number} is outside {minimum}..{maximum}")
    return number


def int_or_none(value, *, minimum: int = INT_MIN, maximum: int = INT_MAX) -> int | None:
    """`parse_int`, or None when the value is not such an integer."""
    try:
        return parse_int(value, minimum=minimum, maximum=maximum)
    except ValueError:
        return None


def page_number() -> int:
    """The `page` query argument of a list (1 when absent, unreadable, or outside a request)."""
    if not has_request_context():
        return 1
    return int_or_none(request.args.get("page"), minimum=1) or 1


class IdConverter(IntegerConverter):
    """`<int:...>` in a route: ASCII digits within the database's range, else no match (404)."""

    regex = r"[0-9]{1,10}"

    def to_python(self, value: str) -> int:
        """The id, or no match."""
        try:
            return parse_int(value, minimum=0)
        except ValueError:
            raise ValidationError() from None


class UnreadableInput(BadRequest):
    """A request refused by the cleaning step; app/views/errors.py renders its page."""

    description = "unreadable characters in the request"


def keeps_typed_input(view):
    """Mark a view that re-renders its refused form: it gets the cleaned input and `unreadable_fields()`."""
    setattr(view, KEEPS_TYPED_INPUT, True)
    return view


def unreadable_fields() -> frozenset[str]:
    """Names of the fields the cleaning step took characters out of ("" for the form as a whole)."""
    return g.get("unreadable_fields", frozenset())


def _clean(text: str) -> str:
    return _FORBIDDEN.sub("", text)


def _not_utf8(raw: bytes) -> bool:
    """Whether urlencoded bytes decode to something other than UTF-8 (werkzeug keeps such bytes as
    literal "%ED%A0%80" text, so only the raw bytes tell)."""
    try:
        unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _undecodable_names(raw: bytes) -> set[str]:
    """Field names of the urlencoded pairs that are not UTF-8 ("" when the name itself is not)."""
    names = set()
    for pair in raw.split(b"&"):
        if _not_utf8(pair):
            name = unquote_to_bytes(pair.partition(b"=")[0].replace(b"+", b" ")).decode("utf-8", "replace")
            names.add("" if "\ufffd" in name else _clean(name))
    return names


def clean_request() -> None:
    """Refuse unreadable characters in the path, the query and the form; see the module docstring."""
    if (
        _FORBIDDEN.search(request.path)
        or _not_utf8(request.query_string)
        or any(_FORBIDDEN.search(k) or _FORBIDDEN.search(v) for k, v in request.args.items(multi=True))
    ):
        raise UnreadableInput()
    if request.method not in _BODY_METHODS:
        return
    unreadable = set()
    if request.mimetype == "application/x-www-form-urlencoded":
        # Read the raw body before anything parses the form (werkzeug parses from this copy).
        unreadable |= _undecodable_names(request.get_data(cache=True))
    fields = []
    for key, value in request.form.items(multi=True):
        if _FORBIDDEN.search(key) or _FORBIDDEN.search(value):
            unreadable.add(_clean(key))
        fields.append((_clean(key), _clean(value)))
    files = []
    for key, upload in request.files.items(multi=True):
        if _FORBIDDEN.search(key) or _FORBIDDEN.search(upload.filename or ""):
            unreadable.add(_clean(key))
            upload.filename = _clean(upload.filename or "")
        files.append((_clean(key), upload))
    if request.content_length and not fields and not files and request.mimetype in _FORM_TYPES:
        unreadable.add("")  # werkzeug drops a body it cannot decode (a part header not UTF-8)
    if not unreadable:
        return
    view = current_app.view_functions.get(request.endpoint or "")
    if not getattr(view, KEEPS_TYPED_INPUT, False):
        raise UnreadableInput()
    request.form = ImmutableMultiDict(fields)
    request.files = ImmutableMultiDict(files)
    request.__dict__.pop("values", None)
    g.unreadable_fields = frozenset(unreadable)


def refuse_cleaned(response):
    """A request whose input had to be cleaned is refused: the re-rendered form answers 400."""
    if "unreadable_fields" in g and response.status_code < 300:
        response.status_code = 400
    return response


def init_app(app: Flask) -> None:
    """Install the id converter and the cleaning step; call before anything else reads requests
    (the cleaning step must read a urlencoded body before the CSRF check parses it)."""
    app.url_map.converters["int"] = IdConverter
    app.before_request(clean_request)
    app.after_request(refuse_cleaned)


THOUSANDS = re.compile(r"\d{1,3}(\.\d{3})+")


def plain_number(text: str) -> str:
    """A number as typed in Indonesia, for Decimal: "1.000" is a thousand, "98,5" and "1.000,5"
    have a decimal comma; a lone point that does not group thousands ("98.5") is a decimal
    point; with both marks the last one is the decimal mark ("1,000.5")."""
    text = text.strip().replace(" ", "")
    if "," in text and "." in text:
        decimal_mark = "," if text.rindex(",") > text.rindex(".") else "."
        grouping = "." if decimal_mark == "," else ","
        whole, _sep, fraction = text.rpartition(decimal_mark)
        if not THOUSANDS.fullmatch(whole.replace(grouping, ".")):
            return "x"  # grouping in the wrong places: not a number
        return whole.replace(grouping, "") + "." + fraction
    if "," in text:
        return text.replace(",", ".") if text.count(",") == 1 else "x"
    if THOUSANDS.fullmatch(text):
        return text.replace(".", "")
    return text
