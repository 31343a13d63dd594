"""The monitoring tasks on the home page (app/services/monitoring.py and its parts) are read with
statements built once per process: each person, on each day, still gets their own tasks."""

from datetime import timedelta

from app import clock
from app.services import home
from app.workflow.monitoring import dialog, peers
from tests.test_dialog_records import TODAY, row
from tests.test_dialog_records import World as DialogWorld
from tests.test_workflow_services import World


def shown(account, kind: str) -> list[tuple]:
    """(action, person, days_left) of this person's home tasks of one kind."""
    return [(t.action, t.person, t.days_left) for t in home.for_account(account).tasks if t.kind == kind]


def test_dialog_tasks_follow_the_person_and_the_day(make):
    world = DialogWorld(make)
    world.dialogue(
        follow_ups=[
            row("Uji coba antrean daring", TODAY + timedelta(days=10), "employee", 0),
            row("Minta tambahan petugas", TODAY + timedelta(days=2), "rater", 1),
        ]
    )
    clock.advance(timedelta(minutes=5))  # a note after the record waits for the head's answer
    dialog.add_record(world.ev, world.acc("nurse"), "note", TODAY, "Mohon dialog tentang target IKM.")
    nurse, head, camat = world.acc("nurse"), world.acc("head"), world.acc("camat")

    # The head asks first, so the statements are built while he is the person.
    assert shown(head, "follow_up") == [("Tindak lanjut: Minta tambahan petugas", "Perawat Debora", 2)]
    assert shown(head, "dialog_note") == [
        ("Tanggapi 1 catatan pegawai (dialog kinerja)", "Perawat Debora", None)
    ]
    assert shown(head, "dialog_acknowledge") == []
    assert shown(nurse, "follow_up") == []  # hers is ten days away, outside the week
    assert shown(nurse, "dialog_note") == []
    assert shown(nurse, "dialog_acknowledge") == [
        ("Baca dan konfirmasi 1 catatan dialog kinerja dari atasan", None, None)
    ]
    assert shown(camat, "follow_up") == shown(camat, "dialog_note") == []

    clock.advance(timedelta(days=4))  # the week now reaches hers; his is two days overdue
    assert shown(nurse, "follow_up") == [("Tindak lanjut: Uji coba antrean daring", None, 6)]
    assert shown(head, "follow_up") == [("Tindak lanjut: Minta tambahan petugas", "Perawat Debora", -2)]


def test_a_request_for_input_is_the_colleagues_until_its_deadline_passes(make):
    world = World(make)
    ev = world.submitted_assessment()
    colleague = world.acc("colleague")
    deadline = clock.utcnow() + timedelta(days=5)
    peers.request_input(ev, world.acc("head"), [world.org["colleague"].id], deadline)

    task = ("Beri masukan perilaku kerja untuk Perawat Debora", "Perawat Debora", 5)
    assert shown(colleague, "peer_input") == [task]
    assert shown(world.acc("head"), "peer_input") == shown(world.acc("nurse"), "peer_input") == []
    clock.advance(timedelta(days=2))
    assert shown(colleague, "peer_input") == [(*task[:2], 3)]
    clock.advance(timedelta(days=4))
    assert shown(colleague, "peer_input") == []
