"""The evaluation page's forms: a refused post comes back with what was typed in its fields and
why beside them (400, or 409 when someone changed the SKP meanwhile), saving nothing; every
other form of the page keeps showing what is stored; a good post saves."""

import html.parser
import io
from decimal import Decimal

import pytest

from app.extensions import db as _db
from app.models import EvaluationState, Evidence, Indicator, Rhk
from app.workflow import evaluations
from tests.conftest import csrf_token, login
from tests.test_workflow_http import version_of
from tests.test_workflow_services import World, snapshot

PDF = b"%PDF-1.4 bukti"


class Page(html.parser.HTMLParser):
    """The elements of a page that have an id: their attributes and their text."""

    VOID = {"input", "br", "img", "meta", "link", "hr"}

    def __init__(self, text: str):
        super().__init__()
        self.attrs: dict[str, dict] = {}
        self.texts: dict[str, str] = {}
        self.open: list[tuple[str, str | None]] = []
        self.raw = text
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        key = attrs.get("id")
        if key:
            self.attrs[key] = attrs
            self.texts.setdefault(key, "")
        if tag not in self.VOID:
            self.open.append((tag, key))

    def handle_endtag(self, tag):
        while self.open:
            if self.open.pop()[0] == tag:
                break

    def handle_data(self, data):
        for _tag, key in self.open:
            if key:
                self.texts[key] += data

    def value(self, field_id: str) -> str:
        """What a field holds: an input's value, a textarea's text."""
        attrs = self.attrs[field_id]
        return attrs.get("value") or "" if "value" in attrs else self.texts[field_id].strip()

    def message(self, field_id: str) -> str:
        """The message beside a field, tied to it: the field says it is invalid and points to it."""
        attrs = self.attrs[field_id]
        assert attrs.get("aria-invalid") == "true", f"{field_id} is not marked invalid"
        assert f"{field_id}-error" in attrs.get("aria-describedby", "").split()
        return " ".join(self.texts[f"{field_id}-error"].split())

    def valid(self, field_id: str) -> bool:
        """A field without a message."""
        return "aria-invalid" not in self.attrs[field_id] and f"{field_id}-error" not in self.attrs


@pytest.fixture
def w(make) -> World:
    return World(make)


def post(client, url: str, data: dict, page: str, **kwargs):
    """POST as the page would: its CSRF token and the version it was rendered with."""
    token = csrf_token(client, page)
    return client.post(url, data={"csrf_token": token, "version": version_of(client, page), **data}, **kwargs)


def refused(client, url: str, data: dict, page: str, status: int = 400, **kwargs) -> Page:
    """Post, expect a refusal that changed nothing; the page that came back."""
    before = snapshot()
    response = post(client, url, data, page, **kwargs)
    assert response.status_code == status, response.get_data(as_text=True)[:3000]
    assert snapshot() == before, "refused, yet the database changed"
    return Page(response.get_data(as_text=True))


def saved(client, url: str, data: dict, page: str, **kwargs) -> None:
    response = post(client, url, data, page, **kwargs)
    assert response.status_code == 302, Page(response.get_data(as_text=True)).texts.get("refused")
    _db.session.expire_all()


INDICATOR = {
    "aspect": "time",
    "text": "Waktu tunggu",
    "comparator": "at_most",
    "target": "30",
    "unit": "menit",
}


# ---- the SKP ---------------------------------------------------------------------------------------------


def test_a_refused_new_indicator_keeps_its_input_and_the_other_indicators_keep_theirs(w, client):
    ev = w.skp()
    rhk, other = ev.rhks[0], ev.rhks[1].indicators[0]
    url = f"/evaluations/{ev.id}"
    login(client, w.org["nurse"].nip)

    page = refused(client, f"{url}/rhk/{rhk.id}/indicators", {**INDICATOR, "target": "tiga puluh"}, url)
    key = f"iki-new-{rhk.id}"
    assert page.value(f"{key}-target") == "tiga puluh" and page.value(f"{key}-text") == "Waktu tunggu"
    assert page.message(f"{key}-target") == "Target harus berupa angka."
    assert "Target harus berupa angka." in page.texts["refused"]
    # another indicator's edit form shows what is stored, without a message
    assert page.value(f"iki-{other.id}-text") == other.text and page.value(f"iki-{other.id}-target") == "85"
    assert page.valid(f"iki-{other.id}-target")

    # missing and too long at once: both messages, each beside its field
    page = refused(
        client, f"{url}/rhk/{rhk.id}/indicators", {**INDICATOR, "text": " ", "unit": "m" * 41}, url
    )
    assert page.message(f"{key}-text") == "Indikator wajib diisi."
    assert page.message(f"{key}-unit") == "Satuan target paling banyak 40 karakter."
    assert page.value(f"{key}-unit") == "m" * 41

    saved(client, f"{url}/rhk/{rhk.id}/indicators", {**INDICATOR, "target": "1.350"}, url)
    assert [str(i.target) for i in _db.session.get(Rhk, rhk.id).indicators][-1] == "1350.00"


def test_an_rhk_too_long_or_edited_from_a_stale_page_is_refused_with_what_was_typed(w, client):
    ev = w.skp()
    first, second = ev.rhks
    url = f"/evaluations/{ev.id}"
    login(client, w.org["nurse"].nip)

    long_text = "Pelayanan " * 201
    page = refused(client, f"{url}/rhk/{first.id}", {"kind": "main", "text": long_text}, url)
    assert page.value(f"rhk-{first.id}-text") == long_text.strip()
    assert page.message(f"rhk-{first.id}-text") == "Rencana hasil kerja paling banyak 2000 karakter."
    assert page.value(f"rhk-{second.id}-text") == second.text and page.valid(f"rhk-{second.id}-text")

    # meanwhile the SKP changed (another tab): the typed text stays, nothing is overwritten
    stale = version_of(client, url)
    evaluations.save_rhk(ev, w.acc("nurse"), {"kind": "main", "text": "Diubah di tab lain"}, first)
    before = snapshot()
    response = client.post(
        f"{url}/rhk/{first.id}",
        data={
            "csrf_token": csrf_token(client, url),
            "version": stale,
            "kind": "additional",
            "text": "Ketikan saya",
        },
    )
    assert response.status_code == 409 and snapshot() == before
    page = Page(response.get_data(as_text=True))
    assert page.value(f"rhk-{first.id}-text") == "Ketikan saya"
    assert page.attrs[f"rhk-{first.id}-kind"] is not None
    assert "baru saja diubah" in page.texts[f"rhk-{first.id}-error"]
    assert page.attrs[f"rhk-{second.id}-text"] and page.value(f"rhk-{second.id}-text") == second.text

    saved(client, f"{url}/rhk/{first.id}", {"kind": "additional", "text": "Pelayanan cepat"}, url)
    assert _db.session.get(Rhk, first.id).text == "Pelayanan cepat"


def test_an_expired_form_keeps_what_was_typed(w, client):
    ev = w.skp()
    url = f"/evaluations/{ev.id}"
    login(client, w.org["nurse"].nip)
    before = snapshot()
    response = client.post(
        f"{url}/annex",
        data={"csrf_token": "kedaluwarsa", "version": version_of(client, url), "resources": "Dua perawat"},
    )
    assert response.status_code == 400 and snapshot() == before
    page = Page(response.get_data(as_text=True))
    assert page.value("annex-resources") == "Dua perawat"
    assert "kedaluwarsa" in page.texts["annex-error"]


def test_the_annex_refuses_a_text_too_long_and_saves_a_good_one(w, client):
    ev = w.skp()
    url = f"/evaluations/{ev.id}"
    login(client, w.org["nurse"].nip)
    page = refused(client, f"{url}/annex", {"resources": "x" * 5001, "consequences": "Teguran"}, url)
    assert page.message("annex-resources") == "Dukungan sumber daya paling banyak 5000 karakter."
    assert page.value("annex-consequences") == "Teguran" and page.valid("annex-consequences")
    saved(client, f"{url}/annex", {"resources": "Dua perawat", "consequences": "Teguran"}, url)
    _db.session.refresh(ev)
    assert (ev.resources, ev.consequences) == ("Dua perawat", "Teguran")


def test_a_change_to_a_submitted_skp_is_refused_in_words(w, client):
    ev = w.submitted_targets()
    url = f"/evaluations/{ev.id}"
    login(client, w.org["nurse"].nip)
    before = snapshot()  # the page offers no form any more: a post from an older page
    response = client.post(
        f"{url}/rhk",
        data={
            "csrf_token": csrf_token(client, url),
            "version": ev.version,
            "kind": "main",
            "text": "Terlambat",
        },
    )
    assert response.status_code == 400 and snapshot() == before
    assert (
        "SKP hanya dapat diubah selama masih disusun"
        in Page(response.get_data(as_text=True)).texts["refused"]
    )


def test_the_rater_returning_without_a_comment_is_told_so_beside_the_form(w, client):
    ev = w.submitted_targets()
    url = f"/evaluations/{ev.id}"
    login(client, w.org["head"].nip)
    page = refused(client, f"{url}/return-targets", {"comment": "  "}, url)
    assert "Tulis komentar" in page.texts["rater-targets-error"]
    page = refused(
        client, f"{url}/expectations", {"expectation_loyal": "y" * 2001, "expectation_adaptive": "Cepat"}, url
    )
    assert page.message("expectations-expectation_loyal") == "Loyal paling banyak 2000 karakter."
    assert page.value("expectations-expectation_adaptive") == "Cepat"
    saved(client, f"{url}/expectations", {"expectation_adaptive": "Cepat belajar SIMPUS"}, url)
    assert (
        ev.behaviour_note(next(n.value for n in ev.behaviour if n.expectation)).expectation
        == "Cepat belajar SIMPUS"
    )
    saved(client, f"{url}/return-targets", {"comment": "Tambahkan indikator kepuasan."}, url)
    assert ev.state == EvaluationState.TARGETS_DRAFT


def test_a_refused_button_says_why_beside_it(w, client):
    ev = w.ev("nurse")
    url = f"/evaluations/{ev.id}"
    login(client, w.org["nurse"].nip)
    page = refused(client, f"{url}/submit-targets", {}, url)
    assert "belum memiliki RHK utama" in page.texts["targets-error"]
    assert page.attrs["targets"].get("data-confirm")  # still asks before it is sent again

    ev = w.skp()  # then a stale page: the SKP changes after it was shown
    indicator, indicator_id = ev.indicators[0], ev.indicators[0].id
    stale = version_of(client, url)
    evaluations.save_annex(ev, w.acc("nurse"), {"resources": "Dua perawat"})
    before = snapshot()
    response = client.post(
        f"{url}/indicators/{indicator.id}/delete",
        data={"csrf_token": csrf_token(client, url), "version": stale},
    )
    assert response.status_code == 409 and snapshot() == before
    page = Page(response.get_data(as_text=True))
    assert "baru saja diubah" in page.texts[f"iki-{indicator.id}-delete-error"]
    saved(client, f"{url}/indicators/{indicator.id}/delete", {}, url)
    assert _db.session.get(Indicator, indicator_id) is None


# ---- the self-assessment ------------------------------------------------------------------------------


def test_a_refused_realisation_keeps_its_input_and_the_other_rows_keep_what_is_stored(w, client):
    ev = w.in_assessment()
    first, second = ev.indicators
    url = f"/evaluations/{ev.id}"
    login(client, w.org["nurse"].nip)
    saved(client, f"{url}/indicators/{second.id}/realisation", {"realisation": "90,5", "note": "Survei"}, url)
    assert _db.session.get(Indicator, second.id).realisation == Decimal("90.50")

    page = refused(
        client,
        f"{url}/indicators/{first.id}/realisation",
        {"realisation": "dua puluh", "note": "SIMPUS"},
        url,
    )
    assert page.value(f"real-{first.id}-realisation") == "dua puluh"
    assert page.value(f"real-{first.id}-note") == "SIMPUS"
    assert page.message(f"real-{first.id}-realisation") == "Realisasi harus berupa angka."
    assert (
        page.value(f"real-{second.id}-realisation") == "90,5"
        and page.value(f"real-{second.id}-note") == "Survei"
    )
    assert page.valid(f"real-{second.id}-realisation")

    page = refused(
        client, f"{url}/indicators/{first.id}/realisation", {"realisation": "", "note": "n" * 5001}, url
    )
    assert page.message(f"real-{first.id}-realisation") == "Realisasi wajib diisi."
    assert page.message(f"real-{first.id}-note") == "Catatan paling banyak 5000 karakter."


def test_evidence_needs_a_file_or_a_proper_link(w, client):
    ev = w.in_assessment()
    first, second = ev.indicators
    url = f"/evaluations/{ev.id}"
    login(client, w.org["nurse"].nip)
    page = refused(client, f"{url}/indicators/{first.id}/evidence", {"url": ""}, url)
    assert page.message(f"evidence-{first.id}-file") == "Pilih berkas atau isi tautan bukti dukung."
    page = refused(client, f"{url}/indicators/{first.id}/evidence", {"url": "ftp://arsip/bukti"}, url)
    assert page.value(f"evidence-{first.id}-url") == "ftp://arsip/bukti"
    assert "http:// atau https://" in page.message(f"evidence-{first.id}-url")
    assert page.value(f"evidence-{second.id}-url") == "" and page.valid(f"evidence-{second.id}-url")
    page = refused(
        client,
        f"{url}/indicators/{first.id}/evidence",
        {"file": (io.BytesIO(b"MZ bukan pdf"), "laporan.pdf")},
        url,
        content_type="multipart/form-data",
    )
    assert "PDF, JPG atau PNG" in page.message(f"evidence-{first.id}-file")

    saved(client, f"{url}/indicators/{second.id}/evidence", {"url": "https://survei.example/ikm"}, url)
    saved(
        client,
        f"{url}/indicators/{first.id}/evidence",
        {"file": (io.BytesIO(PDF), "laporan.pdf")},
        url,
        content_type="multipart/form-data",
    )
    assert {(e.indicator_id, e.url or e.filename) for e in _db.session.query(Evidence)} == {
        (second.id, "https://survei.example/ikm"),
        (first.id, "laporan.pdf"),
    }


# ---- the review and the keberatan ------------------------------------------------------------------------


def test_returning_a_self_assessment_needs_a_comment(w, client):
    ev = w.submitted_assessment()
    url = f"/evaluations/{ev.id}"
    login(client, w.org["head"].nip)
    page = refused(client, f"{url}/return-assessment", {"comment": ""}, url)
    assert "Tulis komentar" in page.texts["return-assessment-error"]
    saved(client, f"{url}/return-assessment", {"comment": "Lampirkan rekap SIMPUS."}, url)
    _db.session.refresh(ev)
    assert ev.state == EvaluationState.ASSESSMENT_DRAFT


def test_a_refused_review_keeps_every_feedback_and_says_which_field_is_wrong(w, client):
    ev = w.submitted_assessment()
    first, second = ev.indicators
    url = f"/evaluations/{ev.id}"
    login(client, w.org["head"].nip)
    typed = {
        f"feedback_{first.id}": "Turun dari 45 menit.",
        f"feedback_{second.id}": "u" * 2001,
        "behaviour_collaborative": "Kolaborasi baik",
        "behaviour_rating": "meets",
    }
    page = refused(client, f"{url}/review", typed, url)
    assert page.value(f"review-feedback_{first.id}") == "Turun dari 45 menit." and page.valid(
        f"review-feedback_{first.id}"
    )
    assert page.message(f"review-feedback_{second.id}") == "Umpan balik paling banyak 2000 karakter."
    assert page.texts["review-results_rating-error"].strip() == "Pilih salah satu rating."
    assert page.value("review-behaviour_collaborative") == "Kolaborasi baik"
    assert "checked" in page.attrs["review-behaviour_rating-1"]  # "meets", the second choice

    # below expectation without any written feedback: the form as a whole is refused
    page = refused(client, f"{url}/review", {"results_rating": "below", "behaviour_rating": "meets"}, url)
    assert "wajib disertai umpan balik tertulis" in page.texts["review-error"]
    assert "checked" in page.attrs["review-results_rating-2"]

    saved(
        client,
        f"{url}/review",
        {**typed, f"feedback_{second.id}": "Tercapai.", "results_rating": "above"},
        url,
    )
    _db.session.refresh(ev)
    assert ev.state == EvaluationState.REVIEWED
    assert [i.feedback for i in ev.indicators] == ["Turun dari 45 menit.", "Tercapai."]


def test_the_keberatan_forms_refuse_with_the_input_kept(w, client):
    ev = w.reviewed()
    url = f"/evaluations/{ev.id}"
    login(client, w.org["nurse"].nip)
    page = refused(client, f"{url}/appeal", {"reasons": "r" * 5001}, url)
    assert page.message("appeal-reasons") == "Alasan keberatan paling banyak 5000 karakter."
    page = refused(client, f"{url}/appeal", {"reasons": "Terlampaui."}, url)
    assert (
        "minimal 20 karakter" in page.texts["appeal-error"] and page.value("appeal-reasons") == "Terlampaui."
    )
    saved(client, f"{url}/appeal", {"reasons": "Semua target terlampaui sepanjang tahun."}, url)

    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, w.org["camat"].nip)
    page = refused(client, f"{url}/appeal/comment", {"addressed_to": "employee", "body": ""}, url)
    assert page.message("appeal-thread-body") == "Pesan wajib diisi."
    assert '<option selected value="employee">' in page.raw  # whom the camat asked, as chosen
    page = refused(
        client,
        f"{url}/appeal/decide",
        {"results_rating": "tinggi", "behaviour_rating": "above", "reasons": "Bukti kuat"},
        url,
    )
    assert (
        page.texts["decision-results_rating-error"].strip()
        == "Pilihan tidak valid; pilih salah satu dari daftar."
    )
    assert page.value("decision-reasons") == "Bukti kuat"
    assert "checked" in page.attrs["decision-behaviour_rating-0"]
    saved(
        client,
        f"{url}/appeal/decide",
        {"results_rating": "above", "behaviour_rating": "above", "reasons": "Bukti kuat"},
        url,
    )
    _db.session.refresh(ev)
    assert ev.state == EvaluationState.DECIDED
