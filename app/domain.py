"""The regulation as data: ratings, the predikat table, BerAKHLAK, IKI aspects, the curve.

PermenPANRB 6/2022. Code names are English; `label` is what the user reads. Configurable
rules (the distribution curve) have their defaults here and live as rows in the database.
"""

import enum
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import lazy_gettext as _l


class Rating(enum.StrEnum):
    """Rating Hasil Kerja / Rating Perilaku Kerja."""

    ABOVE = "above"
    MEETS = "meets"
    BELOW = "below"

    @property
    def label(self) -> str:
        """Indonesian label."""
        return str(RATING_LABELS[self])


RATING_LABELS = {
    Rating.ABOVE: _l("Di Atas Ekspektasi"),
    Rating.MEETS: _l("Sesuai Ekspektasi"),
    Rating.BELOW: _l("Di Bawah Ekspektasi"),
}


class Predikat(enum.StrEnum):
    """The five predikat kinerja, best first."""

    SANGAT_BAIK = "sangat_baik"
    BAIK = "baik"
    BUTUH_PERBAIKAN = "butuh_perbaikan"
    KURANG = "kurang"
    SANGAT_KURANG = "sangat_kurang"

    @property
    def label(self) -> str:
        """Indonesian label."""
        return str(PREDIKAT_LABELS[self])


PREDIKAT_LABELS = {
    Predikat.SANGAT_BAIK: _l("Sangat Baik"),
    Predikat.BAIK: _l("Baik"),
    Predikat.BUTUH_PERBAIKAN: _l("Butuh Perbaikan"),
    Predikat.KURANG: _l("Kurang/Misconduct"),
    Predikat.SANGAT_KURANG: _l("Sangat Kurang"),
}

# (results rating, behaviour rating) -> predikat: the performance quadrant of DOMAIN.md.
PREDIKAT_TABLE = {
    (Rating.ABOVE, Rating.BELOW): Predikat.KURANG,
    (Rating.ABOVE, Rating.MEETS): Predikat.BAIK,
    (Rating.ABOVE, Rating.ABOVE): Predikat.SANGAT_BAIK,
    (Rating.MEETS, Rating.BELOW): Predikat.KURANG,
    (Rating.MEETS, Rating.MEETS): Predikat.BAIK,
    (Rating.MEETS, Rating.ABOVE): Predikat.BAIK,
    (Rating.BELOW, Rating.BELOW): Predikat.SANGAT_KURANG,
    (Rating.BELOW, Rating.MEETS): Predikat.BUTUH_PERBAIKAN,
    (Rating.BELOW, Rating.ABOVE): Predikat.BUTUH_PERBAIKAN,
}


# What each result means, as a Bootstrap tone, for every badge that shows it: good results are
# positive, "Butuh Perbaikan" a warning, Kurang and Sangat Kurang a danger. The label is always
# written out too, so the meaning never rests on colour alone.
PREDIKAT_TONES = {
    Predikat.SANGAT_BAIK: "success",
    Predikat.BAIK: "success",
    Predikat.BUTUH_PERBAIKAN: "warning",
    Predikat.KURANG: "danger",
    Predikat.SANGAT_KURANG: "danger",
}
RATING_TONES = {Rating.ABOVE: "success", Rating.MEETS: "success", Rating.BELOW: "warning"}


def predikat(results: Rating, behaviour: Rating) -> Predikat:
    """The predikat for a pair of ratings."""
    return PREDIKAT_TABLE[(Rating(results), Rating(behaviour))]


class WithdrawalReason(enum.StrEnum):
    """Why an employee leaves a cycle without a result (dikecualikan)."""

    TRANSFER = "mutasi"
    RETIREMENT = "pensiun"
    DEATH = "meninggal"
    UNPAID_LEAVE = "cltn"
    STUDY = "tugas_belajar"
    DISMISSAL = "diberhentikan"

    @property
    def label(self) -> str:
        """Indonesian label."""
        return str(WITHDRAWAL_LABELS[self])


WITHDRAWAL_LABELS = {
    WithdrawalReason.TRANSFER: _l("Mutasi keluar instansi"),
    WithdrawalReason.RETIREMENT: _l("Pensiun"),
    WithdrawalReason.DEATH: _l("Meninggal dunia"),
    WithdrawalReason.UNPAID_LEAVE: _l("Cuti di luar tanggungan negara"),
    WithdrawalReason.STUDY: _l("Tugas belajar"),
    WithdrawalReason.DISMISSAL: _l("Diberhentikan"),
}


# Angka kredit of functional posts: the predikat earns this share (%) of the jenjang's annual
# coefficient; a periodic result counts its months out of twelve.
CREDIT_SHARE = {
    Predikat.SANGAT_BAIK: 150,
    Predikat.BAIK: 100,
    Predikat.BUTUH_PERBAIKAN: 75,
    Predikat.KURANG: 50,
    Predikat.SANGAT_KURANG: 25,
}


def credit_points(coefficient: Decimal, result: Predikat, months: int = 12) -> Decimal:
    """The credit points a result earns: coefficient × the predikat's share × months/12, to three
    decimals (half up)."""
    earned = Decimal(coefficient) * CREDIT_SHARE[Predikat(result)] / 100 * months / 12
    return earned.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)


class CoreValue(enum.StrEnum):
    """The seven BerAKHLAK core values (perilaku kerja)."""

    SERVICE = "service"
    ACCOUNTABLE = "accountable"
    COMPETENT = "competent"
    HARMONIOUS = "harmonious"
    LOYAL = "loyal"
    ADAPTIVE = "adaptive"
    COLLABORATIVE = "collaborative"

    @property
    def label(self) -> str:
        """Indonesian name."""
        return str(CORE_VALUE_LABELS[self][0])

    @property
    def indicators(self) -> list[str]:
        """The three standard behaviour indicators."""
        return [str(text) for text in CORE_VALUE_LABELS[self][1]]


CORE_VALUE_LABELS = {
    CoreValue.SERVICE: (
        _l("Berorientasi Pelayanan"),
        (
            _l("Memahami dan memenuhi kebutuhan masyarakat"),
            _l("Ramah, cekatan, solutif, dan dapat diandalkan"),
            _l("Melakukan perbaikan tiada henti"),
        ),
    ),
    CoreValue.ACCOUNTABLE: (
        _l("Akuntabel"),
        (
            _l("Melaksanakan tugas dengan jujur, bertanggung jawab, cermat, disiplin, dan berintegritas"),
            _l("Menggunakan kekayaan dan barang milik negara secara bertanggung jawab, efektif, dan efisien"),
            _l("Tidak menyalahgunakan kewenangan jabatan"),
        ),
    ),
    CoreValue.COMPETENT: (
        _l("Kompeten"),
        (
            _l("Meningkatkan kompetensi diri untuk menjawab tantangan yang selalu berubah"),
            _l("Membantu orang lain belajar"),
            _l("Melaksanakan tugas dengan kualitas terbaik"),
        ),
    ),
    CoreValue.HARMONIOUS: (
        _l("Harmonis"),
        (
            _l("Menghargai setiap orang apa pun latar belakangnya"),
            _l("Suka menolong orang lain"),
            _l("Membangun lingkungan kerja yang kondusif"),
        ),
    ),
    CoreValue.LOYAL: (
        _l("Loyal"),
        (
            _l("Memegang teguh ideologi Pancasila, UUD 1945, setia kepada NKRI serta pemerintahan yang sah"),
            _l("Menjaga nama baik sesama ASN, pimpinan, instansi, dan negara"),
            _l("Menjaga rahasia jabatan dan negara"),
        ),
    ),
    CoreValue.ADAPTIVE: (
        _l("Adaptif"),
        (
            _l("Cepat menyesuaikan diri menghadapi perubahan"),
            _l("Terus berinovasi dan mengembangkan kreativitas"),
            _l("Bertindak proaktif"),
        ),
    ),
    CoreValue.COLLABORATIVE: (
        _l("Kolaboratif"),
        (
            _l("Memberi kesempatan kepada berbagai pihak untuk berkontribusi"),
            _l("Terbuka dalam bekerja sama untuk menghasilkan nilai tambah"),
            _l("Menggerakkan pemanfaatan berbagai sumber daya untuk tujuan bersama"),
        ),
    ),
}


class Aspect(enum.StrEnum):
    """The aspect of an IKI."""

    QUANTITY = "quantity"
    QUALITY = "quality"
    TIME = "time"
    COST = "cost"

    @property
    def label(self) -> str:
        """Indonesian label."""
        return str(ASPECT_LABELS[self])


ASPECT_LABELS = {
    Aspect.QUANTITY: _l("Kuantitas"),
    Aspect.QUALITY: _l("Kualitas"),
    Aspect.TIME: _l("Waktu"),
    Aspect.COST: _l("Biaya"),
}


class Comparator(enum.StrEnum):
    """How a realisation is compared with the target."""

    AT_LEAST = "at_least"  # >= target (satisfaction >= 85 %)
    AT_MOST = "at_most"  # <= target (waiting time <= 30 minutes)
    RANGE = "range"  # target <= x <= target_max

    @property
    def symbol(self) -> str:
        """The sign shown before the target."""
        return {"at_least": "≥", "at_most": "≤", "range": ""}[self.value]


class OrgPredikat(enum.StrEnum):
    """Predikat organisasi of a unit, which bounds its distribution of employee predikat."""

    ISTIMEWA = "istimewa"
    BAIK = "baik"
    BUTUH_PERBAIKAN = "butuh_perbaikan"
    KURANG = "kurang"
    SANGAT_KURANG = "sangat_kurang"

    @property
    def label(self) -> str:
        """Indonesian label."""
        return str(ORG_PREDIKAT_LABELS[self])


ORG_PREDIKAT_LABELS = {
    OrgPredikat.ISTIMEWA: _l("Istimewa"),
    OrgPredikat.BAIK: _l("Baik"),
    OrgPredikat.BUTUH_PERBAIKAN: _l("Butuh Perbaikan"),
    OrgPredikat.KURANG: _l("Kurang"),
    OrgPredikat.SANGAT_KURANG: _l("Sangat Kurang"),
}

# The default kurva distribusi (DOMAIN.md) is seeded as rows of distribution_band by the
# migration that creates that table; HR edits the rows, never this module.


# Delivery states of an outbox message (app.models.MessageState values), as HR reads them.
MESSAGE_STATE_LABELS = {
    "pending": _l("Menunggu dikirim"),
    "sending": _l("Sedang dikirim"),
    "sent": _l("Terkirim"),
    "failed": _l("Gagal"),
}

# The kinds of record the audit trail names (AuditEvent.object_type).
OBJECT_LABELS = {
    "evaluation": _l("penilaian"),
    "cycle": _l("periode"),
    "employee": _l("pegawai"),
    "account": _l("akun"),
    "org_unit": _l("unit"),
    "position": _l("jabatan"),
    "evidence": _l("bukti dukung"),
    "import": _l("impor"),
    "distribution_band": _l("kurva distribusi"),
    "credit_jenjang": _l("koefisien angka kredit"),
    "document_bundle": _l("berkas dokumen unit"),
    "reassignment": _l("pemindahan penilai"),
    "feedback_record": _l("catatan dialog kinerja"),
    "progress_entry": _l("entri log progres"),
    "rhk_template": _l("templat RHK"),
    "peer_request": _l("permintaan masukan rekan kerja"),
    "coaching_request": _l("permintaan bimbingan/konseling"),
}
