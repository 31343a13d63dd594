"""The demo agency: Kecamatan Rakumpit (Kota Palangka Raya), its units, positions and people.

The data are the tables below; `load_demo()` creates whatever of them is missing, in one
transaction, and never changes what is already there (units match by code, positions by name,
employees by NIP, accounts by employee or e-mail). Then, while the database has no cycle yet,
it plays the agency's last and current annual cycles (app/demo_cycles.py). Running it again
does nothing.
"""

import os
from dataclasses import dataclass
from typing import NamedTuple

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from app import audit, demo_cycles
from app.extensions import db
from app.models import Account, CreditJenjang, Employee, EmploymentType, OrgUnit, Position, PositionKind, Role
from app.nip import normalise_nip
from app.services import Refused
from app.services.accounts import hash_password

DEMO_PASSWORD = "rakumpit2026"
EMAIL_DOMAIN = "rakumpit.palangkaraya.go.id"
ADMIN_EMAIL = f"admin@{EMAIL_DOMAIN}"
ADMIN_NAME = "Administrator Sistem"
ADMIN = "admin"  # stands for the administrator account in DEMO_LOGINS

# Org units: (code, name, parent code). Parents come before their children.
# Puskesmas Rakumpit is in reality a UPTD of the Dinas Kesehatan Kota; the demo hangs it under
# the kecamatan so that the whole demo agency is one subtree (one cycle scope, one HR) and its
# head reports to the camat, as the walkthrough expects.
UNITS: tuple[tuple[str, str, str | None], ...] = (
    ("PKR", "Pemerintah Kota Palangka Raya", None),
    ("RKP", "Kecamatan Rakumpit", "PKR"),
    ("RKP-SEK", "Sekretariat Kecamatan Rakumpit", "RKP"),
    ("RKP-UMPEG", "Subbagian Umum dan Kepegawaian", "RKP-SEK"),
    ("RKP-PEM", "Seksi Pemerintahan", "RKP"),
    ("RKP-TRANTIB", "Seksi Ketenteraman dan Ketertiban Umum", "RKP"),
    ("RKP-PMKS", "Seksi Pemberdayaan Masyarakat dan Kesejahteraan Sosial", "RKP"),
    ("RKP-MGB", "Kelurahan Mungku Baru", "RKP"),
    ("RKP-PTB", "Kelurahan Petuk Bukit", "RKP"),
    ("RKP-BKS", "Kelurahan Bukit Sua", "RKP"),
    ("PKM-RKP", "Puskesmas Rakumpit", "RKP"),
)

# Positions (jabatan) and their kind.
# Kepala Puskesmas is not a structural post: under PMK 43/2019 a health professional (here a
# doctor) holds it as an additional assignment (tugas tambahan), so it is kept as Fungsional.
POSITIONS: tuple[tuple[str, PositionKind], ...] = (
    ("Camat", PositionKind.ADMINISTRATOR),
    ("Sekretaris Camat", PositionKind.ADMINISTRATOR),
    ("Kepala Subbagian Umum dan Kepegawaian", PositionKind.PENGAWAS),
    ("Kepala Seksi Pemerintahan", PositionKind.PENGAWAS),
    ("Kepala Seksi Ketenteraman dan Ketertiban Umum", PositionKind.PENGAWAS),
    ("Kepala Seksi Pemberdayaan Masyarakat dan Kesejahteraan Sosial", PositionKind.PENGAWAS),
    ("Lurah", PositionKind.PENGAWAS),
    ("Kepala Puskesmas", PositionKind.FUNGSIONAL),
    ("Dokter Ahli Muda", PositionKind.FUNGSIONAL),
    ("Dokter Ahli Pertama", PositionKind.FUNGSIONAL),
    ("Dokter Gigi Ahli Pertama", PositionKind.FUNGSIONAL),
    ("Perawat Ahli Muda", PositionKind.FUNGSIONAL),
    ("Perawat Ahli Pertama", PositionKind.FUNGSIONAL),
    ("Perawat Terampil", PositionKind.FUNGSIONAL),
    ("Bidan Ahli Pertama", PositionKind.FUNGSIONAL),
    ("Bidan Terampil", PositionKind.FUNGSIONAL),
    ("Asisten Apoteker Terampil", PositionKind.FUNGSIONAL),
    ("Pranata Laboratorium Kesehatan Terampil", PositionKind.FUNGSIONAL),
    ("Sanitarian Terampil", PositionKind.FUNGSIONAL),
    ("Nutrisionis Ahli Pertama", PositionKind.FUNGSIONAL),
    ("Analis Kebijakan Ahli Pertama", PositionKind.FUNGSIONAL),
    ("Polisi Pamong Praja Terampil", PositionKind.FUNGSIONAL),
    ("Pengelola Kepegawaian", PositionKind.PELAKSANA),
    ("Bendahara", PositionKind.PELAKSANA),
    ("Pengelola Program dan Kegiatan", PositionKind.PELAKSANA),
    ("Pengadministrasi Umum", PositionKind.PELAKSANA),
    ("Pengolah Data", PositionKind.PELAKSANA),
)


class Person(NamedTuple):
    """One demo employee; `key` is the local part of the e-mail and names the supervisor."""

    key: str
    name: str
    nip: str  # birth date, appointment YYYYMM ("21" instead of the month: PPPK), sex, sequence
    unit: str
    position: str
    supervisor: str | None


# Employees. The employment type follows from the NIP: a "21" in digits 13–14 marks PPPK.
EMPLOYEES: tuple[Person, ...] = (
    # The camat heads the demo instansi and has no rater inside the system.
    Person("berto.nahan", "Berto Tuah Nahan, S.STP, M.AP.", "19790417 200112 1 002", "RKP", "Camat", None),
    # Sekretariat and Subbagian Umum dan Kepegawaian.
    Person(
        "rahmawati",
        "Hj. Rahmawati, S.Sos., M.Si.",
        "19750822 199903 2 004",
        "RKP-SEK",
        "Sekretaris Camat",
        "berto.nahan",
    ),
    Person(
        "natalia.sahay",
        "Natalia Sahay, S.E.",
        "19841103 200904 2 001",
        "RKP-UMPEG",
        "Kepala Subbagian Umum dan Kepegawaian",
        "rahmawati",
    ),
    Person(
        "muhammad.rizani",
        "Muhammad Rizani, S.Kom.",
        "19910214 201503 1 003",
        "RKP-UMPEG",
        "Pengelola Kepegawaian",
        "natalia.sahay",
    ),
    Person(
        "siti.norhasanah",
        "Siti Norhasanah, A.Md.",
        "19880609 201101 2 005",
        "RKP-UMPEG",
        "Bendahara",
        "natalia.sahay",
    ),
    Person(
        "yulius.ranying",
        "Yulius Ranying",
        "19901201 2022 21 1 004",
        "RKP-UMPEG",
        "Pengadministrasi Umum",
        "natalia.sahay",
    ),
    # Seksi Pemerintahan.
    Person(
        "agustinus.lambung",
        "Agustinus Lambung, S.H.",
        "19800725 200502 1 003",
        "RKP-PEM",
        "Kepala Seksi Pemerintahan",
        "berto.nahan",
    ),
    Person(
        "dwi.lestari",
        "Dwi Lestari, S.Kom.",
        "19930530 201903 2 011",
        "RKP-PEM",
        "Pengolah Data",
        "agustinus.lambung",
    ),
    Person(
        "rusdiansyah",
        "Rusdiansyah, S.IP.",
        "19920918 202101 1 006",
        "RKP-PEM",
        "Analis Kebijakan Ahli Pertama",
        "agustinus.lambung",
    ),
    # Seksi Ketenteraman dan Ketertiban Umum.
    Person(
        "hairul.anwar",
        "Hairul Anwar, S.Sos.",
        "19770311 200603 1 009",
        "RKP-TRANTIB",
        "Kepala Seksi Ketenteraman dan Ketertiban Umum",
        "berto.nahan",
    ),
    Person(
        "ardianto.bungai",
        "Ardianto Bungai",
        "19891005 201012 1 002",
        "RKP-TRANTIB",
        "Polisi Pamong Praja Terampil",
        "hairul.anwar",
    ),
    Person(
        "ahmad.fauzi",
        "Ahmad Fauzi",
        "19870120 2023 21 1 012",
        "RKP-TRANTIB",
        "Pengadministrasi Umum",
        "hairul.anwar",
    ),
    # Seksi Pemberdayaan Masyarakat dan Kesejahteraan Sosial.
    Person(
        "ririn.toendan",
        "Ririn Anggraini Toendan, S.AP.",
        "19831228 200812 2 002",
        "RKP-PMKS",
        "Kepala Seksi Pemberdayaan Masyarakat dan Kesejahteraan Sosial",
        "berto.nahan",
    ),
    Person(
        "eko.prasetyo",
        "Eko Prasetyo, S.E.",
        "19900407 201412 1 004",
        "RKP-PMKS",
        "Pengelola Program dan Kegiatan",
        "ririn.toendan",
    ),
    Person("mahfuzah", "Mahfuzah", "19950815 2023 21 2 007", "RKP-PMKS", "Pengolah Data", "ririn.toendan"),
    # Kelurahan.
    Person(
        "samsudin.tundjan",
        "Samsudin Tundjan, S.Sos.",
        "19760602 200211 1 004",
        "RKP-MGB",
        "Lurah",
        "berto.nahan",
    ),
    Person(
        "lina.marlina",
        "Lina Marlina",
        "19850219 200901 2 006",
        "RKP-MGB",
        "Pengadministrasi Umum",
        "samsudin.tundjan",
    ),
    Person(
        "petrus.nyahu",
        "Petrus Nyahu",
        "19890505 2024 21 1 010",
        "RKP-MGB",
        "Pengadministrasi Umum",
        "samsudin.tundjan",
    ),
    Person(
        "elisabeth.kaharap",
        "Elisabeth Kaharap, S.IP.",
        "19811010 200604 2 010",
        "RKP-PTB",
        "Lurah",
        "berto.nahan",
    ),
    Person(
        "budi.santoso",
        "Budi Santoso",
        "19861123 2022 21 1 015",
        "RKP-PTB",
        "Pengadministrasi Umum",
        "elisabeth.kaharap",
    ),
    Person("akhmad.zaini", "Akhmad Zaini, S.AP.", "19790130 200503 1 008", "RKP-BKS", "Lurah", "berto.nahan"),
    Person(
        "nurul.hidayah",
        "Nurul Hidayah, A.Md.",
        "19940303 202012 2 003",
        "RKP-BKS",
        "Pengolah Data",
        "akhmad.zaini",
    ),
    # Puskesmas Rakumpit: the head (a doctor) and everyone who works there reports to him.
    Person(
        "yohanes.dehen",
        "dr. Yohanes Dehen",
        "19820808 201003 1 005",
        "PKM-RKP",
        "Kepala Puskesmas",
        "berto.nahan",
    ),
    Person(
        "sri.wahyuni",
        "dr. Sri Wahyuni",
        "19860512 201412 2 001",
        "PKM-RKP",
        "Dokter Ahli Muda",
        "yohanes.dehen",
    ),
    Person(
        "fikri.ramadhan",
        "dr. Muhammad Fikri Ramadhan",
        "19940226 202101 1 001",
        "PKM-RKP",
        "Dokter Ahli Pertama",
        "yohanes.dehen",
    ),
    Person(
        "anisa.tambun",
        "drg. Anisa Putri Tambun",
        "19930714 202101 2 002",
        "PKM-RKP",
        "Dokter Gigi Ahli Pertama",
        "yohanes.dehen",
    ),
    # The nurse of the walkthrough, and her colleagues.
    Person(
        "debora.yuliani",
        "Debora Yuliani, S.Kep., Ners",
        "19921219 201903 2 004",
        "PKM-RKP",
        "Perawat Ahli Pertama",
        "yohanes.dehen",
    ),
    Person(
        "rabiatul.adawiyah",
        "Rabiatul Adawiyah, A.Md.Kep.",
        "19900909 201412 2 003",
        "PKM-RKP",
        "Perawat Terampil",
        "yohanes.dehen",
    ),
    Person(
        "mardiana",
        "Hj. Mardiana, S.Kep., Ners",
        "19780317 200212 2 002",
        "PKM-RKP",
        "Perawat Ahli Muda",
        "yohanes.dehen",
    ),
    Person(
        "apriyanto.tuah",
        "Apriyanto Tuah, S.Kep., Ners",
        "19950421 2022 21 1 003",
        "PKM-RKP",
        "Perawat Ahli Pertama",
        "yohanes.dehen",
    ),
    Person(
        "gusti.saputra",
        "Gusti Randa Saputra, A.Md.Kep.",
        "19931111 2023 21 1 009",
        "PKM-RKP",
        "Perawat Terampil",
        "yohanes.dehen",
    ),
    Person(
        "wulandari",
        "Wulandari, A.Md.Keb.",
        "19910707 201803 2 001",
        "PKM-RKP",
        "Bidan Terampil",
        "yohanes.dehen",
    ),
    Person(
        "noor.jannah",
        "Noor Jannah, S.Tr.Keb., Bd.",
        "19941025 2022 21 2 011",
        "PKM-RKP",
        "Bidan Ahli Pertama",
        "yohanes.dehen",
    ),
    Person(
        "yessy.ngabe",
        "Yessy Natalia Ngabe, A.Md.Keb.",
        "19960115 2023 21 2 014",
        "PKM-RKP",
        "Bidan Terampil",
        "yohanes.dehen",
    ),
    Person(
        "rina.kartika",
        "Rina Kartika, A.Md.Farm.",
        "19920606 201903 2 009",
        "PKM-RKP",
        "Asisten Apoteker Terampil",
        "yohanes.dehen",
    ),
    Person(
        "fransiska.tiwi",
        "Fransiska Tiwi, A.Md.AK.",
        "19951202 2023 21 2 006",
        "PKM-RKP",
        "Pranata Laboratorium Kesehatan Terampil",
        "yohanes.dehen",
    ),
    Person(
        "joko.susilo",
        "Joko Susilo, A.Md.KL.",
        "19880818 201101 1 010",
        "PKM-RKP",
        "Sanitarian Terampil",
        "yohanes.dehen",
    ),
    Person(
        "desi.ratnasari",
        "Desi Ratnasari, S.Gz.",
        "19940628 2022 21 2 008",
        "PKM-RKP",
        "Nutrisionis Ahli Pertama",
        "yohanes.dehen",
    ),
    Person(
        "syahrani", "Syahrani", "19840404 200812 1 007", "PKM-RKP", "Pengadministrasi Umum", "yohanes.dehen"
    ),
    Person(
        "fitri.handayani",
        "Fitri Handayani, S.Kom.",
        "19970308 2023 21 2 002",
        "PKM-RKP",
        "Pengolah Data",
        "yohanes.dehen",
    ),
)

# Pangkat/golongan ruang of each demo employee (PPPK: golongan only), by person key.
RANK_OF: dict[str, str] = {
    "berto.nahan": "Pembina Tk. I, IV/b",
    "rahmawati": "Pembina, IV/a",
    "natalia.sahay": "Penata Tk. I, III/d",
    "muhammad.rizani": "Penata, III/c",
    "siti.norhasanah": "Pengatur Tk. I, II/d",
    "yulius.ranying": "V",
    "agustinus.lambung": "Penata Tk. I, III/d",
    "dwi.lestari": "Penata Muda Tk. I, III/b",
    "rusdiansyah": "Penata Muda, III/a",
    "hairul.anwar": "Penata Tk. I, III/d",
    "ardianto.bungai": "Pengatur Tk. I, II/d",
    "ahmad.fauzi": "V",
    "ririn.toendan": "Penata Tk. I, III/d",
    "eko.prasetyo": "Penata, III/c",
    "mahfuzah": "VII",
    "samsudin.tundjan": "Penata Tk. I, III/d",
    "lina.marlina": "Pengatur, II/c",
    "petrus.nyahu": "V",
    "elisabeth.kaharap": "Penata Tk. I, III/d",
    "budi.santoso": "V",
    "akhmad.zaini": "Penata Tk. I, III/d",
    "nurul.hidayah": "Pengatur, II/c",
    "yohanes.dehen": "Pembina, IV/a",
    "sri.wahyuni": "Penata Tk. I, III/d",
    "fikri.ramadhan": "Penata Muda Tk. I, III/b",
    "anisa.tambun": "Penata Muda Tk. I, III/b",
    "debora.yuliani": "Penata Muda Tk. I, III/b",
    "rabiatul.adawiyah": "Pengatur Tk. I, II/d",
    "mardiana": "Penata Tk. I, III/d",
    "apriyanto.tuah": "IX",
    "gusti.saputra": "VII",
    "wulandari": "Pengatur, II/c",
    "noor.jannah": "IX",
    "yessy.ngabe": "VII",
    "rina.kartika": "Pengatur, II/c",
    "fransiska.tiwi": "VII",
    "joko.susilo": "Pengatur Tk. I, II/d",
    "desi.ratnasari": "IX",
    "syahrani": "Pengatur, II/c",
    "fitri.handayani": "IX",
}

# Employees whose account also gets the HR role (admin kepegawaian).
HR_OFFICERS: tuple[str, ...] = ("muhammad.rizani",)

# The logins worth trying, in walkthrough order: (label, employee key or ADMIN).
DEMO_LOGINS: tuple[tuple[str, str], ...] = (
    ("Admin kepegawaian (HR)", "muhammad.rizani"),
    ("Perawat", "debora.yuliani"),
    ("Kepala Puskesmas", "yohanes.dehen"),
    ("Camat", "berto.nahan"),
    ("Perawat (rekan kerja)", "rabiatul.adawiyah"),
    ("Kepala Seksi", "agustinus.lambung"),
    ("Administrator sistem", ADMIN),
)


@dataclass(frozen=True)
class DemoLogin:
    """A login to show after loading: what the person is, who, how to sign in."""

    role: str
    name: str
    login: str
    password: str


def demo_password() -> str:
    """The demo password: the DEMO_PASSWORD environment variable, else the constant."""
    return os.environ.get("DEMO_PASSWORD") or DEMO_PASSWORD


def email_of(person: Person) -> str:
    """The person's e-mail address."""
    return f"{person.key}@{EMAIL_DOMAIN}"


def employment_type_of(nip: str) -> EmploymentType:
    """PPPK when the NIP carries the "21" code in digits 13–14, else PNS."""
    return EmploymentType.PPPK if normalise_nip(nip)[12:14] == "21" else EmploymentType.PNS


def load_demo(*, with_cycles: bool = True) -> list[DemoLogin]:
    """Create whatever of the demo agency is missing (one transaction), play its cycles when
    there are none yet (unless told not to); return the logins."""
    try:
        employees, created = _create_missing()
        if any(created.values()):
            audit.record("demo.loaded", data=created)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    if with_cycles:
        demo_cycles.play(employees, employees[HR_OFFICERS[0]].account)
    return _logins()


def _create_missing() -> tuple[dict[str, Employee], dict[str, int]]:
    """Add the missing units, positions, employees and accounts; the employees by person key,
    and how many of each were new."""
    units, new_units = _ensure_units()
    positions, new_positions = _ensure_positions()
    employees, new_employees = _ensure_employees(units, positions)
    new_accounts = _ensure_accounts(employees)
    return employees, {
        "units": new_units,
        "positions": new_positions,
        "employees": new_employees,
        "accounts": new_accounts,
    }


def _ensure_units() -> tuple[dict[str, OrgUnit], int]:
    """Units by code, the missing ones created under their parent; and how many were new."""
    codes = [code for code, _name, _parent in UNITS]
    units = {
        unit.code: unit for unit in db.session.scalars(sa.select(OrgUnit).where(OrgUnit.code.in_(codes)))
    }
    created = 0
    for code, name, parent_code in UNITS:
        if code not in units:
            units[code] = OrgUnit(code=code, name=name, parent=units.get(parent_code))
            db.session.add(units[code])
            created += 1
    return units, created


def _ensure_positions() -> tuple[dict[str, Position], int]:
    """Positions by name (matched case-insensitively), the missing ones created; and how many."""
    lowered = [name.lower() for name, _kind in POSITIONS]
    existing = {
        position.name.lower(): position
        for position in db.session.scalars(
            sa.select(Position).where(sa.func.lower(Position.name).in_(lowered))
        )
    }
    jenjang = {row.name: row.code for row in db.session.scalars(sa.select(CreditJenjang))}
    positions, created = {}, 0
    for name, kind in POSITIONS:
        positions[name] = existing.get(name.lower())
        if positions[name] is None:
            # a functional post's jenjang is the end of its name ("Perawat Ahli Pertama")
            level = next((code for title, code in jenjang.items() if name.endswith(" " + title)), None)
            positions[name] = Position(
                name=name, kind=kind, jenjang_code=level if kind is PositionKind.FUNGSIONAL else None
            )
            db.session.add(positions[name])
            created += 1
    return positions, created


def _ensure_employees(
    units: dict[str, OrgUnit], positions: dict[str, Position]
) -> tuple[dict[str, Employee], int]:
    """Employees by person key, matched by NIP; only new ones get their supervisor set."""
    nips = [normalise_nip(person.nip) for person in EMPLOYEES]
    emails = [email_of(person) for person in EMPLOYEES]
    by_nip = {
        employee.nip: employee
        for employee in db.session.scalars(
            sa.select(Employee).where(Employee.nip.in_(nips)).options(selectinload(Employee.account))
        )
    }
    email_owner = dict(
        db.session.execute(sa.select(Employee.email, Employee.nip).where(Employee.email.in_(emails))).all()
    )
    employees: dict[str, Employee] = {}
    new: list[Person] = []
    for person in EMPLOYEES:
        nip = normalise_nip(person.nip)
        employee = by_nip.get(nip)
        if employee is None:
            owner = email_owner.get(email_of(person))
            if owner is not None:
                raise Refused(
                    _(
                        "Email %(email)s sudah dipakai pegawai dengan NIP %(nip)s; data contoh tidak dimuat.",
                        email=email_of(person),
                        nip=owner,
                    )
                )
            employee = Employee(
                nip=nip,
                name=person.name,
                email=email_of(person),
                employment_type=employment_type_of(nip),
                unit=units[person.unit],
                position=positions[person.position],
                rank=RANK_OF.get(person.key),
            )
            db.session.add(employee)
            new.append(person)
        if employee.rank is None:
            employee.rank = RANK_OF.get(person.key)  # a database loaded before ranks were kept
        employees[person.key] = employee
    for person in new:
        if person.supervisor is not None:
            employees[person.key].supervisor = employees[person.supervisor]
    return employees, len(new)


def _ensure_accounts(employees: dict[str, Employee]) -> int:
    """Give every demo employee and the administrator an account if they have none."""
    missing = [key for key, employee in employees.items() if employee.account is None]
    admin = db.session.scalar(sa.select(Account).where(Account.email == ADMIN_EMAIL))
    if not missing and admin is not None:
        return 0
    password_hash = hash_password(demo_password())  # once for all: scrypt is slow
    for key in missing:
        account = Account(employee=employees[key], password_hash=password_hash, must_change_password=False)
        account.set_roles({Role.EMPLOYEE, Role.HR} if key in HR_OFFICERS else {Role.EMPLOYEE})
        db.session.add(account)
    if admin is not None:
        return len(missing)
    admin = Account(
        email=ADMIN_EMAIL,
        display_name=ADMIN_NAME,
        password_hash=password_hash,
        must_change_password=False,
    )
    admin.set_roles({Role.ADMIN})
    db.session.add(admin)
    return len(missing) + 1


def _logins() -> list[DemoLogin]:
    """The interesting demo logins, with the names as they are in the database now."""
    people = {person.key: person for person in EMPLOYEES}
    nips = [normalise_nip(people[key].nip) for _label, key in DEMO_LOGINS if key != ADMIN]
    names = dict(
        db.session.execute(sa.select(Employee.nip, Employee.name).where(Employee.nip.in_(nips))).all()
    )
    password = demo_password()
    logins = []
    for label, key in DEMO_LOGINS:
        if key == ADMIN:
            logins.append(DemoLogin(label, ADMIN_NAME, ADMIN_EMAIL, password))
            continue
        nip = normalise_nip(people[key].nip)
        logins.append(DemoLogin(label, names.get(nip, people[key].name), nip, password))
    return logins
