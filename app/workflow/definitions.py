"""The cycle machine and the evaluation machine, as data.

Each transition names its trigger, sources, destination, who may fire it, the cycle phases in
which it may be fired, whether the phase deadline binds it, and its guards (checked by
app.workflow.guards, each giving its reason in Bahasa Indonesia). Bulk phase changes take their
sources and destinations from here too (`CYCLE_EFFECTS`).
"""

from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from transitions import Machine

from app.forms.people import ROLE_LABELS
from app.models import CycleState as C
from app.models import EvaluationState as E
from app.models import Role

EMPLOYEE, RATER, APPEAL_HANDLER, HR, SYSTEM = "employee", "rater", "appeal_handler", "hr", "system"
# Who fires a transition, as people read it; the granted roles keep the names they have elsewhere.
ACTOR_LABELS = {
    EMPLOYEE: ROLE_LABELS[Role.EMPLOYEE],
    RATER: _l("Pejabat penilai"),
    APPEAL_HANDLER: _l("Atasan pejabat penilai"),
    HR: ROLE_LABELS[Role.HR],
    SYSTEM: _l("Sistem (tenggat atau tahap)"),
}


@dataclass(frozen=True)
class Transition:
    """One arrow of a machine."""

    trigger: str
    sources: tuple[str, ...]
    dest: str
    actor: str
    label: object
    phases: tuple[str, ...] = ()
    deadline: bool = False
    guards: tuple[str, ...] = field(default_factory=tuple)


CYCLE_STATE_LABELS = {
    C.DRAFT: _l("Draf"),
    C.TARGET_SETTING: _l("Penyusunan SKP"),
    C.SELF_ASSESSMENT: _l("Penilaian mandiri"),
    C.SUPERVISOR_REVIEW: _l("Penilaian atasan"),
    C.APPEAL: _l("Keberatan"),
    C.PUBLISHED: _l("Diumumkan"),
    C.CLOSED: _l("Ditutup"),
}

CYCLE_TRANSITIONS = [
    Transition("open", (C.DRAFT,), C.TARGET_SETTING, HR, _l("Buka periode"), guards=("annual", "has_scope")),
    Transition(
        "open", (C.DRAFT,), C.SELF_ASSESSMENT, HR, _l("Buka periode"), guards=("periodic", "has_scope")
    ),
    Transition("advance", (C.TARGET_SETTING,), C.SELF_ASSESSMENT, HR, _l("Lanjut ke penilaian mandiri")),
    Transition("advance", (C.SELF_ASSESSMENT,), C.SUPERVISOR_REVIEW, HR, _l("Lanjut ke penilaian atasan")),
    Transition("advance", (C.SUPERVISOR_REVIEW,), C.APPEAL, HR, _l("Lanjut ke masa keberatan")),
    Transition(
        "reopen",
        (C.SELF_ASSESSMENT,),
        C.TARGET_SETTING,
        HR,
        _l("Buka kembali penyusunan SKP"),
        guards=("annual", "next_phase_untouched"),
    ),
    Transition(
        "reopen",
        (C.SUPERVISOR_REVIEW,),
        C.SELF_ASSESSMENT,
        HR,
        _l("Buka kembali penilaian mandiri"),
        guards=("next_phase_untouched",),
    ),
    Transition(
        "publish",
        (C.APPEAL,),
        C.PUBLISHED,
        HR,
        _l("Umumkan hasil"),
        guards=("nothing_pending", "everyone_settled"),
    ),
    Transition("close", (C.PUBLISHED,), C.CLOSED, HR, _l("Tutup periode")),
]

EVALUATION_STATE_LABELS = {
    E.TARGETS_DRAFT: _l("SKP disusun"),
    E.TARGETS_SUBMITTED: _l("SKP diajukan"),
    E.TARGETS_APPROVED: _l("SKP ditetapkan"),
    E.TARGETS_LOCKED: _l("SKP terkunci"),
    E.ASSESSMENT_DRAFT: _l("Penilaian mandiri disusun"),
    E.ASSESSMENT_SUBMITTED: _l("Penilaian mandiri diajukan"),
    E.ASSESSMENT_LOCKED: _l("Penilaian mandiri terkunci"),
    E.REVIEWED: _l("Dinilai atasan"),
    E.APPEALED: _l("Keberatan diajukan"),
    E.DECIDED: _l("Keberatan diputus"),
    E.FINAL: _l("Final"),
    E.PUBLISHED: _l("Diumumkan"),
    E.WITHDRAWN: _l("Dikecualikan"),
    E.NOT_RATED: _l("Tidak dinilai"),
}

# A lock comes from its phase deadline passing or from HR closing the phase early: the state's
# label above names neither; where the cause is known (app/workflow/locks.py tells the two apart
# from the audit trail) these say it.
LOCKED_EARLY_LABELS = {
    E.TARGETS_LOCKED: _l("SKP terkunci — tahap ditutup HR"),
    E.ASSESSMENT_LOCKED: _l("Penilaian mandiri terkunci — tahap ditutup HR"),
}
LOCKED_LATE_LABELS = {
    E.TARGETS_LOCKED: _l("SKP terkunci — lewat tenggat"),
    E.ASSESSMENT_LOCKED: _l("Penilaian mandiri terkunci — lewat tenggat"),
}

REVIEW_PHASES = (C.SELF_ASSESSMENT, C.SUPERVISOR_REVIEW, C.APPEAL)
# Evaluations with no result yet, which HR may mark "tidak dinilai" once the review phase runs.
NOT_YET_RATED = (
    E.TARGETS_DRAFT,
    E.TARGETS_SUBMITTED,
    E.TARGETS_APPROVED,
    E.TARGETS_LOCKED,
    E.ASSESSMENT_DRAFT,
    E.ASSESSMENT_SUBMITTED,
    E.ASSESSMENT_LOCKED,
)
# Every state before publication: HR may withdraw from any of them.
WITHDRAWABLE = (*NOT_YET_RATED, E.REVIEWED, E.APPEALED, E.DECIDED, E.FINAL)
# States that publication accepts: a result (whose keberatan window is over), or HR's decision.
SETTLED = (E.REVIEWED, E.DECIDED, E.FINAL, E.WITHDRAWN, E.NOT_RATED)

EVALUATION_TRANSITIONS = [
    Transition(
        "submit_targets",
        (E.TARGETS_DRAFT,),
        E.TARGETS_SUBMITTED,
        EMPLOYEE,
        _l("Ajukan SKP"),
        phases=(C.TARGET_SETTING,),
        deadline=True,
        guards=("targets_complete",),
    ),
    Transition(
        "return_targets",
        (E.TARGETS_SUBMITTED,),
        E.TARGETS_DRAFT,
        RATER,
        _l("Kembalikan SKP"),
        phases=(C.TARGET_SETTING, C.SELF_ASSESSMENT),
        guards=("comment_given",),
    ),
    Transition(
        "approve_targets",
        (E.TARGETS_SUBMITTED,),
        E.TARGETS_APPROVED,
        RATER,
        _l("Tetapkan SKP"),
        phases=(C.TARGET_SETTING, C.SELF_ASSESSMENT),
        guards=("targets_complete",),
    ),
    Transition(
        "lock_targets",
        (E.TARGETS_DRAFT,),
        E.TARGETS_LOCKED,
        SYSTEM,
        _l("Kunci SKP"),
        guards=("no_active_extension",),
    ),
    Transition(
        "unlock_targets", (E.TARGETS_LOCKED,), E.TARGETS_DRAFT, HR, _l("Buka kunci SKP (perpanjangan)")
    ),
    Transition(
        "open_assessment", (E.TARGETS_APPROVED,), E.ASSESSMENT_DRAFT, SYSTEM, _l("Buka penilaian mandiri")
    ),
    Transition(
        "reopen_targets", (E.ASSESSMENT_DRAFT,), E.TARGETS_APPROVED, SYSTEM, _l("Kembali ke penyusunan SKP")
    ),
    Transition(
        "submit_assessment",
        (E.ASSESSMENT_DRAFT,),
        E.ASSESSMENT_SUBMITTED,
        EMPLOYEE,
        _l("Ajukan penilaian mandiri"),
        phases=(C.SELF_ASSESSMENT,),
        deadline=True,
        guards=("realisations_complete",),
    ),
    Transition(
        "return_assessment",
        (E.ASSESSMENT_SUBMITTED,),
        E.ASSESSMENT_DRAFT,
        RATER,
        _l("Kembalikan penilaian mandiri"),
        phases=REVIEW_PHASES,
        guards=("comment_given",),
    ),
    Transition(
        "lock_assessment",
        (E.ASSESSMENT_DRAFT,),
        E.ASSESSMENT_LOCKED,
        SYSTEM,
        _l("Kunci penilaian mandiri"),
        guards=("no_active_extension",),
    ),
    Transition(
        "unlock_assessment",
        (E.ASSESSMENT_LOCKED,),
        E.ASSESSMENT_DRAFT,
        HR,
        _l("Buka kunci penilaian mandiri (perpanjangan)"),
    ),
    Transition(
        "reopen_assessment",
        (E.ASSESSMENT_LOCKED,),
        E.ASSESSMENT_DRAFT,
        SYSTEM,
        _l("Kembali ke penilaian mandiri"),
    ),
    Transition(
        "review",
        (E.ASSESSMENT_SUBMITTED,),
        E.REVIEWED,
        RATER,
        _l("Beri penilaian"),
        phases=REVIEW_PHASES,
        guards=("ratings_given", "feedback_for_below"),
    ),
    Transition(
        "file_appeal",
        (E.REVIEWED,),
        E.APPEALED,
        EMPLOYEE,
        _l("Ajukan keberatan"),
        phases=REVIEW_PHASES,
        guards=("within_appeal_window", "reasons_given"),
    ),
    Transition(
        "decide_appeal",
        (E.APPEALED,),
        E.DECIDED,
        APPEAL_HANDLER,
        _l("Putuskan keberatan"),
        phases=REVIEW_PHASES,
        guards=("decision_reasons_given", "feedback_for_below"),
    ),
    Transition(
        "finalise",
        (E.REVIEWED,),
        E.FINAL,
        SYSTEM,
        _l("Final (masa keberatan berakhir)"),
        guards=("appeal_window_closed",),
    ),
    Transition("finalise", (E.DECIDED,), E.FINAL, SYSTEM, _l("Final (keberatan diputus)")),
    Transition("publish", (E.FINAL,), E.PUBLISHED, SYSTEM, _l("Diumumkan")),
    # HR's decisions for those who get no result: withdrawn from the cycle (they left it), or
    # "tidak dinilai" (never reviewed); both keep the state they left and are reversible until
    # publication, which needs every evaluation to be rated or one of these.
    Transition("withdraw", WITHDRAWABLE, E.WITHDRAWN, HR, _l("Kecualikan dari periode")),
    Transition(
        "mark_not_rated",
        NOT_YET_RATED,
        E.NOT_RATED,
        HR,
        _l("Tandai tidak dinilai"),
        phases=(C.SUPERVISOR_REVIEW, C.APPEAL),
    ),
    *(
        Transition(
            "reinstate",
            (E.WITHDRAWN, E.NOT_RATED),
            state,
            HR,
            _l("Kembalikan ke penilaian"),
            guards=(f"left_{state}",),
        )
        for state in WITHDRAWABLE
    ),
]

# The phase whose step an evaluation still owes, by its state (what a personal extension extends).
OWN_PHASE = {
    E.TARGETS_DRAFT: C.TARGET_SETTING,
    E.TARGETS_LOCKED: C.TARGET_SETTING,
    E.ASSESSMENT_DRAFT: C.SELF_ASSESSMENT,
    E.ASSESSMENT_LOCKED: C.SELF_ASSESSMENT,
}


# What a cycle transition does to its evaluations, in order: (cycle trigger, cycle source) ->
# evaluation triggers applied in bulk to every evaluation of the cycle in that trigger's sources.
CYCLE_EFFECTS = {
    ("advance", C.TARGET_SETTING): ("lock_targets", "open_assessment"),
    ("advance", C.SELF_ASSESSMENT): ("lock_assessment",),
    ("reopen", C.SELF_ASSESSMENT): ("reopen_targets", "unlock_targets"),
    ("reopen", C.SUPERVISOR_REVIEW): ("reopen_assessment",),
    ("publish", C.APPEAL): ("finalise", "publish"),
}


def transitions_of(machine: list[Transition], trigger: str) -> list[Transition]:
    """Every declared arrow of a trigger."""
    return [t for t in machine if t.trigger == trigger]


def sources_of(machine: list[Transition], trigger: str) -> tuple[str, ...]:
    """The states a trigger may fire from."""
    return tuple(s for t in transitions_of(machine, trigger) for s in t.sources)


def build_machine(machine: list[Transition], states, model, initial: str) -> Machine:
    """A `transitions` machine for one model, from the declaration (guards checked separately)."""
    return Machine(
        model=model,
        states=[s.value for s in states],
        transitions=[
            {"trigger": t.trigger, "source": [str(s) for s in t.sources], "dest": str(t.dest)}
            for t in machine
        ],
        initial=initial,
        auto_transitions=False,
        send_event=False,
    )


def mermaid(machine: list[Transition], states, labels: dict, current: str | None = None) -> str:
    """The machine as a Mermaid state diagram (current state highlighted)."""
    lines = ["stateDiagram-v2"]
    for state in states:
        lines.append(f"    {state.value}: {labels[state]}")
    for t in machine:
        for source in t.sources:
            lines.append(f"    {source} --> {t.dest}: {t.trigger}")
    if current:
        lines.append("    classDef current fill:#0d6efd,color:#fff")
        lines.append(f"    class {current} current")
    return "\n".join(lines)


STATE_LABELS = {str(k): v for k, v in {**CYCLE_STATE_LABELS, **EVALUATION_STATE_LABELS}.items()}

# What the timeline and the audit search call each recorded action.
ACTION_LABELS = {
    **{f"evaluation.{t.trigger}": t.label for t in EVALUATION_TRANSITIONS},
    **{f"cycle.{t.trigger}": t.label for t in CYCLE_TRANSITIONS},
    "evaluation.created": _l("Penilaian dibuat"),
    "evaluation.deadline_extended": _l("Tenggat diperpanjang"),
    "evaluation.reassigned": _l("Pejabat dipindahkan oleh admin kepegawaian"),
    "evaluation.reassignment_ended": _l("Masa Plh. berakhir; pejabat semula kembali"),
    "evidence.added": _l("Bukti dukung ditambahkan"),
    "appeal.comment": _l("Pesan keberatan"),
    "appeal.escalated": _l("Keberatan melewati batas waktu keputusan; diteruskan ke admin kepegawaian"),
    "evidence.files_swept": _l("Berkas bukti yatim dibersihkan"),
    "cycle.unit_predikat": _l("Predikat organisasi unit ditetapkan"),
    "auth.logout": _l("Keluar"),
    "auth.password_reset_requested": _l("Atur ulang kata sandi diminta"),
    "auth.password_reset_unknown": _l("Atur ulang kata sandi diminta untuk akun yang tidak dikenal"),
    "auth.password_reset": _l("Kata sandi diatur ulang"),
    "cycle.created": _l("Periode dibuat"),
    "cycle.updated": _l("Periode diubah"),
    "cycle.deadline_extended": _l("Tenggat tahap diperpanjang"),
    "cycle.curve_override": _l("Diumumkan meski tidak sesuai kurva"),
    "cycle.marked_not_rated": _l("Penilaian yang tersisa ditandai tidak dinilai"),
    "curve.changed": _l("Kurva distribusi diubah"),
    "documents.bundle_requested": _l("Berkas dokumen unit diminta"),
    "auth.login": _l("Masuk"),
    "auth.login_failed": _l("Gagal masuk"),
    "auth.locked": _l("Akun dikunci sementara"),
    "auth.password_changed": _l("Kata sandi diganti"),
    "account.password_set": _l("Kata sandi awal ditetapkan"),
    "account.roles_changed": _l("Peran diubah"),
    "account.password_renewal_required": _l("Kata sandi baru diwajibkan (hak bertambah)"),
    "account.created": _l("Akun dibuat"),
    "employee.created": _l("Pegawai ditambahkan"),
    "employee.updated": _l("Data pegawai diubah"),
    "employee.deactivated": _l("Pegawai dinonaktifkan"),
    "employee.activated": _l("Pegawai diaktifkan"),
    "org_unit.created": _l("Unit dibuat"),
    "org_unit.updated": _l("Unit diubah"),
    "org_unit.deactivated": _l("Unit dinonaktifkan"),
    "org_unit.activated": _l("Unit diaktifkan"),
    "position.created": _l("Jabatan ditambahkan"),
    "position.updated": _l("Jabatan diubah"),
    "credit.coefficients_changed": _l("Koefisien angka kredit diubah"),
    "people.imported": _l("Impor CSV"),
    "demo.loaded": _l("Data contoh dimuat"),
    "dialog.added": _l("Catatan dialog kinerja ditulis"),
    "dialog.edited": _l("Catatan dialog kinerja diubah"),
    "dialog.attached": _l("Lampiran catatan dialog kinerja ditambahkan"),
    "dialog.acknowledged": _l("Catatan dialog kinerja dikonfirmasi pegawai"),
    "dialog.follow_up_done": _l("Tindak lanjut dialog kinerja selesai"),
    "dialog.follow_up_reopened": _l("Tindak lanjut dialog kinerja dibuka kembali"),
    "progress.added": _l("Progres dicatat"),
    "progress.edited": _l("Entri progres diubah"),
    "progress.deleted": _l("Entri progres dihapus"),
    "progress.evidence_added": _l("Bukti progres ditambahkan"),
    "progress.evidence_removed": _l("Bukti progres dihapus"),
    "progress.verified": _l("Entri progres diverifikasi"),
    "progress.unverified": _l("Verifikasi entri progres dibatalkan"),
    "progress.commented": _l("Entri progres dikomentari pejabat penilai"),
    "evaluation.skp_copied": _l("SKP periode lalu disalin ke draf"),
    "evaluation.templates_applied": _l("RHK ditambahkan dari templat jabatan"),
    "rhk_template.published": _l("Templat RHK diterbitkan"),
    "rhk_template.retired": _l("Templat RHK ditarik"),
    "peer.requested": _l("Masukan rekan kerja diminta"),
    "peer.cancelled": _l("Permintaan masukan rekan kerja dibatalkan"),
    "peer.answered": _l("Masukan rekan kerja diberikan"),
    "peer.answer_changed": _l("Masukan rekan kerja diubah"),
    "coaching.requested": _l("Bimbingan/konseling diminta"),
    "coaching.resolved": _l("Permintaan bimbingan/konseling selesai dengan catatan"),
}
