"""Database connections that give up in time: a database that hangs costs seconds, not workers.

PostgreSQL (psycopg); the settings are in README's configuration table:
- connecting: psycopg's `connect_timeout` (DB_CONNECT_TIMEOUT) covers the TCP connection and
  the whole startup exchange, so a server that accepts and never answers the handshake is left;
- statements: the server cancels any statement after the statement timeout (`options=-c
  statement_timeout`). Web workers get DB_STATEMENT_TIMEOUT. Processes the `flask` command
  starts (the scheduler, jobs, imports, migrations, the shell; not its development server) get
  DB_BULK_STATEMENT_TIMEOUT, as do the bulk actions HR starts from a page (`long_statements`);
- replies: statement_timeout is the server's own, and a server that stopped answering (hung,
  cut off, a proxy that lost its backend) never sends the cancellation either. So every
  exchange on an open connection has a deadline on the client too (`BoundedConnection`): the
  statement timeout plus a second, so that the server's cancellation comes first whenever it
  can answer; and DB_CONNECT_TIMEOUT for the ping made when a pooled connection is taken
  (`pool_pre_ping`). A connection whose deadline passes is closed; SQLAlchemy sees it
  disconnected and invalidates the pool, so once the database answers again the next request
  connects anew, without a restart;
- the pool: waiting for a free pooled connection gives up after DB_POOL_TIMEOUT.
A request whose database gave up gets the 503 page (`unavailable`, app/views/errors.py);
`/healthz` checks with a fresh connection and a deadline of its own (`answers`).

SQLite keeps its busy timeout (app/__init__.py); none of this applies to it.
"""

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from time import monotonic

import click
import psycopg
import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.engine import Engine

from app.extensions import db

HEALTH_SECONDS = 2.5  # /healthz answers within this, under the 3 s load balancers commonly allow
REPLY_GRACE = 1.0  # the client's deadline beyond the server's statement timeout


class DatabaseNotAnswering(psycopg.OperationalError):
    """The server sent no reply within the connection's deadline; the connection is closed."""


class BoundedConnection(psycopg.Connection):
    """A psycopg connection whose every exchange with the server has a deadline (`reply_timeout`)."""

    reply_timeout: float | None = None

    def wait(self, gen, *args, timeout: float | None = None, **kwargs):
        """Run one exchange as psycopg does, giving up after `reply_timeout` seconds."""
        if timeout is None:
            timeout = self.reply_timeout
        started = monotonic()
        try:
            return super().wait(gen, *args, timeout=timeout, **kwargs)
        except psycopg.OperationalError:
            if timeout is None or monotonic() - started < timeout:
                raise
            # Cut off mid-exchange, the connection's protocol state is unknown: it cannot serve again.
            self.close()
            raise DatabaseNotAnswering(f"the database sent no reply within {timeout:g} s") from None


def started_by_flask_command() -> bool:
    """Whether the `flask` command is building this app for a command other than its web server."""
    context = click.get_current_context(silent=True)
    return context is not None and context.command.name != "run"


def statement_timeout(config) -> int:
    """The statement timeout of this process, in seconds (0: none)."""
    bulk = started_by_flask_command()
    return config["DB_BULK_STATEMENT_TIMEOUT" if bulk else "DB_STATEMENT_TIMEOUT"]


def reply_deadline(statement_seconds: float) -> float | None:
    """The client's deadline for a reply when the server cancels statements after `statement_seconds`."""
    return statement_seconds + REPLY_GRACE if statement_seconds else None


def _server_options(cparams: dict, statement_seconds: float) -> str:
    """Startup options: the statement timeout, after any options the database URL gave."""
    setting = f"-c statement_timeout={int(statement_seconds * 1000)}"
    return f"{cparams['options']} {setting}" if cparams.get("options") else setting


def init_app(app: Flask) -> None:
    """Bound the app's PostgreSQL connections: connect, statement and reply timeouts."""
    with app.app_context():
        engine: Engine = db.engine
    if engine.dialect.driver != "psycopg":
        return
    connect_seconds = app.config["DB_CONNECT_TIMEOUT"]
    statement_seconds = statement_timeout(app.config)
    in_use = reply_deadline(statement_seconds)

    @event.listens_for(engine, "do_connect")
    def connect(dialect, record, cargs, cparams):
        """Open a BoundedConnection that the server lets run statements for the statement timeout."""
        params = {"connect_timeout": connect_seconds, **cparams}  # a connect_timeout in the URL wins
        params["options"] = _server_options(cparams, statement_seconds)
        connection = BoundedConnection.connect(*cargs, **params)
        connection.reply_timeout = connect_seconds  # SQLAlchemy's first queries on a new connection
        return connection

    @event.listens_for(engine, "checkout")
    def taken(dbapi_connection, record, proxy) -> None:
        """In use: replies may take as long as the statement timeout allows."""
        dbapi_connection.reply_timeout = in_use

    @event.listens_for(engine, "checkin")
    def returned(dbapi_connection, record) -> None:
        """Back in the pool: the next exchange is the ping when it is taken, answered at once or given up."""
        if dbapi_connection is not None:
            dbapi_connection.reply_timeout = connect_seconds


@contextmanager
def long_statements() -> Iterator[None]:
    """Let the rest of this transaction run statements up to DB_BULK_STATEMENT_TIMEOUT (bulk work).

    Usable as a decorator. On PostgreSQL a `SET LOCAL`, which ends with the transaction; the
    client's deadline goes back to normal when the connection returns to the pool.
    """
    if db.engine.dialect.name == "postgresql":
        connection = db.session.connection()
        seconds = current_app.config["DB_BULK_STATEMENT_TIMEOUT"]
        connection.execute(sa.select(sa.func.set_config("statement_timeout", str(int(seconds * 1000)), True)))
        raw = connection.connection.dbapi_connection
        if isinstance(raw, BoundedConnection):
            raw.reply_timeout = reply_deadline(seconds)
    yield


def unavailable(error: Exception) -> bool:
    """Whether `error` means the database did not answer in time or is out of reach (not a bug)."""
    if isinstance(error, sa.exc.TimeoutError):  # no pooled connection came free in time
        return True
    if not isinstance(error, sa.exc.DBAPIError):
        return False
    if error.connection_invalidated or isinstance(error.orig, psycopg.OperationalError):
        return True
    # SQLite: only a lock that outlasted the busy timeout (its OperationalError also means bad SQL).
    return isinstance(error.orig, sqlite3.OperationalError) and "locked" in str(error.orig)


def answers(within: float = HEALTH_SECONDS) -> str | None:
    """None when the database answers `SELECT 1` within `within` seconds, else what went wrong.

    PostgreSQL is asked over a new connection (not the pool's, whose ping and reconnection take
    longer), in a thread waited for no longer than `within`: name lookup has no timeout of its own.
    """
    engine = db.engine
    if engine.dialect.driver != "psycopg":
        try:
            db.session.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError as exc:
            db.session.rollback()
            return type(exc).__name__
        return None
    cargs, cparams = engine.dialect.create_connect_args(engine.url)
    cparams["connect_timeout"] = 2  # the least psycopg allows
    outcome: list[str | None] = []

    def check() -> None:
        started = monotonic()
        try:
            with BoundedConnection.connect(*cargs, **cparams) as connection:
                connection.reply_timeout = max(within - (monotonic() - started), 0.1)
                connection.execute("SELECT 1")
            outcome.append(None)
        except (psycopg.Error, OSError) as exc:
            outcome.append(type(exc).__name__)

    thread = threading.Thread(target=check, name="healthz", daemon=True)
    thread.start()
    thread.join(within)
    return outcome[0] if outcome else "Timeout"
