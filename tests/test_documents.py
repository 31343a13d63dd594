"""The SKP and the Dokumen Evaluasi Kinerja Pegawai as PDF: what they say, who may download them."""

import io
import os
import shutil
import subprocess
import zipfile
from datetime import timedelta

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from app import clock
from app.domain import Aspect, Comparator, CoreValue
from app.models import Cycle, CycleKind, DocumentBundle, Evaluation, EvaluationState, PositionKind
from app.output import bundles, pdf
from app.workflow import cycles, evaluations
from tests.conftest import login, post_form
from tests.workflow_helpers import agency, open_annual, write_skp

RANKS = {
    "nurse": "Penata Muda Tk. I, III/b",
    "head": "Pembina, IV/a",
    "camat": "Pembina Tk. I, IV/b",
}


def evaluation_of(db, cycle, employee) -> Evaluation:
    return db.session.scalar(
        sa.select(Evaluation).where(Evaluation.cycle_id == cycle.id, Evaluation.employee_id == employee.id)
    )


def signed_in(client, employee):
    """A browser of its own, signed in as `employee`."""
    browser = client.application.test_client()
    assert login(browser, employee.nip).status_code == 302
    return browser


def text_of(data: bytes) -> str:
    """Every page's text, lines joined by spaces (the extractor breaks long cells into lines)."""
    assert data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


@pytest.fixture
def year(make, db):
    """The nurse's SKP approved with an expectation and a lampiran; the colleague's still a draft."""
    org = agency(make)
    for key, rank in RANKS.items():
        org[key].rank = rank
    db.session.commit()
    cycle = open_annual(org)
    ev = evaluation_of(db, cycle, org["nurse"])
    write_skp(ev, org["nurse"])
    extra = evaluations.save_rhk(
        ev, org["nurse"].account, {"kind": "additional", "text": "Penyuluhan kesehatan di posyandu"}
    )
    evaluations.save_indicator(
        ev,
        org["nurse"].account,
        extra,
        {
            "aspect": Aspect.QUANTITY,
            "text": "Posyandu yang dikunjungi",
            "comparator": Comparator.AT_LEAST,
            "target": "12",
            "unit": "kali",
        },
    )
    evaluations.save_annex(
        ev,
        org["nurse"].account,
        {
            "resources": "Ruang tindakan dan alat kesehatan",
            "accountability": "Laporan bulanan kepada kepala puskesmas",
            "consequences": "Teguran bila target tidak tercapai",
        },
    )
    evaluations.submit_targets(ev, org["nurse"].account)
    evaluations.save_expectations(
        ev, org["head"].account, {"service": "Menanggapi keluhan pasien dalam satu hari kerja"}
    )
    evaluations.approve_targets(ev, org["head"].account)
    return org, cycle, ev


def review(org, cycle, ev, db) -> None:
    """The nurse reports realisations and the head rates them, with feedback."""
    clock.advance(timedelta(days=26))
    cycles.advance(cycle, org["hr"].account)
    db.session.refresh(ev)
    for indicator, value in zip(ev.indicators, ["25", "90", "14"], strict=True):
        evaluations.save_realisation(ev, org["nurse"].account, indicator, value, "Data SIMPUS")
    evaluations.submit_assessment(ev, org["nurse"].account)
    evaluations.review(
        ev,
        org["head"].account,
        {
            "results_rating": "above",
            "behaviour_rating": "meets",
            "indicator_feedback": {
                ev.indicators[0].id: "Waktu tunggu turun berkat triase",
                ev.indicators[1].id: "Survei IKM triwulan lengkap",
            },
            "behaviour_feedback": {"collaborative": "Aktif dalam lokakarya mini lintas program"},
        },
    )


def test_the_skp_document_prints_the_form_of_the_annex(year):
    """Title, period, both identities with pangkat, every RHK grouped, the seven values, the
    expectation, the lampiran and both signature lines with place and date."""
    org, _cycle, ev = year
    text = text_of(pdf.skp_pdf(pdf.load_for_document(ev.id)))
    for expected in (
        "SASARAN KINERJA PEGAWAI",
        "PERIODE PENILAIAN: 1 JANUARI 2027 S.D. 31 DESEMBER 2027",
        "PEGAWAI YANG DINILAI",
        "PEJABAT PENILAI KINERJA",
        "Perawat Debora",
        org["nurse"].nip,
        "Penata Muda Tk. I, III/b",
        "Kepala Puskesmas",
        org["head"].nip,
        "Pembina, IV/a",
        "A. Utama",
        "B. Tambahan",
        "Pelayanan pasien yang cepat",
        "Kepuasan masyarakat terjaga",
        "Penyuluhan kesehatan di posyandu",
        "Waktu tunggu pasien",
        "≤ 30 menit",
        "≥ 85 %",
        "Posyandu yang dikunjungi",
        "≥ 12 kali",
        "EKSPEKTASI KHUSUS PIMPINAN",
        "Menanggapi keluhan pasien dalam satu hari kerja",
        "LAMPIRAN SASARAN KINERJA PEGAWAI",
        "Laporan bulanan kepada kepala puskesmas",
        "Teguran bila target tidak tercapai",
        "Palangka Raya, 5 Januari 2027",
        "Pegawai yang Dinilai",
        f"NIP. {org['nurse'].nip}",
        f"NIP. {org['head'].nip}",
    ):
        assert expected in text, expected
    for value in CoreValue:
        assert value.label in text and value.indicators[0] in text


def test_the_evaluation_document_prints_results_feedback_ratings_and_predikat(year, db):
    """Realisation and feedback per indicator, both ratings, the predikat, the unit's predikat
    organisasi, the three identities and the signature lines."""
    org, cycle, ev = year
    cycles.set_unit_predikat(cycle, org["hr"].account, org["puskesmas"].id, "baik")
    review(org, cycle, ev, db)
    text = text_of(pdf.evaluation_pdf(pdf.load_for_document(ev.id)))
    for expected in (
        "DOKUMEN EVALUASI KINERJA PEGAWAI",
        "PERIODE: TAHUNAN",
        "ATASAN PEJABAT PENILAI KINERJA",
        "Camat",
        org["camat"].nip,
        "Pembina Tk. I, IV/b",
        "CAPAIAN KINERJA ORGANISASI BAIK",
        "Pelayanan pasien yang cepat",
        "Kepuasan masyarakat terjaga",
        "Penyuluhan kesehatan di posyandu",
        "25 menit",
        "90 %",
        "14 kali",
        "Data SIMPUS",
        "Waktu tunggu turun berkat triase",
        "Survei IKM triwulan lengkap",
        "Aktif dalam lokakarya mini lintas program",
        "RATING HASIL KERJA DI ATAS EKSPEKTASI",
        "RATING PERILAKU KERJA SESUAI EKSPEKTASI",
        "PREDIKAT KINERJA PEGAWAI BAIK",
        "Perawat Debora",
        f"NIP. {org['nurse'].nip}",
        f"NIP. {org['head'].nip}",
        "Pejabat Penilai Kinerja",
    ):
        assert expected in text, expected
    assert "KEBERATAN" not in text and "ANGKA KREDIT" not in text


def test_the_evaluation_document_states_the_keberatan_decision(year, db):
    """After a keberatan the document carries the decided ratings and what they were before."""
    org, cycle, ev = year
    review(org, cycle, ev, db)
    evaluations.file_appeal(ev, org["nurse"].account, "Saya aktif berkolaborasi lintas program.")
    pending = text_of(pdf.evaluation_pdf(pdf.load_for_document(ev.id)))
    assert "keberatan sedang diproses" in pending
    evaluations.decide_appeal(
        ev,
        org["camat"].account,
        {"results_rating": "above", "behaviour_rating": "above", "reasons": "Bukti kolaborasi kuat."},
    )
    text = text_of(pdf.evaluation_pdf(pdf.load_for_document(ev.id)))
    assert "PREDIKAT KINERJA PEGAWAI SANGAT BAIK" in text
    assert "rating diubah (semula hasil kerja Di Atas Ekspektasi, perilaku kerja Sesuai Ekspektasi)" in text
    assert "Bukti kolaborasi kuat." in text


def test_page_one_renders_to_an_image(year, tmp_path):
    """The first page of the SKP rasterises: a real, drawable A4 page."""
    if shutil.which("pdftoppm") is None:
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail("pdftoppm (poppler-utils) is required")
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    _org, _cycle, ev = year
    source = tmp_path / "skp.pdf"
    source.write_bytes(pdf.skp_pdf(pdf.load_for_document(ev.id)))
    subprocess.run(  # noqa: S603 - fixed arguments, a file this test wrote
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(source), str(tmp_path / "page")],
        check=True,
        timeout=60,
    )
    image = next(tmp_path.glob("page*.png")).read_bytes()
    assert image.startswith(b"\x89PNG")
    width, height = int.from_bytes(image[16:20], "big"), int.from_bytes(image[20:24], "big")
    assert abs(width - 496) <= 1 and abs(height - 702) <= 1  # A4 (210 × 297 mm) at 60 dpi
    assert len(image) > 15_000  # tables and text: a blank page compresses to a few hundred bytes


def test_no_document_before_its_time(year, client, db):
    """A draft SKP has no document; an approved one has its SKP but no evaluation yet."""
    org, cycle, ev = year
    draft = evaluation_of(db, cycle, org["colleague"])
    login(client, org["head"].nip)
    assert client.get(f"/evaluations/{draft.id}/skp.pdf").status_code == 404
    assert client.get(f"/evaluations/{ev.id}/evaluasi.pdf").status_code == 404
    response = client.get(f"/evaluations/{ev.id}/skp.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "no-store" in response.headers["Cache-Control"]
    assert f"SKP-{org['nurse'].nip}-2027.pdf" in response.headers["Content-Disposition"]


@pytest.mark.parametrize("who", ["nurse", "head", "camat", "hr"])
def test_the_employee_the_rater_the_appeal_handler_and_hr_download(year, client, db, who):
    """Everyone who may view the evaluation may download both documents."""
    org, cycle, ev = year
    review(org, cycle, ev, db)
    login(client, org[who].nip)
    for path in ("skp.pdf", "evaluasi.pdf"):
        response = client.get(f"/evaluations/{ev.id}/{path}")
        assert response.status_code == 200, path
        assert org["nurse"].nip in text_of(response.data)


def test_another_employee_and_another_teams_rater_are_refused(year, client, make, db):
    """A colleague, and the head of another team, get 403 for both documents; strangers sign in first."""
    org, cycle, ev = year
    review(org, cycle, ev, db)
    other_head = make.employee("Kepala Seksi Lain", supervisor=org["camat"], unit=org["kecamatan"])
    make.employee("Staf Lain", supervisor=other_head, unit=org["kecamatan"])
    for path in ("skp.pdf", "evaluasi.pdf"):
        assert client.get(f"/evaluations/{ev.id}/{path}").status_code in (302, 401)
    for stranger in (org["colleague"], other_head):
        browser = signed_in(client, stranger)
        assert browser.get(f"/evaluations/{ev.id}").status_code == 403  # as the evaluation's page
        for path in ("skp.pdf", "evaluasi.pdf"):
            assert browser.get(f"/evaluations/{ev.id}/{path}").status_code == 403, (stranger.name, path)
    login(client, org["nurse"].nip)
    assert client.get("/evaluations/999999/skp.pdf").status_code == 404


def test_the_evaluation_page_links_its_documents(year, client, db):
    """The page of a reviewed evaluation links both documents."""
    org, cycle, ev = year
    review(org, cycle, ev, db)
    login(client, org["nurse"].nip)
    page = client.get(f"/evaluations/{ev.id}").get_data(as_text=True)
    assert f"/evaluations/{ev.id}/skp.pdf" in page and f"/evaluations/{ev.id}/evaluasi.pdf" in page
    assert ev.state == EvaluationState.REVIEWED


def test_rendering_fetches_nothing_but_the_bundled_fonts():
    """The fetcher serves the two shipped fonts and refuses any other address."""
    fetcher = pdf.bundled_fonts_only()
    font = fetcher.fetch(pdf.FONT_URL + "DejaVuSansCondensed.ttf")
    assert font.read()[:4] == b"\x00\x01\x00\x00"
    for url in ("https://example.com/x.css", "file:///etc/passwd", pdf.FONT_URL + "../../config.py"):
        with pytest.raises(ValueError):
            fetcher.fetch(url)


def test_the_team_list_and_the_employee_page_link_the_documents(year, client, db):
    """The rater's list of the team and HR's page of the employee link both documents; the
    rater's page of the employee does not offer what a colleague's own list never shows."""
    org, cycle, ev = year
    review(org, cycle, ev, db)
    links = (f"/evaluations/{ev.id}/skp.pdf", f"/evaluations/{ev.id}/evaluasi.pdf")
    team = signed_in(client, org["head"]).get("/evaluations/").get_data(as_text=True)
    assert all(link in team for link in links)
    profile = signed_in(client, org["hr"]).get(f"/people/{org['nurse'].id}").get_data(as_text=True)
    assert all(link in profile for link in links)
    own = signed_in(client, org["colleague"]).get("/evaluations/").get_data(as_text=True)
    assert not any(link in own for link in links)


def test_a_functional_post_prints_its_angka_kredit(year, db):
    """A nurse of jenjang Ahli Pertama earns 12,5 × the predikat's share for the year."""
    org, cycle, ev = year
    position = org["nurse"].position
    position.kind, position.jenjang_code = PositionKind.FUNGSIONAL, "ahli_pertama"
    db.session.commit()
    review(org, cycle, ev, db)
    text = text_of(pdf.evaluation_pdf(pdf.load_for_document(ev.id)))
    assert "ANGKA KREDIT (Ahli Pertama) 12,5 (koefisien 12,5 × 100% × 12/12 bulan)" in text


@pytest.mark.parametrize(
    ("kind", "period", "name", "span"),
    [
        ("annual", None, "TAHUNAN", "1 Januari 2027 s.d. 31 Desember 2027"),
        ("quarterly", 2, "TRIWULAN II", "1 April 2027 s.d. 30 Juni 2027"),
        ("monthly", 2, "BULANAN: FEBRUARI", "1 Februari 2027 s.d. 28 Februari 2027"),
    ],
)
def test_the_period_is_named_as_the_form_names_it(app, kind, period, name, span):
    """Annual, quarterly and monthly periods in the title and the period line."""
    cycle = Cycle(kind=CycleKind(kind), year=2027, period=period)
    with app.test_request_context():
        assert (pdf.period_name(cycle), pdf.period_text(cycle)) == (name, span)


def test_hr_gets_a_units_documents_as_one_zip_built_in_the_background(year, client, db):
    """HR asks for the puskesmas's ZIP; the page shows it waiting, the scheduler's job builds it
    with its progress counted, then the page links a ZIP holding every document of the unit."""
    org, cycle, ev = year
    review(org, cycle, ev, db)
    hr = signed_in(client, org["hr"])
    listing = hr.get(f"/cycles/{cycle.id}").get_data(as_text=True)
    assert f"/cycles/{cycle.id}/dokumen" in listing
    units = hr.get(f"/cycles/{cycle.id}/dokumen").get_data(as_text=True)
    assert "Puskesmas Rakumpit" in units and "Susun ZIP" in units
    asked = post_form(
        hr, f"/cycles/{cycle.id}/dokumen/{org['puskesmas'].id}", {}, token_from=f"/cycles/{cycle.id}/dokumen"
    )
    assert asked.status_code == 302
    waiting = hr.get(asked.headers["Location"])
    assert "Menunggu giliran disusun" in waiting.get_data(as_text=True)
    assert waiting.headers["Refresh"] == "5"
    bundle = db.session.scalar(sa.select(DocumentBundle))
    assert hr.get(f"/dokumen/{bundle.id}/zip").status_code == 404  # not built yet

    assert bundles.build_bundles() == 1
    db.session.refresh(bundle)
    assert (bundle.state, bundle.done, bundle.total) == ("done", 3, 3)  # the nurses and their head
    ready = hr.get(asked.headers["Location"])
    assert "Berkas siap: 3 penilaian" in ready.get_data(as_text=True) and "Refresh" not in ready.headers
    response = hr.get(f"/dokumen/{bundle.id}/zip")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert f"Dokumen-{org['puskesmas'].code}-2027.zip" in response.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    nurse = org["nurse"].nip
    assert sorted(archive.namelist()) == [f"Evaluasi-Kinerja-{nurse}-2027.pdf", f"SKP-{nurse}-2027.pdf"]
    assert "Waktu tunggu turun berkat triase" in text_of(archive.read(f"Evaluasi-Kinerja-{nurse}-2027.pdf"))

    # Asked again (the documents changed), the new ZIP replaces the old one, whose file is gone.
    again = bundles.request_bundle(cycle, org["puskesmas"], org["hr"].account)
    bundles.build_bundles()
    db.session.refresh(bundle)
    assert again.id != bundle.id and bundle.state == "replaced"
    assert hr.get(f"/dokumen/{bundle.id}/zip").status_code == 404
    assert "sudah diganti" in hr.get(f"/dokumen/{bundle.id}").get_data(as_text=True)
    assert hr.get(f"/dokumen/{again.id}/zip").status_code == 200


def test_only_hr_asks_for_and_downloads_a_units_zip(year, client, db):
    """The rater and the employee are refused the unit page, the request and the ZIP."""
    org, cycle, ev = year
    review(org, cycle, ev, db)
    bundle = bundles.request_bundle(cycle, org["puskesmas"], org["hr"].account)
    bundles.build_bundles()
    for who in ("nurse", "head"):
        browser = signed_in(client, org[who])
        assert browser.get(f"/cycles/{cycle.id}/dokumen").status_code == 403
        assert browser.get(f"/dokumen/{bundle.id}").status_code == 403
        assert browser.get(f"/dokumen/{bundle.id}/zip").status_code == 403
        asked = post_form(browser, f"/cycles/{cycle.id}/dokumen/{org['puskesmas'].id}", {}, token_from="/")
        assert asked.status_code == 403
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DocumentBundle)) == 1


def test_a_server_without_pango_says_so_instead_of_failing(year, client, db, monkeypatch):
    """WeasyPrint is loaded with the first document: without Debian's Pango the service still runs,
    and asking for a document says what the server lacks."""
    org, cycle, ev = year

    def missing():
        raise pdf.LayoutUnavailable("cannot load library 'libpango-1.0-0'")

    monkeypatch.setattr(pdf, "_weasyprint", missing)
    login(client, org["nurse"].nip)
    response = client.get(f"/evaluations/{ev.id}/skp.pdf", follow_redirects=True)
    assert response.status_code == 200
    assert "Dokumen PDF belum dapat dibuat di server ini" in response.get_data(as_text=True)


def test_the_cron_run_builds_the_bundles_hr_asked_for(year, client, db, runner):
    """Where no scheduler runs, `flask jobs run-due` (cron) builds the queued ZIPs too."""
    org, cycle, ev = year
    review(org, cycle, ev, db)
    hr = signed_in(client, org["hr"])
    post_form(
        hr, f"/cycles/{cycle.id}/dokumen/{org['puskesmas'].id}", {}, token_from=f"/cycles/{cycle.id}/dokumen"
    )
    result = runner.invoke(args=["jobs", "run-due"])
    assert "document_bundles: 1" in result.output
    db.session.expire_all()
    assert db.session.scalar(sa.select(DocumentBundle.state)) == "done"
