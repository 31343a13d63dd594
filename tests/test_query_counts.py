"""Pages run a number of SQL queries that does not grow with the size of the agency (no N+1)."""

from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import clock
from app.domain import Aspect, Comparator, Predikat, Rating
from app.extensions import db as _db
from app.models import (
    Appeal,
    AuditEvent,
    Comment,
    Cycle,
    Evaluation,
    EvaluationState,
    Evidence,
    Indicator,
    PublicationMode,
    Rhk,
    RhkKind,
    Role,
)
from app.models.monitoring import (
    FeedbackAttachment,
    FeedbackKind,
    FeedbackRecord,
    FollowUp,
    ProgressEntry,
    ProgressEvidence,
    ProgressRevision,
)
from app.workflow import cycles
from tests.conftest import login
from tests.workflow_helpers import START, cycle_data


@contextmanager
def count_queries(app):
    """Count the SQL statements the app runs inside the block."""
    statements = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with app.app_context():
        engine = _db.engine
    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)


def build(make, db, team_size: int):
    """A head with `team_size` staff, each with a filled SKP; a cycle in the appeal phase."""
    clock.travel_to(START)
    camat = make.employee("Camat")
    head = make.employee("Kepala", supervisor=camat)
    staff = [make.employee(f"Staf {i:03d}", supervisor=head) for i in range(team_size)]
    hr = make.employee("HR", roles={Role.EMPLOYEE, Role.HR}, supervisor=camat)
    cycle = cycles.save_cycle(None, cycle_data([head.unit, camat.unit, hr.unit]), hr.account)
    cycles.open_cycle(cycle, hr.account)
    for ev in db.session.scalars(sa.select(Evaluation).where(Evaluation.cycle_id == cycle.id)):
        for r in range(3):
            rhk = Rhk(evaluation_id=ev.id, kind=RhkKind.MAIN, text=f"RHK {r}", position=r)
            db.session.add(rhk)
            for i in range(2):
                indicator = Indicator(
                    rhk=rhk,
                    aspect=Aspect.QUANTITY,
                    text=f"IKI {i}",
                    comparator=Comparator.AT_LEAST,
                    target=10,
                    unit="berkas",
                    realisation=12,
                    position=i,
                )
                indicator.evidence.append(Evidence(url="https://contoh.go.id/bukti"))
                db.session.add(indicator)
                add_progress_entries(indicator, ev, head, team_size)
        ev.state = EvaluationState.APPEALED
        ev.results_rating = ev.behaviour_rating = Rating.MEETS
        ev.predikat = Predikat.BAIK
        ev.appeal_until = clock.utcnow() + timedelta(days=14)
        db.session.add(
            Appeal(
                evaluation_id=ev.id,
                reasons="Alasan keberatan yang cukup panjang.",
                decide_by=clock.utcnow() + timedelta(days=14),
            )
        )
        for author in (head, camat):
            db.session.add(
                Comment(
                    evaluation_id=ev.id,
                    author=author.account,
                    topic="appeal",
                    body="Penjelasan",
                    addressed_to=staff[0],
                )
            )
        add_dialog_records(ev, head, team_size)
    cycle.state = "appeal"
    db.session.commit()
    return dict(cycle=cycle, camat=camat, head=head, staff=staff, hr=hr)


def add_progress_entries(indicator, ev, head, count: int) -> None:
    """`count` progress entries on the indicator, each with a link and an earlier version, every
    other one verified with a comment: the log page and the SKP page must not grow with them."""
    author = ev.employee.account
    for n in range(count):
        verified = n % 2 == 0
        indicator_entry = ProgressEntry(
            indicator=indicator,
            author_id=author.id,
            entry_date=START.date() + timedelta(days=n),
            value=n,
            note=f"Progres {n}",
            verified_at=clock.utcnow() if verified else None,
            verified_by_id=head.account.id if verified else None,
            rater_comment="Sesuai" if verified else None,
            evidence=[ProgressEvidence(url="https://contoh.go.id/progres")],
            revisions=[
                ProgressRevision(entry_date=START.date(), value=1, note="Semula", changed_by_id=author.id)
            ],
        )
        _db.session.add(indicator_entry)


def add_dialog_records(ev, head, count: int) -> None:
    """`count` dialog records on the evaluation, each with two follow-ups (one per owner), a link
    and an earlier version in the audit trail: the dialog parts must not grow with them."""
    day = START.date()
    for n in range(count):
        record = FeedbackRecord(
            evaluation_id=ev.id,
            author_id=head.account.id,
            kind=FeedbackKind.DIALOG,
            held_on=day,
            notes=f"Dialog {n}",
            follow_ups=[
                FollowUp(
                    action="Tindak lanjut pegawai", due_on=day + timedelta(days=3), owner_id=ev.employee_id
                ),
                FollowUp(action="Tindak lanjut atasan", due_on=day + timedelta(days=3), owner_id=head.id),
            ],
            attachments=[FeedbackAttachment(url="https://contoh.go.id/notulen")],
        )
        _db.session.add(record)
        _db.session.flush()
        _db.session.add(
            AuditEvent(
                action="dialog.edited",
                actor_id=head.account.id,
                object_type="feedback_record",
                object_id=str(record.id),
                data={"before": {"kind": "feedback", "held_on": day.isoformat(), "notes": "Semula"}},
            )
        )


def add_planning(org, db, count: int) -> int:
    """Next year's annual cycle in target setting: the first staff member's draft (last year's SKP
    to copy, `count` templates of her position linked to her head's RHKs), the templates pages."""
    from app.models import IndicatorTemplate, RhkTemplate

    cycle = cycles.save_cycle(
        None, cycle_data([org["head"].unit], name="SKP Tahunan 2028", year=2028), org["hr"].account
    )
    cycles.open_cycle(cycle, org["hr"].account)
    evs = {
        ev.employee_id: ev
        for ev in db.session.scalars(sa.select(Evaluation).where(Evaluation.cycle_id == cycle.id))
    }
    head_rhks = [
        Rhk(evaluation_id=evs[org["head"].id].id, kind=RhkKind.MAIN, text=f"RHK atasan {n}", position=n)
        for n in range(count)
    ]
    db.session.add_all(head_rhks)
    db.session.flush()
    staff = org["staff"][0]
    for n in range(count):
        db.session.add(
            RhkTemplate(
                position_id=staff.position_id,
                kind=RhkKind.MAIN,
                text=f"Templat {n}",
                parent_rhk_id=head_rhks[n].id,
                author_id=(org["hr"] if n % 2 else org["head"]).account.id,
                sort_order=n,
                indicators=[
                    IndicatorTemplate(
                        aspect=Aspect.QUANTITY,
                        text=f"IKI {i}",
                        comparator=Comparator.AT_LEAST,
                        target=10,
                        unit="x",
                    )
                    for i in range(2)
                ],
            )
        )
    db.session.commit()
    return evs[staff.id].id


def add_peer_input(org, db, count: int) -> tuple[int, int]:
    """The second staff member's self-assessment waits for review, with input asked of up to five
    colleagues (all but one answered, with a comment on every value; the measured staff member among
    them); every staff member's evaluation has a coaching request open. Returns (evaluation id, the
    measured staff member's request id)."""
    from app.domain import CoreValue
    from app.models import CoachingReason, CoachingRequest, PeerAnswer, PeerRequest

    staff = org["staff"]
    evs = {
        ev.employee_id: ev
        for ev in db.session.scalars(sa.select(Evaluation).where(Evaluation.cycle_id == org["cycle"].id))
    }
    reviewed = evs[staff[1].id]
    reviewed.state = EvaluationState.ASSESSMENT_SUBMITTED
    peers = [staff[0], *staff[2:]][: min(count, 5)]
    requests = []
    for n, peer in enumerate(peers):
        request = PeerRequest(
            evaluation_id=reviewed.id,
            peer_id=peer.id,
            requested_by_id=org["head"].account.id,
            due_at=clock.utcnow() + timedelta(days=7),
            answered_at=clock.utcnow() if n else None,
            answers=[PeerAnswer(value=v, hint=Rating.MEETS, comment=f"Komentar {n}") for v in CoreValue]
            if n
            else [],
        )
        db.session.add(request)
        requests.append(request)
    for person in staff:
        db.session.add(
            CoachingRequest(
                evaluation_id=evs[person.id].id,
                key="result:0",
                reason=CoachingReason.LOW_RESULT,
                detail="Predikat kinerja periode lalu: Butuh Perbaikan.",
            )
        )
    db.session.commit()
    return reviewed.id, requests[0].id


PAGES = [
    ("staff", lambda o, ev: "/"),
    ("head", lambda o, ev: "/"),
    ("camat", lambda o, ev: "/"),
    ("hr", lambda o, ev: "/"),
    ("head", lambda o, ev: "/evaluations/?perlu=1"),
    ("staff", lambda o, ev: f"/evaluations/{ev}"),
    ("staff", lambda o, ev: "/evaluations/"),
    ("head", lambda o, ev: "/evaluations/"),
    ("head", lambda o, ev: f"/evaluations/{ev}"),
    ("camat", lambda o, ev: "/evaluations/"),
    ("head", lambda o, ev: "/people/team"),  # the team with what waits for the head
    ("head", lambda o, ev: "/people/team?perlu=1"),
    ("hr", lambda o, ev: f"/cycles/{o['cycle'].id}"),  # with its charts
    ("hr", lambda o, ev: "/cycles/"),
    ("hr", lambda o, ev: "/cycles/?perlu=1"),
    ("hr", lambda o, ev: f"/cycles/{o['cycle'].id}/distribution"),
    ("hr", lambda o, ev: f"/cycles/{o['cycle'].id}/overdue"),
    ("hr", lambda o, ev: f"/cycles/{o['cycle'].id}/overdue?q=camat"),
    ("hr", lambda o, ev: "/audit/"),
    ("hr", lambda o, ev: "/audit/?who=Camat"),
    ("hr", lambda o, ev: "/people/"),
    ("hr", lambda o, ev: "/people/?q=camat"),  # by part of a name, through the search index
    ("staff", lambda o, ev: f"/evaluations/{ev}/dialog"),
    ("head", lambda o, ev: f"/evaluations/{ev}/dialog"),
    ("camat", lambda o, ev: f"/evaluations/{ev}/dialog"),
    ("camat", lambda o, ev: f"/evaluations/{ev}"),  # the appeal handler: the keberatan's link to the records
    ("staff", lambda o, ev: f"/evaluations/{ev}/progres"),  # the progress log, with the author's forms
    ("staff", lambda o, ev: f"/evaluations/{ev}/progres?bulan=1"),
    ("head", lambda o, ev: f"/evaluations/{ev}/progres"),  # the rater's verification forms
    ("camat", lambda o, ev: f"/evaluations/{ev}/progres"),
    ("hr", lambda o, ev: f"/evaluations/{ev}/progres"),
    ("staff", lambda o, ev: f"/evaluations/{o['draft']}"),  # the draft: copy last year's SKP, templates
    ("camat", lambda o, ev: "/templat-rhk/"),  # a unit head's templates page
    ("hr", lambda o, ev: "/templat-rhk/"),
    ("hr", lambda o, ev: "/templat-rhk/?ditarik=1"),
    ("hr", lambda o, ev: "/templat-rhk/baru"),
    ("head", lambda o, ev: f"/evaluations/{o['peer_ev']}"),  # the review with the colleagues' input
    ("head", lambda o, ev: f"/evaluations/{o['peer_ev']}/rekan"),  # whom to ask
    ("head", lambda o, ev: f"/evaluations/{o['peer_ev']}/rekan?q=Staf"),
    ("staff", lambda o, ev: f"/rekan/{o['peer_request']}"),  # a colleague's answer page
]


def measure(app, make, db, team_size: int) -> list[int]:
    org = build(make, db, team_size)
    org["draft"] = add_planning(org, db, team_size)
    org["peer_ev"], org["peer_request"] = add_peer_input(org, db, team_size)
    staff = org["staff"][0]
    ev = db.session.scalar(sa.select(Evaluation.id).where(Evaluation.employee_id == staff.id))
    counts = []
    for who, url in PAGES:
        client = app.test_client()
        person = staff if who == "staff" else org[who]
        login(client, person.nip)
        client.get(url(org, ev))  # warm caches that are not per request
        with count_queries(app) as statements:
            response = client.get(url(org, ev))
        assert response.status_code == 200, url(org, ev)
        counts.append(len(statements))
    cycle = db.session.get(Cycle, org["cycle"].id)
    cycle.state, cycle.publication_mode = "published", PublicationMode.NAMES
    db.session.execute(sa.update(Evaluation).values(state="published"))
    db.session.commit()
    client = app.test_client()
    login(client, staff.nip)
    client.get(f"/results/{cycle.id}")
    with count_queries(app) as statements:
        assert client.get(f"/results/{cycle.id}").status_code == 200
    counts.append(len(statements))
    return counts


@pytest.mark.parametrize("sizes", [(3, 15)])
def test_query_counts_do_not_grow_with_the_agency(app, make, db, sizes):
    small = measure(app, make, db, sizes[0])
    # a second, larger agency in the same database: more people, evaluations, comments, evidence
    large = measure(app, make, db, sizes[1])
    labels = [f"{who} page {i}" for i, (who, _url) in enumerate(PAGES)] + ["results board"]
    assert small == large, list(zip(labels, small, large, strict=True))
    assert max(small) < 40, small


def test_the_navigation_knows_who_leads_a_team_without_loading_the_team(app, make, db):
    """A page costs one statement for the signed-in person whatever their team and roles: the
    account with its employee, its roles and whether anyone reports to them (the 'Tim saya'
    link). It was four (the employee and the whole team loaded apart), then two (the roles)."""
    camat = make.employee("Camat")
    head = make.employee("Kepala", supervisor=camat)
    nurse = make.employee("Perawat", supervisor=head)
    officer = make.employee("Petugas SDM", roles={Role.EMPLOYEE, Role.HR, Role.ADMIN}, supervisor=camat)
    for i in range(20):
        make.employee(f"Staf {i:02d}", supervisor=head)
    for person, leads, hr in ((head, True, False), (nurse, False, False), (officer, False, True)):
        client = app.test_client()
        login(client, person.nip)
        client.get("/account/password")
        with count_queries(app) as statements:
            response = client.get("/account/password")
        html = response.get_data(as_text=True)
        assert ("Tim saya" in html) is leads
        assert ('href="/cycles/"' in html) is hr  # the HR links follow the roles read with the account
        assert len(statements) == 1, statements


def test_the_home_reads_the_persons_data_in_one_statement(app, make, db):
    """'Data saya' (position, unit, supervisor) comes with the person, and the team is counted only
    for someone who leads one."""
    head = make.employee("Kepala", supervisor=make.employee("Camat"))
    nurse = make.employee("Perawat", supervisor=head)
    client = app.test_client()
    login(client, nurse.nip)
    client.get("/")
    with count_queries(app) as statements:
        html = client.get("/").get_data(as_text=True)
    assert "Kepala" in html and nurse.unit.name in html and nurse.position.name in html
    lazy = [s for s in statements if s.lstrip().startswith(("SELECT position.", "SELECT org_unit."))]
    assert not lazy, lazy
    assert not [s for s in statements if "count(*)" in s and "supervisor_id" in s]
