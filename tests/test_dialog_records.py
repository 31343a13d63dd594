"""Dialog kinerja and feedback records through the services: who writes what and when, the
employee's acknowledgement, follow-ups and their owners, the history of changes, the emails,
the home tasks and reminder digests, and the evaluation document.

Each refusal is checked twice: the reason the user reads, and a database left as it was.
"""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from app import clock
from app.extensions import db as _db
from app.models import AuditEvent, Evaluation, OutboxMessage
from app.models.monitoring import FeedbackAttachment, FeedbackRecord, FollowUp
from app.services import Refused
from app.services import dialog as dialog_queries
from app.services.home import for_account
from app.workflow import set_aside
from app.workflow.monitoring import dialog
from tests.workflow_helpers import START, agency, open_annual

PDF = b"%PDF-1.4\n% catatan bimbingan\n"
TODAY = START.date()  # 5 January 2027, the cycle's first days


def snapshot() -> dict:
    """Every row of every table: what "nothing changed" means."""
    _db.session.expire_all()
    return {
        table.name: sorted((tuple(row) for row in _db.session.execute(sa.select(table))), key=repr)
        for table in _db.metadata.sorted_tables
    }


def refused(call, *args, match: str, **kwargs) -> Refused:
    """Call a service, expect Refused with `match` in its message and an unchanged database."""
    before = snapshot()
    with pytest.raises(Refused) as info:
        call(*args, **kwargs)
    assert snapshot() == before, f"{call.__name__} was refused but changed the database"
    assert match in str(info.value), str(info.value)
    return info.value


def row(action, due_on, owner="employee", index=0):
    return dialog.FollowUpInput(action, due_on, owner, index)


class World:
    """The walkthrough's puskesmas with an annual cycle opened on START."""

    def __init__(self, make):
        self.org = agency(make)
        self.cycle = open_annual(self.org)
        self.ev = _db.session.scalar(
            sa.select(Evaluation).where(
                Evaluation.cycle_id == self.cycle.id, Evaluation.employee_id == self.org["nurse"].id
            )
        )

    def acc(self, who: str):
        return self.org[who].account

    def dialogue(self, **kwargs) -> FeedbackRecord:
        """The head records a dialog kinerja with the nurse, with one follow-up each."""
        values = dict(
            kind="dialog",
            held_on=TODAY,
            notes="Waktu tunggu poli umum masih 45 menit; antrean daring dibahas.",
            follow_ups=[
                row("Uji coba antrean daring di poli umum", TODAY + timedelta(days=10), "employee", 0),
                row("Minta tambahan petugas pendaftaran", TODAY + timedelta(days=20), "rater", 1),
            ],
        )
        values.update(kwargs)
        return dialog.add_record(self.ev, self.acc("head"), **values)


@pytest.fixture
def world(make):
    return World(make)


def records() -> list[FeedbackRecord]:
    _db.session.expire_all()
    return list(_db.session.scalars(sa.select(FeedbackRecord).order_by(FeedbackRecord.id)))


# ---- who writes what -----------------------------------------------------------------------------------


def test_the_rater_records_a_dialogue_with_follow_ups_and_the_employee_is_emailed(world):
    record = world.dialogue()
    assert record.kind.value == "dialog" and record.author_id == world.acc("head").id
    owners = {f.action: f.owner_id for f in record.follow_ups}
    assert owners == {
        "Uji coba antrean daring di poli umum": world.org["nurse"].id,
        "Minta tambahan petugas pendaftaran": world.org["head"].id,
    }
    mail = _db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.kind == "dialog_recorded"))
    assert mail.to_address == world.org["nurse"].email
    assert mail.subject == "Dialog kinerja dari Kepala Puskesmas menunggu konfirmasi Anda"
    assert "Uji coba antrean daring di poli umum" in mail.body_text
    assert f"/evaluations/{world.ev.id}/dialog#record-{record.id}" in mail.body_text
    event = _db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "dialog.added"))
    assert event.object_type == "feedback_record" and event.object_id == str(record.id)


def test_the_employee_writes_a_note_and_the_rater_is_emailed(world):
    note = dialog.add_record(
        world.ev, world.acc("nurse"), "note", TODAY, "Mohon dialog: target waktu tunggu sulit dicapai."
    )
    assert note.kind.value == "note" and note.follow_ups == []
    mail = _db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.kind == "dialog_note"))
    assert mail.to_address == world.org["head"].email
    assert "Mohon dialog" in mail.body_text


def test_each_party_writes_only_their_own_kinds(world):
    refused(
        dialog.add_record,
        world.ev,
        world.acc("nurse"),
        "coaching",
        TODAY,
        "Bimbingan",
        match="catatan sendiri",
    )
    refused(dialog.add_record, world.ev, world.acc("head"), "note", TODAY, "Catatan", match="Pilih jenis")
    for outsider in ("camat", "colleague", "hr"):  # appeal handler, colleague, HR
        refused(
            dialog.add_record,
            world.ev,
            world.acc(outsider),
            "dialog",
            TODAY,
            "Catatan",
            match="Hanya pejabat penilai dan pegawai",
        )


def test_bad_input_is_refused_with_nothing_saved(world):
    head = world.acc("head")
    refused(dialog.add_record, world.ev, head, "dialog", TODAY, "   ", match="Catatan wajib diisi")
    refused(dialog.add_record, world.ev, head, "dialog", TODAY, "x" * 5001, match="paling banyak 5000")
    refused(dialog.add_record, world.ev, head, "dialog", None, "Catatan", match="Isi tanggal")
    refused(
        dialog.add_record, world.ev, head, "dialog", date(2026, 12, 31), "Catatan", match="dalam masa periode"
    )
    refused(
        dialog.add_record,
        world.ev,
        head,
        "dialog",
        TODAY + timedelta(days=1),
        "Catatan",
        match="setelah hari ini",
    )
    bad_rows = [
        ([row("", TODAY + timedelta(days=3))], "Tindak lanjut wajib diisi"),
        ([row("Rapat evaluasi", None)], "Isi tanggal tenggat"),
        ([row("Rapat evaluasi", TODAY - timedelta(days=1))], "sebelum tanggal pelaksanaan"),
        ([row("Rapat evaluasi", TODAY + timedelta(days=400))], "satu tahun"),
        ([row("Rapat evaluasi", TODAY + timedelta(days=3), "camat")], "Pilih penanggung jawab"),
    ]
    for rows, message in bad_rows:
        error = refused(dialog.add_record, world.ev, head, "dialog", TODAY, "Catatan", rows, match=message)
        assert list(error.errors)[0].startswith("follow_ups-0-")
    refused(
        dialog.add_record,
        world.ev,
        head,
        "dialog",
        TODAY,
        "Catatan",
        upload=("x.pdf", b"MZ..."),
        match="PDF, JPG",
    )
    refused(dialog.add_record, world.ev, head, "dialog", TODAY, "Catatan", url="javascript:1", match="Tautan")
    refused(
        dialog.add_record,
        world.ev,
        world.acc("nurse"),
        "note",
        TODAY,
        "Catatan",
        [row("Rapat", TODAY)],
        match="bukan dalam catatan pegawai",
    )


def test_empty_follow_up_rows_are_skipped_and_a_file_is_attached(world):
    record = world.dialogue(follow_ups=[row("", None), row(None, None, index=1)], upload=("notulen.pdf", PDF))
    assert record.follow_ups == []
    (attachment,) = record.attachments
    assert attachment.filename == "notulen.pdf" and attachment.content_type == "application/pdf"
    assert dialog.attachment_path(attachment.stored_name).read_bytes() == PDF


def test_a_periodic_cycle_takes_dates_of_its_own_months():
    from types import SimpleNamespace

    from app.models import CycleKind

    def period(kind, number):
        return dialog.period_of(SimpleNamespace(kind=kind, year=2027, period=number))

    assert period(CycleKind.MONTHLY, 2) == (date(2027, 2, 1), date(2027, 2, 28))
    assert period(CycleKind.QUARTERLY, 4) == (date(2027, 10, 1), date(2027, 12, 31))
    assert period(CycleKind.ANNUAL, None) == (date(2027, 1, 1), date(2027, 12, 31))


def test_nothing_before_the_cycle_opens_after_publication_or_on_a_withdrawn_evaluation(world, make):
    record = world.dialogue()
    world.cycle.state = "published"
    _db.session.commit()
    refused(world.dialogue, match="sudah diumumkan")
    refused(dialog.acknowledge, record, world.acc("nurse"), match="sudah diumumkan")
    refused(dialog.edit_record, record, world.acc("head"), "dialog", TODAY, "Baru", match="sudah diumumkan")
    follow_up = record.follow_ups[0]
    refused(dialog.complete_follow_up, follow_up, world.acc("nurse"), match="sudah diumumkan")
    world.cycle.state = "draft"
    _db.session.commit()
    refused(world.dialogue, match="belum dibuka")
    world.cycle.state = "target_setting"
    _db.session.commit()
    set_aside.withdraw(world.ev, world.acc("hr"), "mutasi", "Ke dinas kesehatan")
    refused(world.dialogue, match="dikecualikan")


# ---- changes, acknowledgement, follow-ups --------------------------------------------------------------


def test_only_the_author_edits_until_acknowledged_and_the_history_is_kept(world):
    record = world.dialogue()
    refused(dialog.edit_record, record, world.acc("nurse"), "dialog", TODAY, "Ubah", match="Hanya penulis")
    refused(dialog.edit_record, record, world.acc("camat"), "dialog", TODAY, "Ubah", match="Hanya penulis")
    original = record.notes
    dialog.edit_record(record, world.acc("head"), "coaching", TODAY, "Bimbingan tentang antrean daring.")
    dialog.edit_record(
        record, world.acc("head"), "coaching", TODAY, "Bimbingan tentang antrean daring."
    )  # same
    (change,) = dialog_queries.history_of([record])[record.id]
    assert change.data["before"] == {"kind": "dialog", "held_on": TODAY.isoformat(), "notes": original}
    refused(
        dialog.edit_record,
        record,
        world.acc("head"),
        "coaching",
        TODAY,
        "Lagi",
        expected_version=record.version - 1,
        match="baru saja diubah",
    )
    dialog.acknowledge(record, world.acc("nurse"))
    refused(
        dialog.edit_record, record, world.acc("head"), "dialog", TODAY, "Lagi", match="sudah dikonfirmasi"
    )
    refused(
        dialog.add_attachment, record, world.acc("head"), url="https://x.go.id/a", match="sudah dikonfirmasi"
    )


def test_only_the_employee_acknowledges_and_only_the_raters_records(world):
    record = world.dialogue()
    for who in ("head", "camat", "colleague", "hr"):
        refused(dialog.acknowledge, record, world.acc(who), match="Hanya pegawai yang bersangkutan")
    dialog.acknowledge(record, world.acc("nurse"))
    assert records()[0].acknowledged_at is not None
    refused(dialog.acknowledge, records()[0], world.acc("nurse"), match="sudah dikonfirmasi")
    note = dialog.add_record(world.ev, world.acc("nurse"), "note", TODAY, "Catatan saya")
    refused(dialog.acknowledge, note, world.acc("nurse"), match="tidak perlu dikonfirmasi")


def test_a_second_acknowledgement_of_the_same_version_loses(world):
    record = world.dialogue()
    version = record.version
    dialog.acknowledge(record, world.acc("nurse"), expected_version=version)
    with pytest.raises(Refused):
        dialog.acknowledge(record, world.acc("nurse"), expected_version=version)


def test_follow_ups_are_done_and_reopened_by_their_owner_only(world):
    record = world.dialogue()
    mine = next(f for f in record.follow_ups if f.owner_id == world.org["nurse"].id)
    refused(dialog.complete_follow_up, mine, world.acc("head"), match="Hanya penanggung jawab")
    refused(dialog.complete_follow_up, mine, world.acc("colleague"), match="Hanya penanggung jawab")
    dialog.complete_follow_up(mine, world.acc("nurse"), "Antrean daring berjalan sejak 12 Januari.")
    done = _db.session.get(FollowUp, mine.id)
    assert done.done_at is not None and done.done_note.startswith("Antrean daring")
    refused(dialog.complete_follow_up, done, world.acc("nurse"), match="sudah ditandai selesai")
    dialog.reopen_follow_up(done, world.acc("nurse"))
    assert _db.session.get(FollowUp, mine.id).done_at is None
    refused(dialog.reopen_follow_up, done, world.acc("nurse"), match="belum ditandai selesai")


def test_attachments_are_added_by_the_author_only(world):
    record = world.dialogue()
    refused(dialog.add_attachment, record, world.acc("nurse"), url="https://x.go.id", match="Hanya penulis")
    refused(dialog.add_attachment, record, world.acc("head"), match="Pilih berkas atau isi tautan")
    dialog.add_attachment(record, world.acc("head"), url="https://drive.example.go.id/notulen")
    assert [a.url for a in _db.session.scalars(sa.select(FeedbackAttachment))] == [
        "https://drive.example.go.id/notulen"
    ]


# ---- who sees it -----------------------------------------------------------------------------------------


def test_the_parties_see_the_records_and_hr_and_colleagues_see_nothing(world):
    world.dialogue()
    for who in ("nurse", "head", "camat"):
        part = dialog.page_part(world.ev, world.acc(who), set())
        assert part is not None and len(part.records) == 1
    for who in ("hr", "colleague"):
        assert dialog.page_part(world.ev, world.acc(who), set()) is None
    assert dialog.page_part(world.ev, world.acc("camat"), set()).kinds == ()


# ---- home tasks and reminders -----------------------------------------------------------------------------


def test_the_home_lists_records_to_acknowledge_and_follow_ups_due_within_a_week(world):
    world.dialogue(
        follow_ups=[
            row("Uji coba antrean daring", TODAY + timedelta(days=6), "employee", 0),
            row("Laporan bulanan antrean", TODAY + timedelta(days=30), "employee", 1),
            row("Minta tambahan petugas", TODAY + timedelta(days=2), "rater", 2),
        ]
    )
    nurse_tasks = [t for t in for_account(world.acc("nurse")).tasks if t.endpoint == "dialog.page"]
    actions = sorted(t.action for t in nurse_tasks)
    assert actions == [
        "Baca dan konfirmasi 1 catatan dialog kinerja dari atasan",
        "Tindak lanjut: Uji coba antrean daring",
    ]
    head_tasks = [t for t in for_account(world.acc("head")).tasks if t.endpoint == "dialog.page"]
    assert [(t.action, t.person) for t in head_tasks] == [
        ("Tindak lanjut: Minta tambahan petugas", "Perawat Debora")
    ]
    record = records()[0]
    dialog.acknowledge(record, world.acc("nurse"))
    for f in record.follow_ups:
        if f.owner_id == world.org["nurse"].id and f.due_on < TODAY + timedelta(days=7):
            dialog.complete_follow_up(f, world.acc("nurse"))
    assert [t for t in for_account(world.acc("nurse")).tasks if t.endpoint == "dialog.page"] == []


def test_the_digest_reminds_owners_three_days_and_one_day_before_on_the_day_and_after(world):
    world.dialogue(follow_ups=[row("Uji coba antrean daring", TODAY + timedelta(days=4), "employee", 0)])
    nurse = world.org["nurse"].id
    reminded = []
    for offset in range(8):
        day = TODAY + timedelta(days=offset)
        items = dialog_queries.digest_items(clock.utcnow(), day)
        if nurse in items:
            (item,) = items[nurse][1]
            reminded.append((offset, item["days_left"], item["deadline_text"]))
            assert item["path"].startswith(f"/evaluations/{world.ev.id}/dialog#follow-up-")
            assert item["employee"] is None
    assert [r[0] for r in reminded] == [1, 3, 4, 5, 6, 7]
    assert reminded[0][1] == 3 and reminded[1][1] == 1
    assert reminded[2][2].startswith("hari ini") and "terlambat 1 hari" in reminded[3][2]


def test_the_reminder_job_sends_the_follow_up_in_the_daily_digest(world):
    from app.jobs import reminders

    world.dialogue(follow_ups=[row("Uji coba antrean daring", TODAY + timedelta(days=1), "employee", 0)])
    reminders.send_reminders()
    digests = list(
        _db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "reminder_digest"))
    )
    (nurse_digest,) = [m for m in digests if m.to_address == world.org["nurse"].email]
    assert "Tindak lanjut dialog kinerja: Uji coba antrean daring" in nurse_digest.body_text
    assert f"/evaluations/{world.ev.id}/dialog#follow-up-" in nurse_digest.body_text


# ---- the document ----------------------------------------------------------------------------------


def test_the_evaluation_document_lists_the_records(world):
    from app.output import pdf

    world.dialogue()
    html = pdf.evaluation_html(pdf.load_for_document(world.ev.id))
    assert "CATATAN DIALOG KINERJA DAN PEMBINAAN" in html
    assert "Waktu tunggu poli umum masih 45 menit" in html
    assert "Uji coba antrean daring di poli umum" in html
    assert "Belum dikonfirmasi pegawai" in html


def test_the_rater_is_asked_to_answer_the_employees_request_until_recording_one(world):
    dialog.add_record(world.ev, world.acc("nurse"), "note", TODAY, "Mohon dialog tentang target IKM.")
    dialog.add_record(world.ev, world.acc("nurse"), "note", TODAY, "Juga soal jadwal jaga.")

    def head_tasks():
        return [(t.action, t.person) for t in for_account(world.acc("head")).tasks if t.kind == "dialog_note"]

    assert head_tasks() == [("Tanggapi 2 catatan pegawai (dialog kinerja)", "Perawat Debora")]
    assert not [t for t in for_account(world.acc("camat")).tasks if t.kind == "dialog_note"]
    clock.advance(timedelta(minutes=5))
    world.dialogue(follow_ups=[])
    assert head_tasks() == []
