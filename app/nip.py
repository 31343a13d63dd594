"""The NIP (Nomor Induk Pegawai): 18 digits, kept as text, checked for plausibility.

Layout: birth date YYYYMMDD, appointment YYYYMM (a PPPK number carries the year of
appointment followed by "21" instead of a month), sex digit (1 male, 2 female), sequence.
"""

from datetime import date

from flask_babel import gettext as _

MIN_BIRTH_YEAR = 1940


def normalise_nip(raw: str) -> str:
    """Drop the spaces and dots that people type into NIPs ("19850315 201001 2 003")."""
    return "".join(ch for ch in (raw or "") if ch not in " .-\t")


def nip_problem(nip: str, employment_type: str | None = None, *, today: date | None = None) -> str | None:
    """Return why `nip` is not a valid NIP, in Bahasa Indonesia, or None when it is valid."""
    today = today or date.today()
    if not nip:
        return _("NIP wajib diisi.")
    if not nip.isascii() or not nip.isdigit():
        return _("NIP hanya boleh berisi angka.")
    if len(nip) != 18:
        return _("NIP harus 18 digit (sekarang %(n)d digit).", n=len(nip))
    try:
        birth = date(int(nip[0:4]), int(nip[4:6]), int(nip[6:8]))
    except ValueError:
        return _("Tanggal lahir dalam NIP (digit 1–8) bukan tanggal yang ada.")
    if birth.year < MIN_BIRTH_YEAR or birth > today:
        return _("Tanggal lahir dalam NIP (digit 1–8) tidak mungkin.")
    year, month = int(nip[8:12]), int(nip[12:14])
    pppk_code = month == 21
    if pppk_code and employment_type == "PNS":
        return _("NIP dengan kode 21 pada digit 13–14 adalah NI PPPK, bukan NIP PNS.")
    if not pppk_code and not 1 <= month <= 12:
        return _("Bulan pengangkatan dalam NIP (digit 13–14) tidak valid.")
    if year < birth.year + 15 or year > today.year + 1:
        return _("Tahun pengangkatan dalam NIP (digit 9–12) tidak mungkin.")
    if nip[14] not in "12":
        return _("Digit ke-15 NIP (jenis kelamin) harus 1 atau 2.")
    if nip[15:] == "000":
        return _("Nomor urut dalam NIP (digit 16–18) tidak boleh 000.")
    return None
