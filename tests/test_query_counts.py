"""Pages run a number of SQL queries that does not grow with the size of the agency (no N+1), and
every page that answers GET is measured here or says why not."""

import collections
from contextlib import contextmanager
from datetime import timedelta
from urllib.parse import urlsplit

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
    """A head with `team_size` staff, each in a section of their own below the head's unit and with a
    filled SKP; a cycle in the appeal phase."""
    clock.travel_to(START)
    camat = make.employee("Camat")
    head = make.employee("Kepala", supervisor=camat)
    staff = [
        make.employee(f"Staf {i:03d}", supervisor=head, unit=make.unit(f"Seksi {i:03d}", parent=head.unit))
        for i in range(team_size)
    ]
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


def add_hr_records(org, db, count: int) -> None:
    """What HR's pages list: a running temporary reassignment (Plh.) per staff member's evaluation,
    each in its own decision, and `count` earlier ones on the first staff member's; a finished
    documents ZIP for every unit of the cycle; every staff member's self-assessment from the third on
    not yet rated; `count` changes of the kurva by the head and HR in turn; January's monthly cycle,
    published, with a predikat for every staff member (the monthly recap)."""
    from app.models import CycleKind, CycleState, DocumentBundle, Reassignment

    staff = org["staff"]
    evs = {
        ev.employee_id: ev
        for ev in db.session.scalars(sa.select(Evaluation).where(Evaluation.cycle_id == org["cycle"].id))
    }
    until = clock.utcnow() + timedelta(days=30)
    moves = [(person, f"plh-{person.id}", until) for person in staff]
    moves += [(staff[0], f"lama-{staff[0].id}-{n}", None) for n in range(count)]
    for person, batch, ends in moves:
        db.session.add(
            Reassignment(
                batch=batch,
                evaluation_id=evs[person.id].id,
                role="rater",
                from_id=org["head"].id,
                to_id=org["camat"].id,
                back_to_id=org["head"].id if ends else None,
                reason="Kepala cuti",
                until=ends,
                created_by_id=org["hr"].account.id,
            )
        )
    for person in staff[2:]:
        evs[person.id].state = EvaluationState.ASSESSMENT_SUBMITTED
    deadline = clock.utcnow() + timedelta(days=30)
    january = Cycle(
        name=f"Bulanan 1/{START.year}",
        kind=CycleKind.MONTHLY,
        year=START.year,
        period=1,
        state=CycleState.PUBLISHED,
        assessment_deadline=deadline,
        review_deadline=deadline,
        appeal_deadline=deadline,
    )
    db.session.add(january)
    db.session.flush()
    for person in staff:
        db.session.add(
            Evaluation(
                cycle_id=january.id,
                employee_id=person.id,
                rater_id=org["head"].id,
                unit_id=person.unit_id,
                state=EvaluationState.PUBLISHED,
                results_rating=Rating.MEETS,
                behaviour_rating=Rating.MEETS,
                predikat=Predikat.BAIK,
            )
        )
    for n in range(count):
        db.session.add(
            AuditEvent(
                action="curve.changed",
                actor_id=(org["hr"] if n % 2 else org["head"]).account.id,
                object_type="distribution_band",
                object_id="baik",
                comment=f"Perubahan {n}",
                data={"org_predikat": "baik", "before": ["Semula"], "after": ["Kini"]},
            )
        )
    for unit_id in {ev.unit_id for ev in evs.values()}:
        db.session.add(
            DocumentBundle(
                cycle_id=org["cycle"].id,
                unit_id=unit_id,
                requested_by_id=org["hr"].account.id,
                state="done",
                total=1,
                done=1,
                file_name=f"bundle-{unit_id}.zip",
                finished_at=clock.utcnow(),
            )
        )
    db.session.commit()


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
    ("staff", lambda o, ev: f"/evaluations/{ev}/skp.pdf"),
    ("staff", lambda o, ev: f"/evaluations/{ev}/evaluasi.pdf"),
    ("hr", lambda o, ev: f"/evaluations/{ev}/pengecualian"),  # withdraw, "tidak dinilai"
    ("hr", lambda o, ev: f"/cycles/{o['cycle'].id}/tidak-dinilai"),
    ("hr", lambda o, ev: f"/cycles/{o['cycle'].id}/edit"),
    ("hr", lambda o, ev: "/cycles/new"),
    ("hr", lambda o, ev: f"/cycles/{o['cycle'].id}/dokumen"),  # every unit with its ZIP
    ("hr", lambda o, ev: f"/dokumen/{o['bundle']}"),
    ("hr", lambda o, ev: f"/cycles/{o['cycle'].id}/rekap-hasil.xlsx"),
    ("hr", lambda o, ev: f"/cycles/{o['cycle'].id}/rekap-kemajuan.xlsx"),
    ("hr", lambda o, ev: f"/cycles/{o['cycle'].id}/rekap-distribusi.xlsx"),
    ("hr", lambda o, ev: f"/rekap/bulanan/{START.year}.xlsx"),
    ("hr", lambda o, ev: "/reassign/"),  # the running Plh.
    ("hr", lambda o, ev: f"/reassign/employee/{o['staff'][0].id}"),  # with its history
    ("hr", lambda o, ev: f"/people/{o['staff'][0].id}"),
    ("hr", lambda o, ev: f"/people/{o['head'].id}"),
    ("hr", lambda o, ev: f"/people/{o['staff'][0].id}/edit"),
    ("hr", lambda o, ev: "/people/new"),
    ("hr", lambda o, ev: "/people/import"),
    ("hr", lambda o, ev: "/people/export.csv"),
    ("hr", lambda o, ev: "/org/"),  # the unit tree with its staff counts
    ("hr", lambda o, ev: "/org/new"),
    ("hr", lambda o, ev: f"/org/{o['head'].unit_id}/edit"),
    ("hr", lambda o, ev: f"/org/positions/{o['staff'][0].position_id}"),
    ("hr", lambda o, ev: "/org/angka-kredit"),
    ("hr", lambda o, ev: "/org/export.csv"),
    ("hr", lambda o, ev: "/kurva/"),
    ("hr", lambda o, ev: "/kurva/baik"),
    ("hr", lambda o, ev: "/admin/outbox"),  # the emails the cycle's opening queued
    ("hr", lambda o, ev: "/admin/outbox?state=pending"),
    ("hr", lambda o, ev: f"/admin/outbox/{o['message']}"),
    ("hr", lambda o, ev: f"/templat-rhk/{o['template']}/ubah"),
]

# Measured once the cycle is published (after every page of PAGES).
PUBLISHED_PAGES = [
    ("staff", lambda o, ev: f"/results/{o['cycle'].id}"),  # the results board, with names
    ("staff", lambda o, ev: "/results/"),
    ("hr", lambda o, ev: f"/results/{o['cycle'].id}"),
]

# The GET endpoints that neither list measures, and why (test_every_page_is_measured_or_exempt).
EXEMPT = {
    "main.healthz": "the load balancer's probe, no page",
    "auth.login": "the sign-in form, signed out",
    "auth.forgot_password": "a signed-out form",
    "auth.reset_password": "a signed-out form behind an emailed token",
    "auth.change_password": "one statement, counted by "
    "test_the_navigation_knows_who_leads_a_team_without_loading_the_team",
    "workflow.diagram": "a state machine's diagram, no data",
    "evaluations.download_evidence": "sends one uploaded file",
    "progress.download_evidence": "sends one uploaded file",
    "dialog.download": "sends one uploaded file",
    "documents.bundle_zip": "sends one ZIP file the scheduler built",
}


class _AnyRow(int):
    """Stands for any row in a page's URL: the number 1, whose every attribute and item is 1 too."""

    def __getattr__(self, name: str) -> "_AnyRow":
        return _AnyRow(1)

    def __getitem__(self, index) -> "_AnyRow":
        return _AnyRow(1)


_ANY = collections.defaultdict(lambda: _AnyRow(1))  # an `org` for the URLs of PAGES, without data


def newest(db, model) -> int:
    """The id of the newest row of `model`: the agency built last."""
    return db.session.scalar(sa.select(sa.func.max(model.id)))


def measure(app, make, db, team_size: int) -> list[int]:
    """The statements of every page of PAGES, then of PUBLISHED_PAGES, for an agency of `team_size`."""
    from app.models import DocumentBundle, OutboxMessage, RhkTemplate

    org = build(make, db, team_size)
    org["draft"] = add_planning(org, db, team_size)
    org["peer_ev"], org["peer_request"] = add_peer_input(org, db, team_size)
    add_hr_records(org, db, team_size)
    org["bundle"] = newest(db, DocumentBundle)
    org["message"] = newest(db, OutboxMessage)
    org["template"] = newest(db, RhkTemplate)
    staff = org["staff"][0]
    ev = db.session.scalar(
        sa.select(Evaluation.id).where(
            Evaluation.employee_id == staff.id, Evaluation.cycle_id == org["cycle"].id
        )
    )
    clients = {}  # one signed-in client per person, as a browser keeps its session
    counts = [page_statements(app, clients, org, ev, who, url) for who, url in PAGES]
    cycle = db.session.get(Cycle, org["cycle"].id)
    cycle.state, cycle.publication_mode = "published", PublicationMode.NAMES
    db.session.execute(sa.update(Evaluation).values(state="published"))
    db.session.commit()
    return counts + [page_statements(app, clients, org, ev, who, url) for who, url in PUBLISHED_PAGES]


def page_statements(app, clients, org, ev, who, url) -> int:
    """How many statements the page costs `who`, once warmed."""
    if who not in clients:
        clients[who] = app.test_client()
        login(clients[who], (org["staff"][0] if who == "staff" else org[who]).nip)
    client = clients[who]
    client.get(url(org, ev))  # warm caches that are not per request
    with count_queries(app) as statements:
        response = client.get(url(org, ev))
    assert response.status_code == 200, url(org, ev)
    return len(statements)


@pytest.mark.parametrize("sizes", [(3, 15)])
def test_query_counts_do_not_grow_with_the_agency(app, make, db, sizes):
    """Every page of PAGES and PUBLISHED_PAGES runs as many statements for 15 staff as for 3."""
    small = measure(app, make, db, sizes[0])
    # a second, larger agency in the same database: more people, evaluations, comments, evidence
    large = measure(app, make, db, sizes[1])
    labels = [f"{who} {url(_ANY, 1)}" for who, url in PAGES + PUBLISHED_PAGES]
    grown = [(label, s, n) for label, s, n in zip(labels, small, large, strict=True) if s != n]
    assert not grown, grown
    assert max(small) < 40, list(zip(labels, small, strict=True))


def test_every_page_is_measured_or_exempt(app):
    """Every page that answers GET is in PAGES (or PUBLISHED_PAGES) or says in EXEMPT why not; EXEMPT
    names only endpoints that exist and are not measured."""
    adapter = app.url_map.bind("localhost")
    measured = {
        adapter.match(urlsplit(url(_ANY, 1)).path, method="GET")[0] for _who, url in PAGES + PUBLISHED_PAGES
    }
    pages = {rule.endpoint for rule in app.url_map.iter_rules() if "GET" in rule.methods} - {"static"}
    unmeasured = sorted(pages - measured - EXEMPT.keys())
    assert not unmeasured, f"pages neither in PAGES nor in EXEMPT: {unmeasured}"
    gone = sorted(EXEMPT.keys() - pages)
    assert not gone, f"EXEMPT names endpoints that do not exist: {gone}"
    both = sorted(EXEMPT.keys() & measured)
    assert not both, f"EXEMPT names endpoints that PAGES measures: {both}"


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
