"""Authorisation matrix: every state-changing evaluation and cycle route against every kind of person.

For each route the evaluation is put in the state where the route makes sense; then the
employee, another employee, the rater, another rater, the appeal handler, HR and an anonymous
visitor each try it. Only the right person succeeds; everyone else is refused (403, or 400 with
the reason) and nothing changes.
"""

import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import clock
from app.models import Comment, Cycle, Evaluation, Evidence, Indicator, OutboxMessage, Rhk, Role
from app.workflow import cycles, evaluations
from tests.conftest import csrf_token, login
from tests.workflow_helpers import agency, cycle_data, open_annual, write_skp

PEOPLE = ["employee", "other_employee", "rater", "other_rater", "appeal_handler", "hr", "anonymous"]


def setup(make, db, stage: str):
    """The demo-like agency with the nurse's evaluation brought to `stage`."""
    org = agency(make)
    kasi = make.employee("Kasi Lain", supervisor=org["camat"], unit=org["kecamatan"])
    make.employee("Staf Kasi", supervisor=kasi, unit=org["kecamatan"])
    cycle = open_annual(org)
    ev = db.session.scalar(
        sa.select(Evaluation).where(
            Evaluation.cycle_id == cycle.id, Evaluation.employee_id == org["nurse"].id
        )
    )
    nurse, head, camat, hr = (org[k].account for k in ("nurse", "head", "camat", "hr"))
    write_skp(ev, org["nurse"])
    if stage != "targets_draft":
        evaluations.submit_targets(ev, nurse)
    if stage not in ("targets_draft", "targets_submitted"):
        evaluations.approve_targets(ev, head)
        clock.travel_to(cycle.target_deadline + timedelta(hours=1))
        cycles.advance(cycle, hr)
        for indicator in ev.indicators:
            evaluations.save_realisation(ev, nurse, indicator, "40", None)
        evaluations.add_evidence_link(ev, nurse, ev.indicators[0], "https://contoh.go.id/bukti")
    if stage not in ("targets_draft", "targets_submitted", "assessment_draft"):
        evaluations.submit_assessment(ev, nurse)
    if stage in ("reviewed", "appealed"):
        evaluations.review(ev, head, {"results_rating": "meets", "behaviour_rating": "meets"})
    if stage == "appealed":
        evaluations.file_appeal(ev, nurse, "Alasan keberatan saya cukup panjang dan jelas.")
    people = {
        "employee": org["nurse"],
        "other_employee": org["colleague"],
        "rater": org["head"],
        "other_rater": kasi,
        "appeal_handler": org["camat"],
        "hr": org["hr"],
        "anonymous": None,
    }
    return org, cycle, db.session.get(Evaluation, ev.id), people


def snapshot(db, ev_id: int, cycle_id: int):
    """Everything a refused action must leave as it was."""
    db.session.expire_all()
    ev = db.session.get(Evaluation, ev_id)
    counts = tuple(
        db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (Rhk, Indicator, Evidence, Comment, OutboxMessage)
    )
    cycle = db.session.get(Cycle, cycle_id)
    return (ev.state, ev.version, ev.results_rating, ev.behaviour_rating, cycle.state, cycle.version, counts)


def ev_routes(ev):
    rhk = ev.rhks[0]
    indicator = rhk.indicators[0]
    evidence = next((e for i in ev.indicators for e in i.evidence), None)
    base = f"/evaluations/{ev.id}"
    indicator_data = {
        "aspect": "time",
        "text": "Baru",
        "comparator": "at_most",
        "target": "20",
        "unit": "menit",
    }
    return {
        "targets_draft": [
            (f"{base}/rhk", {"kind": "main", "text": "RHK baru"}, {"employee"}),
            (f"{base}/rhk/{rhk.id}", {"kind": "main", "text": "RHK diubah"}, {"employee"}),
            (f"{base}/rhk/{rhk.id}/indicators", indicator_data, {"employee"}),
            (f"{base}/rhk/{rhk.id}/indicators/{indicator.id}", indicator_data, {"employee"}),
            (f"{base}/annex", {"resources": "Komputer"}, {"employee"}),
            (f"{base}/indicators/{indicator.id}/delete", {}, {"employee"}),
            (f"{base}/rhk/{rhk.id}/delete", {}, {"employee"}),
            (f"{base}/submit-targets", {}, {"employee"}),
        ],
        "targets_submitted": [
            (f"{base}/expectations", {"expectation_service": "Ramah"}, {"rater"}),
            (f"{base}/return-targets", {"comment": "Perbaiki"}, {"rater"}),
            (f"{base}/approve-targets", {}, {"rater"}),
        ],
        "assessment_draft": [
            (f"{base}/indicators/{indicator.id}/realisation", {"realisation": "25"}, {"employee"}),
            (
                f"{base}/indicators/{indicator.id}/evidence",
                {"url": "https://contoh.go.id/lain"},
                {"employee"},
            ),
            (f"{base}/evidence/{evidence.id if evidence else 0}/delete", {}, {"employee"}),
            (f"{base}/submit-assessment", {}, {"employee"}),
        ],
        "assessment_submitted": [
            (f"{base}/return-assessment", {"comment": "Lengkapi bukti"}, {"rater"}),
            (f"{base}/review", {"results_rating": "meets", "behaviour_rating": "meets"}, {"rater"}),
        ],
        "reviewed": [
            (f"{base}/appeal", {"reasons": "Saya keberatan karena alasan yang jelas."}, {"employee"}),
        ],
        "appealed": [
            (
                f"{base}/appeal/comment",
                {"body": "Penjelasan", "addressed_to": "rater"},
                {"employee", "rater", "appeal_handler"},
            ),
            (
                f"{base}/appeal/decide",
                {"results_rating": "above", "behaviour_rating": "meets", "reasons": "Bukti kuat"},
                {"appeal_handler"},
            ),
        ],
    }


ROUTES = [
    (stage, index)
    for stage, count in [
        ("targets_draft", 8),
        ("targets_submitted", 3),
        ("assessment_draft", 4),
        ("assessment_submitted", 2),
        ("reviewed", 1),
        ("appealed", 2),
    ]
    for index in range(count)
]


@pytest.mark.parametrize("stage, index", ROUTES)
def test_evaluation_routes(app, make, db, stage, index):
    """Everyone else is refused first (nothing changes); then the right person succeeds."""
    org, cycle, ev, people = setup(make, db, stage)
    url, data, allowed = ev_routes(ev)[stage][index]
    for who in sorted(PEOPLE, key=lambda w: w in allowed):
        client = app.test_client()
        if people[who] is not None:
            login(client, people[who].nip)
        before = snapshot(db, ev.id, cycle.id)
        version = str(db.session.get(Evaluation, ev.id).version)
        response = client.post(url, data={"csrf_token": csrf_token(client, "/"), "version": version, **data})
        if who == "anonymous":
            assert response.status_code == 302 and "/login" in response.headers["Location"]
        elif who in allowed:
            assert response.status_code == 302, (who, url, response.get_data(as_text=True)[:300])
            if len(allowed) == 1:
                assert snapshot(db, ev.id, cycle.id) != before, (who, url)
            continue
        else:
            assert response.status_code in (400, 403), (who, url, response.status_code)
        assert snapshot(db, ev.id, cycle.id) == before, (who, url)


def cycle_routes(cycle, ev):
    later = (clock.now() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    base = f"/cycles/{cycle.id}"
    return [
        (f"{base}/advance", {}),
        (f"{base}/extend", {"until": later, "reason": "Gangguan jaringan"}),
        (f"{base}/evaluations/{ev.id}/extend", {"until": later, "reason": "Sakit"}),
        (f"{base}/distribution", {"unit_id": str(ev.unit_id), "org_predikat": "baik"}),
        (f"{base}/close", {}),
        ("/cycles/new", {"name": "Periode baru", "kind": "annual", "year": "2028"}),
    ]


@pytest.mark.parametrize("index", range(6))
def test_cycle_routes_are_for_hr_only(app, make, db, index):
    org, cycle, ev, people = setup(make, db, "targets_draft")
    url, data = cycle_routes(cycle, ev)[index]
    for who in [p for p in PEOPLE if p != "hr"]:
        client = app.test_client()
        if people[who] is not None:
            login(client, people[who].nip)
        before = snapshot(db, ev.id, cycle.id)
        response = client.post(
            url, data={"csrf_token": csrf_token(client, "/"), "version": str(cycle.version), **data}
        )
        if who == "anonymous":
            assert response.status_code == 302 and "/login" in response.headers["Location"]
        else:
            assert response.status_code == 403, (who, url)
        assert snapshot(db, ev.id, cycle.id) == before
    client = app.test_client()
    login(client, people["hr"].nip)
    response = client.post(
        url, data={"csrf_token": csrf_token(client, "/"), "version": str(cycle.version), **data}
    )
    # HR may act; an action the cycle's phase refuses answers 400 with the reason on the page.
    assert response.status_code in (200, 302, 400), url
    if response.status_code == 400:
        assert "alert-danger" in response.get_data(as_text=True), url


def test_hr_cannot_rate_or_decide_without_being_the_rater(app, make, db):
    """The HR role grants no right to rate or to decide appeals."""
    org, cycle, ev, people = setup(make, db, "assessment_submitted")
    client = app.test_client()
    login(client, org["hr"].nip)
    response = client.post(
        f"/evaluations/{ev.id}/review",
        data={
            "csrf_token": csrf_token(client, "/"),
            "version": str(ev.version),
            "results_rating": "above",
            "behaviour_rating": "above",
        },
    )
    assert response.status_code == 400 and "tidak berwenang" in response.get_data(as_text=True)


def test_nobody_rates_themselves(make, db):
    hr = make.employee("HR mandiri", roles={Role.EMPLOYEE, Role.HR})
    assert cycle_data([hr.unit])["unit_ids"] == [hr.unit.id]
    # an employee without a supervisor is left out of the cycle, so no evaluation has rater == employee
    cycle = cycles.save_cycle(None, cycle_data([hr.unit]), hr.account)
    assert [row.id for row, _reason in cycles.coverage(cycle).left_out] == [hr.id]
    with pytest.raises(Exception):  # noqa: B017 - the database itself refuses it too
        db.session.add(Evaluation(cycle_id=cycle.id, employee_id=hr.id, rater_id=hr.id, unit_id=hr.unit_id))
        db.session.commit()
    db.session.rollback()


def test_the_employee_cannot_upload_evidence_to_another_evaluation(app, make, db):
    org, cycle, ev, people = setup(make, db, "assessment_draft")
    colleague_ev = db.session.scalar(
        sa.select(Evaluation).where(Evaluation.employee_id == org["colleague"].id)
    )
    client = app.test_client()
    login(client, org["colleague"].nip)
    response = client.post(
        f"/evaluations/{colleague_ev.id}/indicators/{ev.indicators[0].id}/evidence",
        data={
            "csrf_token": csrf_token(client, "/"),
            "version": str(colleague_ev.version),
            "file": (io.BytesIO(b"%PDF-1.4"), "x.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Evidence)) == 1
