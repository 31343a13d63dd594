"""Every kind of response carries the security headers; evidence files are sandboxed downloads."""

import secrets
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import clock, create_app
from app.extensions import db as _db
from app.models import Evaluation
from app.workflow import cycles, evaluations
from tests.conftest import csrf_token, login
from tests.workflow_helpers import agency, open_annual, write_skp

# A file that is a PDF to the upload check and an HTML page with a script to a browser that sniffs.
POLYGLOT = b"%PDF-1.4\n<html><body><script>document.title='xss'</script></body></html>\n%%EOF\n"


def directives(response) -> dict[str, str]:
    """The Content-Security-Policy header as {directive: value}."""
    policy = response.headers.get("Content-Security-Policy", "")
    parts = (part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    return {part[0]: (part[1] if len(part) > 1 else "") for part in parts}


def assert_page_headers(response) -> None:
    """The headers every response of the app carries."""
    csp = directives(response)
    assert csp["script-src"] == "'self'"
    assert csp["style-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'"
    assert csp["object-src"] == "'none'"
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"


@pytest.mark.parametrize(
    "path, status, kind",
    [
        ("/login", 200, "text/html"),
        ("/", 302, None),  # to the sign-in page
        ("/tidak-ada", 404, "text/html"),
        ("/healthz", 200, "application/json"),
        ("/static/app.css", 200, "text/css"),
        ("/static/app.js", 200, "text/javascript"),
    ],
)
def test_every_kind_of_response_carries_the_security_headers(client, path, status, kind):
    response = client.get(path)
    assert response.status_code == status
    if kind:
        assert response.mimetype == kind
    assert_page_headers(response)
    assert "Strict-Transport-Security" not in response.headers  # not in development or tests


def test_signed_in_pages_and_refusals_carry_them_too(client, make, hr):
    login(client, hr.email)
    for path in ("/", "/people/", "/cycles/", "/audit/", "/workflow/cycle"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_page_headers(response)
    refused = client.post("/logout")  # no CSRF token: refused with the 400 page
    assert refused.status_code == 400
    assert_page_headers(refused)


def test_the_rater_forms_cannot_be_framed_by_another_site(client, make, db):
    """The approve/return forms (clickjacking targets) are on a page no other origin may frame."""
    org = agency(make)
    open_annual(org)
    ev = db.session.scalar(sa.select(Evaluation).where(Evaluation.employee_id == org["nurse"].id))
    write_skp(ev, org["nurse"])
    evaluations.submit_targets(ev, org["nurse"].account)
    login(client, org["head"].email)
    page = client.get(f"/evaluations/{ev.id}")
    assert page.status_code == 200
    assert f"/evaluations/{ev.id}/approve-targets" in page.get_data(as_text=True)
    assert_page_headers(page)


def test_hsts_only_in_production(app, tmp_path):
    production = create_app(
        {
            "ENV_NAME": "production",
            "SECRET_KEY": secrets.token_hex(32),
            "DATABASE_URL": app.config["DATABASE_URL"],
            "INSTANCE_PATH": str(tmp_path / "production"),
        }
    )
    over_tls = production.test_client().get("/login", base_url="https://kinerja.example")
    assert over_tls.headers["Strict-Transport-Security"].startswith("max-age=31556926")
    assert "includeSubDomains" not in over_tls.headers["Strict-Transport-Security"]
    assert_page_headers(over_tls)
    # no redirect to https in the app (the reverse proxy does it): plain http is served as is
    assert production.test_client().get("/healthz").status_code in (200, 503)
    with production.app_context():
        _db.engine.dispose()  # its connections, before the app is dropped

    development = app.test_client().get("/login", base_url="https://kinerja.example")
    assert "Strict-Transport-Security" not in development.headers


def evidence_of_a_nurse(make, db) -> tuple[dict, Evaluation, str]:
    """The nurse's evaluation in its self-assessment phase, with an uploaded polyglot file."""
    org = agency(make)
    cycle = open_annual(org)
    ev = db.session.scalar(sa.select(Evaluation).where(Evaluation.employee_id == org["nurse"].id))
    write_skp(ev, org["nurse"])
    evaluations.submit_targets(ev, org["nurse"].account)
    evaluations.approve_targets(ev, org["head"].account)
    clock.advance(timedelta(days=26))
    cycles.advance(cycle, org["hr"].account)
    db.session.refresh(ev)
    evaluations.add_evidence_file(ev, org["nurse"].account, ev.indicators[0], "laporan <b>.html", POLYGLOT)
    evidence = ev.indicators[0].evidence[0]
    return org, ev, f"/evaluations/{ev.id}/evidence/{evidence.id}"


def test_evidence_is_downloaded_as_an_attachment_in_a_sandbox(client, make, db):
    org, ev, url = evidence_of_a_nurse(make, db)
    login(client, org["nurse"].email)
    response = client.get(url)
    assert response.status_code == 200
    assert response.data == POLYGLOT
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    csp = directives(response)
    assert "sandbox" in csp and csp["sandbox"] == ""  # no allow-scripts, no allow-same-origin
    assert csp["default-src"] == "'none'"
    assert "script-src" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    cache = response.headers["Cache-Control"]
    assert "no-store" in cache and "public" not in cache

    # the rater downloads it the same way
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, org["head"].email)
    assert client.get(url).headers["Content-Disposition"].startswith("attachment;")
