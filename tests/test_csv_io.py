"""CSV import and export: file formats, every row check, all-or-nothing writes, round trip."""

import codecs
import csv
import io
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from hypothesis import example, given, settings
from hypothesis import strategies as st

from app.imports import people as csv_import
from app.imports.people import (
    EMPLOYEE_COLUMNS,
    EMPLOYEE_REQUIRED,
    SLOW,
    UNIT_COLUMNS,
    EmailNormaliser,
    apply_import,
    plan_import,
)
from app.models import AuditEvent, Employee, EmploymentType, OrgUnit, Position, PositionKind
from app.nip import nip_problem
from app.output.people_csv import export_units, iter_employees_csv
from app.services import Refused
from app.workflow import reassign
from tests.test_workflow_services import World

HEADER = ",".join(EMPLOYEE_REQUIRED)


def nip(i: int) -> str:
    """A valid NIP, distinct for every i below 5 000 000 (sequence 001-999 per birth date)."""
    birth = date(1970, 1, 1) + timedelta(days=i // 999)
    value = f"{birth:%Y%m%d}2010011{1 + i % 999:03d}"
    assert nip_problem(value, "PNS") is None
    return value


def row(
    i: int,
    *,
    unit="U1",
    position="Staf",
    kind="Pelaksana",
    sup="",
    email=None,
    name=None,
    etype="PNS",
) -> list[str]:
    """An employee row (without the optional aktif column)."""
    return [
        nip(i),
        name or f"Pegawai {i}",
        email or f"p{i}@contoh.go.id",
        etype,
        unit,
        position,
        kind,
        sup,
    ]


def to_csv(
    rows: list[list[str]],
    header: str = HEADER,
    sep: str = ",",
    newline: str = "\n",
    bom: bool = False,
) -> bytes:
    """A CSV file as bytes; cells are written as given (quote them yourself if needed)."""
    lines = [header.replace(",", sep)] + [sep.join(cells) for cells in rows]
    data = (newline.join(lines) + newline).encode("utf-8")
    return codecs.BOM_UTF8 + data if bom else data


def add_unit(
    db, code: str, name: str | None = None, parent: OrgUnit | None = None, active: bool = True
) -> OrgUnit:
    """An org unit in the database."""
    unit = OrgUnit(code=code, name=name or f"Unit {code}", parent=parent, active=active)
    db.session.add(unit)
    db.session.commit()
    return unit


def add_position(db, name: str, kind: PositionKind = PositionKind.PELAKSANA) -> Position:
    """A position in the database."""
    position = Position(name=name, kind=kind)
    db.session.add(position)
    db.session.commit()
    return position


def add_employee(
    db,
    i: int,
    unit: OrgUnit,
    position: Position,
    supervisor: Employee | None = None,
    *,
    email: str | None = None,
    active: bool = True,
) -> Employee:
    """An employee in the database, matching row(i) unless told otherwise."""
    employee = Employee(
        nip=nip(i),
        name=f"Pegawai {i}",
        email=email or f"p{i}@contoh.go.id",
        employment_type=EmploymentType.PNS,
        unit=unit,
        position=position,
        supervisor=supervisor,
        active=active,
    )
    db.session.add(employee)
    db.session.commit()
    return employee


def errors(plan) -> list[tuple[int, str]]:
    """The plan's errors as (line, message) pairs."""
    return [(error.line, error.message) for error in plan.errors]


def only_error(plan) -> tuple[int, str]:
    """The single error of a plan."""
    assert len(plan.errors) == 1, errors(plan)
    return plan.errors[0].line, plan.errors[0].message


def count(db, model) -> int:
    """Rows of `model` in the database."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def by_nip(db, i: int) -> Employee:
    """The employee numbered i, fresh from the database."""
    db.session.expire_all()
    return db.session.scalar(sa.select(Employee).where(Employee.nip == nip(i)))


@pytest.fixture
def u1(db):
    """The unit most rows go to."""
    return add_unit(db, "U1")


# --------------------------------------------------------------------------- file formats


@pytest.mark.parametrize("sep", [",", ";", "\t"])
@pytest.mark.parametrize("bom", [False, True])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_separators_bom_and_line_ends_are_all_read(db, u1, sep, bom, newline):
    """Comma, semicolon or tab; with or without BOM; LF or CRLF: the same two employees."""
    data = to_csv([row(1), row(2, sup=nip(1))], sep=sep, bom=bom, newline=newline)
    plan = plan_import("employees", data)
    assert errors(plan) == []
    assert (plan.created, plan.updated, plan.unchanged) == (2, 0, 0)
    apply_import(plan)
    assert count(db, Employee) == 2
    second = by_nip(db, 2)
    assert second.supervisor.nip == nip(1)
    assert second.name == "Pegawai 2"
    assert second.position.name == "Staf"


def test_header_is_case_insensitive_trimmed_and_extra_columns_ignored(db, u1):
    """Header names are matched loosely and unknown columns do no harm."""
    header = " NIP ,Nama,EMAIL,Jenis_Pegawai,kode_unit,jabatan,jenis_jabatan,nip_atasan,catatan"
    data = to_csv([row(1) + ["bebas"]], header=header)
    plan = plan_import("employees", data)
    assert errors(plan) == []
    assert plan.created == 1


def test_quoted_multiline_field_keeps_line_numbers_right(db, u1):
    """A cell spanning lines shifts the line numbers of the rows after it."""
    data = (
        f"{HEADER}\n"
        f'{nip(1)},"Budi\nSantoso",b@contoh.go.id,PNS,U1,"Staf, Umum",Pelaksana,\n'
        f"{nip(2)},Ani,bukan-email,PNS,U1,Staf,Pelaksana,\n"
    ).encode()
    plan = plan_import("employees", data)
    assert only_error(plan) == (4, "Email bukan-email tidak valid.")
    # A bad record that spans lines 2-3 is reported where it starts.
    both_bad = data.replace(b"b@contoh.go.id", b"budi@")
    assert errors(plan_import("employees", both_bad)) == [
        (2, "Email budi@ tidak valid."),
        (4, "Email bukan-email tidak valid."),
    ]
    fixed = data.replace(b"bukan-email", b"ani@contoh.go.id")
    plan = plan_import("employees", fixed)
    assert plan.ok
    apply_import(plan)
    budi = by_nip(db, 1)
    assert budi.name == "Budi Santoso"
    assert budi.position.name == "Staf, Umum"


def test_excel_sep_hint_line_and_apostrophe_nip_are_understood(db, u1):
    """Excel's sep= line and a NIP typed as '1985... are read as meant."""
    cells = row(1)
    cells[0] = "'" + cells[0]
    data = b"sep=;\n" + to_csv([cells], sep=";")
    plan = plan_import("employees", data)
    assert errors(plan) == []
    assert plan.created == 1


def test_nip_typed_with_spaces_and_dots_is_normalised(db, u1):
    """A NIP written 19850315 201001.1.003 is the same NIP."""
    value = nip(1)
    cells = row(1)
    cells[0] = f"{value[:8]} {value[8:14]}.{value[14]}.{value[15:]}"
    plan = plan_import("employees", to_csv([cells]))
    assert plan.ok
    assert plan.preview[0].key == value


def test_utf16_is_refused_with_save_as_advice(db, u1):
    """Excel's "Unicode text" is refused with the Save As advice."""
    data = (HEADER + "\n" + ",".join(row(1)) + "\n").encode("utf-16")
    line, message = only_error(plan_import("employees", data))
    assert line == 0
    assert "UTF-16" in message
    assert "CSV UTF-8 (dipisahkan koma)" in message


def test_latin1_is_refused_naming_the_line(db, u1):
    """A non-UTF-8 file is refused, naming the line of the first bad byte."""
    data = HEADER + "\n" + ",".join(row(1)) + "\n" + ",".join(row(2, name="André")) + "\n"
    line, message = only_error(plan_import("employees", data.encode("latin-1")))
    assert line == 0
    assert "tidak tersimpan sebagai UTF-8" in message
    assert "baris 3" in message
    assert "CSV UTF-8 (dipisahkan koma)" in message


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\x00\x01\x02binary\x00\xff", "data biner"),
        (b"PK\x03\x04\x14\x00\x06\x00", "berkas Excel"),
    ],
)
def test_binary_files_are_refused(db, data, expected):
    """A binary file or an .xlsx is refused before any parsing."""
    line, message = only_error(plan_import("employees", data))
    assert line == 0
    assert expected in message


@pytest.mark.parametrize(
    "data",
    [b"", b"\xef\xbb\xbf", b"  \n\n", (HEADER + "\n").encode(), (HEADER + "\n,,,,,,,\n").encode()],
)
def test_empty_or_header_only_file_has_no_data(db, data):
    """Nothing to import is said as such."""
    line, message = only_error(plan_import("employees", data))
    assert line == 0
    assert "tidak berisi data" in message


def test_missing_columns_are_listed(db, u1):
    """Every missing required column is named."""
    data = b"nip,nama,jenis_pegawai,kode_unit,jenis_jabatan,nip_atasan\n1,2,3,4,5,6\n"
    line, message = only_error(plan_import("employees", data))
    assert line == 0
    assert "Kolom wajib tidak ada di baris judul: email, jabatan." in message


def test_too_many_rows_are_refused(app, db, u1):
    """IMPORT_MAX_ROWS caps the rows of one file."""
    app.config["IMPORT_MAX_ROWS"] = 2
    line, message = only_error(plan_import("employees", to_csv([row(1), row(2), row(3)])))
    assert line == 0
    assert "lebih dari 2 baris data" in message
    assert plan_import("employees", to_csv([row(1), row(2)])).ok


def test_unbalanced_quote_is_a_file_error(db, u1):
    """A quote that never closes is reported instead of swallowing the file."""
    data = (HEADER + "\n" + ",".join(row(1)) + '\n"' + ",".join(row(2)) + "\n").encode()
    line, message = only_error(plan_import("employees", data))
    assert line == 0
    assert "tanda kutip" in message


@pytest.mark.parametrize(("sep", "value"), [(",", "1.98503E+17"), (";", "1,98503E+17")])
def test_scientific_notation_nip_says_excel_changed_it(db, u1, sep, value):
    """1.98503E+17 is explained as Excel's doing, with the Text-format fix."""
    cells = row(1)
    cells[0] = value
    line, message = only_error(plan_import("employees", to_csv([cells], sep=sep)))
    assert line == 2
    assert f"NIP {value} sudah diubah Excel menjadi notasi ilmiah" in message
    assert "Teks" in message


def test_scientific_notation_supervisor_nip_is_reported(db, u1):
    """The same for the supervisor's NIP column."""
    line, message = only_error(plan_import("employees", to_csv([row(1, sup="1.98503E+17")])))
    assert line == 2
    assert "notasi ilmiah" in message
    assert "nip_atasan" in message


# --------------------------------------------------------------------------- row checks


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({0: "12345"}, "NIP harus 18 digit (sekarang 5 digit)."),
        ({0: "19850315201001100X"}, "NIP hanya boleh berisi angka."),
        ({0: "198502302010011001"}, "Tanggal lahir dalam NIP (digit 1–8) bukan tanggal yang ada."),
        ({0: "198503152010211001"}, "NIP dengan kode 21 pada digit 13–14 adalah NI PPPK"),
        ({1: ""}, "Nama wajib diisi."),
        ({1: "x" * 201}, "Nama terlalu panjang (201 karakter; paling banyak 200)."),
        ({2: ""}, "Email wajib diisi."),
        ({2: "budi@"}, "Email budi@ tidak valid."),
        ({3: "Honorer"}, 'Jenis pegawai harus PNS atau PPPK, bukan "Honorer".'),
        ({4: "U9"}, "Unit kerja dengan kode U9 tidak ditemukan."),
        ({4: "u1"}, "Unit kerja dengan kode u1 tidak ditemukan. Maksud Anda U1?"),
        ({5: ""}, "Jabatan wajib diisi."),
        (
            {6: "Eselon"},
            "Jenis jabatan harus salah satu dari JPT, Administrator, Pengawas, "
            'Pelaksana, Fungsional, bukan "Eselon".',
        ),
        ({7: "123"}, "NIP atasan tidak valid: NIP harus 18 digit (sekarang 3 digit)."),
    ],
)
def test_each_bad_cell_is_reported_on_its_line(db, u1, change, expected):
    """Each row check gives its Indonesian message on the row's line."""
    bad = row(2)
    for index, value in change.items():
        bad[index] = value
    plan = plan_import("employees", to_csv([row(1), bad, row(3)]))
    line, message = only_error(plan)
    assert line == 3
    assert message.startswith(expected)
    assert not plan.ok


def test_every_bad_row_is_reported_not_just_the_first(db, u1):
    """Checking goes on past the first bad row."""
    rows = [row(1, email="x"), row(2), row(3, unit="NOPE"), row(4, etype="ASN")]
    plan = plan_import("employees", to_csv(rows))
    assert [line for line, _message in errors(plan)] == [2, 4, 5]


def test_case_of_codes_and_kinds_is_forgiven_where_documented(db, u1):
    """pppk and pelaksana are read as PPPK and Pelaksana."""
    plan = plan_import("employees", to_csv([row(1, etype="pppk", kind="pelaksana")]))
    assert plan.ok
    apply_import(plan)
    employee = by_nip(db, 1)
    assert employee.employment_type == EmploymentType.PPPK
    assert employee.position.kind == PositionKind.PELAKSANA


def test_aktif_column_accepts_yes_and_no_words(db, u1):
    """aktif takes ya/tidak/1/0/true/false; empty means ya."""
    header = HEADER + ",aktif"
    rows = [
        row(1) + ["ya"],
        row(2) + ["TIDAK"],
        row(3) + [""],
        row(4) + ["0"],
        row(5) + ["mungkin"],
    ]
    plan = plan_import("employees", to_csv(rows, header=header))
    assert errors(plan) == [(6, 'Kolom aktif harus "ya" atau "tidak", bukan "mungkin".')]
    plan = plan_import("employees", to_csv(rows[:4], header=header))
    apply_import(plan)
    assert [by_nip(db, i).active for i in (1, 2, 3, 4)] == [True, False, True, False]


def test_duplicate_nip_in_file_names_both_lines(db, u1):
    """A NIP twice in the file names both lines."""
    plan = plan_import("employees", to_csv([row(1), row(2), row(1, email="lain@contoh.go.id")]))
    assert only_error(plan) == (4, f"NIP {nip(1)} muncul lebih dari sekali: baris 2 dan baris 4.")


def test_duplicate_email_in_file_names_the_other_line(db, u1):
    """An address twice in the file (any case) names the earlier line."""
    plan = plan_import("employees", to_csv([row(1), row(2, email="P1@Contoh.go.id")]))
    assert only_error(plan) == (3, "Email p1@contoh.go.id juga dipakai di baris 2.")


def test_email_of_another_employee_in_the_database_is_refused(db, u1):
    """An address held by someone outside the file stays theirs."""
    staf = add_position(db, "Staf")
    add_employee(db, 1, u1, staf, email="siti@contoh.go.id")
    plan = plan_import("employees", to_csv([row(2, email="siti@contoh.go.id")]))
    assert only_error(plan) == (
        2,
        f"Email siti@contoh.go.id sudah dipakai oleh Pegawai 1 (NIP {nip(1)}).",
    )


def test_emails_may_be_swapped_within_one_file(db, u1):
    """Two employees may exchange addresses in one import."""
    staf = add_position(db, "Staf")
    add_employee(db, 1, u1, staf, email="a@contoh.go.id")
    add_employee(db, 2, u1, staf, email="b@contoh.go.id")
    plan = plan_import("employees", to_csv([row(1, email="b@contoh.go.id"), row(2, email="a@contoh.go.id")]))
    assert errors(plan) == []
    assert plan.updated == 2
    assert plan.preview[0].description == "email: a@contoh.go.id → b@contoh.go.id"
    apply_import(plan)
    assert by_nip(db, 1).email == "b@contoh.go.id"
    assert by_nip(db, 2).email == "a@contoh.go.id"


def test_inactive_unit_is_refused_for_new_rows(db, u1):
    """Nobody is placed in an inactive unit."""
    add_unit(db, "TUTUP", active=False)
    plan = plan_import("employees", to_csv([row(1, unit="TUTUP")]))
    assert only_error(plan) == (2, "Unit kerja TUTUP tidak aktif.")


def test_unknown_supervisor_is_refused(db, u1):
    """A supervisor NIP found nowhere is refused."""
    plan = plan_import("employees", to_csv([row(1), row(2, sup=nip(99))]))
    assert only_error(plan) == (
        3,
        f"Atasan dengan NIP {nip(99)} tidak ditemukan di basis data maupun di berkas ini.",
    )


def test_own_supervisor_is_refused(db, u1):
    """Nobody supervises themself."""
    plan = plan_import("employees", to_csv([row(1, sup=nip(1))]))
    assert only_error(plan) == (2, "Pegawai tidak dapat menjadi atasan dirinya sendiri.")


def test_supervisor_may_be_a_later_row_or_an_existing_employee(db, u1):
    """Supervisors resolve across the file and the database, in any order."""
    boss = add_employee(db, 1, u1, add_position(db, "Kepala", PositionKind.ADMINISTRATOR))
    plan = plan_import("employees", to_csv([row(3, sup=nip(2)), row(2, sup=nip(1))]))
    assert errors(plan) == []
    apply_import(plan)
    assert by_nip(db, 3).supervisor.nip == nip(2)
    assert by_nip(db, 2).supervisor_id == boss.id


def test_three_cycle_in_the_file_is_reported_once(db, u1):
    """A loop of three is one error on its first line, naming the chain."""
    plan = plan_import(
        "employees", to_csv([row(1, sup=nip(2)), row(2, sup=nip(3)), row(3, sup=nip(1)), row(4)])
    )
    chain = f"{nip(1)} → {nip(2)} → {nip(3)} → {nip(1)}"
    assert only_error(plan) == (
        2,
        f"Rantai atasan membentuk lingkaran: {chain} (setiap NIP diikuti NIP atasannya).",
    )


def test_loop_through_the_database_is_reported(db, u1):
    """A loop closed by one row through existing links is caught."""
    staf = add_position(db, "Staf")
    top = add_employee(db, 1, u1, staf)
    middle = add_employee(db, 2, u1, staf, supervisor=top)
    add_employee(db, 3, u1, staf, supervisor=middle)
    # Employee 1 now reports to 3, who (in the database) reports to 2, who reports to 1.
    plan = plan_import("employees", to_csv([row(5), row(1, sup=nip(3))]))
    line, message = only_error(plan)
    assert line == 3
    assert f"{nip(1)} → {nip(3)} → {nip(2)} → {nip(1)}" in message


def test_inactive_supervisor_and_deactivating_a_boss_are_refused(db, u1):
    """No active employee ends up under an inactive supervisor."""
    staf = add_position(db, "Staf")
    add_employee(db, 1, u1, staf, active=False)
    boss = add_employee(db, 2, u1, staf)
    add_employee(db, 3, u1, staf, supervisor=boss)
    header = HEADER + ",aktif"
    plan = plan_import("employees", to_csv([row(4, sup=nip(1)) + ["ya"], row(2) + ["tidak"]], header=header))
    assert errors(plan) == [
        (2, f"Atasan dengan NIP {nip(1)} tidak aktif."),
        (
            3,
            "Pegawai 2 masih menjadi atasan 1 pegawai aktif; pindahkan dulu bawahan tersebut "
            "ke atasan lain sebelum menonaktifkan.",
        ),
    ]


def test_position_kind_clash_with_database_and_within_file(db, u1):
    """A position name keeps one kind, in the database and in the file."""
    add_position(db, "Perawat Ahli Pertama", PositionKind.FUNGSIONAL)
    plan = plan_import(
        "employees",
        to_csv(
            [
                row(1, position="perawat ahli pertama", kind="Pelaksana"),
                row(2, position="Pengadministrasi Umum", kind="Pelaksana"),
                row(3, position="PENGADMINISTRASI UMUM", kind="Pengawas"),
                row(4, position="Perawat Ahli Pertama", kind="fungsional"),
            ]
        ),
    )
    assert errors(plan) == [
        (
            2,
            'Jabatan "Perawat Ahli Pertama" sudah terdaftar dengan jenis Fungsional, bukan Pelaksana.',
        ),
        (4, 'Jabatan "Pengadministrasi Umum" di baris 3 berjenis Pelaksana, bukan Pengawas.'),
    ]


def test_new_positions_are_created_once_and_existing_ones_reused(db, u1):
    """Position names match regardless of case; new ones are created once."""
    nurse = add_position(db, "Perawat", PositionKind.FUNGSIONAL)
    rows = [
        row(1, position="Analis Data"),
        row(2, position="analis data"),
        row(3, position="PERAWAT", kind="Fungsional"),
    ]
    apply_import(plan_import("employees", to_csv(rows)))
    assert count(db, Position) == 2
    assert by_nip(db, 1).position_id == by_nip(db, 2).position_id
    assert by_nip(db, 1).position.name == "Analis Data"
    assert by_nip(db, 3).position_id == nurse.id


def test_errors_are_capped_with_a_count_of_the_rest(db, u1):
    """At most 1000 errors are listed, then how many more there are."""
    rows = [row(i, email="rusak") for i in range(1, 1201)]
    plan = plan_import("employees", to_csv(rows))
    assert len(plan.errors) == 1001
    assert plan.errors[-1].message == "dan 200 kesalahan lain."
    assert plan.errors[999].line == 1001


# --------------------------------------------------------------------------- e-mail fast path


def full(raw: str) -> str | None:
    """What the importer stored before the fast path: email_validator's verdict, lower case."""
    try:
        return validate_email(raw, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


ATEXT_CHARS = "abcxyzABCXYZ0189!#$%&'*+/=?^_`{|}~-"
DOMAINS = [
    "contoh.go.id",
    "CONTOH.Go.Id",
    "example.com",
    "mail.local",
    "local",
    "x.invalid",
    "localhost",
    "a.localhost",
    "test",
    "a.test",
    "hidden.onion",
    "1.168.192.in-addr.arpa",
    "münchen.de",
    "MÜNCHEN.DE",
    "xn--mnchen-3ya.de",
    "XN--MNCHEN-3YA.DE",
    "xn--abc.com",
    "ñandú.com",
    "例え.jp",
    "ａｂｃ.com",
    "a。b.com",
    "a..b.com",
    ".a.com",
    "a.com.",
    "-a.com",
    "a-.com",
    "ab--c.com",
    "a_b.com",
    "a b.com",
    "[127.0.0.1]",
    "[IPv6:::1]",
    "",
    "com",
    "a.c0m",
    "a.123",
    "b@c.com",
    "@c.com",
    "\u0338a.com",
    "a\u200b.com",
    "a\u0338.com",
    "<a.com>",
    'a".com',
    "1.אב.com",
    "x" * 63 + ".com",
    "x" * 64 + ".com",
    ".".join(["y" * 63] * 3) + ".co",
    ".".join(["y" * 63] * 3) + ".com",
    ".".join(["y" * 60] * 4),
    ".".join(["ü" * 20] * 4) + ".id",
]
labels = st.text(alphabet="abzAZ09-üéß例ａ", min_size=1, max_size=20) | st.sampled_from(
    ["com", "id", "go", "local", "invalid", "localhost", "test", "xn--mnchen-3ya", "y" * 63]
)
domains = st.sampled_from(DOMAINS) | st.lists(labels, min_size=1, max_size=5).map(".".join)
dot_atoms = st.lists(st.text(alphabet=ATEXT_CHARS, min_size=1, max_size=30), min_size=1, max_size=4).map(
    ".".join
)
locals_ = (
    dot_atoms
    | st.text(alphabet=ATEXT_CHARS + '. "\\@<>()[],;:éü\u0338\u200b', max_size=70)
    | st.text(max_size=12).map(lambda text: '"' + text + '"')
    | st.sampled_from(["Info", "POSTMASTER", "a..b", ".a", "a.", "é", '"a b"', '"a"', "a" * 64, "a" * 65])
)
addresses = st.builds(lambda local, domain: local + "@" + domain, locals_, domains) | st.text(max_size=30)
SHARED = EmailNormaliser()  # lives across examples, so cached domains meet other local parts


@settings(max_examples=2000, deadline=None)
@given(addresses)
@example("p1@contoh.go.id")
@example("Pegawai.Satu@Contoh.GO.ID")
@example("a@" + ".".join(["y" * 63] * 3) + ".co")  # 254 characters: the longest allowed
@example("ab@" + ".".join(["y" * 63] * 3) + ".co")  # one too many
@example("a" * 64 + "@ü.com")
def test_email_fast_path_agrees_with_the_full_validator(raw):
    """Whenever the fast path answers, it answers what email_validator does; else it falls back."""
    expected = full(raw)
    for normaliser in (EmailNormaliser(), SHARED):
        answer = normaliser.fast(raw)
        if answer is not SLOW:
            assert answer == expected, raw
        assert normaliser(raw) == expected, raw


@settings(max_examples=1000, deadline=None)
@given(dot_atoms.filter(lambda local: len(local) <= 64), domains.filter(lambda d: d[:1].isascii()))
def test_email_fast_path_takes_plain_local_parts(local, domain):
    """A plain ASCII local part never needs the full validator, whatever the domain."""
    raw = local + "@" + domain
    assert SHARED.fast(raw) is not SLOW
    assert SHARED.fast(raw) == full(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("p1@contoh.go.id", "p1@contoh.go.id"),
        ("Budi.Santoso@Contoh.GO.ID", "budi.santoso@contoh.go.id"),
        ("x+tag@XN--MNCHEN-3YA.DE", "x+tag@münchen.de"),
        ("a@münchen.de", "a@münchen.de"),
        ("a@mail.local", None),
        ("a@x.invalid", None),
        ("a@localhost", None),
        ("a@contoh", None),
        ("a@b@contoh.go.id", None),
        ("a@[127.0.0.1]", None),
        ("a@", None),
    ],
)
def test_email_examples(raw, expected):
    """Plain cases of the fast path, each the same as the full validator's answer."""
    normaliser = EmailNormaliser()
    assert normaliser.fast(raw) == expected == full(raw)
    assert normaliser(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('"a b"@contoh.go.id', None),
        ('"ab"@contoh.go.id', None),  # quoting is not allowed by default
        ("é@contoh.go.id", "é@contoh.go.id"),
        ("a" * 65 + "@contoh.go.id", "a" * 65 + "@contoh.go.id"),
        ("a..b@contoh.go.id", None),
        (".a@contoh.go.id", None),
        ("a.@contoh.go.id", None),
        ("a b@contoh.go.id", None),
        ("Budi <budi@contoh.go.id>", None),
        ("rusak", None),
    ],
)
def test_email_other_shapes_go_to_the_full_validator(raw, expected):
    """Quoted, international, over-long or malformed local parts are left to email_validator."""
    normaliser = EmailNormaliser()
    assert normaliser.fast(raw) is SLOW
    assert normaliser(raw) == expected == full(raw)


def test_each_domain_is_validated_once(monkeypatch):
    """A thousand addresses at one domain cost one full validation."""
    calls = []
    real = csv_import.validate_email

    def counting(raw, **kwargs):
        calls.append(raw)
        return real(raw, **kwargs)

    monkeypatch.setattr(csv_import, "validate_email", counting)
    normaliser = EmailNormaliser()
    assert [normaliser(f"p{i}@Contoh.go.id") for i in range(1000)][-1] == "p999@contoh.go.id"
    assert len(calls) == 1


# --------------------------------------------------------------------------- applying


def test_upsert_updates_changed_rows_only(db, u1):
    """Existing NIPs are updated when changed, others created, the rest untouched."""
    staf = add_position(db, "Staf")
    add_employee(db, 1, u1, staf)
    boss = add_employee(db, 2, u1, staf)
    kept = add_employee(db, 3, u1, staf, supervisor=boss)  # not in the file: left alone
    u2 = add_unit(db, "U2")
    plan = plan_import(
        "employees",
        to_csv([row(1, email="baru@contoh.go.id", unit="U2"), row(2), row(4, sup=nip(2))]),
    )
    assert errors(plan) == []
    assert (plan.created, plan.updated, plan.unchanged) == (1, 1, 1)
    assert [(c.line, c.action, c.key) for c in plan.preview] == [
        (2, "ubah", nip(1)),
        (4, "baru", nip(4)),
    ]
    assert plan.preview[0].description == "email: p1@contoh.go.id → baru@contoh.go.id; unit: U1 → U2"
    apply_import(plan)
    first = by_nip(db, 1)
    assert (first.email, first.unit_id, first.version) == ("baru@contoh.go.id", u2.id, 2)
    assert by_nip(db, 2).version == 1
    assert by_nip(db, 3).supervisor_id == boss.id
    assert kept.id == by_nip(db, 3).id
    assert by_nip(db, 4).supervisor_id == boss.id
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "people.imported"))
    assert event.object_type == "import"
    assert event.data == {"kind": "employees", "created": 1, "updated": 1, "unchanged": 1}


def test_empty_supervisor_in_the_file_clears_the_link(db, u1):
    """An empty nip_atasan removes the supervisor."""
    staf = add_position(db, "Staf")
    boss = add_employee(db, 1, u1, staf)
    add_employee(db, 2, u1, staf, supervisor=boss)
    plan = plan_import("employees", to_csv([row(2)]))
    assert plan.updated == 1
    assert plan.preview[0].description == f"atasan: {nip(1)} → —"
    apply_import(plan)
    assert by_nip(db, 2).supervisor_id is None


def test_one_bad_row_writes_nothing(db, u1):
    """All or nothing: one bad row and no row is written."""
    before = count(db, Employee), count(db, Position)
    plan = plan_import("employees", to_csv([row(1, position="Baru"), row(2), row(3, email="rusak")]))
    assert errors(plan) == [(4, "Email rusak tidak valid.")]
    assert (plan.created, plan.preview) == (0, [])
    with pytest.raises(Refused):
        apply_import(plan)
    assert (count(db, Employee), count(db, Position)) == before == (0, 0)


def test_failure_during_apply_rolls_everything_back(db, u1):
    """A clash found while writing rolls back every write, positions too."""
    plan = plan_import("employees", to_csv([row(1, position="Baru"), row(2)]))
    assert plan.ok
    # Someone adds the same NIP between preview and confirmation.
    add_employee(db, 2, u1, add_position(db, "Lain"))
    with pytest.raises(Refused) as refused:
        apply_import(plan)
    assert "Data berubah sejak pratinjau" in str(refused.value)
    assert count(db, Employee) == 1
    assert db.session.scalar(sa.select(Position.name).where(Position.name == "Baru")) is None
    assert count(db, AuditEvent) == 0


def test_edit_between_preview_and_apply_is_detected(db, u1):
    """A record edited after the preview is not overwritten."""
    staf = add_position(db, "Staf")
    employee = add_employee(db, 1, u1, staf)
    plan = plan_import("employees", to_csv([row(1, name="Nama Baru"), row(2)]))
    employee.name = "Diubah Orang Lain"
    db.session.commit()
    with pytest.raises(Refused):
        apply_import(plan)
    assert by_nip(db, 1).name == "Diubah Orang Lain"
    assert count(db, Employee) == 1


def test_supervisors_are_linked_in_every_direction(db, u1):
    """New rows under new rows (in any file order) or existing ones; existing rows under new ones."""
    staf = add_position(db, "Staf")
    boss = add_employee(db, 1, u1, staf)
    moved = add_employee(db, 2, u1, staf, supervisor=boss)
    plan = plan_import(
        "employees",
        to_csv(
            [
                row(9, sup=nip(8)),  # a chain 7 → 8 → 9 written bottom up
                row(8, sup=nip(7)),
                row(2, sup=nip(4)),  # existing, moves under a new row
                row(3, sup=nip(4)),
                row(4, sup=nip(1)),  # new, under an existing row
                row(5, sup=nip(2)),
                row(6),
                row(7, sup=nip(2)),
            ]
        ),
    )
    assert errors(plan) == []
    assert (plan.created, plan.updated) == (7, 1)
    apply_import(plan)
    expected = {2: 4, 3: 4, 4: 1, 5: 2, 6: None, 7: 2, 8: 7, 9: 8}
    actual = {}
    for i in expected:
        supervisor = by_nip(db, i).supervisor
        actual[i] = supervisor and int(supervisor.name.split()[1])
    assert actual == expected
    assert by_nip(db, 2).id == moved.id
    assert by_nip(db, 2).version == 2
    assert by_nip(db, 1).version == 1


def test_supervisor_loop_handed_to_apply_is_still_written(db, u1):
    """Apply does not depend on the planner's loop check for its write order."""
    plan = plan_import("employees", to_csv([row(1), row(2, sup=nip(1)), row(3)]))
    assert plan.ok
    inserts = {insert["nip"]: insert for insert in plan._work["inserts"]}
    inserts[nip(1)]["supervisor"] = nip(2)  # 1 ↔ 2, which plan_import would refuse
    apply_import(plan)
    assert by_nip(db, 1).supervisor.nip == nip(2)
    assert by_nip(db, 2).supervisor.nip == nip(1)
    assert by_nip(db, 3).supervisor is None


def test_many_changed_rows_are_all_updated(db, u1):
    """Changed rows are written together (one statement on PostgreSQL); every field lands."""
    staf = add_position(db, "Staf")
    u2 = add_unit(db, "U2")
    boss = add_employee(db, 1, u1, staf)
    for i in range(2, 8):
        add_employee(db, i, u1, staf, supervisor=boss if i % 2 else None)
    rows = [row(1)] + [row(i, unit="U2", name=f"Nama {i}", sup="" if i % 2 else nip(1)) for i in range(2, 8)]
    rows[3] = row(4, unit="U2", name="Nama 4", sup=nip(1), etype="PPPK", position="Baru")
    plan = plan_import("employees", to_csv(rows))
    assert errors(plan) == []
    assert (plan.created, plan.updated, plan.unchanged) == (0, 6, 1)
    apply_import(plan)
    for i in range(2, 8):
        employee = by_nip(db, i)
        assert (employee.name, employee.unit_id, employee.version) == (f"Nama {i}", u2.id, 2)
        assert employee.supervisor_id == (None if i % 2 else boss.id)
    assert (by_nip(db, 4).position.name, by_nip(db, 4).employment_type) == ("Baru", EmploymentType.PPPK)


def test_edit_of_the_last_of_many_changed_rows_is_detected(db, u1):
    """One row edited after the preview among many updated ones: nothing is written."""
    staf = add_position(db, "Staf")
    employees = [add_employee(db, i, u1, staf) for i in range(1, 6)]
    plan = plan_import("employees", to_csv([row(i, name=f"Nama {i}") for i in range(1, 6)] + [row(6)]))
    assert plan.updated == 5
    employees[4].name = "Diubah Orang Lain"
    db.session.commit()
    with pytest.raises(Refused):
        apply_import(plan)
    assert [by_nip(db, i).name for i in range(1, 6)] == [f"Pegawai {i}" for i in range(1, 5)] + [
        "Diubah Orang Lain"
    ]
    assert count(db, Employee) == 5


def test_supervisor_gone_between_preview_and_apply_is_refused(db, u1):
    """A new row's supervisor deleted after the preview stops the import with nothing written."""
    staf = add_position(db, "Staf")
    boss = add_employee(db, 1, u1, staf)
    plan = plan_import("employees", to_csv([row(2, sup=nip(1)), row(3, sup=nip(2))]))
    assert plan.ok
    db.session.delete(boss)
    db.session.commit()
    with pytest.raises(Refused) as refused:
        apply_import(plan)
    assert "Data berubah sejak pratinjau" in str(refused.value)
    assert count(db, Employee) == 0


def test_progress_is_reported(db, u1):
    """The progress callback hears every thousand rows and the end."""
    seen = []
    plan_import("employees", to_csv([row(i) for i in range(1, 2501)]), progress=seen.append)
    assert seen == [1000, 2000, 2500]


# --------------------------------------------------------------------------- units


def test_unit_tree_with_parent_later_in_file(db):
    """A unit may name a parent defined further down the file."""
    add_unit(db, "KOTA", "Pemerintah Kota")
    data = b"kode;nama;kode_induk\nSEKSI-1;Seksi Pelayanan;KEC\nKEC;Kecamatan Rakumpit;KOTA\nPKM;Puskesmas;\n"
    plan = plan_import("units", data)
    assert errors(plan) == []
    assert (plan.created, plan.updated, plan.unchanged) == (3, 0, 0)
    apply_import(plan)
    db.session.expire_all()
    units = {u.code: u for u in db.session.scalars(sa.select(OrgUnit))}
    assert units["SEKSI-1"].parent.code == "KEC"
    assert units["KEC"].parent.code == "KOTA"
    assert units["PKM"].parent is None


def test_unit_loops_and_bad_rows_are_refused(db):
    """Unit loops (in the file or through the database) and bad rows are listed."""
    top = add_unit(db, "A")
    add_unit(db, "B", parent=top)
    data = (
        b"kode,nama,kode_induk\n"
        b"A,Unit A,B\n"  # B is under A in the database: a loop
        b"X,Unit X,Y\n"
        b"Y,Unit Y,X\n"  # a loop within the file
        b"Z,Unit Z,Z\n"
        b"kode salah,Unit,\n"
        b"X,Lagi,\n"
        b"W,,\n"
        b"V,Unit V,TIDAKADA\n"
    )
    plan = plan_import("units", data)
    assert errors(plan) == [
        (
            2,
            "Susunan unit membentuk lingkaran: A → B → A (setiap kode diikuti kode unit induknya).",
        ),
        (
            3,
            "Susunan unit membentuk lingkaran: X → Y → X (setiap kode diikuti kode unit induknya).",
        ),
        (5, "Unit tidak dapat menjadi induk dirinya sendiri."),
        (
            6,
            "Kode unit kode salah tidak valid: paling banyak 32 karakter, hanya huruf, angka, "
            "titik, garis bawah dan tanda minus.",
        ),
        (7, "Kode unit X muncul lebih dari sekali: baris 3 dan baris 7."),
        (8, "Nama unit wajib diisi."),
        (9, "Unit induk dengan kode TIDAKADA tidak ditemukan di basis data maupun di berkas ini."),
    ]


def test_unit_upsert_by_code(db):
    """Units are matched by code; name and parent changes are shown."""
    top = add_unit(db, "A", "Unit A")
    add_unit(db, "B", "Unit B", parent=top)
    add_unit(db, "C", "Unit C")
    plan = plan_import("units", b"kode,nama,kode_induk\nA,Unit A,\nB,Unit Bee,C\n")
    assert (plan.created, plan.updated, plan.unchanged) == (0, 1, 1)
    assert plan.preview[0].description == "nama: Unit B → Unit Bee; induk: A → C"
    apply_import(plan)
    db.session.expire_all()
    b = db.session.scalar(sa.select(OrgUnit).where(OrgUnit.code == "B"))
    assert (b.name, b.parent.code) == ("Unit Bee", "C")


# --------------------------------------------------------------------------- export


def test_export_round_trip_changes_nothing(db):
    """What export writes, import reads back as unchanged."""
    kota = add_unit(db, "Z-KOTA", "Pemerintah Kota")
    kec = add_unit(db, "A-KEC", "Kecamatan", parent=kota)
    add_unit(db, "B-SEKSI", "Seksi, Pelayanan", parent=kec)
    head = add_position(db, "Camat", PositionKind.ADMINISTRATOR)
    staf = add_position(db, "=Staf", PositionKind.PELAKSANA)  # Excel would run it as a formula
    boss = add_employee(db, 1, kec, head)
    add_employee(db, 2, kota, staf, supervisor=boss)
    add_employee(db, 3, kec, staf, supervisor=boss, active=False)

    units_csv = export_units()
    assert units_csv.startswith("\ufeffkode,nama,kode_induk\r\n")
    assert [line.split(",")[0] for line in units_csv.splitlines()[1:]] == [
        "Z-KOTA",
        "A-KEC",
        "B-SEKSI",
    ]
    plan = plan_import("units", units_csv.encode("utf-8"))
    assert (plan.ok, plan.created, plan.updated, plan.unchanged) == (True, 0, 0, 3)

    employees_csv = "".join(iter_employees_csv())
    lines = employees_csv.splitlines()
    assert lines[0] == "\ufeff" + ",".join(EMPLOYEE_COLUMNS)
    assert [line.split(",")[0] for line in lines[1:]] == [nip(1), nip(3), nip(2)]  # by unit code
    assert f"{nip(3)},Pegawai 3,p3@contoh.go.id,PNS,A-KEC,'=Staf,Pelaksana,{nip(1)},,tidak" in lines
    plan = plan_import("employees", employees_csv.encode("utf-8"))
    assert errors(plan) == []
    assert (plan.created, plan.updated, plan.unchanged, plan.preview) == (0, 0, 3, [])


def test_export_columns_match_the_import_format():
    """The exported headers are the documented ones."""
    assert UNIT_COLUMNS == ("kode", "nama", "kode_induk")
    assert EMPLOYEE_COLUMNS[-1] == "aktif"


# --------------------------------------------------------------------------- volume


def test_ten_thousand_rows_import_and_reimport(db):
    """Ten thousand rows import in one go and re-import as unchanged."""
    units = [add_unit(db, f"U{k}") for k in range(10)]
    assert len(units) == 10
    rows = [
        row(i, unit=f"U{i % 10}", position=f"Jabatan {i % 50}", sup=nip(i // 10) if i else "")
        for i in range(10_000)
    ]
    data = to_csv(rows)
    plan = plan_import("employees", data)
    assert errors(plan) == []
    assert (plan.created, len(plan.preview)) == (10_000, 200)
    apply_import(plan)
    assert count(db, Employee) == 10_000
    assert count(db, Position) == 50
    assert by_nip(db, 9_999).supervisor.nip == nip(999)
    again = plan_import("employees", data)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 10_000)


def test_an_import_does_not_deactivate_someone_who_still_rates(db, make):
    """As on the people page: an official holding in-flight evaluations (here a Plt. the nurse's
    evaluation was moved to) is not deactivated by a file; the row says why."""
    w = World(make)
    plt = make.employee("Plt. Kepala Puskesmas", supervisor=w.org["camat"], unit=w.org["kecamatan"])
    ev = w.ev("nurse")
    reassign.reassign_evaluations(
        [ev],
        w.acc("hr"),
        rater=plt,
        handler=None,
        reason="Plt. selama cuti",
        until=None,
        versions={ev.id: ev.version},
    )
    exported = "".join(iter_employees_csv()).lstrip("\ufeff")
    table = list(csv.reader(io.StringIO(exported)))
    header, rows = table[0], table[1:]
    active = header.index("aktif")
    for cells in rows:
        if cells[0] == plt.nip:
            cells[active] = "tidak"
            line = rows.index(cells) + 2
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, *rows])
    plan = plan_import("employees", out.getvalue().encode())
    assert errors(plan) == [
        (
            line,
            "Plt. Kepala Puskesmas masih memegang 1 penilaian kinerja yang sedang berjalan (sebagai "
            "pejabat penilai atau atasannya); pindahkan dulu penilaian itu kepada pejabat lain sebelum "
            "menonaktifkan.",
        )
    ]
