"""Fuzz every POST route and every GET filter as each role: never a server error, and a refused
request changes nothing.

The routes come from `app.url_map`, so a new route is fuzzed without touching this file; path
ids come from a seeded agency with a cycle in flight (an evaluation with evidence, one waiting
for review, one appealed, one locked) and a draft cycle. Each role signs in through the real
form; the forms it is shown are read from its pages, as a browser would, and posted back with
the session's CSRF token and one thing changed. Every field of a form the role is shown gets a
poison and an odd value in turn (a field holding a number or a date: "²", an integer beyond 32
bits, an edge date); a number in a field's name is replaced too (feedback_12 -> feedback_²);
every file input gets a file whose name holds a NUL byte; and the form's shape changes twice
(an unknown, duplicated or dropped field, an upload). Forms the role is not shown are posted
once (they must be refused). GET pages get the same values in each of their filters (read from
their search forms and links) and in their path.

Two kinds of change are asserted differently:
- *poison* (a control character, invalid UTF-8 or a surrogate anywhere): always refused (4xx,
  or a redirect that changed nothing), and nothing changes;
- *odd* values: never a 5xx; when refused (4xx, or a form shown again), nothing changes.

The generator is seeded (FUZZ_SEED) and bounded (FUZZ_ROUNDS), so a run is reproducible and
takes seconds; raise FUZZ_ROUNDS to dig deeper locally.
"""

import html.parser
import io
import os
import random
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote_from_bytes, urljoin, urlsplit

import sqlalchemy as sa

from app import clock
from app.models import Evaluation, OutboxMessage, Role
from app.workflow import cycles, evaluations
from tests.conftest import csrf_token, login
from tests.workflow_helpers import agency, cycle_data, open_annual, write_skp

SEED = int(os.environ.get("FUZZ_SEED", "20260509"))
ROUNDS = int(os.environ.get("FUZZ_ROUNDS", "1"))

# Values that must always be refused wherever they appear.
POISON = [
    b"\x00",
    b"Laporan\x00bulanan",
    b"\x01\x02\x1b[31m",
    b"\x1f",
    b"\xed\xa0\x80",  # a UTF-16 surrogate written as UTF-8: not UTF-8
    b"Bukti \xff\xfe",  # not UTF-8 at all
    b"\xc3",  # a truncated sequence
]
# What a number may be typed as that the old parsers choked on: Unicode digits (isdigit() says
# yes), integers beyond PostgreSQL's `integer`, and dates whose UTC offset leaves the calendar.
SUPERSCRIPT = "²".encode()  # isdigit() says yes, int() refuses; "٣" and "１２" int() reads (ODD has them)
BEYOND = [b"2147483648", b"-2147483649", b"9" * 25]
EDGES = [b"0001-01-01T00:00", b"9999-12-31T23:59", b"0001-01-01", b"1e309", b"NaN", b"-0", b"1.000,5"]
# Values a form may accept or refuse, but never with a server error.
ODD = [
    "²".encode(),
    "٣".encode(),
    "１２".encode(),
    b"2147483648",
    b"-2147483649",
    b"99999999999999999999999",
    b"-1",
    b"0",
    b"1e309",
    b"NaN",
    b"1.000,5",
    b"x" * 5000,
    "😀\u202e\u200b".encode(),
    b"' OR 1=1 --",
    b"<script>alert(1)</script>",
    b"%_\\",
    b"0001-01-01T00:00",
    b"9999-12-31T23:59",
    b"0001-01-01",
    b"9999-12-31",
    b"",
    b"   ",
]
ODD_NAMES = [
    "feedback_²".encode(),
    b"feedback_2147483648",
    b"feedback_-1",
    b"expectation_x",
    b"version",
    b"unit_id",
    b"page",
    b"x" * 300,
]
NUL = [b"\x00", b"Laporan\x00bulanan"]
POISON_NAMES = [b"\x00", b"feedback_\x00", b"text\xff"]
NUL_FILE_NAMES = [b"bukti\x00.pdf", b"laporan\x00.php.pdf"]  # readable UTF-8: they reach the upload code
FILE_NAMES = [*NUL_FILE_NAMES, b"a\x00b\xff.pdf", b"\xed\xa0\x80.pdf"]
PDF = b"%PDF-1.4 fuzz\n"

# Sign-in bookkeeping may follow a refused sign-in; it is not a change of the data.
BOOKKEEPING_AUDIT = ("auth.login_failed", "auth.locked", "auth.login", "auth.logout")
NOT_PAGES = {"static", "main.healthz", "evaluations.download_evidence"}
NOT_HTML = ("export", "download")


# --- the scenario ---------------------------------------------------------------------------


def scenario(make, db):
    """The agency of the workflow tests, a cycle in flight with an evaluation at each step, a draft
    cycle, and an administrator; returns the role accounts and the path-id contexts."""
    org = agency(make)
    head, nurse, colleague = org["head"], org["nurse"], org["colleague"]
    reviewer_case = make.employee("Perawat Yohana", supervisor=head, unit=org["puskesmas"])
    make.employee("Perawat Lambat", supervisor=head, unit=org["puskesmas"])
    spare = make.employee("Staf Cadangan", supervisor=org["camat"], unit=org["kecamatan"], account=True)
    spare_unit = make.unit("Seksi Kosong", parent=org["kecamatan"])
    admin = make.employee("Administrator", roles={Role.EMPLOYEE, Role.ADMIN}, unit=org["kecamatan"])
    cycle = open_annual(org)

    def ev_of(employee):
        return db.session.scalar(
            sa.select(Evaluation).where(
                Evaluation.cycle_id == cycle.id, Evaluation.employee_id == employee.id
            )
        )

    in_flight = [nurse, colleague, reviewer_case]
    for employee in in_flight:
        ev = ev_of(employee)
        write_skp(ev, employee)
        evaluations.submit_targets(ev, employee.account)
        evaluations.approve_targets(ev, head.account)
    clock.travel_to(cycle.target_deadline + timedelta(hours=1))
    cycles.advance(cycle, org["hr"].account)  # locked_case never wrote targets: locked, overdue
    for employee in in_flight:
        ev = ev_of(employee)
        for indicator in ev.indicators:
            evaluations.save_realisation(ev, employee.account, indicator, "40", "SIMPUS")
        evaluations.add_evidence_link(ev, employee.account, ev.indicators[1], "https://contoh.go.id/bukti")
        evaluations.add_evidence_file(ev, employee.account, ev.indicators[0], "laporan.pdf", PDF)
    for employee in (colleague, reviewer_case):
        evaluations.submit_assessment(ev_of(employee), employee.account)
    appealed = ev_of(colleague)
    evaluations.review(appealed, head.account, {"results_rating": "meets", "behaviour_rating": "meets"})
    evaluations.file_appeal(appealed, colleague.account, "Capaian saya melampaui target yang disepakati.")
    evaluations.appeal_comment(appealed, org["camat"].account, "Mohon penjelasan penilai.", "rater")
    draft = cycles.save_cycle(
        None,
        cycle_data([org["kecamatan"]], clock.now(), name="SKP Tahunan 2028", year=2028),
        org["hr"].account,
    )
    message = db.session.scalar(sa.select(OutboxMessage.id).limit(1))

    def ids(ev, cycle_id):
        rhk = ev.rhks[0]
        indicator = rhk.indicators[0]
        evidence = indicator.evidence[0] if indicator.evidence else None
        return {
            "cycle_id": cycle_id,
            "evaluation_id": ev.id,
            "rhk_id": rhk.id,
            "indicator_id": indicator.id,
            "evidence_id": evidence.id if evidence else 1,
            "employee_id": spare.id,
            "unit_id": spare_unit.id,
            "position_id": spare.position_id,
            "org": "baik",  # an organisation predikat: its kurva distribusi
            "year": 2027,  # the monthly recap of a year
            "bundle_id": 1,  # a unit's documents as one ZIP
            "message_id": message,
            "token": "tautan-lama",
            "machine": "evaluation",
            "filename": "app.css",
            # The monitoring stage's rows (progress entries, records, follow-ups, files, peer
            # requests, RHK templates): the seeded agency has none yet, so these ask for absent ones.
            "entry_id": 1,
            "record_id": 1,
            "follow_up_id": 1,
            "file_id": 1,
            "request_id": 1,
            "template_id": 1,
        }

    contexts = [ids(ev_of(e), cycle.id) for e in (nurse, colleague, reviewer_case)]
    contexts.append({**ids(ev_of(nurse), draft.id), "machine": "cycle"})
    roles = {
        "employee": nurse,
        "rater": head,
        "appeal_handler": org["camat"],
        "hr": org["hr"],
        "admin": admin,
        "anonymous": None,
    }
    return roles, contexts


# --- reading forms and links from pages, as a browser does ----------------------------------


@dataclass
class Form:
    """A form as the page shows it: where it posts and what it would send."""

    method: str
    action: str
    multipart: bool
    fields: list[tuple[str, str]] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


class PageReader(html.parser.HTMLParser):
    """Collects the forms (with their current values) and the query names of the links."""

    def __init__(self, url: str):
        super().__init__(convert_charrefs=True)
        self.url = url
        self.forms: list[Form] = []
        self.link_params: dict[str, set[str]] = {}
        self.form: Form | None = None
        self.select: tuple[str, list[str], list[str]] | None = None
        self.textarea: tuple[str, list[str]] | None = None
        self.radios: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        """Forms, their inputs, selects and textareas; links with a query string."""
        a = {k: v if v is not None else "" for k, v in attrs}
        if tag == "a" and "?" in a.get("href", ""):
            parts = urlsplit(urljoin(self.url, a["href"]))
            names = {p.split("=", 1)[0] for p in parts.query.split("&") if p}
            self.link_params.setdefault(parts.path, set()).update(names)
        if tag == "form":
            self.form = Form(
                a.get("method", "get").lower(),
                urljoin(self.url, a.get("action") or self.url),
                "multipart" in a.get("enctype", ""),
            )
            self.radios = {}
            return
        if self.form is None:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "reset", "image"):
                return
            if kind == "file":
                self.form.files.append(name)
            elif kind == "radio":  # the checked one, else the first, so the baseline is complete
                if "checked" in a or name not in self.radios:
                    self.radios[name] = a.get("value", "on")
            elif kind == "password":  # typed, so a form can get past "required" to what reads it
                self.form.fields.append((name, a.get("value") or "Sandi-Uji-2027"))
            elif kind != "checkbox" or "checked" in a:
                self.form.fields.append((name, a.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "select" and name:
            self.select = (name, [], [])
        elif tag == "option" and self.select is not None:
            self.select[1].append(a.get("value", ""))
            if "selected" in a:
                self.select[2].append(a.get("value", ""))
        elif tag == "textarea" and name:
            self.textarea = (name, [])

    def handle_data(self, data):
        """Text inside a textarea is its value."""
        if self.textarea is not None:
            self.textarea[1].append(data)

    def handle_endtag(self, tag):
        """Close selects, textareas and forms."""
        if tag == "select" and self.select is not None and self.form is not None:
            name, values, chosen = self.select
            self.form.fields.append((name, (chosen or values or [""])[0]))
            self.select = None
        elif tag == "textarea" and self.textarea is not None and self.form is not None:
            self.form.fields.append((self.textarea[0], "".join(self.textarea[1])))
            self.textarea = None
        elif tag == "form" and self.form is not None:
            self.form.fields.extend(self.radios.items())
            self.forms.append(self.form)
            self.form = None


# --- building requests ----------------------------------------------------------------------


def fill(rule, values: dict) -> str:
    """The rule's path with its arguments filled in."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: str(values[m.group(1)]), rule.rule)


def urlencoded(pairs: list[tuple[bytes, bytes]]) -> bytes:
    """application/x-www-form-urlencoded, byte for byte (invalid UTF-8 included)."""
    return "&".join(
        f"{quote_from_bytes(k, safe='')}={quote_from_bytes(v, safe='')}" for k, v in pairs
    ).encode()


BOUNDARY = b"fuzz-7d4a1e"


def multipart(pairs: list[tuple[bytes, bytes]], files: list[tuple[bytes, bytes, bytes]]) -> bytes:
    """multipart/form-data, with raw bytes in names, values and file names."""
    out = io.BytesIO()
    for name, value in pairs:
        out.write(
            b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="' + name.replace(b'"', b"%22")
        )
        out.write(b'"\r\n\r\n' + value + b"\r\n")
    for name, filename, content in files:
        out.write(b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="' + name + b'"; filename="')
        out.write(
            filename.replace(b'"', b"%22") + b'"\r\nContent-Type: application/pdf\r\n\r\n' + content + b"\r\n"
        )
    out.write(b"--" + BOUNDARY + b"--\r\n")
    return out.getvalue()


@dataclass
class Attempt:
    """One fuzzed request and what it is expected to do."""

    role: str
    method: str
    url: str
    body: bytes = b""
    content_type: str = ""
    poison: bool = False
    note: str = ""
    transition: bool = False  # a form carrying a version: a state-machine action, fuzzed last
    upload: bool = False


def poison_value(rng: random.Random) -> bytes:
    """A poison for one field: mostly NUL, what PostgreSQL refuses to store."""
    return rng.choice(POISON) if rng.random() < 0.3 else rng.choice(NUL)


def mutate(
    rng: random.Random, form: Form | None, token: str, poison: bool, field=None, value=None, file=None
):
    """The form's fields with one change (poison or odd), the files to upload, and what changed:
    `value` (or a random one) in `field`, an upload to input `file`, else a random change of a
    value or of the form's shape."""
    pairs = [(k.encode(), v.encode()) for k, v in (form.fields if form else [])]
    pairs = [(k, token.encode() if k == b"csrf_token" else v) for k, v in pairs]
    if not any(k == b"csrf_token" for k, _v in pairs):
        pairs.append((b"csrf_token", token.encode()))
    editable = [i for i, (k, _v) in enumerate(pairs) if k != b"csrf_token"]
    files: list[tuple[bytes, bytes, bytes]] = []
    values, names = (POISON, POISON_NAMES) if poison else (ODD, ODD_NAMES)
    shapes = ["name", "duplicate", "file"] + ([] if poison else ["drop"])
    choice = "value" if field is not None else "file" if file else rng.choice(["value", "value", *shapes])
    if choice == "value" and editable:
        i = next(i for i in editable if pairs[i][0] == field.encode()) if field else rng.choice(editable)
        if value is None:
            value = poison_value(rng) if poison else rng.choice(values)
        if poison and rng.random() < 0.5:  # hidden inside typed text, not the whole value
            value = pairs[i][1] + value + b" lanjut"
        pairs[i] = (pairs[i][0], value)
        note = f"{pairs[i][0]!r}={value[:40]!r}"
    elif choice == "duplicate" and editable:
        i = rng.choice(editable)
        value = rng.choice(values)
        pairs.append((pairs[i][0], value))
        note = f"{pairs[i][0]!r} twice, then {value[:40]!r}"
    elif choice == "drop" and editable:
        i = rng.choice(editable)
        note = f"without {pairs[i][0]!r}"
        del pairs[i]
    elif choice == "file":
        name = file or (rng.choice(form.files) if form and form.files else "file")
        names = NUL_FILE_NAMES if file else FILE_NAMES
        filename = rng.choice(names) if poison else rng.choice([b"bukti.pdf", b"x" * 300 + b".pdf", b""])
        files.append((name.encode(), filename, PDF))
        note = f"file {filename[:40]!r}"
    else:
        name, value = rng.choice(names), rng.choice(values)
        pairs.append((name, value))
        note = f"extra {name[:40]!r}={value[:40]!r}"
    return pairs, files, note


def post_attempt(role, url, form, token, rng, poison, field=None, value=None, file=None) -> Attempt:
    """A POST of the form (or of nothing but the token) with one change (see `mutate`)."""
    pairs, files, note = mutate(rng, form, token, poison, field, value, file)
    if files or (form is not None and form.multipart):
        body, ctype = multipart(pairs, files), "multipart/form-data; boundary=" + BOUNDARY.decode()
    else:
        body, ctype = urlencoded(pairs), "application/x-www-form-urlencoded"
    transition = form is not None and any(k == "version" for k, _v in form.fields)
    return Attempt(role, "POST", url, body, ctype, poison, note, transition, bool(files))


def post_attempts(role, rule, contexts, forms, token, rng) -> list[Attempt]:
    """A role shown the rule's form gets every field changed in turn (a poison, an odd value, and
    for a number an integer the old parsers choked on) and two changes of the form's shape; a role
    not shown it (refused anyway) gets one random change of another role's form."""
    urls = sorted({fill(rule, ctx) for ctx in contexts})
    own = [url for url in urls if url in forms[role]]
    if not own:
        url = rng.choice(urls)
        shown = [f for by_role in forms.values() for f in by_role.get(url, [])]
        form = rng.choice(shown) if shown else None
        return [post_attempt(role, url, form, token, rng, rng.random() < 0.5)]
    attempts = []
    for url in rng.sample(own, min(len(own), 2)):
        form = rng.choice(forms[role][url])
        for name, baseline in dict(form.fields).items():
            if name == "csrf_token":
                continue
            attempts.append(post_attempt(role, url, form, token, rng, True, name))
            if any(c.isdigit() for c in baseline) and len(baseline) <= 20:  # a number, a date, a list
                for pool in ([SUPERSCRIPT], BEYOND, EDGES):
                    attempts.append(post_attempt(role, url, form, token, rng, False, name, rng.choice(pool)))
            else:
                attempts.append(post_attempt(role, url, form, token, rng, False, name))
            if any(c.isdigit() for c in name):  # feedback_12: the number in the name too
                for number in (SUPERSCRIPT, rng.choice(BEYOND)):
                    renamed = re.sub(r"[0-9]+", number.decode(), name)
                    extra = Form(form.method, form.action, form.multipart, [*form.fields, (renamed, "x")])
                    attempts.append(post_attempt(role, url, extra, token, rng, False, renamed, b"x"))
        for name in form.files:
            attempts.append(post_attempt(role, url, form, token, rng, True, file=name))
        attempts.extend(post_attempt(role, url, form, token, rng, poison) for poison in (True, False))
    return attempts


def get_attempt(role, rule, values, names, rng, poison, name=None) -> Attempt:
    """A GET with a hostile value in filter `name` (or anywhere: a filter, an unknown name, a
    duplicated filter, a path segment)."""
    pool, name_pool = (POISON, POISON_NAMES) if poison else (ODD, ODD_NAMES)
    path_args = sorted(rule.arguments)
    if name is None and path_args and rng.random() < 0.5:
        arg = rng.choice(path_args)
        value = rng.choice(POISON if poison else [*BEYOND, SUPERSCRIPT, b"-1", b"0"])
        url = fill(rule, {**values, arg: quote_from_bytes(value, safe="") or "%20"})
        return Attempt(role, "GET", url, poison=poison, note=f"path {arg}={value[:40]!r}")
    query = [(n.encode(), b"1") for n in sorted(names)]
    if name is not None:
        name = name.encode()
    elif rng.random() < 0.9:
        name = rng.choice(sorted(names) + ["page", "q"]).encode()
    else:
        name = rng.choice(name_pool)
    named = name.decode(errors="replace") in names
    value = rng.choice(NUL) if poison and named else rng.choice(pool)
    if rng.random() < 0.3 and not (poison and named):  # a duplicate: the first one is read
        query.append((name, value))
    else:
        query = [(k, v) for k, v in query if k != name] + [(name, value)]
    url = fill(rule, values) + "?" + urlencoded(query).decode()
    return Attempt(role, "GET", url, poison=poison, note=f"{name[:40]!r}={value[:40]!r}")


# --- what a refused request must leave as it was ---------------------------------------------


def state_query(db):
    """One SELECT of every table's row count and the sum of every version column."""
    columns = []
    for table in db.metadata.sorted_tables:
        if table.name == "audit_event":
            count = sa.select(sa.func.count()).where(table.c.action.not_in(BOOKKEEPING_AUDIT))
        else:
            count = sa.select(sa.func.count()).select_from(table)
        columns.append(count.scalar_subquery().label(f"n_{table.name}"))
        if "version" in table.c:
            total = sa.select(sa.func.coalesce(sa.func.sum(table.c.version), 0)).scalar_subquery()
            columns.append(total.label(f"v_{table.name}"))
    return sa.select(*columns)


def snapshot(app, db, query) -> tuple:
    """The state of the data and of the stored files, read outside the test's session."""
    with db.engine.connect() as conn:
        row = conn.execute(query).one()
    instance = Path(app.instance_path)
    files = sorted(
        str(p.relative_to(instance)) for p in instance.rglob("*") if p.is_file() and "imports" not in p.parts
    )
    return tuple(row), tuple(files)


def send(client, method: str, url: str, **kwargs):
    """The response, or the exception a server error raised (TESTING propagates them)."""
    try:
        return client.open(url, method=method, **kwargs), None
    except Exception as exc:  # noqa: BLE001 - any exception is the server error we look for
        return None, exc


# --- the test ---------------------------------------------------------------------------------


def test_no_input_causes_a_server_error_or_a_change_when_refused(app, make, db):
    """Every POST route and GET filter, as every role, with hostile input: no 5xx; refusals change nothing."""
    roles, contexts = scenario(make, db)
    rng = random.Random(SEED)
    rules = list(app.url_map.iter_rules())
    post_rules = [r for r in rules if "POST" in r.methods]
    get_rules = [r for r in rules if "GET" in r.methods]
    known = set(contexts[0])
    missing = {a for r in rules for a in r.arguments} - known
    assert not missing, f"give the scenario an id for the new path arguments {missing}"

    clients, tokens = {}, {}
    for role, person in roles.items():
        client = app.test_client()
        if person is not None:
            assert login(client, person.nip).status_code == 302, role
        clients[role], tokens[role] = client, csrf_token(client, "/")

    failures = []
    # What each role is shown: its forms by the URL they post to, and the filters of each page.
    forms: dict[str, dict[str, list[Form]]] = {role: {} for role in roles}
    seen: dict[str, set[str]] = {role: set() for role in roles}
    filters: dict[str, set[str]] = {}
    for role, client in clients.items():
        for rule in get_rules:
            if rule.endpoint in NOT_PAGES or any(word in rule.rule for word in NOT_HTML):
                continue
            for url in sorted({fill(rule, ctx) for ctx in contexts}):
                response, error = send(client, "GET", url)
                if error is not None or response.status_code >= 500:
                    failures.append(f"server error: {role} GET {url} ({error!r})")
                    continue
                if response.status_code != 200 or response.mimetype != "text/html":
                    continue
                seen[role].add(url)
                reader = PageReader(url)
                reader.feed(response.get_data(as_text=True))
                for form in reader.forms:
                    path = urlsplit(form.action).path
                    if form.method == "post":
                        forms[role].setdefault(path, []).append(form)
                    else:
                        filters.setdefault(path, set()).update(n for n, _v in form.fields)
                for path, names in reader.link_params.items():
                    filters.setdefault(path, set()).update(names)

    attempts: list[Attempt] = []
    for _round in range(ROUNDS):
        for role in roles:
            for rule in get_rules:
                ctx = rng.choice(contexts)
                names = filters.get(fill(rule, ctx), set())
                # every filter of a page the role may open, then one change anywhere (path included)
                shown = sorted(names) if fill(rule, ctx) in seen[role] else []
                for name in shown:
                    for poison in (True, False):
                        attempts.append(get_attempt(role, rule, ctx, names, rng, poison, name))
                attempts.append(get_attempt(role, rule, ctx, names, rng, rng.random() < 0.5))
            for rule in post_rules:
                if rule.endpoint == "auth.logout":
                    continue  # fuzzed last: it ends the session the other requests need
                attempts.extend(post_attempts(role, rule, contexts, forms, tokens[role], rng))
    rng.shuffle(attempts)
    # GETs first, then uploads (a refused one must leave no file behind); state-machine actions
    # (forms with a version) last, so the edits meet the scenario as it was built rather than a
    # cycle that has moved on; poison before odd values.
    attempts.sort(key=lambda a: (a.method == "POST", not a.upload, a.transition, not a.poison))
    logout = next(r for r in post_rules if r.endpoint == "auth.logout")
    for role in roles:
        for poison in (True, False):
            attempts.append(post_attempt(role, logout.rule, None, tokens[role], rng, poison))

    query = state_query(db)
    before = snapshot(app, db, query)
    for attempt in attempts:
        kwargs = (
            {"data": attempt.body, "content_type": attempt.content_type} if attempt.method == "POST" else {}
        )
        response, error = send(clients[attempt.role], attempt.method, attempt.url, **kwargs)
        status = 500 if error is not None else response.status_code
        after = snapshot(app, db, query)
        changed = after != before
        where = f"{attempt.role} {attempt.method} {attempt.url[:120]} [{attempt.note}] -> {status}"
        if error is not None:
            where += f" {type(error).__name__}: {str(error)[:160]}"
        if status >= 500:
            failures.append("server error: " + where)
        elif attempt.poison and (status < 300 or changed):
            failures.append("poison accepted: " + where)
        elif changed and (status >= 400 or (attempt.method == "POST" and status < 300)):
            failures.append("refused but changed: " + where)
        elif changed and attempt.method == "GET":
            failures.append("a GET changed data: " + where)
        before = after
    failures.sort(key=lambda f: not f.startswith("server error"))
    report = "\n".join(failures[:300])
    assert not failures, f"{len(failures)} of {len(attempts)} fuzzed requests failed:\n{report}"
