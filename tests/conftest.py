"""Fixtures: an app with a fresh database per test (SQLite, or PostgreSQL via TEST_DATABASE_URL).

The schema comes from the real Alembic migrations, built once per session; every test then
starts from an empty copy (SQLite: a copied file; PostgreSQL: all tables truncated).
"""

import contextvars
import itertools
import os
import re
import shutil

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from flask_migrate import upgrade

from app import clock, create_app
from app.extensions import db as _db
from app.models import Account, Employee, EmploymentType, OrgUnit, Position, PositionKind, Role
from app.services import cockpit
from app.services.accounts import hash_password
from config import normalise_database_url

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
ON_POSTGRES = TEST_DATABASE_URL.startswith("postgres")
PASSWORD = "rahasia-123"


def pytest_report_header(config):
    """Say which database the suite runs on."""
    return f"database: {'PostgreSQL ' + TEST_DATABASE_URL if ON_POSTGRES else 'SQLite (file per test)'}"


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory) -> str:
    """Run the migrations once: into a template SQLite file, or into the PostgreSQL database."""
    base = tmp_path_factory.mktemp("db")
    if ON_POSTGRES:
        engine = sa.create_engine(normalise_database_url(TEST_DATABASE_URL))
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        engine.dispose()
        url = TEST_DATABASE_URL
    else:
        url = f"sqlite:///{base / 'template.db'}"
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(base / "instance")})
    with app.app_context():
        upgrade()
        _db.engine.dispose()
    return url


class IsolatedClient(FlaskClient):
    """A test client whose every request runs in its own app context, as in production.

    The test body keeps an app context pushed for its own queries; without this, requests
    would reuse it and share `g` (the signed-in user) and the database session with the test.
    """

    def open(self, *args, **kwargs):
        """Run the request (body included) outside the test's context variables."""
        kwargs.setdefault("buffered", True)
        return contextvars.Context().run(super().open, *args, **kwargs)


REFERENCE_TABLES = ("distribution_band", "credit_jenjang")  # seeded by their migrations
_SEEDED: dict[str, list[tuple]] = {}


def _restore_reference_data() -> None:
    """PostgreSQL keeps the reference tables between tests: put back the migration's rows when a
    test changed them (the first test sees them as seeded)."""
    for name in REFERENCE_TABLES:
        table = _db.metadata.tables[name]
        rows = [tuple(row) for row in _db.session.execute(sa.select(table).order_by(*table.primary_key))]
        seeded = _SEEDED.setdefault(name, rows)
        if rows != seeded:
            _db.session.execute(sa.delete(table))
            _db.session.execute(
                sa.insert(table), [dict(zip(table.c.keys(), row, strict=True)) for row in seeded]
            )


@pytest.fixture
def app(migrated_template, tmp_path):
    """The application bound to an empty, migrated database, with an app context pushed."""
    if ON_POSTGRES:
        url = migrated_template
    else:
        path = tmp_path / "test.db"
        shutil.copy(migrated_template.removeprefix("sqlite:///"), path)
        url = f"sqlite:///{path}"
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(tmp_path / "instance")})
    app.test_client_class = IsolatedClient
    cockpit.forget_reached()  # the charts' counts of the previous test's rows, under the same URL
    with app.app_context():
        if ON_POSTGRES:
            # Reference data seeded by the migrations stays; everything else is emptied.
            tables = ", ".join(
                f'"{t.name}"' for t in _db.metadata.sorted_tables if t.name not in REFERENCE_TABLES
            )
            _db.session.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            _restore_reference_data()
            _db.session.commit()
        yield app
        _db.session.remove()
        _db.engine.dispose()
    clock.reset()


@pytest.fixture
def db(app):
    """The Flask-SQLAlchemy handle."""
    return _db


@pytest.fixture
def client(app):
    """A test client."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner."""
    return app.test_cli_runner()


def csrf_token(client, path: str = "/login") -> str:
    """The CSRF token of the client's session, read from a page as a browser would."""
    html = client.get(path, follow_redirects=True).get_data(as_text=True)
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def post_form(client, url: str, data: dict, *, token_from: str = "/login", **kwargs):
    """POST a form with the session's CSRF token, as the page would."""
    return client.post(url, data={"csrf_token": csrf_token(client, token_from), **data}, **kwargs)


def login(client, identifier: str, password: str = PASSWORD):
    """Sign in through the real form."""
    return post_form(client, "/login", {"identifier": identifier, "password": password})


class Factory:
    """Builds units, positions, employees and accounts for tests."""

    _seq = itertools.count(1)

    def __init__(self, db):
        self.db = db
        self._hash = None

    def unit(
        self, name: str | None = None, parent: OrgUnit | None = None, code: str | None = None
    ) -> OrgUnit:
        """An org unit."""
        n = next(self._seq)
        unit = OrgUnit(code=code or f"U{n}", name=name or f"Unit {n}", parent=parent)
        self.db.session.add(unit)
        self.db.session.commit()
        return unit

    def position(self, name: str | None = None, kind: PositionKind = PositionKind.PELAKSANA) -> Position:
        """A position."""
        position = Position(name=name or f"Jabatan {next(self._seq)}", kind=kind)
        self.db.session.add(position)
        self.db.session.commit()
        return position

    @staticmethod
    def nip(n: int, sex: int = 1) -> str:
        """A valid NIP numbered n."""
        return f"1985{1 + n % 12:02d}{1 + n % 28:02d}2010{1 + n % 12:02d}{sex}{1 + n % 999:03d}"

    def employee(
        self,
        name: str | None = None,
        *,
        supervisor: Employee | None = None,
        unit: OrgUnit | None = None,
        position: Position | None = None,
        roles: set[Role] | None = None,
        account: bool = True,
        must_change_password: bool = False,
    ) -> Employee:
        """An employee with (by default) an account whose password is PASSWORD."""
        n = next(self._seq)
        employee = Employee(
            nip=self.nip(n),
            name=name or f"Pegawai {n}",
            email=f"pegawai{n}@contoh.go.id",
            employment_type=EmploymentType.PNS,
            unit=unit or (supervisor.unit if supervisor else self.unit()),
            position=position or self.position(),
            supervisor=supervisor,
        )
        self.db.session.add(employee)
        if account:
            if self._hash is None:
                self._hash = hash_password(PASSWORD)
            acc = Account(
                employee=employee, password_hash=self._hash, must_change_password=must_change_password
            )
            acc.set_roles(roles or {Role.EMPLOYEE})
            self.db.session.add(acc)
        self.db.session.commit()
        return employee


@pytest.fixture
def make(db):
    """The test data factory."""
    return Factory(db)


@pytest.fixture
def hr(make):
    """An HR officer (also an employee)."""
    return make.employee("Petugas Kepegawaian", roles={Role.EMPLOYEE, Role.HR})


def pytest_collection_modifyitems(config, items):
    """Skip PostgreSQL-only tests on SQLite."""
    if ON_POSTGRES:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set TEST_DATABASE_URL)")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)


CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


@pytest.fixture
def live_server(app):
    """The app served over HTTP on a free loopback port in a background thread."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by Playwright; skipped only when it is not installed
    and REQUIRE_BROWSER is unset (CI sets it, so there a missing browser fails)."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(f"Chromium not found at {CHROMIUM} but REQUIRE_BROWSER is set")
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server):
    """A fresh browser page (own cookies) whose relative URLs go to the live server."""
    context = browser.new_context(base_url=live_server, locale="id-ID")
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


class SmtpRecorder:
    """An aiosmtpd handler that keeps every message it accepts, and can refuse recipients."""

    def __init__(self):
        self.messages = []
        self.refuse = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd API
        """Accept a recipient unless told to refuse it."""
        if address in self.refuse:
            return "550 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd API
        """Keep the message."""
        from email import message_from_bytes, policy

        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default)))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server(app):
    """A real SMTP server (aiosmtpd) on a free loopback port; the app is configured to use it."""
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = SmtpRecorder()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_TLS=False, MAIL_USE_SSL=False)
    app.extensions["mail"].server = "127.0.0.1"
    app.extensions["mail"].port = port
    handler.controller = controller
    yield handler
    try:
        controller.stop()
    except AssertionError:
        pass  # already stopped by the test
