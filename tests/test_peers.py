"""Peer input on behaviour (masukan rekan kerja): the rater asks up to five colleagues during review,
they answer per BerAKHLAK value by a deadline, the rater reads it as input only, and the employee
learns nothing of it."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import clock
from app.domain import CoreValue, Rating
from app.jobs.reminders import send_reminders
from app.models import AuditEvent, EvaluationState, OutboxMessage, PeerAnswer, PeerRequest
from app.services import Refused, home
from app.workflow import evaluations
from app.workflow.monitoring import peers
from tests.conftest import csrf_token, login, post_form
from tests.test_workflow_services import World, count, refused

E = EvaluationState


@pytest.fixture
def w(make) -> World:
    world = World(make)
    for n in range(1, 6):
        world.org[f"staff{n}"] = make.employee(
            f"Bidan Staf {n}", supervisor=world.org["head"], unit=world.org["puskesmas"]
        )
    return world


def in_review(w):
    """The nurse's self-assessment waits for her head's review."""
    return w.submitted_assessment()


def due(days=5):
    return clock.utcnow() + timedelta(days=days)


def answers(**hints) -> peers.AnswerData:
    """An answer: every value "meets" unless given, and a comment on service."""
    data = peers.AnswerData()
    for value in CoreValue:
        data.hints[value.value] = hints.get(value.value, "meets")
        data.comments[value.value] = "Selalu ramah kepada pasien." if value is CoreValue.SERVICE else ""
    return data


# ---- who may ask, whom, by when ------------------------------------------------------------------


def test_the_rater_asks_colleagues_who_get_an_email_a_task_and_an_audited_request(w):
    ev = in_review(w)
    colleague = w.org["colleague"]
    [request] = peers.request_input(ev, w.acc("head"), [colleague.id], due())
    assert (request.peer_id, request.answered_at, request.cancelled_at) == (colleague.id, None, None)
    [mail] = w.make.db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "peer_requested"))
    assert mail.recipient_id == colleague.id
    assert "Perawat Debora" in mail.subject and f"/rekan/{request.id}" in mail.body_text
    [task] = [t for t in home.for_account(colleague.account).tasks if t.kind == "peer_input"]
    assert task.action == "Beri masukan perilaku kerja untuk Perawat Debora"
    assert task.deadline == request.due_at and task.args == {"request_id": request.id}
    [event] = w.make.db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "peer.requested"))
    assert (event.object_type, event.object_id) == ("peer_request", str(request.id))
    assert event.data["evaluation_id"] == ev.id


def test_only_the_current_rater_may_ask(w):
    ev = in_review(w)
    for who in ("nurse", "colleague", "camat", "hr"):
        refused(
            peers.request_input, ev, w.acc(who), [w.org["staff1"].id], due(), match="Hanya pejabat penilai"
        )


def test_nobody_asks_before_the_self_assessment_is_submitted_or_after_the_review(w):
    ev = w.in_assessment()
    refused(
        peers.request_input, ev, w.acc("head"), [w.org["staff1"].id], due(), match="selama penilaian atasan"
    )
    w.realise(ev)
    evaluations.submit_assessment(ev, w.acc("nurse"))
    evaluations.review(ev, w.acc("head"), {"results_rating": "meets", "behaviour_rating": "meets"})
    refused(
        peers.request_input, ev, w.acc("head"), [w.org["staff1"].id], due(), match="selama penilaian atasan"
    )


def test_at_most_five_colleagues(w):
    ev = in_review(w)
    staff = [w.org[f"staff{n}"].id for n in range(1, 6)]
    refused(
        peers.request_input,
        ev,
        w.acc("head"),
        [*staff, w.org["colleague"].id],
        due(),
        match="paling banyak 5",
    )
    peers.request_input(ev, w.acc("head"), staff[:3], due())
    refused(
        peers.request_input, ev, w.acc("head"), staff[3:] + [w.org["colleague"].id], due(), match="sisa 2"
    )
    peers.request_input(ev, w.acc("head"), staff[3:], due())
    refused(
        peers.request_input, ev, w.acc("head"), [w.org["colleague"].id], due(), match="batas yang diizinkan"
    )
    # a cancelled request frees its place
    first = w.make.db.session.scalar(sa.select(PeerRequest).where(PeerRequest.peer_id == staff[0]))
    peers.cancel_request(first, w.acc("head"))
    peers.request_input(ev, w.acc("head"), [w.org["colleague"].id], due())
    assert count(PeerRequest, PeerRequest.cancelled_at.is_(None)) == 5


def test_neither_the_employee_nor_the_rater_nor_someone_inactive_or_asked_twice(w):
    ev = in_review(w)
    head = w.acc("head")
    for person in ("nurse", "head"):
        refused(peers.request_input, ev, head, [w.org[person].id], due(), match="tidak dapat diminta")
    w.org["staff5"].active = False
    w.make.db.session.commit()
    refused(peers.request_input, ev, head, [w.org["staff5"].id], due(), match="tidak dapat diminta")
    refused(peers.request_input, ev, head, [999_999], due(), match="tidak dapat diminta")
    peers.request_input(ev, head, [w.org["staff1"].id], due())
    refused(peers.request_input, ev, head, [w.org["staff1"].id], due(), match="sudah diminta")
    refused(peers.request_input, ev, head, [], due(), match="Pilih paling sedikit satu")


def test_the_deadline_is_ahead_and_no_later_than_the_review_deadline(w):
    ev = in_review(w)
    head, staff = w.acc("head"), [w.org["staff1"].id]
    refused(peers.request_input, ev, head, staff, None, match="Tenggat masukan wajib diisi")
    refused(
        peers.request_input, ev, head, staff, clock.utcnow() - timedelta(hours=1), match="setelah saat ini"
    )
    late = w.cycle.review_deadline + timedelta(minutes=1)
    refused(peers.request_input, ev, head, staff, late, match="paling lambat tenggat penilaian atasan")
    peers.request_input(ev, head, staff, w.cycle.review_deadline)


def test_colleagues_offered_are_the_employees_unit_first_and_searchable(w, make):
    ev = in_review(w)
    elsewhere = make.employee("Aaron Kelurahan", unit=w.org["kecamatan"], supervisor=w.org["camat"])
    offered = [p.name for p in peers.colleagues(ev)]
    assert "Perawat Debora" not in offered and "Kepala Puskesmas" not in offered
    assert offered.index("Perawat Rabiatul") < offered.index("Aaron Kelurahan")  # her unit first
    assert [p.name for p in peers.colleagues(ev, "rabiat")] == ["Perawat Rabiatul"]
    assert [p.id for p in peers.colleagues(ev, elsewhere.nip)] == [elsewhere.id]
    assert peers.colleagues(ev, "100%_") == []


# ---- the colleague's answer ------------------------------------------------------------------------


def test_the_colleague_answers_once_and_may_change_it_until_the_deadline(w):
    ev = in_review(w)
    colleague = w.acc("colleague")
    [request] = peers.request_input(ev, w.acc("head"), [w.org["colleague"].id], due(3))
    peers.answer(request, colleague, answers(adaptive="above", loyal="unknown"))
    assert request.answered_at is not None
    stored = {a.value: (a.hint, a.comment) for a in request.answers}
    assert stored[CoreValue.ADAPTIVE] == (Rating.ABOVE, None)
    assert stored[CoreValue.LOYAL] == (None, None)
    assert stored[CoreValue.SERVICE] == (Rating.MEETS, "Selalu ramah kepada pasien.")
    assert [t for t in home.for_account(colleague).tasks if t.kind == "peer_input"] == []
    peers.answer(request, colleague, answers(adaptive="meets"))
    assert count(PeerAnswer) == 7
    actions = w.make.db.session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.object_type == "peer_request").order_by(AuditEvent.id)
    ).all()
    assert actions == ["peer.requested", "peer.answered", "peer.answer_changed"]
    clock.travel_to(request.due_at + timedelta(minutes=1))
    refused(peers.answer, request, colleague, answers(), match="Tenggat masukan sudah lewat")


def test_every_value_needs_a_choice_and_comments_have_a_limit(w):
    ev = in_review(w)
    [request] = peers.request_input(ev, w.acc("head"), [w.org["colleague"].id], due())
    data = answers()
    data.hints["loyal"] = None
    data.hints["adaptive"] = "excellent"
    data.comments["harmonious"] = "x" * 2001
    refusal = refused(peers.answer, request, w.acc("colleague"), data)
    assert set(refusal.errors) == {"hint_loyal", "hint_adaptive", "comment_harmonious"}


def test_nobody_else_answers_and_a_cancelled_or_finished_request_takes_no_answer(w):
    ev = in_review(w)
    head = w.acc("head")
    [request, other] = peers.request_input(ev, head, [w.org["colleague"].id, w.org["staff1"].id], due())
    for who in ("nurse", "head", "staff1"):
        refused(peers.answer, request, w.acc(who), answers(), match="rekan kerja lain")
    peers.cancel_request(request, head)
    refused(peers.answer, request, w.acc("colleague"), answers(), match="membatalkan")
    assert [t for t in home.for_account(w.acc("colleague")).tasks if t.kind == "peer_input"] == []
    evaluations.review(ev, head, {"results_rating": "meets", "behaviour_rating": "meets"})
    refused(peers.answer, other, w.acc("staff1"), answers(), match="tidak lagi menunggu")
    assert [t for t in home.for_account(w.acc("staff1")).tasks if t.kind == "peer_input"] == []


def test_an_answered_request_cannot_be_cancelled_and_only_the_rater_cancels(w):
    ev = in_review(w)
    [request] = peers.request_input(ev, w.acc("head"), [w.org["colleague"].id], due())
    refused(peers.cancel_request, request, w.acc("nurse"), match="Hanya pejabat penilai")
    peers.answer(request, w.acc("colleague"), answers())
    refused(peers.cancel_request, request, w.acc("head"), match="tidak dapat dibatalkan")


def test_asking_again_after_cancelling_starts_afresh(w):
    ev = in_review(w)
    head = w.acc("head")
    [request] = peers.request_input(ev, head, [w.org["colleague"].id], due())
    peers.cancel_request(request, head)
    [again] = peers.request_input(ev, head, [w.org["colleague"].id], due(6))
    assert again.id == request.id and again.cancelled_at is None and again.answered_at is None
    assert count(OutboxMessage, OutboxMessage.kind == "peer_requested") == 2


def test_the_review_never_reads_the_peer_input(w):
    ev = in_review(w)
    [request] = peers.request_input(ev, w.acc("head"), [w.org["colleague"].id], due())
    peers.answer(request, w.acc("colleague"), answers(**{v.value: "below" for v in CoreValue}))
    evaluations.review(ev, w.acc("head"), {"results_rating": "above", "behaviour_rating": "above"})
    assert (ev.behaviour_rating, ev.predikat.value) == (Rating.ABOVE, "sangat_baik")


# ---- reminders --------------------------------------------------------------------------------------


def test_the_digest_reminds_an_unanswered_request_on_the_reminder_days(w):
    ev = in_review(w)
    clock.travel_to(clock.now().replace(hour=8))
    [request] = peers.request_input(ev, w.acc("head"), [w.org["colleague"].id], due(3))
    send_reminders()
    digests = lambda: w.make.db.session.scalars(  # noqa: E731
        sa.select(OutboxMessage).where(
            OutboxMessage.kind == "reminder_digest", OutboxMessage.recipient_id == w.org["colleague"].id
        )
    ).all()
    [digest] = digests()
    assert "Memberi masukan perilaku kerja untuk Perawat Debora" in digest.body_text
    assert f"/rekan/{request.id}" in digest.body_text
    clock.travel_to(clock.now() + timedelta(days=1))  # two days left: not a reminder day
    send_reminders()
    assert len(digests()) == 1
    peers.answer(request, w.acc("colleague"), answers())
    clock.travel_to(clock.now() + timedelta(days=1))  # one day left, but answered
    send_reminders()
    assert len(digests()) == 1


# ---- the pages -----------------------------------------------------------------------------------


def signed_in(app, who: str, w):
    """A browser of its own, signed in as `who`."""
    client = app.test_client()
    login(client, w.org[who].nip)
    return client


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_rater_asks_through_the_page_and_a_refusal_keeps_what_was_ticked(w, client):
    ev = in_review(w)
    login(client, w.org["head"].nip)
    page = client.get(f"/evaluations/{ev.id}/rekan")
    assert page.status_code == 200 and "Perawat Rabiatul" in page.text
    url = f"/evaluations/{ev.id}/rekan"
    staff = [str(w.org[f"staff{n}"].id) for n in range(1, 6)]
    refused_page = post_form(
        client,
        url,
        {"peer_ids": [*staff, str(w.org["colleague"].id)], "due_at": "2027-02-10T12:00"},
        token_from=url,
    )
    assert refused_page.status_code == 400
    assert "paling banyak 5 rekan kerja" in refused_page.text
    assert refused_page.text.count("checked") == 6 and 'value="2027-02-10T12:00"' in refused_page.text
    bad_date = post_form(client, url, {"peer_ids": staff[:1], "due_at": "2027-13-45T99:00"}, token_from=url)
    assert bad_date.status_code == 400 and "Isi tanggal dan jam yang valid" in bad_date.text
    assert count(PeerRequest) == 0
    done = post_form(client, url, {"peer_ids": staff[:2], "due_at": "2027-02-10T12:00"}, token_from=url)
    assert done.status_code == 302 and count(PeerRequest) == 2
    review = text(client.get(f"/evaluations/{ev.id}").text)
    assert "Masukan rekan kerja" in review and "tidak menentukan rating perilaku kerja" in review
    assert "0 dari 2 rekan kerja sudah memberi masukan" in review


def test_the_colleague_answers_through_the_page(w, client):
    ev = in_review(w)
    [request] = peers.request_input(ev, w.acc("head"), [w.org["colleague"].id], due())
    login(client, w.org["colleague"].nip)
    url = f"/rekan/{request.id}"
    page = client.get(url)
    assert page.status_code == 200 and "Berorientasi Pelayanan" in page.text
    form = {f"hint_{v.value}": "meets" for v in CoreValue} | {"comment_service": "Sigap melayani."}
    del form["hint_loyal"]
    refused_page = post_form(client, url, form, token_from=url)
    assert refused_page.status_code == 400 and "Sigap melayani." in refused_page.text
    assert "tidak tahu" in refused_page.text and count(PeerAnswer) == 0
    form["hint_loyal"] = "unknown"
    assert post_form(client, url, form, token_from=url).status_code == 302
    assert count(PeerAnswer) == 7
    again = client.get(url).text
    assert "Simpan perubahan masukan" in again and "Sigap melayani." in again
    clock.travel_to(request.due_at + timedelta(minutes=1))  # after the deadline: what was sent, read-only
    closed = client.get(url).text
    assert "Tenggat masukan sudah lewat" in closed and "Masukan yang Anda kirim" in closed
    assert "Sigap melayani." in closed and "Kirim masukan" not in closed
    assert post_form(client, url, form, token_from="/").status_code == 400
    review = text(signed_in(client.application, "head", w).get(f"/evaluations/{ev.id}").text)
    assert "1 dari 1 rekan kerja sudah memberi masukan" in review and "Sigap melayani." in review


def test_strangers_get_forbidden_pages(w, client):
    ev = in_review(w)
    [request] = peers.request_input(ev, w.acc("head"), [w.org["colleague"].id], due())
    for who in ("nurse", "staff1", "hr", "camat"):
        browser = signed_in(client.application, who, w)
        assert browser.get(f"/rekan/{request.id}").status_code == 403
        assert browser.get(f"/evaluations/{ev.id}/rekan").status_code == 403
        assert browser.post(f"/rekan/{request.id}/batal").status_code in (400, 403)
    assert browser.get("/rekan/99999").status_code == 404
    assert count(PeerRequest, PeerRequest.cancelled_at.is_(None)) == 1


def test_the_employee_sees_nothing_of_it_page_timeline_or_mail(w, client):
    ev = in_review(w)
    [request] = peers.request_input(ev, w.acc("head"), [w.org["colleague"].id], due())
    peers.answer(request, w.acc("colleague"), answers())
    evaluations.review(ev, w.acc("head"), {"results_rating": "meets", "behaviour_rating": "meets"})
    login(client, w.org["nurse"].nip)
    page = client.get(f"/evaluations/{ev.id}").text
    for secret in ("Perawat Rabiatul", "Selalu ramah kepada pasien", "rekan kerja", "Masukan rekan"):
        assert secret not in page
    timeline = w.make.db.session.scalars(
        sa.select(AuditEvent.action).where(
            AuditEvent.object_type == "evaluation", AuditEvent.object_id == str(ev.id)
        )
    ).all()
    assert not [action for action in timeline if action.startswith("peer.")]
    mails = w.make.db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.recipient_id == w.org["nurse"].id)
    ).all()
    assert all("Rabiatul" not in m.body_text and "rekan" not in m.body_text.lower() for m in mails)
    # nor does the appeal handler or HR see it
    for who in ("camat", "hr"):
        page = signed_in(client.application, who, w).get(f"/evaluations/{ev.id}")
        assert page.status_code == 200 and "Selalu ramah kepada pasien" not in page.text


@pytest.mark.postgres_only
def test_a_double_submit_asks_each_colleague_once(app, db, w):
    from tests.workflow_helpers import run_at_once

    ev = in_review(w)
    ids = (ev.id, w.org["head"].account.id, w.org["colleague"].id)
    outcomes = []
    deadline = due()

    def ask():
        from app.models import Account, Evaluation

        evaluation, head = db.session.get(Evaluation, ids[0]), db.session.get(Account, ids[1])
        try:
            peers.request_input(evaluation, head, [ids[2]], deadline)
            outcomes.append("ok")
        except Refused as refusal:
            outcomes.append(str(refusal))

    db.session.commit()
    assert run_at_once(app, db, ask) == []
    assert outcomes.count("ok") == 1 and len(outcomes) == 2
    db.session.expire_all()
    assert count(PeerRequest) == 1
    assert count(OutboxMessage, OutboxMessage.kind == "peer_requested") == 1


# ---- authorisation matrix -------------------------------------------------------------------------

PEOPLE = ["employee", "other_employee", "peer", "rater", "other_rater", "appeal_handler", "hr", "anonymous"]


def matrix_routes(ev, request_id, other_peer_id):
    answer = {f"hint_{v.value}": "meets" for v in CoreValue}
    return [
        ("GET", f"/evaluations/{ev.id}/rekan", {}, {"rater"}),
        (
            "POST",
            f"/evaluations/{ev.id}/rekan",
            {"peer_ids": [str(other_peer_id)], "due_at": "2027-02-10T12:00"},
            {"rater"},
        ),
        ("GET", f"/rekan/{request_id}", {}, {"peer"}),
        ("POST", f"/rekan/{request_id}", answer, {"peer"}),
        ("POST", f"/rekan/{request_id}/batal", {}, {"rater"}),
    ]


def state_of(db):
    db.session.expire_all()
    return (
        count(PeerRequest, PeerRequest.cancelled_at.is_(None)),
        count(PeerAnswer),
        count(OutboxMessage),
        count(AuditEvent, AuditEvent.object_type == "peer_request"),
    )


@pytest.mark.parametrize("index", range(5))
def test_every_peer_route_lets_only_the_right_person_through(app, db, w, make, index):
    kasi = make.employee("Kasi Lain", supervisor=w.org["camat"], unit=w.org["kecamatan"])
    make.employee("Staf Kasi", supervisor=kasi, unit=w.org["kecamatan"])
    ev = in_review(w)
    [request] = peers.request_input(ev, w.acc("head"), [w.org["colleague"].id], due())
    people = {
        "employee": w.org["nurse"],
        "other_employee": w.org["staff1"],
        "peer": w.org["colleague"],
        "rater": w.org["head"],
        "other_rater": kasi,
        "appeal_handler": w.org["camat"],
        "hr": w.org["hr"],
        "anonymous": None,
    }
    method, url, data, allowed = matrix_routes(ev, request.id, w.org["staff2"].id)[index]
    for who in sorted(PEOPLE, key=lambda person: person in allowed):
        client = app.test_client()
        if people[who] is not None:
            login(client, people[who].nip)
        before = state_of(db)
        if method == "GET":
            response = client.get(url)
        else:
            response = client.post(url, data={"csrf_token": csrf_token(client, "/"), **data})
        if who == "anonymous":
            assert response.status_code == 302 and "/login" in response.headers["Location"]
        elif who in allowed:
            assert response.status_code == (200 if method == "GET" else 302), (who, url, response.status_code)
            if method == "POST":
                assert state_of(db) != before, (who, url)
            continue
        else:
            assert response.status_code == 403, (who, url, response.status_code)
        assert state_of(db) == before, (who, url)
