"""HR's Excel recaps: results, progress and distribution of a cycle, the monthly recap of a year,
from the cycle pages and the command line; opened again with openpyxl."""

import io
from datetime import UTC, datetime

import openpyxl
import pytest

from app.domain import OrgPredikat, Rating, WithdrawalReason
from app.models import (
    Cycle,
    CycleKind,
    CycleState,
    Evaluation,
    EvaluationState,
    PositionKind,
    UnitPredikat,
)
from app.services.cockpit import unit_progress
from tests.conftest import login

E = EvaluationState
DEADLINE = datetime(2027, 12, 31, tzinfo=UTC)
AGENCY = "Pemerintah Kota Palangka Raya"


def new_cycle(
    db, name="SKP Tahunan 2027", kind=CycleKind.ANNUAL, year=2027, period=None, state=CycleState.APPEAL
):
    cycle = Cycle(
        name=name,
        kind=kind,
        year=year,
        period=period,
        state=state,
        assessment_deadline=DEADLINE,
        review_deadline=DEADLINE,
        appeal_deadline=DEADLINE,
    )
    db.session.add(cycle)
    db.session.commit()
    return cycle


def evaluate(db, cycle, employee, rater, state, results=None, behaviour=None, **extra):
    predikat = None
    if results and behaviour:
        from app.domain import predikat as table

        predikat = table(Rating(results), Rating(behaviour))
    ev = Evaluation(
        cycle_id=cycle.id,
        employee_id=employee.id,
        rater_id=rater.id,
        unit_id=employee.unit_id,
        state=state,
        results_rating=results,
        behaviour_rating=behaviour,
        predikat=predikat,
        **extra,
    )
    db.session.add(ev)
    db.session.commit()
    return ev


@pytest.fixture
def agency(db, make, hr):
    """A puskesmas: the head, a nurse (functional, Ahli Pertama), a clerk, a retired midwife, a
    driver marked not rated, a cleaner not yet rated; a second unit with one analyst."""
    puskesmas = make.unit("Puskesmas Rakumpit")
    kantor = make.unit("Kantor Camat")
    head = make.employee("Kepala Puskesmas", unit=puskesmas)
    nurse_post = make.position("Perawat Ahli Pertama", PositionKind.FUNGSIONAL)
    nurse_post.jenjang_code = "ahli_pertama"
    db.session.commit()
    nurse = make.employee("Ners Anisa", supervisor=head, position=nurse_post)
    nurse.rank = "Penata Muda Tk. I, III/b"
    db.session.commit()
    people = {
        "head": head,
        "nurse": nurse,
        "clerk": make.employee("Budi Pengadministrasi", supervisor=head),
        "midwife": make.employee("Citra Bidan", supervisor=head),
        "driver": make.employee("Dedi Pengemudi", supervisor=head),
        "cleaner": make.employee("Eko Petugas Kebersihan", supervisor=head),
        "analyst": make.employee("Fajar Analis", unit=kantor, supervisor=head),
        "hr": hr,
    }
    return people


@pytest.fixture
def annual(db, agency):
    """An annual cycle in the appeal phase with one evaluation per kind of outcome."""
    p = agency
    cycle = new_cycle(db)
    evaluate(db, cycle, p["nurse"], p["head"], E.REVIEWED, "above", "above")  # Sangat Baik
    evaluate(db, cycle, p["clerk"], p["head"], E.REVIEWED, "meets", "meets")  # Baik
    evaluate(
        db,
        cycle,
        p["midwife"],
        p["head"],
        E.WITHDRAWN,
        set_aside_from=E.ASSESSMENT_DRAFT.value,
        withdrawal_reason=WithdrawalReason.RETIREMENT,
        set_aside_note="Pensiun per 1 Agustus 2027",
    )
    evaluate(
        db,
        cycle,
        p["driver"],
        p["head"],
        E.NOT_RATED,
        set_aside_from=E.ASSESSMENT_SUBMITTED.value,
        set_aside_note="Atasan sakit panjang, tidak dinilai sampai batas tahap",
    )
    evaluate(db, cycle, p["cleaner"], p["head"], E.ASSESSMENT_SUBMITTED)
    evaluate(db, cycle, p["analyst"], p["head"], E.REVIEWED, "below", "meets")  # Butuh Perbaikan
    return cycle


def workbook(response):
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return openpyxl.load_workbook(io.BytesIO(response.data))


def rows(ws, first=5):
    """The data rows (after the title rows and the header), as lists of values."""
    return [list(row) for row in ws.iter_rows(min_row=first, values_only=True)]


def header(ws):
    return [c.value for c in ws[4]]


def test_hr_downloads_the_results_of_a_cycle_one_row_per_evaluation(client, agency, annual):
    login(client, agency["hr"].nip)
    response = client.get(f"/cycles/{annual.id}/rekap-hasil.xlsx")
    assert "filename=rekap-hasil-SKP_Tahunan_2027.xlsx" in response.headers["Content-Disposition"]
    ws = workbook(response).active
    assert ws["A1"].value == AGENCY
    assert ws["A2"].value.startswith("Rekap hasil penilaian kinerja · SKP Tahunan 2027 · dibuat ")
    assert header(ws) == [
        "No.",
        "NIP",
        "Nama",
        "Unit kerja",
        "Jabatan",
        "Pangkat/golongan",
        "Jenis kepegawaian",
        "Rating hasil kerja",
        "Rating perilaku kerja",
        "Predikat kinerja",
        "Status",
        "Keterangan",
        "Persentase angka kredit (%)",
        "Angka kredit",
    ]
    assert ws.freeze_panes == "D5"  # header rows and No./NIP/Nama stay in view
    assert ws.auto_filter.ref == "A4:N10"
    data = rows(ws)
    assert len(data) == 6
    by_name = {row[2]: row for row in data}
    # By unit, then name: Kantor Camat's analyst first.
    assert [row[2] for row in data][:2] == ["Fajar Analis", "Budi Pengadministrasi"]
    assert [row[0] for row in data] == [1, 2, 3, 4, 5, 6]

    nurse = by_name["Ners Anisa"]
    assert nurse[1] == agency["nurse"].nip
    assert nurse[3:6] == ["Puskesmas Rakumpit", "Perawat Ahli Pertama", "Penata Muda Tk. I, III/b"]
    assert nurse[6:12] == [
        "PNS",
        "Di Atas Ekspektasi",
        "Di Atas Ekspektasi",
        "Sangat Baik",
        "Dinilai",
        "Dinilai atasan",
    ]
    assert nurse[12:] == [150, 18.75]  # Ahli Pertama 12.5 x 150 % x 12/12
    assert by_name["Budi Pengadministrasi"][9:] == ["Baik", "Dinilai", "Dinilai atasan", None, None]
    assert by_name["Citra Bidan"][7:12] == [
        None,
        None,
        None,
        "Dikecualikan",
        "Pensiun: Pensiun per 1 Agustus 2027",
    ]
    assert by_name["Dedi Pengemudi"][10:12] == [
        "Tidak dinilai",
        "Atasan sakit panjang, tidak dinilai sampai batas tahap",
    ]
    assert by_name["Eko Petugas Kebersihan"][9:12] == [None, "Belum dinilai", "Penilaian mandiri diajukan"]


def test_the_nip_is_text_in_a_text_column_never_a_number(client, agency, annual):
    login(client, agency["hr"].nip)
    ws = workbook(client.get(f"/cycles/{annual.id}/rekap-hasil.xlsx")).active
    nips = [ws.cell(row=r, column=2) for r in range(5, 11)]
    assert all(cell.data_type == "s" and len(cell.value) == 18 and cell.value.isdigit() for cell in nips)
    assert all(cell.number_format == "@" for cell in nips)
    assert ws.column_dimensions["B"].number_format == "@"  # a NIP typed in later stays text too
    assert {cell.value for cell in nips} == {agency[k].nip for k in agency if k not in ("head", "hr")}


def test_progress_per_unit_counts_as_the_dashboard_does(client, db, agency, annual):
    login(client, agency["hr"].nip)
    response = client.get(f"/cycles/{annual.id}/rekap-kemajuan.xlsx")
    assert "filename=rekap-kemajuan-SKP_Tahunan_2027.xlsx" in response.headers["Content-Disposition"]
    ws = workbook(response).active
    assert ws["A1"].value == AGENCY
    assert ws.freeze_panes == "B5"
    head = header(ws)
    assert head[:4] == [
        "Unit kerja",
        "Jumlah pegawai (tanpa yang dikecualikan)",
        "Tahap ini: dinilai, tanpa keberatan tertunda",
        "Persen",
    ]
    data = {row[0]: dict(zip(head, row, strict=True)) for row in rows(ws)}
    units = {u.name: u for u in unit_progress(annual)}
    assert set(data) == set(units) == {"Puskesmas Rakumpit", "Kantor Camat"}
    puskesmas = data["Puskesmas Rakumpit"]
    assert (puskesmas[head[1]], puskesmas[head[2]], puskesmas["Persen"]) == (4, 2, 50)
    assert (puskesmas["Dikecualikan"], puskesmas["Tidak dinilai"], puskesmas["Dinilai atasan"]) == (1, 1, 2)
    assert puskesmas["Penilaian mandiri diajukan"] == 1
    assert data["Kantor Camat"][head[1]] == units["Kantor Camat"].total == 1


def test_progress_of_a_published_cycle_has_no_phase_column(client, db, agency, annual):
    annual.state = CycleState.PUBLISHED
    db.session.commit()
    login(client, agency["hr"].nip)
    ws = workbook(client.get(f"/cycles/{annual.id}/rekap-kemajuan.xlsx")).active
    assert not any(h.startswith("Tahap ini") for h in header(ws))
    assert header(ws)[:2] == ["Unit kerja", "Jumlah pegawai (tanpa yang dikecualikan)"]


def test_distribution_per_unit_against_its_kurva(client, db, agency, annual):
    for unit in (agency["nurse"].unit, agency["analyst"].unit):
        db.session.add(UnitPredikat(cycle_id=annual.id, unit_id=unit.id, org_predikat=OrgPredikat.BAIK))
    db.session.commit()
    login(client, agency["hr"].nip)
    response = client.get(f"/cycles/{annual.id}/rekap-distribusi.xlsx")
    assert "filename=rekap-distribusi-SKP_Tahunan_2027.xlsx" in response.headers["Content-Disposition"]
    ws = workbook(response).active
    head = header(ws)
    assert head[2:4] == ["Sangat Baik", "Sangat Baik (%)"]
    data = {row[0]: dict(zip(head, row, strict=True)) for row in rows(ws)}
    puskesmas = data["Puskesmas Rakumpit"]
    assert puskesmas["Predikat organisasi"] == "Baik"
    assert (puskesmas["Sangat Baik"], puskesmas["Sangat Baik (%)"], puskesmas["Baik"]) == (1, 50.0, 1)
    assert (puskesmas["Jumlah dinilai"], puskesmas["Belum dinilai"]) == (2, 1)
    assert (puskesmas["Tidak dinilai"], puskesmas["Dikecualikan"]) == (1, 1)
    # No one below Baik breaks a "Baik" unit's curve; every rule is spelled out with its verdict.
    assert puskesmas["Sesuai kurva"] == "Tidak"
    assert puskesmas["Kurva distribusi"] == (
        "Baik 50,0% (maks. 70%): sesuai; Butuh Perbaikan + Kurang/Misconduct 0,0% (min. 1%): di bawah batas"
    )
    assert data["Kantor Camat"]["Butuh Perbaikan"] == 1


def test_the_monthly_recap_has_one_column_per_month_with_the_periodic_predikat(client, db, agency):
    p = agency
    months = {m: new_cycle(db, f"Bulanan {m}/2027", CycleKind.MONTHLY, 2027, m) for m in (1, 2, 3)}
    other_year = new_cycle(db, "Bulanan 1/2026", CycleKind.MONTHLY, 2026, 1)
    quarter = new_cycle(db, "Triwulan I 2027", CycleKind.QUARTERLY, 2027, 1)
    evaluate(db, months[1], p["nurse"], p["head"], E.PUBLISHED, "above", "above")
    evaluate(db, months[2], p["nurse"], p["head"], E.FINAL, "meets", "meets")
    evaluate(db, months[3], p["nurse"], p["head"], E.ASSESSMENT_DRAFT)
    evaluate(db, months[1], p["clerk"], p["head"], E.PUBLISHED, "below", "below")
    evaluate(db, months[2], p["clerk"], p["head"], E.WITHDRAWN, withdrawal_reason=WithdrawalReason.STUDY)
    evaluate(db, months[3], p["clerk"], p["head"], E.NOT_RATED, set_aside_note="Tidak dinilai karena cuti")
    evaluate(db, other_year, p["analyst"], p["head"], E.PUBLISHED, "meets", "meets")
    evaluate(db, quarter, p["analyst"], p["head"], E.PUBLISHED, "meets", "meets")

    login(client, p["hr"].nip)
    response = client.get("/rekap/bulanan/2027.xlsx")
    assert "filename=rekap-bulanan-2027.xlsx" in response.headers["Content-Disposition"]
    ws = workbook(response).active
    assert ws["A1"].value == AGENCY
    assert "2027" in ws["A2"].value
    head = header(ws)
    assert head[:6] == ["No.", "NIP", "Nama", "Unit kerja", "Jabatan", "Pangkat/golongan"]
    assert head[6:] == [
        "Januari",
        "Februari",
        "Maret",
        "April",
        "Mei",
        "Juni",
        "Juli",
        "Agustus",
        "September",
        "Oktober",
        "November",
        "Desember",
    ]
    assert ws.freeze_panes == "D5"
    data = rows(ws)
    assert [row[2] for row in data] == ["Budi Pengadministrasi", "Ners Anisa"]  # not the analyst
    clerk, nurse = data
    assert ws.cell(row=5, column=2).data_type == "s" and clerk[1] == p["clerk"].nip
    assert nurse[5:9] == ["Penata Muda Tk. I, III/b", "Sangat Baik", "Baik", "Belum dinilai"]
    assert clerk[6:9] == ["Sangat Kurang", "Dikecualikan", "Tidak dinilai"]
    assert nurse[9:] == [None] * 9


@pytest.mark.parametrize(
    "path",
    [
        "/cycles/{id}/rekap-hasil.xlsx",
        "/cycles/{id}/rekap-kemajuan.xlsx",
        "/cycles/{id}/rekap-distribusi.xlsx",
        "/rekap/bulanan/2027.xlsx",
    ],
)
@pytest.mark.parametrize("who", ["nurse", "head"])
def test_only_hr_downloads_the_recaps(client, agency, annual, path, who):
    url = path.format(id=annual.id)
    assert client.get(url).status_code == 302  # signed out: to the sign-in page
    login(client, agency[who].nip)
    response = client.get(url)
    assert response.status_code == 403
    assert response.mimetype == "text/html" and b"Fajar Analis" not in response.data


def test_a_recap_of_a_cycle_that_does_not_exist_is_not_found(client, agency):
    login(client, agency["hr"].nip)
    assert client.get("/cycles/999999/rekap-hasil.xlsx").status_code == 404


def test_the_cycle_dashboard_and_the_results_board_link_the_recaps(client, db, agency, annual):
    login(client, agency["hr"].nip)
    page = client.get(f"/cycles/{annual.id}").get_data(as_text=True)
    for kind in ("hasil", "kemajuan", "distribusi"):
        assert f"/cycles/{annual.id}/rekap-{kind}.xlsx" in page
    monthly = new_cycle(db, "Bulanan 4/2027", CycleKind.MONTHLY, 2027, 4)
    assert "/rekap/bulanan/2027.xlsx" in client.get(f"/cycles/{monthly.id}").get_data(as_text=True)
    assert "/rekap/bulanan/" not in page  # an annual cycle has no monthly recap

    annual.state = CycleState.PUBLISHED
    annual.published_at = DEADLINE
    db.session.commit()
    board = client.get(f"/results/{annual.id}").get_data(as_text=True)
    assert f"/cycles/{annual.id}/rekap-hasil.xlsx" in board


def test_the_results_board_shows_no_recap_link_to_an_employee(client, db, agency, annual):
    annual.state = CycleState.PUBLISHED
    annual.published_at = DEADLINE
    db.session.commit()
    login(client, agency["nurse"].nip)
    board = client.get(f"/results/{annual.id}")
    assert board.status_code == 200
    assert "rekap-hasil" not in board.get_data(as_text=True)


def test_the_command_line_writes_the_recaps(runner, db, agency, annual, tmp_path):
    out = tmp_path / "hasil.xlsx"
    result = runner.invoke(args=["recap", "results", "--cycle", str(annual.id), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "6 baris" in result.output
    ws = openpyxl.load_workbook(out).active
    assert ws.cell(row=5, column=2).data_type == "s"
    assert len(rows(ws)) == 6
    for kind in ("progress", "distribution"):
        target = tmp_path / f"{kind}.xlsx"
        result = runner.invoke(args=["recap", kind, "--cycle", str(annual.id), "--out", str(target)])
        assert result.exit_code == 0, result.output
        assert len(rows(openpyxl.load_workbook(target).active)) == 2
    evaluate(
        db,
        new_cycle(db, "Bulanan 5/2027", CycleKind.MONTHLY, 2027, 5),
        agency["nurse"],
        agency["head"],
        E.FINAL,
        "meets",
        "meets",
    )
    result = runner.invoke(args=["recap", "monthly", "--year", "2027", "--out", str(tmp_path / "b.xlsx")])
    assert result.exit_code == 0, result.output
    ws = openpyxl.load_workbook(tmp_path / "b.xlsx").active
    assert rows(ws)[0][10] == "Baik"  # Mei
    result = runner.invoke(args=["recap", "results", "--cycle", "999999"])
    assert result.exit_code != 0 and "tidak ada" in result.output
