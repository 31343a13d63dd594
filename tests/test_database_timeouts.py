"""A database that hangs: /healthz and pages answer within seconds, and pages work again after.

The hanging database is real: a TCP listener that accepts and never replies, or a proxy in front
of the real PostgreSQL that stops passing bytes on and later starts again. The time bounds are
behaviour (an answer before a gunicorn worker would be killed at 30 s), generous enough not to
depend on the machine's speed.
"""

import re
import socket
import threading

import click
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from app import create_app, database
from app.extensions import db as _db
from tests.conftest import PASSWORD, TEST_DATABASE_URL, IsolatedClient, login

LIMITS = {"DB_CONNECT_TIMEOUT": 2, "DB_STATEMENT_TIMEOUT": 3}  # short, so that the test is too
HEALTHZ_BOUND = 5  # seconds: /healthz aims at 2.5
# A page: the ping of a pooled connection and one reconnection (2 s each), or the statement's
# deadline (3 + 1 s) when the database stops answering mid-request; plus slack.
PAGE_BOUND = 7
UNAVAILABLE = "Basis data tidak menjawab"


class Proxy:
    """A TCP proxy to `upstream` that can stop passing bytes on (`hang`) and start again (`forward`).

    With no upstream it only accepts: a server that never answers.
    """

    def __init__(self, upstream: tuple[str, int] | None = None):
        self.upstream = upstream
        self.passing = threading.Event()
        self.passing.set()
        self.sockets: list[socket.socket] = []
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _address = self.server.accept()
            except OSError:
                return  # closed
            self.sockets.append(client)
            if self.upstream is None:
                continue  # accepted, never answered
            backend = socket.create_connection(self.upstream)
            self.sockets.append(backend)
            for source, target in ((client, backend), (backend, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                self.passing.wait()  # while hanging, what arrives is held
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                sock.close()

    def hang(self) -> None:
        """Stop passing anything on: connections stay open, nothing answers."""
        self.passing.clear()

    def forward(self) -> None:
        """Pass bytes on again (held ones included; their clients have given up on them)."""
        self.passing.set()

    def url(self) -> str:
        """A PostgreSQL URL that points at the proxy."""
        base = make_url(TEST_DATABASE_URL or "postgresql+psycopg://kinerja@localhost/kinerja")
        return base.set(host="127.0.0.1", port=self.port).render_as_string(hide_password=False)

    def close(self) -> None:
        """Stop accepting and drop every connection."""
        self.passing.set()
        self.server.close()
        for sock in self.sockets:
            sock.close()


@pytest.fixture
def hanging_database():
    """A server that accepts connections and never sends a byte."""
    server = Proxy()
    yield server
    server.close()


def app_on(url: str, instance, **config):
    """An app whose database is at `url`, with the short test limits."""
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(instance), **LIMITS, **config})
    app.test_client_class = IsolatedClient
    return app


def within(bound: float, work):
    """What `work` returned, failing if that took `bound` seconds or more.

    Run in a thread, so that a guard that does not work fails the test instead of hanging it.
    """
    outcome = []
    thread = threading.Thread(target=lambda: outcome.append(work()), daemon=True)
    thread.start()
    thread.join(bound)
    assert outcome, f"no answer within {bound} s"
    return outcome[0]


def csrf(client) -> str:
    """The CSRF token of the sign-in page (which needs no database)."""
    html = client.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def test_a_database_that_accepts_and_never_answers_gets_503_within_seconds(hanging_database, tmp_path):
    app = app_on(hanging_database.url(), tmp_path)
    client = app.test_client()
    try:
        health = within(HEALTHZ_BOUND, lambda: client.get("/healthz"))
        assert health.status_code == 503 and health.json["status"] == "error"

        sign_in = {"csrf_token": csrf(client), "identifier": "pegawai@contoh.go.id", "password": PASSWORD}
        page = within(PAGE_BOUND, lambda: client.post("/login", data=sign_in))
        assert page.status_code == 503 and UNAVAILABLE in page.get_data(as_text=True)
        assert page.headers["Retry-After"]
    finally:
        with app.app_context():
            _db.engine.dispose()


@pytest.mark.postgres_only
def test_pages_work_again_without_a_restart_once_the_database_answers(app, make, tmp_path):
    employee = make.employee("Perawat Debora")
    backend = make_url(TEST_DATABASE_URL)
    proxy = Proxy((backend.host or "localhost", backend.port or 5432))
    proxied = app_on(proxy.url(), tmp_path / "proxied")
    client = proxied.test_client()
    try:
        assert login(client, employee.nip).status_code == 302
        assert "Perawat Debora" in client.get("/").get_data(as_text=True)
        # A statement on a connection that was open, in a transaction, when the database hung.
        session_open, database_hung, outcome = threading.Event(), threading.Event(), []

        def statement_after_the_hang():
            with proxied.app_context():
                try:
                    _db.session.execute(sa.text("SELECT 1"))
                    session_open.set()
                    database_hung.wait()
                    _db.session.execute(sa.text("SELECT 2"))
                except sa.exc.OperationalError as exc:
                    outcome.append(exc)
                finally:
                    _db.session().invalidate()

        statement = threading.Thread(target=statement_after_the_hang, daemon=True)
        statement.start()
        assert session_open.wait(PAGE_BOUND)
        proxy.hang()
        database_hung.set()
        statement.join(PAGE_BOUND)
        assert outcome and database.unavailable(outcome[0]), "the statement did not give up in time"

        page = within(PAGE_BOUND, lambda: client.get("/"))
        assert page.status_code == 503 and UNAVAILABLE in page.get_data(as_text=True)
        assert within(HEALTHZ_BOUND, lambda: client.get("/healthz")).status_code == 503

        proxy.forward()
        page = client.get("/")
        assert page.status_code == 200 and "Perawat Debora" in page.get_data(as_text=True)
        assert client.get("/healthz").json == {"status": "ok", "database": "ok"}
    finally:
        proxy.close()
        with proxied.app_context():
            _db.engine.dispose()


@pytest.mark.postgres_only
def test_the_server_cancels_long_statements_but_bulk_work_and_flask_commands_get_longer(app, tmp_path):
    web = app_on(TEST_DATABASE_URL, tmp_path / "web", DB_STATEMENT_TIMEOUT=1)
    with web.app_context():
        try:
            with pytest.raises(sa.exc.OperationalError) as cancelled:
                _db.session.execute(sa.text("SELECT pg_sleep(1.5)"))
            assert "statement timeout" in str(cancelled.value) and database.unavailable(cancelled.value)
            _db.session.rollback()

            with database.long_statements():
                _db.session.execute(sa.text("SELECT pg_sleep(1.5)"))
            _db.session.commit()
            assert _db.session.scalar(sa.text("SHOW statement_timeout")) == "1s"  # for that transaction only
        finally:
            _db.session.remove()
            _db.engine.dispose()

    with click.Context(click.Command("scheduler")):  # as `flask scheduler` builds the app
        scheduler = app_on(TEST_DATABASE_URL, tmp_path / "scheduler")
    with scheduler.app_context():
        try:
            assert _db.session.scalar(sa.text("SHOW statement_timeout")) == "10min"
        finally:
            _db.session.remove()
            _db.engine.dispose()
