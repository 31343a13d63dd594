"""Two app nodes and two schedulers on one database behave as one service.

Each node is its own gunicorn process with its own instance folder, as on two hosts behind a
reverse proxy; they share the database, the SECRET_KEY, the files folder (FILES_DIR) and the
throttling counters (Redis). One cookie jar plays the browser: the proxy may send any request to
either node. The schedulers share the PostgreSQL advisory lock: one runs, the other stands by
and takes over when the first dies, without sending anything twice.
"""

import http.cookiejar
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from app import clock
from app.extensions import db as _db
from app.models import Evidence, OutboxMessage
from app.notify import notify
from tests import test_evidence_files
from tests.conftest import ON_POSTGRES, PASSWORD
from tests.test_evidence_files import PDF
from tests.test_production_server import free_port

ROOT = Path(__file__).resolve().parent.parent
assessing = test_evidence_files.assessing  # the nurse's evaluation in self-assessment, targets approved
REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/1")


def redis_answers() -> bool:
    """Whether the Redis the throttling counts in is there."""
    import socket

    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
        return True
    except OSError:
        return False


pytestmark = pytest.mark.skipif(
    not redis_answers() and not os.environ.get("REQUIRE_REDIS"), reason="needs Redis on 127.0.0.1:6379"
)


@pytest.fixture
def cluster(app, tmp_path):
    """Start nodes (gunicorn) and schedulers (`flask scheduler`) sharing what a cluster shares."""
    shared = {
        "APP_ENV": "production",
        "SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": app.config["DATABASE_URL"],
        "FILES_DIR": str(tmp_path / "shared-files"),
        "RATELIMIT_STORAGE_URI": REDIS,
        "RATELIMIT_KEY_PREFIX": f"test-cluster-{uuid.uuid4().hex}",
        "SESSION_COOKIE_SECURE": "false",  # plain http on loopback; the proxy ends TLS in production
        "SCHEDULER_LOCK_ID": str(700_000_000 + secrets.randbelow(100_000_000)),  # this test's own lock
    }
    processes: list[tuple[subprocess.Popen, object]] = []

    def start(name: str, command: list[str], extra: dict | None = None) -> tuple[subprocess.Popen, Path]:
        instance = tmp_path / name
        log_path = tmp_path / f"{name}.log"
        log = log_path.open("w")
        env = {**os.environ, **shared, "INSTANCE_PATH": str(instance), **(extra or {})}
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        processes.append((process, log))
        return process, log_path

    def node(name: str, extra: dict | None = None) -> int:
        port = free_port()
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            "1",
            "--bind",
            f"127.0.0.1:{port}",
            "wsgi:app",
        ]
        process, log_path = start(name, command, extra)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"{name} stopped: " + log_path.read_text())
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).read()
                return port
            except (OSError, urllib.error.URLError):
                time.sleep(0.2)
        pytest.fail(f"{name} did not start: " + log_path.read_text())

    def scheduler(name: str, extra: dict | None = None) -> tuple[subprocess.Popen, Path]:
        command = [sys.executable, "-m", "flask", "--app", "wsgi", "scheduler", "--standby-seconds", "1"]
        return start(name, command, extra)

    _db.session.commit()  # what the test built is visible to the other processes
    yield type("Cluster", (), {"node": staticmethod(node), "scheduler": staticmethod(scheduler)})
    for process, log in processes:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()


class Browser:
    """One person's browser: a cookie jar sent to whichever node answers (same host, any port)."""

    def __init__(self):
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect())

    def get(self, port: int, path: str) -> tuple[int, bytes]:
        """GET; the status and the body (redirects not followed)."""
        try:
            with self.opener.open(f"http://127.0.0.1:{port}{path}", timeout=30) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def post(self, port: int, path: str, fields: dict, files: dict | None = None) -> tuple[int, bytes]:
        """POST a form (multipart when there are files); the status and the body."""
        if files:
            boundary = uuid.uuid4().hex
            parts = []
            for key, value in fields.items():
                disposition = f'Content-Disposition: form-data; name="{key}"'
                parts.append(f"--{boundary}\r\n{disposition}\r\n\r\n{value}\r\n".encode())
            for key, (filename, data, kind) in files.items():
                head = (
                    f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"; filename="{filename}"\r\n'
                    f"Content-Type: {kind}\r\n\r\n"
                )
                parts.append(head.encode() + data + b"\r\n")
            body = b"".join(parts) + f"--{boundary}--\r\n".encode()
            content_type = f"multipart/form-data; boundary={boundary}"
        else:
            body = urllib.parse.urlencode(fields).encode()
            content_type = "application/x-www-form-urlencoded"
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}{path}", data=body, headers={"Content-Type": content_type}
        )
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def token(self, port: int, path: str) -> str:
        """The CSRF token of this browser's session, from a page of that node."""
        status, body = self.get(port, path)
        match = re.search(rb'name="csrf-token" content="([^"]+)"', body)
        assert match, (status, body[:300])
        return match.group(1).decode()

    def sign_in(self, port: int, nip: str) -> int:
        """Sign in through the form of that node; the status of the answer."""
        status, _body = self.post(
            port,
            "/login",
            {"csrf_token": self.token(port, "/login"), "identifier": nip, "password": PASSWORD},
        )
        return status


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are answers to look at, not to follow."""

    def redirect_request(self, *args, **kwargs):
        return None


def test_a_session_made_on_one_node_works_on_the_other_and_evidence_crosses_them(
    cluster, assessing, db, tmp_path
):
    org, _cycle, ev = assessing
    first, second = cluster.node("node-1"), cluster.node("node-2")
    nurse = Browser()
    assert nurse.sign_in(first, org["nurse"].nip) == 302

    # Signed in on node 1, the home page of node 2 knows her.
    status, body = nurse.get(second, "/")
    assert status == 200 and org["nurse"].name.encode() in body

    # A form rendered by node 2 posts to node 1 (the CSRF token is the session's, not the node's).
    indicator = ev.indicators[0]
    path = f"/evaluations/{ev.id}/indicators/{indicator.id}/evidence"
    token = nurse.token(second, f"/evaluations/{ev.id}")
    db.session.refresh(ev)
    status, body = nurse.post(
        first,
        path,
        {"csrf_token": token, "version": str(ev.version)},
        files={"file": ("laporan-waktu-tunggu.pdf", PDF, "application/pdf")},
    )
    assert status == 302, body[:500]
    db.session.expire_all()
    evidence = db.session.scalar(sa.select(Evidence).where(Evidence.indicator_id == indicator.id))
    assert evidence is not None and evidence.filename == "laporan-waktu-tunggu.pdf"

    # Uploaded through node 1, downloaded through node 2 (its own instance folder has no copy).
    status, body = nurse.get(second, f"/evaluations/{ev.id}/evidence/{evidence.id}")
    assert status == 200 and body == PDF
    assert (tmp_path / "shared-files" / "evidence" / evidence.stored_name).read_bytes() == PDF
    for node in ("node-1", "node-2"):  # nothing in either node's own folder
        assert not (tmp_path / node / "evidence").exists() or not any(
            (tmp_path / node / "evidence").iterdir()
        )

    # Signing out on node 2 ends the session on node 1 too.
    status, _ = nurse.post(second, "/logout", {"csrf_token": nurse.token(second, "/")})
    assert status in (302, 303)
    status, _ = nurse.get(first, "/")
    assert status == 302  # back to the sign-in page


def test_throttling_counts_the_attempts_made_on_every_node(cluster, make):
    person = make.employee("Pegawai Terkunci")
    _db.session.commit()
    limits = {"LOGIN_RATE_PER_ADDRESS": "4 per minute", "LOGIN_MAX_FAILURES": "100"}
    first, second = cluster.node("node-1", limits), cluster.node("node-2", limits)
    guesser = Browser()
    answers = []
    for attempt in range(4):
        port = first if attempt % 2 == 0 else second
        status, _ = guesser.post(
            port,
            "/login",
            {
                "csrf_token": guesser.token(port, "/login"),
                "identifier": person.nip,
                "password": "salah-salah",
            },
        )
        answers.append(status)
    assert 429 not in answers  # four attempts, two on each node: within the limit of four
    status, body = guesser.post(
        second,
        "/login",
        {"csrf_token": guesser.token(first, "/login"), "identifier": person.nip, "password": PASSWORD},
    )
    assert status == 429, (status, body[:300])  # the fifth, wherever it lands, is throttled


def wait_for(log_path: Path, text: str, seconds: float) -> float:
    """Wait until `text` appears in the log; the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if text in log_path.read_text():
            return time.monotonic() - started
        time.sleep(0.2)
    pytest.fail(f"{text!r} not in {log_path.name} after {seconds} s:\n" + log_path.read_text())


@pytest.mark.skipif(not ON_POSTGRES, reason="the schedulers share a PostgreSQL advisory lock")
def test_when_the_active_scheduler_dies_the_other_takes_over_and_sends_nothing_twice(
    cluster, make, smtp_server
):
    person = make.employee("Penerima Email")
    send(person, 1)
    _db.session.commit()
    mail = {
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp_server.controller.port),
        "RELAY_INTERVAL_SECONDS": "1",
    }
    leader, leader_log = cluster.scheduler("scheduler-1", mail)
    wait_for(leader_log, "scheduler active", 60)
    standby, standby_log = cluster.scheduler("scheduler-2", mail)
    wait_for(standby_log, "another scheduler is active; standing by", 60)
    deadline = time.monotonic() + 60
    while not smtp_server.messages and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(smtp_server.messages) == 1
    # the leader has recorded it as sent (killed between the SMTP reply and that commit, the
    # message waits for its claim to expire: the relay's own crash tests cover that case)
    newest = sa.select(OutboxMessage.state).order_by(OutboxMessage.id.desc()).limit(1)
    while time.monotonic() < deadline:
        _db.session.expire_all()
        if str(_db.session.scalar(newest)) == "sent":
            break
        _db.session.rollback()  # a fresh snapshot for the next look
        time.sleep(0.2)

    leader.send_signal(signal.SIGKILL)  # a crash: no clean release of the lock
    leader.wait(timeout=10)
    took = wait_for(standby_log, "scheduler active", 60)
    assert took < 60
    print(f"the standby scheduler took over {took:.1f} s after the active one was killed")

    send(person, 2)
    _db.session.commit()
    deadline = time.monotonic() + 60
    while len(smtp_server.messages) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(3)  # a few more relay rounds: nothing may go out again
    keys = sorted(
        str(message["X-Kinerja-Key"] or message["Subject"]) for _rcpt, message in smtp_server.messages
    )
    assert len(keys) == 2 and len(set(keys)) == 2, keys
    _db.session.expire_all()
    states = _db.session.scalars(sa.select(OutboxMessage.state).order_by(OutboxMessage.id)).all()
    assert [str(state) for state in states][-2:] == ["sent", "sent"]
    assert standby.poll() is None  # still running the jobs


def send(person, n: int) -> None:
    """Queue the n-th email of the test to `person`."""
    notify(
        "deadline_extended",
        person,
        f"two-nodes:{n}",
        cycle=type("C", (), {"name": f"SKP {n}"})(),
        evaluation=type("E", (), {"id": n})(),
        until=clock.now(),
        reason="Sakit",
    )
