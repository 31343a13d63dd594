"""What people read: email links to the address the server is reached on, clickable and safe links
in the outbox, times with their zone, every code translated, no stutter, predikat colours that
carry meaning, locks that say why, one overdue number, and confirmations that say what happens."""

import os
import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from app import audit, clock
from app.domain import Predikat
from app.extensions import db
from app.jobs import DueReport, lock_overdue
from app.models import AuditEvent, Cycle, Evaluation, EvaluationState, MessageState, OutboxMessage, Role
from app.models.outbox import REDACTED, secret_marker
from app.notify import SUBJECTS, build_message, notify, queue
from app.templating import LABELS, tone
from app.workflow import cycles, evaluations
from app.workflow.definitions import ACTION_LABELS
from tests.conftest import csrf_token, login
from tests.test_workflow_services import PAST_TARGETS, World
from tests.workflow_helpers import START, agency, cycle_data, write_skp

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def w(make) -> World:
    return World(make)


def text_of(response) -> str:
    """The page as a person reads it: tags out, spaces collapsed."""
    html = response.get_data(as_text=True)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def stutters(text: str) -> list[str]:
    """Doubled words ("penilaian Penilaian") and doubled punctuation (".." but not "…")."""
    words = re.findall(r"\w+", text.lower())
    doubled = [a for a, b in zip(words, words[1:], strict=False) if a == b and not a.isdigit()]
    return doubled + re.findall(r"[.,;:]\s*[.,;:]", text)


# ---- email links ---------------------------------------------------------------------------------


def make_dry_run(tmp_path, env: dict, dotenv: str | None = None, *args) -> str:
    """The commands `make run` would run, in a copy of the project's Makefile."""
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / ".installed").write_text("")
    if dotenv is not None:
        (tmp_path / ".env").write_text(dotenv)
    clean = {k: v for k, v in os.environ.items() if k != "BASE_URL"}
    result = subprocess.run(
        ["make", "-n", "run", *args],
        cwd=tmp_path,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
@pytest.mark.parametrize(
    "env, dotenv, args, expected",
    [
        ({}, None, ("PORT=8000",), "BASE_URL='http://127.0.0.1:8000' "),
        ({}, None, (), "BASE_URL='http://127.0.0.1:5000' "),
        (
            {"BASE_URL": "https://kinerja.contoh.go.id"},
            None,
            ("PORT=8000",),
            "BASE_URL='https://kinerja.contoh.go.id' ",
        ),
        ({}, "BASE_URL=https://kinerja.contoh.go.id\n", ("PORT=8000",), None),  # .env is read by the app
    ],
)
def test_make_run_gives_the_web_server_and_the_scheduler_the_address_it_serves(
    tmp_path, env, dotenv, args, expected
):
    commands = make_dry_run(tmp_path, env, dotenv, *args)
    web = next(line for line in commands.splitlines() if " run --host" in line)
    scheduler = next(line for line in commands.splitlines() if " scheduler" in line)
    for line in (web, scheduler):
        if expected is None:
            assert "BASE_URL=" not in line
        else:
            assert line.startswith(expected), line


def test_email_links_use_base_url(app, db, make):
    app.config["BASE_URL"] = "http://127.0.0.1:8000/"
    org = agency(make)
    cycles.open_cycle(
        cycles.save_cycle(None, cycle_data([org["kecamatan"]]), org["hr"].account), org["hr"].account
    )
    message = db.session.scalars(sa.select(OutboxMessage)).first()
    assert "http://127.0.0.1:8000/evaluations/" in message.body_text
    assert '<a href="http://127.0.0.1:8000/evaluations/"' in message.body_html  # clickable in the email too


# ---- the outbox viewer ---------------------------------------------------------------------------


HOSTILE = (
    "Halo <script>alert('x')</script> <img src=x onerror=alert(1)>\n"
    "Buka: http://127.0.0.1:5000/evaluations/7.\n"
    "Jangan: javascript:alert(document.cookie) dan data:text/html,<b>x</b>\n"
    'Kutip: "https://contoh.go.id/a?b=1&c=2" lalu https://x.id/"onmouseover="alert(1)\n'
)


def queue_text(person, key: str, text: str, state: MessageState = MessageState.PENDING) -> None:
    """An outbox message to `person` whose plain-text body is `text`."""
    row = build_message(
        "results_published", person, key, subject="Uji", cycle=SimpleNamespace(name="SKP", id=1)
    )
    row.update(body=(text, "<p>x</p>"))
    queue([row])
    db.session.execute(sa.update(OutboxMessage).where(OutboxMessage.key == key).values(state=state))


def test_the_outbox_links_addresses_and_shows_nothing_typed_as_html(app, db, make, client, hr):
    queue_text(make.employee("Perawat"), "k1", HOSTILE)
    db.session.commit()
    message = db.session.scalar(sa.select(OutboxMessage))
    login(client, hr.nip)
    html = client.get(f"/admin/outbox/{message.id}").get_data(as_text=True)
    body = html[html.index('id="message-body"') : html.index("</pre>")]
    assert '<a href="http://127.0.0.1:5000/evaluations/7" rel="noopener noreferrer">' in body  # no "."
    assert '<a href="https://contoh.go.id/a?b=1&amp;c=2" rel="noopener noreferrer">' in body
    assert '<a href="https://x.id/" rel="noopener noreferrer">' in body  # the quote ends it
    assert "<script>" not in body and "<img" not in body and "<b>" not in body
    assert "&lt;script&gt;" in body and "&lt;img src=x onerror=alert(1)&gt;" in body
    assert len(re.findall(r"<a ", body)) == 3  # javascript: and data: stay plain text
    assert 'href="javascript' not in body.lower() and 'href="data' not in body.lower()
    assert "onmouseover=" not in re.sub(r"&#34;onmouseover=&#34;", "", body)  # only as escaped text


def test_a_reset_link_stays_redacted_in_the_outbox(app, db, make, client, hr):
    nurse = make.employee("Perawat")
    notify(
        "password_reset",
        nurse.account,
        "reset:1",
        hours=2,
        link=secret_marker("password_reset", nurse.account.id),
    )
    db.session.commit()
    message = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.kind == "password_reset"))
    login(client, hr.nip)
    html = client.get(f"/admin/outbox/{message.id}").get_data(as_text=True)
    assert REDACTED in html and "/password/reset/" not in html


def test_outbox_states_are_in_indonesian(app, db, make, client, hr):
    nurse = make.employee("Perawat")
    for i, state in enumerate(MessageState):
        queue_text(nurse, f"k{i}", f"isi {i}", state)
    db.session.commit()
    login(client, hr.nip)
    page = text_of(client.get("/admin/outbox"))
    for shown in ("Menunggu dikirim", "Sedang dikirim", "Terkirim", "Gagal"):
        assert shown in page
    assert not re.search(r"\b(pending|sending|sent|failed)\b", page)
    failed = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.state == MessageState.FAILED))
    assert "Gagal (percobaan" in text_of(client.get(f"/admin/outbox/{failed.id}"))


# ---- times, codes and sentences ------------------------------------------------------------------


@pytest.mark.parametrize(
    "zone, abbreviation", [("Asia/Jakarta", "WIB"), ("Asia/Makassar", "WITA"), ("Asia/Jayapura", "WIT")]
)
def test_times_carry_the_configured_zone(app, db, make, client, zone, abbreviation):
    app.config["TIMEZONE"] = zone
    org = agency(make)
    cycle = cycles.save_cycle(None, cycle_data([org["kecamatan"]]), org["hr"].account)
    cycles.open_cycle(cycle, org["hr"].account)
    deadline = cycle.target_deadline.astimezone(clock.tz())
    expected = f"{deadline:%H}.{deadline:%M} {abbreviation}"
    message = db.session.scalars(sa.select(OutboxMessage)).first()
    assert expected in message.body_text
    login(client, org["hr"].nip)
    assert expected in text_of(client.get(f"/cycles/{cycle.id}"))


def test_subjects_never_stutter_whatever_the_cycle_is_called():
    for kind, subject in SUBJECTS.items():
        for name in ("Penilaian Kinerja Tahunan 2027", "SKP Tahunan 2027", "Hasil Kinerja Triwulan I 2027"):
            text = subject.format(cycle=name, employee="Perawat Debora")
            assert not stutters(text), (kind, text)


def test_opening_a_cycle_named_penilaian_writes_no_doubled_words(app, db, make):
    org = agency(make)
    data = cycle_data([org["kecamatan"]], name="Penilaian Kinerja Tahunan 2027")
    cycles.open_cycle(cycles.save_cycle(None, data, org["hr"].account), org["hr"].account)
    message = db.session.scalars(sa.select(OutboxMessage)).first()
    assert message.subject == 'Periode "Penilaian Kinerja Tahunan 2027" dibuka'
    assert not stutters(message.subject) and not stutters(message.body_text)


def test_every_recorded_audit_action_has_an_indonesian_label():
    source = "\n".join(p.read_text() for p in (ROOT / "app").rglob("*.py"))
    recorded = set(re.findall(r'audit\.record\(\s*"([a-z_]+\.[a-z_]+)"', source))
    assert {"appeal.escalated", "auth.login", "evidence.added"} <= recorded
    assert recorded - set(ACTION_LABELS) == set()


def test_the_timeline_shows_labels_not_codes(app, db, client, w):
    ev = w.reviewed(results="below", behaviour="meets", summary="Perlu pendampingan.")  # Butuh Perbaikan
    ev.appeal_until = clock.utcnow() + timedelta(days=1)
    audit.record("appeal.escalated", ev, actor=None, comment="batas waktu keputusan lewat")
    db.session.commit()
    login(client, w.org["nurse"].nip)
    page = text_of(client.get(f"/evaluations/{ev.id}"))
    timeline = page[page.index("Riwayat") :]
    assert "predikat Butuh Perbaikan" in timeline
    assert "Keberatan melewati batas waktu keputusan" in timeline
    assert not re.search(r"\b[a-z]+_[a-z_]+\b|\b[a-z]+\.[a-z_]+\b", timeline), timeline
    officer = app.test_client()
    login(officer, w.org["hr"].nip)
    audit_page = text_of(officer.get("/audit/"))
    assert "butuh_perbaikan" not in audit_page and "appeal.escalated" not in audit_page
    assert "predikat Butuh Perbaikan" in audit_page


def test_a_decision_ending_with_a_full_stop_reads_as_one_sentence(app, db, client, w):
    ev = w.reviewed()
    evaluations.file_appeal(ev, w.acc("nurse"), "Capaian saya melebihi target pada semua indikator utama.")
    evaluations.decide_appeal(
        ev,
        w.acc("camat"),
        {
            "results_rating": "above",
            "behaviour_rating": "meets",
            "reasons": "Penilaian sudah Sesuai Ekspektasi.",
        },
    )
    login(client, w.org["nurse"].nip)
    page = text_of(client.get(f"/evaluations/{ev.id}"))
    assert "Sesuai Ekspektasi. Keputusan ini final." in page
    assert not stutters(page[page.index("Diputus") : page.index("Keputusan ini final") + 20])
    decided = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.kind == "appeal_decided"))
    assert not stutters(decided.body_text)


# ---- colours -------------------------------------------------------------------------------------


def test_predikat_colours_carry_meaning():
    assert {p: tone(p) for p in Predikat} == {
        Predikat.SANGAT_BAIK: "success",
        Predikat.BAIK: "success",
        Predikat.BUTUH_PERBAIKAN: "warning",
        Predikat.KURANG: "danger",
        Predikat.SANGAT_KURANG: "danger",
    }
    assert set(LABELS["predikat"]) == {p.value for p in Predikat}


@pytest.mark.parametrize(
    "results, behaviour, label, colour",
    [
        ("below", "meets", "Butuh Perbaikan", "warning"),
        ("above", "meets", "Baik", "success"),
        ("below", "below", "Sangat Kurang", "danger"),
    ],
)
def test_the_result_badge_has_the_colour_of_its_predikat(
    app, db, client, w, results, behaviour, label, colour
):
    ev = w.reviewed(
        results=results,
        behaviour=behaviour,
        summary="Perlu pendampingan." if "below" in (results, behaviour) else None,
    )
    login(client, w.org["nurse"].nip)
    html = client.get(f"/evaluations/{ev.id}").get_data(as_text=True)
    badge = re.search(r'<span class="badge ([^"]+)" id="predikat">([^<]+)</span>', html)
    assert badge.group(2) == label and f"text-bg-{colour}" in badge.group(1)
    assert "text-bg-success" not in badge.group(1) or colour == "success"


# ---- states that say why -------------------------------------------------------------------------


def test_a_lock_says_whether_hr_closed_the_phase_or_the_deadline_passed(app, db, client, make):
    org = agency(make)
    clock.travel_to(START)
    cycle = cycles.save_cycle(None, cycle_data([org["kecamatan"]]), org["hr"].account)
    cycles.open_cycle(cycle, org["hr"].account)
    clock.travel_to(START + timedelta(days=3))  # long before the target deadline
    cycles.advance(cycle, org["hr"].account)
    login(client, org["hr"].nip)
    ev = db.session.scalar(sa.select(Evaluation).where(Evaluation.employee_id == org["nurse"].id))
    assert ev.state == EvaluationState.TARGETS_LOCKED
    page = text_of(client.get(f"/evaluations/{ev.id}"))
    assert "SKP terkunci — tahap ditutup HR" in page and "lewat tenggat" not in page.replace(
        "Lewat tenggat", ""
    )
    overdue = text_of(client.get(f"/cycles/{cycle.id}/overdue"))
    assert "SKP terkunci — tahap ditutup HR" in overdue and "(lewat tenggat)" not in overdue
    # the search reads its rows by another statement: the same label
    found = text_of(client.get(f"/cycles/{cycle.id}/overdue", query_string={"q": org["nurse"].name}))
    assert org["nurse"].name in found and "SKP terkunci — tahap ditutup HR" in found
    assert "SKP terkunci — tahap ditutup HR" in text_of(client.get(f"/cycles/{cycle.id}"))
    nurse = app.test_client()
    login(nurse, org["nurse"].nip)
    assert "SKP terkunci — tahap ditutup HR" in text_of(nurse.get("/evaluations/"))

    # another cycle: the deadline passes and the scheduler locks
    other = agency(make)
    later = cycles.save_cycle(None, cycle_data([other["kecamatan"]], name="SKP 2027 B"), other["hr"].account)
    cycles.open_cycle(later, other["hr"].account)
    clock.travel_to(later.target_deadline + timedelta(hours=1))
    lock_overdue(DueReport())
    late = db.session.scalar(sa.select(Evaluation).where(Evaluation.employee_id == other["nurse"].id))
    assert late.state == EvaluationState.TARGETS_LOCKED
    page = text_of(client.get(f"/evaluations/{late.id}"))
    assert "SKP terkunci — lewat tenggat" in page and "ditutup HR" not in page
    assert "(SKP disusun → SKP terkunci — lewat tenggat)" in page  # the timeline names the cause too


# ---- counts --------------------------------------------------------------------------------------


def test_skp_disusun_counts_skps_written_not_evaluations_opened(app, db, client, w):
    login(client, w.org["hr"].nip)
    html = client.get(f"/cycles/{w.cycle.id}").get_data(as_text=True)
    start = html.index('id="unit-progress"')
    progress = html[start : html.index("</table>", start)]
    assert 'data-state="targets_draft"' not in progress  # nobody wrote anything yet
    assert "SKP belum ditulis" in progress
    write_skp(w.ev("nurse"), w.org["nurse"])
    html = client.get(f"/cycles/{w.cycle.id}").get_data(as_text=True)
    start = html.index('id="unit-progress"')
    progress = html[start : html.index("</table>", start)]
    headers = re.findall(r'data-state="([a-z_]+)">', progress)
    row = re.search(r"<td>Puskesmas Rakumpit</td>(.*?)</tr>", progress, re.S).group(1)
    cells = re.findall(r"<td>(\d*)</td>", row)
    counts = dict(zip(headers, cells, strict=False))
    assert counts["targets_draft"] == "1" and counts["targets_empty"] == "2"


# ---- confirmations -------------------------------------------------------------------------------


def confirm_of(html: str, form_id: str) -> str:
    """The data-confirm text of a form, unescaped."""
    import html as html_module

    tag = re.search(rf'<form[^>]*id="{form_id}"[^>]*>', html).group(0)
    return html_module.unescape(re.search(r'data-confirm="([^"]*)"', tag).group(1))


def test_irreversible_actions_say_their_consequence_with_real_counts(app, db, client, make):
    org = agency(make)
    clock.travel_to(START)
    cycle = cycles.save_cycle(None, cycle_data([org["kecamatan"]]), org["hr"].account)
    login(client, org["hr"].nip)
    html = client.get(f"/cycles/{cycle.id}").get_data(as_text=True)
    question = re.search(r'data-confirm="([^"]*)"', html[html.index("/open") - 200 :]).group(1)
    assert question.startswith("Buka periode? 4 pegawai akan menerima email")  # camat has no rater: 4 of 5
    cycles.open_cycle(cycle, org["hr"].account)
    for who in ("nurse", "colleague", "head", "hr"):
        ev = db.session.scalar(sa.select(Evaluation).where(Evaluation.employee_id == org[who].id))
        ev.state = EvaluationState.FINAL
        ev.predikat = Predikat.BAIK
    cycle.state = "appeal"
    db.session.commit()
    html = client.get(f"/cycles/{cycle.id}/distribution").get_data(as_text=True)
    assert (
        confirm_of(html, "publish")
        == "Umumkan hasil? 4 pegawai akan menerima email; hasil tidak dapat diubah lagi."
    )


def test_the_employee_is_told_what_submitting_does(app, db, client, w):
    ev = w.skp("nurse")
    login(client, w.org["nurse"].nip)
    html = client.get(f"/evaluations/{ev.id}").get_data(as_text=True)
    question = confirm_of(html, "targets")
    assert "2 RHK, 2 indikator" in question and "Kepala Puskesmas" in question
    assert "tidak dapat diubah" in question


def test_a_refused_extension_on_the_overdue_list_keeps_the_page_and_shows_why_beside_the_field(
    app, db, client, w
):
    clock.travel_to(PAST_TARGETS)
    login(client, w.org["hr"].nip)
    late = w.ev("colleague")
    page = client.get(f"/cycles/{w.cycle.id}/overdue?q=Rabiatul").get_data(as_text=True)
    action = (
        re.search(rf'action="([^"]*evaluations/{late.id}/extend[^"]*)"', page).group(1).replace("&amp;", "&")
    )
    assert "list=1" in action and "q=Rabiatul" in action
    typed = (clock.now() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(action, data={"csrf_token": csrf_token(client, "/"), "until": typed, "reason": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="overdue-count"' in html and "Lewat tenggat" in html  # the list again, not the dashboard
    assert f'value="{typed}"' in html  # the typed date stays
    message = re.search(rf'id="extend-{late.id}-reason-error" data-refusal>([^<]+)<', html)
    assert message and "alasan" in message.group(1)
    assert f'aria-describedby="extend-{late.id}-reason-error"' in html
    response = client.post(
        action, data={"csrf_token": csrf_token(client, "/"), "until": typed, "reason": "Sakit"}
    )
    assert response.status_code == 302 and "/overdue" in response.headers["Location"]
    assert db.session.get(Cycle, w.cycle.id) is not None
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "evaluation.deadline_extended")
        )
        == 1
    )


def test_the_diagram_names_no_lock_cause_it_cannot_know_and_roles_keep_their_names(app, db, client, make):
    org = agency(make)
    login(client, org["hr"].nip)
    diagram = text_of(client.get("/workflow/evaluation"))
    assert "SKP terkunci" in diagram and "Penilaian mandiri terkunci" in diagram
    assert "lewat tenggat" not in diagram and "ditutup HR" not in diagram
    assert "Sistem (tenggat atau tahap)" in diagram  # who locks, and on what
    assert "Admin kepegawaian (HR)" in diagram  # as the roles form and the account pages call HR
    admin = make.employee("Admin Sistem", roles={Role.EMPLOYEE, Role.ADMIN})
    other = app.test_client()
    login(other, admin.nip)
    profile = text_of(other.get(f"/people/{org['hr'].id}"))
    assert "Admin kepegawaian (HR)" in profile and "Administrator sistem" in profile
