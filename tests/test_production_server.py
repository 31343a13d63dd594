"""The production server as the README starts it (gunicorn, APP_ENV=production): no version
banner, and the security headers on what it serves."""

import http.client
import os
import secrets
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def gunicorn(app, tmp_path):
    """gunicorn serving wsgi:app in production mode on the test's database."""
    port = free_port()
    env = {
        **os.environ,
        "APP_ENV": "production",
        "SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": app.config["DATABASE_URL"],
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "RATELIMIT_STORAGE_URI": os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/1"),
        "RATELIMIT_KEY_PREFIX": f"test-gunicorn-{uuid.uuid4().hex}",
    }
    log = (tmp_path / "gunicorn.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail("gunicorn stopped: " + (tmp_path / "gunicorn.log").read_text())
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("gunicorn did not start: " + (tmp_path / "gunicorn.log").read_text())
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def fetch(port: int, path: str, headers: dict | None = None) -> http.client.HTTPResponse:
    """One GET, redirects not followed."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", path, headers=headers or {})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def test_the_production_server_reveals_no_versions_and_sends_the_headers(gunicorn):
    for path in ("/login", "/healthz", "/static/app.css", "/tidak-ada"):
        response = fetch(gunicorn, path)
        server = response.getheader("Server", "")
        assert server == "gunicorn", server  # no version, no Werkzeug, no Python
        assert "frame-ancestors 'none'" in response.getheader("Content-Security-Policy")
        assert response.getheader("X-Frame-Options") == "DENY"
        assert response.getheader("X-Content-Type-Options") == "nosniff"
        assert response.getheader("Referrer-Policy") == "no-referrer"
        # plain http from the proxy (TLS ends there): served, no redirect loop, no HSTS
        assert response.getheader("Strict-Transport-Security") is None

    # the proxy on this host says the client came over https: HSTS, as the browser saw TLS
    over_tls = fetch(gunicorn, "/login", {"X-Forwarded-Proto": "https"})
    assert over_tls.status == 200
    assert over_tls.getheader("Strict-Transport-Security", "").startswith("max-age=")
