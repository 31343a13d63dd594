"""NIP validation: 18 digits, a real birth date, a plausible appointment, sex digit."""

from datetime import date

import pytest

from app.nip import nip_problem, normalise_nip

TODAY = date(2026, 11, 28)


@pytest.mark.parametrize(
    "nip, kind",
    [
        ("198503152010012003", "PNS"),
        ("199001012015031001", None),
        ("199207082023212001", "PPPK"),  # NI PPPK: year of appointment then "21"
    ],
)
def test_valid_numbers_pass(app, nip, kind):
    assert nip_problem(nip, kind, today=TODAY) is None


@pytest.mark.parametrize(
    "nip, expected",
    [
        ("", "wajib diisi"),
        ("19850315201001200", "18 digit (sekarang 17 digit)"),
        ("1985031520100120031", "18 digit (sekarang 19 digit)"),
        ("19850315201001200A", "hanya boleh berisi angka"),
        ("１９８５０３１５２０１００１２００３", "hanya boleh berisi angka"),  # full-width digits
        ("198502302010012003", "bukan tanggal yang ada"),  # 30 February
        ("193001012010012003", "tidak mungkin"),  # born 1930
        ("203001012050012003", "tidak mungkin"),  # born in the future
        ("198503152010132003", "Bulan pengangkatan"),
        ("198503151990012003", "Tahun pengangkatan"),  # appointed at five
        ("198503152010013003", "jenis kelamin"),
    ],
)
def test_invalid_numbers_say_why_in_indonesian(app, nip, expected):
    assert expected in nip_problem(nip, today=TODAY)


def test_pppk_code_is_refused_for_a_pns(app):
    assert "NI PPPK" in nip_problem("199207082023212001", "PNS", today=TODAY)


def test_spaces_and_dots_typed_into_a_nip_are_dropped():
    assert normalise_nip(" 19850315 201001 2 003 ") == "198503152010012003"
    assert normalise_nip("19850315.201001.2.003") == "198503152010012003"
