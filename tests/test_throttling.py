"""Sign-in and password-reset requests are throttled per client address and for everyone,
with the counters in the real Redis that production uses (db 1 here, a key prefix per test)."""

import math
import os
import re
import secrets
import time
import uuid

import pytest
import redis

from app import create_app
from app.extensions import db as _db
from tests.conftest import PASSWORD, IsolatedClient

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/1")
ATTACKER, OTHER = "198.51.100.7", "198.51.100.8"
WRONG = "bukan-kata-sandinya"


@pytest.fixture
def redis_db():
    """The Redis the throttling tests count in; missing, the tests skip (CI requires it)."""
    connection = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        connection.ping()
    except redis.RedisError as exc:
        if os.environ.get("REQUIRE_REDIS"):
            pytest.fail(f"Redis does not answer at {REDIS_URL} but REQUIRE_REDIS is set: {exc}")
        pytest.skip(f"Redis does not answer at {REDIS_URL}")
    yield connection
    connection.close()


@pytest.fixture
def throttled(app, redis_db, tmp_path):
    """Build apps with throttling on, sharing the test's database and one Redis key prefix."""
    prefix = f"test-throttling-{uuid.uuid4().hex}"
    built = []

    def build(**config):
        settings = {
            "DATABASE_URL": app.config["DATABASE_URL"],
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_STORAGE_URI": REDIS_URL,
            "RATELIMIT_KEY_PREFIX": prefix,
            "LOGIN_RATE_PER_ADDRESS": "3 per hour",
            "LOGIN_RATE_GLOBAL": "100 per hour",
            "PASSWORD_RESET_RATE_PER_ADDRESS": "2 per hour",
            "PASSWORD_RESET_RATE_GLOBAL": "100 per hour",
            **config,
        }
        other = create_app(settings)
        other.test_client_class = IsolatedClient
        built.append(other)
        return other

    build.prefix = prefix
    yield build
    for other in built:
        with other.app_context():
            _db.engine.dispose()
    for key in redis_db.scan_iter(match=f"*{prefix}*"):
        redis_db.delete(key)


def attempt(client, identifier: str, password: str, address: str, **headers):
    """One sign-in through the form, from a client address."""
    environ = {"REMOTE_ADDR": address}
    token = csrf_token_from(client, "/login", environ)
    return client.post(
        "/login",
        data={"csrf_token": token, "identifier": identifier, "password": password},
        environ_base=environ,
        headers=headers,
    )


def csrf_token_from(client, path: str, environ: dict) -> str:
    """The session's CSRF token, read from a page fetched from the same address."""
    html = client.get(path, environ_base=environ).get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def sign_out(client, address: str) -> None:
    """Sign out through the menu's form."""
    token = csrf_token_from(client, "/", {"REMOTE_ADDR": address})
    client.post("/logout", data={"csrf_token": token}, environ_base={"REMOTE_ADDR": address})


def assert_throttled_page(response, what: str) -> int:
    """The 429 page in Indonesian, with the minutes to wait from Retry-After; returns the seconds."""
    assert response.status_code == 429
    seconds = int(response.headers["Retry-After"])
    assert 0 < seconds <= 3600
    text = response.get_data(as_text=True)
    assert "Terlalu banyak percobaan" in text
    assert what in text
    assert f"Silakan coba lagi dalam {math.ceil(seconds / 60)} menit." in text
    assert 'class="navbar' in text  # the normal layout
    return seconds


def test_failed_sign_ins_from_one_address_are_throttled_and_other_addresses_are_not(make, throttled):
    client = throttled().test_client()
    employee = make.employee("Siti Aminah")
    for _ in range(3):
        refused = attempt(client, employee.nip, WRONG, ATTACKER)
        assert refused.status_code == 200 and "kata sandi salah" in refused.get_data(as_text=True)

    # the fourth try from that address is held, even with the right password
    held = attempt(client, employee.nip, PASSWORD, ATTACKER)
    assert_throttled_page(held, "percobaan masuk")
    page = held.get_data(as_text=True)
    assert f'value="{employee.nip}"' in page  # what was typed is kept
    assert PASSWORD not in page
    assert "NIP atau email" in page and "Kata sandi" in page

    # someone at another address signs in as usual
    other_client = throttled().test_client()
    signed_in = attempt(other_client, employee.nip, PASSWORD, OTHER)
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == "/"


def test_successful_sign_ins_are_not_counted(make, throttled):
    client = throttled().test_client()
    employee = make.employee()
    for _ in range(5):
        assert attempt(client, employee.email, PASSWORD, ATTACKER).status_code == 302
        sign_out(client, ATTACKER)
    assert attempt(client, employee.email, WRONG, ATTACKER).status_code == 200


def test_a_password_spray_across_addresses_meets_the_global_limit(make, throttled):
    client = throttled(LOGIN_RATE_GLOBAL="4 per hour").test_client()
    people = [make.employee() for _ in range(6)]
    for n, person in enumerate(people[:4]):
        assert attempt(client, person.email, "Password123", f"203.0.113.{n + 1}").status_code == 200
    for n, person in enumerate(people[4:]):
        held = attempt(client, person.email, "Password123", f"203.0.113.{n + 50}")
        assert_throttled_page(held, "percobaan masuk")


def test_the_counters_are_shared_by_every_worker(make, throttled, redis_db):
    worker_a, worker_b = throttled().test_client(), throttled().test_client()
    employee = make.employee()
    for client in (worker_a, worker_b, worker_a):
        assert attempt(client, employee.email, WRONG, ATTACKER).status_code == 200
    assert attempt(worker_b, employee.email, PASSWORD, ATTACKER).status_code == 429
    assert any(redis_db.scan_iter(match=f"*{throttled.prefix}*"))


def test_a_forged_x_forwarded_for_does_not_escape_the_limit(make, throttled):
    employee, colleague = make.employee(), make.employee()  # fewer failures each than the lockout
    # no proxy trusted (the default): the header is ignored
    direct = throttled().test_client()
    for n in range(3):
        attempt(direct, employee.email, WRONG, ATTACKER, **{"X-Forwarded-For": f"10.0.0.{n}"})
    forged = {"X-Forwarded-For": "10.9.9.9"}
    assert attempt(direct, employee.email, WRONG, ATTACKER, **forged).status_code == 429

    # behind one proxy: only the address the proxy appended counts, not what the client wrote
    behind = throttled(TRUSTED_PROXIES=1, RATELIMIT_KEY_PREFIX=throttled.prefix + "-proxy").test_client()
    for n in range(3):
        forwarded = {"X-Forwarded-For": f"10.0.0.{n}, 203.0.113.9"}
        assert attempt(behind, colleague.email, WRONG, "127.0.0.1", **forwarded).status_code == 200
    forwarded = {"X-Forwarded-For": "10.1.1.1, 203.0.113.9"}
    assert attempt(behind, colleague.email, WRONG, "127.0.0.1", **forwarded).status_code == 429
    # another client behind the same proxy is served
    other = {"X-Forwarded-For": "203.0.113.10"}
    assert attempt(behind, colleague.email, PASSWORD, "127.0.0.1", **other).status_code == 302


def test_password_reset_requests_are_throttled_and_share_the_budget_with_the_reset_form(make, throttled):
    client = throttled().test_client()
    employee = make.employee()
    environ = {"REMOTE_ADDR": ATTACKER}

    def forgot(identifier):
        token = csrf_token_from(client, "/password/forgot", environ)
        return client.post(
            "/password/forgot", data={"csrf_token": token, "identifier": identifier}, environ_base=environ
        )

    assert forgot(employee.email).status_code == 302
    assert forgot(employee.email).status_code == 302
    held = forgot(employee.nip)
    assert_throttled_page(held, "permintaan atur ulang kata sandi")
    assert f'value="{employee.nip}"' in held.get_data(as_text=True)

    # the reset form (any token) counts in the same budget
    token = csrf_token_from(client, "/login", environ)
    reset = client.post(
        "/password/reset/tebakan",
        data={"csrf_token": token, "new_password": "baru-dan-kuat-1", "confirm": "baru-dan-kuat-1"},
        environ_base=environ,
    )
    assert_throttled_page(reset, "permintaan atur ulang kata sandi")

    # another address may still ask
    other = {"REMOTE_ADDR": OTHER}
    token = csrf_token_from(client, "/password/forgot", other)
    asked = client.post(
        "/password/forgot", data={"csrf_token": token, "identifier": employee.email}, environ_base=other
    )
    assert asked.status_code == 302


def test_the_limit_lifts_when_its_window_ends(make, throttled):
    client = throttled(LOGIN_RATE_PER_ADDRESS="2 per 3 seconds").test_client()
    employee = make.employee()
    for _ in range(2):
        attempt(client, employee.email, WRONG, ATTACKER)
    held = attempt(client, employee.email, PASSWORD, ATTACKER)
    seconds = assert_throttled_page(held, "percobaan masuk")
    assert seconds <= 3
    time.sleep(seconds + 0.2)
    assert attempt(client, employee.email, PASSWORD, ATTACKER).status_code == 302


def test_sign_in_keeps_working_and_throttled_while_redis_is_down(make, throttled, caplog):
    # nothing listens on port 1: every Redis call fails at once
    down = throttled(RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/1")
    employee = make.employee()
    assert attempt(down.test_client(), employee.email, PASSWORD, OTHER).status_code == 302
    client = down.test_client()
    for _ in range(3):
        assert attempt(client, employee.email, WRONG, ATTACKER).status_code == 200
    assert attempt(client, employee.email, WRONG, ATTACKER).status_code == 429  # counted in memory
    assert "falling back to in-memory storage" in caplog.text


def test_production_refuses_to_count_in_process_memory(app, tmp_path):
    with pytest.raises(RuntimeError, match="RATELIMIT_STORAGE_URI"):
        create_app(
            {
                "ENV_NAME": "production",
                "SECRET_KEY": secrets.token_hex(32),
                "DATABASE_URL": app.config["DATABASE_URL"],
                "INSTANCE_PATH": str(tmp_path / "production"),
                "RATELIMIT_ENABLED": True,
                "RATELIMIT_STORAGE_URI": "memory://",
            }
        )


def test_development_may_count_in_memory_and_says_so(app, tmp_path, caplog):
    create_app(
        {
            "DATABASE_URL": app.config["DATABASE_URL"],
            "INSTANCE_PATH": str(tmp_path / "development"),
            "ENV_NAME": "development",
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_STORAGE_URI": "memory://",
        }
    )
    assert "counts in this process's memory" in caplog.text
