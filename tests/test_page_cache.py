"""The evaluation page's body is served from a per-process cache while nothing it shows changes:
every kind of change shows on the next request, each viewer gets their own page, each session its
own CSRF token, and a refused form is never cached."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import clock, pagecache
from app.extensions import db as _db
from app.models import Evaluation, Indicator, Role
from app.services import accounts
from app.workflow import cycles, evaluations, reassign
from app.workflow.monitoring import dialog, progress
from tests.conftest import csrf_token, login
from tests.test_query_counts import count_queries
from tests.test_workflow_services import PAST_TARGETS, World
from tests.workflow_helpers import START

PDF = b"%PDF-1.4 bukti"
TODAY = START.date()


@pytest.fixture
def w(app, make) -> World:
    """The walkthrough's agency; hits are served as cached (verify mode off), so a key that
    misses a change shows up as a stale page."""
    app.config["PAGE_CACHE_VERIFY"] = False
    return World(make)


def visitor(app, w: World, who: str):
    """A signed-in client of one of the agency's people."""
    client = app.test_client()
    login(client, w.org[who].nip)
    return client


def show(client, ev: Evaluation) -> str:
    response = client.get(f"/evaluations/{ev.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def cached(app) -> int:
    """How many fragments the app's cache holds."""
    return len(app.extensions.get("pagecache") or ())


def form_tokens(html: str) -> set[str]:
    return set(re.findall(r'name="csrf_token" type="hidden" value="([^"]+)"', html))


def without_tokens(html: str) -> str:
    """The page with its CSRF tokens (signed with the time) taken out."""
    return html.replace(meta_token(html), "")


def meta_token(html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def test_a_second_visit_is_served_from_the_cache_with_the_sessions_own_csrf_token(app, w):
    ev = w.skp()
    first, second = visitor(app, w, "nurse"), visitor(app, w, "nurse")
    with count_queries(app) as cold:
        page_a = show(first, ev)
    with count_queries(app) as warm:
        page_b = show(second, ev)
    assert cached(app) == 1
    assert len(warm) < len(cold) / 2, (len(warm), len(cold))
    assert without_tokens(page_a) == without_tokens(page_b)
    for html in (page_a, page_b):
        assert form_tokens(html) == {meta_token(html)}  # every form: this session's token
        assert pagecache.CSRF_PLACEHOLDER not in html
    assert meta_token(page_a) != meta_token(page_b)
    # the token of a cached page is accepted: the SKP is submitted from it
    rhk = _db.session.scalar(sa.select(Evaluation).where(Evaluation.id == ev.id)).rhks[0]
    response = second.post(
        f"/evaluations/{ev.id}/rhk/{rhk.id}",
        data={
            "csrf_token": meta_token(page_b),
            "version": str(ev.version),
            "kind": "main",
            "text": "Pelayanan pasien yang ramah",
            "parent_rhk_id": "",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert "Pelayanan pasien yang ramah" in show(second, ev)


def test_the_page_works_with_the_cache_turned_off(app, w):
    app.config["PAGE_CACHE_SIZE"] = 0
    ev = w.skp()
    nurse = visitor(app, w, "nurse")
    html = show(nurse, ev)
    assert "Pelayanan pasien yang cepat" in html and form_tokens(html) == {meta_token(html)}
    assert without_tokens(show(nurse, ev)) == without_tokens(html)
    assert "pagecache" not in app.extensions


def test_another_viewer_never_gets_the_first_viewers_page(app, w):
    ev = w.submitted_targets()
    nurse, head, hr = visitor(app, w, "nurse"), visitor(app, w, "head"), visitor(app, w, "hr")
    for _round in range(2):  # the second round is served from the cache
        mine = show(nurse, ev)
        assert 'id="approve-targets"' not in mine and "Pindahkan pejabat penilai" not in mine
        theirs = show(head, ev)
        assert 'id="approve-targets"' in theirs and "Pindahkan pejabat penilai" not in theirs
        officer = show(hr, ev)
        assert 'id="approve-targets"' not in officer and "Pindahkan pejabat penilai" in officer
    assert cached(app) == 3


def test_a_refused_form_neither_reads_nor_writes_the_cache(app, w):
    ev = w.skp()
    nurse = visitor(app, w, "nurse")
    show(nurse, ev)
    before = dict(app.extensions["pagecache"]._items)
    response = nurse.post(
        f"/evaluations/{ev.id}/rhk",
        data={
            "csrf_token": csrf_token(nurse, f"/evaluations/{ev.id}"),
            "version": str(ev.version),
            "kind": "main",
            "text": "",
            "parent_rhk_id": "",
        },
    )
    assert response.status_code == 400
    refused = response.get_data(as_text=True)
    assert 'id="refused"' in refused and form_tokens(refused) == {meta_token(refused)}
    assert app.extensions["pagecache"]._items == before
    assert 'id="refused"' not in show(nurse, ev)


def test_verify_mode_fails_a_hit_that_differs_from_a_fresh_render(app, w):
    """A change that bypasses the services (no version moved) is caught by the tests' verify mode."""
    app.config["PAGE_CACHE_VERIFY"] = True
    ev = w.skp()
    nurse = visitor(app, w, "nurse")
    show(nurse, ev)
    show(nurse, ev)  # a hit, rendered again and equal
    _db.session.execute(
        sa.update(Indicator).where(Indicator.id == ev.indicators[0].id).values(text="Diam-diam")
    )
    _db.session.commit()
    with pytest.raises(pagecache.StaleFragment):
        nurse.get(f"/evaluations/{ev.id}")


def test_the_cache_keeps_the_most_recently_used_fragments():
    store = pagecache.FragmentCache(2)
    store.put("a", "A")
    store.put("b", "B")
    assert store.get("a") == "A"  # now the most recent
    store.put("c", "C")
    assert (store.get("a"), store.get("b"), store.get("c")) == ("A", None, "C")


# ---- every kind of change shows on the next request ---------------------------------------------


def edit_rhk(w, ev):
    rhk = ev.rhks[0]
    evaluations.save_rhk(ev, w.acc("nurse"), {"kind": "main", "text": "Pelayanan pasien yang ramah"}, rhk)
    return "Pelayanan pasien yang ramah"


def upload_evidence(w, ev):
    evaluations.add_evidence_file(ev, w.acc("nurse"), ev.indicators[0], "bukti-maret.pdf", PDF)
    return "bukti-maret.pdf"


def return_with_comment(w, ev):
    evaluations.return_targets(ev, w.acc("head"), "Target waktu tunggu perlu dipertajam.")
    return "Target waktu tunggu perlu dipertajam."


def log_progress(w, ev):
    progress.add_entry(ev, w.acc("nurse"), ev.indicators[0], TODAY, "7", "Minggu pertama")
    return 'data-label="Entri">1</td>'


def record_dialog(w, ev):
    dialog.add_record(ev, w.acc("head"), "dialog", TODAY, "Antrean daring dibahas bersama.")
    return "Antrean daring dibahas bersama."


def follow_up_of(w, ev):
    """A dialog kinerja with one follow-up for the employee, due in ten days."""
    record = dialog.add_record(
        ev,
        w.acc("head"),
        "dialog",
        TODAY,
        "Antrean daring.",
        [dialog.FollowUpInput("Uji coba antrean daring", TODAY + timedelta(days=10), "employee", 0)],
    )
    return record.follow_ups[0]


def move_rater(w, ev):
    plt = w.make.employee("Plt. Kepala Puskesmas", supervisor=w.org["camat"], unit=w.org["kecamatan"])
    reassign.reassign_evaluations(
        [ev], w.acc("hr"), rater=plt, handler=None, reason="Kepala puskesmas cuti besar", until=None
    )
    return "Plt. Kepala Puskesmas"


def rename_rater(w, ev):
    head = w.org["head"]
    head.name = "Kepala Puskesmas Baru"
    _db.session.commit()
    return "Kepala Puskesmas Baru"


CHANGES = [
    ("draft", "nurse", edit_rhk),
    ("assessment", "nurse", upload_evidence),
    ("submitted", "nurse", return_with_comment),
    ("approved", "nurse", log_progress),
    ("approved", "nurse", record_dialog),
    ("draft", "nurse", move_rater),
    ("draft", "nurse", rename_rater),
]


def evaluation_in(w, stage: str) -> Evaluation:
    return {
        "draft": w.skp,
        "submitted": w.submitted_targets,
        "approved": w.approved,
        "assessment": w.in_assessment,
    }[stage]()


@pytest.mark.parametrize(("stage", "who", "change"), CHANGES, ids=[c.__name__ for _s, _w, c in CHANGES])
def test_a_change_shows_on_the_next_request(app, w, stage, who, change):
    ev = evaluation_in(w, stage)
    client = visitor(app, w, who)
    before = show(client, ev)
    assert without_tokens(show(client, ev)) == without_tokens(before)  # a hit
    expected = change(w, _db.session.get(Evaluation, ev.id))
    assert expected not in before
    assert expected in show(client, ev)


def test_the_deadline_passing_closes_the_draft_on_the_next_request(app, w):
    ev = w.skp()
    deadline = w.cycle.target_deadline
    nurse = visitor(app, w, "nurse")
    clock.travel_to(deadline - timedelta(minutes=1))
    show(nurse, ev)
    assert 'id="targets"' in show(nurse, ev)  # a hit: still open
    clock.travel_to(deadline + timedelta(minutes=1))  # the same day, a minute later
    closed = show(nurse, ev)
    assert "Tenggat penyusunan SKP sudah lewat" in closed and 'id="targets"' not in closed


def test_a_deadline_extension_shows_on_the_next_request_and_runs_out(app, w):
    ev = w.skp()
    nurse = visitor(app, w, "nurse")
    clock.travel_to(PAST_TARGETS)
    closed = show(nurse, ev)
    assert "Tenggat penyusunan SKP sudah lewat" in closed and 'id="targets"' not in closed
    show(nurse, ev)
    until = PAST_TARGETS + timedelta(hours=2)
    cycles.extend_one(_db.session.get(Evaluation, ev.id), w.acc("hr"), until, "Sakit selama sepekan")
    reopened = show(nurse, ev)
    assert "Tenggat penyusunan SKP sudah lewat" not in reopened and 'id="targets"' in reopened
    clock.travel_to(until + timedelta(minutes=1))  # the extension runs out, the same day
    assert "Tenggat penyusunan SKP sudah lewat" in show(nurse, ev)


def test_a_day_passing_marks_an_open_follow_up_late(app, w):
    ev = w.approved()
    follow_up_of(w, ev)
    nurse = visitor(app, w, "nurse")
    assert "terlambat" not in show(nurse, ev)
    clock.travel_to(START + timedelta(days=11))
    assert "terlambat" in show(nurse, ev)


def test_a_follow_up_marked_done_shows_on_the_next_request(app, w):
    """Marking a follow-up done moves no version: the key reads the follow-ups themselves."""
    ev = w.approved()
    follow_up = follow_up_of(w, ev)
    nurse, head = visitor(app, w, "nurse"), visitor(app, w, "head")
    show(nurse, ev), show(head, ev)
    dialog.complete_follow_up(follow_up, w.acc("nurse"), "Sudah diuji coba")
    for client in (nurse, head):
        assert "Catatan penyelesaian: Sudah diuji coba" in show(client, ev)


def test_renaming_an_account_without_an_employee_named_in_the_timeline_shows(app, w):
    """The HR office's shared account has no employee record: its name is its own."""
    ev = w.skp()
    office = accounts.create_system_account(
        "bkpsdm@kinerja.example", "Admin BKPSDM", "rahasia-panjang-123", {Role.HR}
    )
    _db.session.commit()
    cycles.extend_one(ev, office, clock.utcnow() + timedelta(days=3), "Sakit selama sepekan")
    _db.session.commit()
    nurse = visitor(app, w, "nurse")
    assert "Admin BKPSDM" in show(nurse, ev)
    assert "Admin BKPSDM" in show(nurse, ev)  # a hit
    office.display_name = "Sekretariat BKPSDM"
    _db.session.commit()
    page = show(nurse, ev)
    assert "Sekretariat BKPSDM" in page and "Admin BKPSDM" not in page
