"""A refused HR action on a cycle answers with an error status and shows why on the page it
re-renders (keeping what was typed), never a redirect that looks like success; a form without a
readable version is refused, not taken as "no check"."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import clock
from app.models import AuditEvent, Cycle, CycleState, Evaluation, EvaluationState
from tests.conftest import csrf_token, login
from tests.workflow_helpers import agency, open_annual

ALERT = re.compile(r'class="alert alert-danger[^"]*"[^>]*>(.*?)</div>', re.S)


def local(moment) -> str:
    return moment.astimezone(clock.tz()).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def running(app, client, make, db):
    """An annual cycle in target setting; HR signed in."""
    org = agency(make)
    cycle = open_annual(org)
    login(client, org["hr"].nip)
    return org, cycle


def post(client, url: str, data: dict):
    return client.post(url, data={"csrf_token": csrf_token(client, "/"), **data})


def state(db, cycle: Cycle) -> tuple:
    db.session.expire_all()
    fresh = db.session.get(Cycle, cycle.id)
    audits = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    return (fresh.state, fresh.version, fresh.target_deadline, audits)


def alerts(response) -> str:
    return " ".join(ALERT.findall(response.get_data(as_text=True)))


@pytest.mark.parametrize(
    "action, data, status, message",
    [
        ("advance", {"version": "{stale}"}, 409, "baru saja diubah"),
        ("advance", {}, 400, "versi data yang dapat dibaca"),
        ("advance", {"version": "²"}, 400, "versi data yang dapat dibaca"),
        ("advance", {"version": "2147483648"}, 400, "versi data yang dapat dibaca"),
        ("open", {"version": "{version}"}, 400, "tidak dapat dilakukan pada tahap"),
        ("close", {"version": "{version}"}, 400, "tidak dapat dilakukan pada tahap"),
        ("reopen", {"version": "{version}", "until": "{later}"}, 400, "tidak dapat dilakukan pada tahap"),
        ("extend", {"until": ""}, 400, "Isi tenggat baru"),
        ("extend", {"until": "{past}", "reason": "Jaringan putus"}, 400, "di masa depan"),
        ("extend", {"until": "31-12-2027"}, 400, "Isi tanggal dan jam yang valid"),
        ("distribution", {"version": "{version}", "mode": "names"}, 400, "tahap"),
        ("distribution", {"version": "{version}"}, 400, "Pilih cara pengumuman"),
        ("distribution", {"mode": "names"}, 400, "versi data yang dapat dibaca"),
        ("distribution", {"unit_id": "²", "org_predikat": "baik"}, 400, "Pilihan tidak valid"),
    ],
)
def test_a_refused_cycle_action_shows_why_with_an_error_status(
    client, db, running, action, data, status, message
):
    org, cycle = running
    values = {
        "version": str(cycle.version),
        "stale": str(cycle.version - 1),
        "later": local(clock.now() + timedelta(days=3)),
        "past": local(clock.now() - timedelta(days=1)),
    }
    data = {k: v.format(**values) for k, v in data.items()}
    before = state(db, cycle)
    response = post(client, f"/cycles/{cycle.id}/{action}", data)
    assert response.status_code == status, (action, data, response.status_code)
    assert message in alerts(response), alerts(response)
    assert state(db, cycle) == before


def test_a_refused_extension_keeps_what_was_typed(client, db, running):
    org, cycle = running
    response = post(client, f"/cycles/{cycle.id}/extend", {"until": "", "reason": "Gangguan jaringan SIMPEG"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and 'value="Gangguan jaringan SIMPEG"' in page


def test_a_refused_personal_extension_shows_why_on_the_dashboard(client, db, running):
    org, cycle = running
    clock.travel_to(cycle.target_deadline + timedelta(hours=1))
    late = db.session.scalar(sa.select(Evaluation).where(Evaluation.employee_id == org["colleague"].id))
    assert late.state == EvaluationState.TARGETS_DRAFT
    url = f"/cycles/{cycle.id}/evaluations/{late.id}/extend"
    response = post(client, url, {"until": "", "reason": "Sakit, surat dokter terlampir"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "Isi tenggat baru" in alerts(response)
    assert 'value="Sakit, surat dokter terlampir"' in page
    db.session.expire_all()
    assert db.session.get(Evaluation, late.id).extended_until is None
    later = local(clock.now() + timedelta(days=2))
    response = post(client, url, {"until": later, "reason": "Sakit, surat dokter terlampir"})
    assert response.status_code == 302  # the same form, filled in, succeeds
    assert client.get(response.headers["Location"]).status_code == 200


def test_an_accepted_action_still_redirects_and_the_dashboard_says_so(client, db, running):
    org, cycle = running
    clock.travel_to(cycle.target_deadline + timedelta(hours=1))
    shown = str(cycle.version)  # the version the dashboard was rendered with
    response = post(client, f"/cycles/{cycle.id}/advance", {"version": shown})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Periode berpindah ke tahap berikutnya" in page
    db.session.expire_all()
    assert db.session.get(Cycle, cycle.id).state == CycleState.SELF_ASSESSMENT
    # the same form again, from the page now out of date
    stale = post(client, f"/cycles/{cycle.id}/advance", {"version": shown})
    assert stale.status_code == 409 and "baru saja diubah" in alerts(stale)
    db.session.expire_all()
    assert db.session.get(Cycle, cycle.id).state == CycleState.SELF_ASSESSMENT
