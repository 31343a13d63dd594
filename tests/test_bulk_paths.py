"""The set-based paths a large agency relies on: shared email bodies, coverage in SQL, audit pages."""

import re

import sqlalchemy as sa

from app import clock
from app.domain import OrgPredikat
from app.models import AuditEvent, Evaluation, MessageState, OrgUnit, OutboxBody, OutboxMessage, Role
from app.notify import notify_many
from app.notify.relay import relay
from app.workflow import cycles
from tests.conftest import login
from tests.workflow_helpers import START, agency, cycle_data, settle_the_rest


def test_a_phase_announcement_stores_one_body_and_sends_each_person_their_name(app, db, make, smtp_server):
    unit = make.unit("Kelurahan Pager")
    people = [
        make.employee("Siti Nurhaliza", unit=unit),
        make.employee("Budi <Santoso> & 'Putra'", unit=unit),
        make.employee("Pensiunan", unit=unit),
    ]
    people[2].active = False
    db.session.commit()
    bodies_before = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxBody))

    count = notify_many(
        "results_published",
        sa.select(sa.literal_column(str(people[0].id))).union_all(
            sa.select(sa.literal_column(str(people[1].id))), sa.select(sa.literal_column(str(people[2].id)))
        ),
        "test-announce",
        cycle=type("C", (), {"name": "SKP 2027", "id": 9})(),
    )
    db.session.commit()

    assert count == 2  # the inactive employee is not written to
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxBody)) == bodies_before + 1
    rows = db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.recipient_id)).all()
    assert [(r.key, r.to_address) for r in rows] == [
        (f"test-announce:{people[0].id}", people[0].email),
        (f"test-announce:{people[1].id}", people[1].email),
    ]
    assert len({r.body_id for r in rows}) == 1
    assert "Siti Nurhaliza" in rows[0].body_text and "\x1f" not in rows[0].body_text
    assert "Budi &lt;Santoso&gt; &amp; &#39;Putra&#39;" in rows[1].body_html

    assert relay().sent == 2
    got = {to[0]: message for to, message in smtp_server.messages}
    siti = got[people[0].email]
    assert "Siti Nurhaliza" in siti.get_body(preferencelist=("plain",)).get_content()
    budi = got[people[1].email]
    assert "Budi <Santoso> & 'Putra'" in budi.get_body(preferencelist=("plain",)).get_content()
    assert "Budi &lt;Santoso&gt;" in budi.get_body(preferencelist=("html",)).get_content()
    assert all(r.state == MessageState.SENT for r in db.session.scalars(sa.select(OutboxMessage)))


def test_the_outbox_page_shows_a_shared_message_with_the_recipients_name(app, db, make, client, hr):
    org = agency(make)
    clock.travel_to(START)
    cycle = cycles.save_cycle(None, cycle_data([org["kecamatan"]]), org["hr"].account)
    cycles.open_cycle(cycle, org["hr"].account)
    message = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.recipient_id == org["nurse"].id))
    admin = make.employee("Admin Sistem", roles={Role.EMPLOYEE, Role.ADMIN})
    login(client, admin.nip)
    page = client.get(f"/admin/outbox/{message.id}").get_data(as_text=True)
    assert "Perawat Debora" in page and "\x1f" not in page


def test_opening_in_sql_covers_exactly_whom_the_preview_lists(app, db, make):
    org = agency(make)
    orphan = make.employee("Tanpa Atasan", unit=org["puskesmas"])
    leaver = make.employee("Atasan Pensiun", supervisor=org["camat"], unit=org["puskesmas"])
    under_leaver = make.employee("Staf Atasan Pensiun", supervisor=leaver, unit=org["puskesmas"])
    leaver.active = False
    outside = make.employee("Di Luar Cakupan", supervisor=org["camat"], unit=make.unit("Dinas Lain"))
    db.session.commit()
    clock.travel_to(START)
    cycle = cycles.save_cycle(None, cycle_data([org["kecamatan"]]), org["hr"].account)

    preview = cycles.coverage(cycle)
    expected = {(r.id, r.rater_id, r.handler_id, r.unit_id) for r in preview.covered}
    assert set(db.session.execute(cycles.covered_rows(cycle)).tuples()) == expected
    left_out = {row.id for row, _reason in preview.left_out}
    assert {orphan.id, under_leaver.id, org["camat"].id} <= left_out
    assert outside.id not in {r[0] for r in expected} | left_out

    assert cycles.open_cycle(cycle, org["hr"].account) == len(expected)
    created = set(
        db.session.execute(
            sa.select(
                Evaluation.employee_id, Evaluation.rater_id, Evaluation.appeal_handler_id, Evaluation.unit_id
            ).where(Evaluation.cycle_id == cycle.id)
        ).tuples()
    )
    assert created == expected


def test_a_periodic_cycle_in_sql_covers_only_approved_annual_targets(app, db, make):
    org = agency(make)
    clock.travel_to(START)
    annual = cycles.save_cycle(None, cycle_data([org["kecamatan"]]), org["hr"].account)
    cycles.open_cycle(annual, org["hr"].account)
    nurse_eval = db.session.scalar(
        sa.select(Evaluation).where(
            Evaluation.cycle_id == annual.id, Evaluation.employee_id == org["nurse"].id
        )
    )
    nurse_eval.state = "targets_approved"
    db.session.commit()
    cycles.advance(annual, org["hr"].account)  # the others' targets are locked, not approved
    quarterly = cycles.save_cycle(
        None,
        cycle_data(
            [org["kecamatan"]], name="Triwulan I", kind="quarterly", period=1, annual_cycle_id=annual.id
        ),
        org["hr"].account,
    )
    preview = {r.id for r in cycles.coverage(quarterly).covered}
    assert preview == {org["nurse"].id}
    assert {r[0] for r in db.session.execute(cycles.covered_rows(quarterly))} == preview


def _events(db, account_id, n):
    now = clock.utcnow()
    db.session.execute(
        sa.insert(AuditEvent),
        [
            {"occurred_at": now, "actor_id": account_id, "action": "people.updated", "object_id": str(i)}
            for i in range(n)
        ],
    )
    db.session.commit()


ROW = re.compile(r'<tr>\s*<td class="text-nowrap">.*?</td><td>(.*?)</td><td>.*?</td>\s*<td>(.*?)</td>', re.S)


def _rows(html: str) -> list[tuple[str, str]]:
    """(actor, record) of each row shown."""
    return [(actor, record.strip()) for actor, record in ROW.findall(html)]


def test_the_audit_log_pages_back_by_id_without_counting(app, db, make, client, hr):
    per_page = app.config["PAGE_SIZE"] * 2
    other = make.employee("Operator Lain")
    _events(db, other.account.id, 3)
    _events(db, hr.account.id, per_page + 5)
    login(client, hr.nip)

    first = client.get("/audit/?who=Petugas+Kepegawaian&action=people.updated").get_data(as_text=True)
    assert len(_rows(first)) == per_page
    assert "&laquo; Terbaru" in first and 'href="#">&laquo; Terbaru' in first  # already the newest
    older = re.search(r'href="(/audit/\?[^"]*before=\d+[^"]*)">Lebih lama', first)
    assert older, "a link to older entries"
    link = older.group(1).replace("&amp;", "&")
    assert "who=Petugas" in link and "action=people.updated" in link  # the filters are kept

    second = client.get(link).get_data(as_text=True)
    assert len(_rows(second)) == 5
    assert 'href="#">Lebih lama' in second  # nothing older
    records = [record for _actor, record in _rows(first) + _rows(second)]
    assert sorted(records, key=int) == [str(i) for i in range(per_page + 5)]  # each once, none lost
    assert records == sorted(records, key=int, reverse=True)  # newest first across pages
    assert all(actor == "Petugas Kepegawaian" for actor, _r in _rows(first) + _rows(second))

    # A hand-typed, broken cursor shows the newest page, not an error.
    assert len(_rows(client.get("/audit/?before=abc").get_data(as_text=True))) == per_page


def test_the_dashboard_shows_the_first_overdue_and_a_page_lists_them_all(app, db, make, client):
    from datetime import timedelta

    from app.views.cycles import OVERDUE_ON_DASHBOARD

    org = agency(make)
    staff = [
        make.employee(f"Staf {i:02d}", supervisor=org["head"], unit=org["puskesmas"], account=False)
        for i in range(OVERDUE_ON_DASHBOARD + 10)
    ]
    clock.travel_to(START)
    cycle = cycles.save_cycle(None, cycle_data([org["kecamatan"]]), org["hr"].account)
    cycles.open_cycle(cycle, org["hr"].account)
    clock.travel_to(cycle.target_deadline + timedelta(hours=1))  # nobody submitted: all late
    late_count = db.session.scalar(
        sa.select(sa.func.count()).select_from(Evaluation).where(Evaluation.cycle_id == cycle.id)
    )
    assert late_count > OVERDUE_ON_DASHBOARD
    login(client, org["hr"].nip)

    dashboard = client.get(f"/cycles/{cycle.id}").get_data(as_text=True)
    section = dashboard[dashboard.index('id="overdue"') :]
    assert f'id="overdue-count">{late_count}</span>' in section  # the same number as the list's
    assert len(re.findall(r'evaluations/\d+/extend"', section)) == OVERDUE_ON_DASHBOARD
    assert f'href="/cycles/{cycle.id}/overdue"' in section

    names = set()
    per_page = app.config["PAGE_SIZE"]
    for number in range(1, (late_count + per_page - 1) // per_page + 1):
        page = client.get(f"/cycles/{cycle.id}/overdue?page={number}").get_data(as_text=True)
        assert f'id="overdue-count">{late_count}</span>' in page  # the true total, not a capped count
        names.update(re.findall(r">(Staf \d\d)</a>", page))
    assert names == {s.name for s in staff}  # everyone once across the pages
    assert client.get(f"/cycles/{cycle.id}/overdue?page=999").status_code == 200
    assert client.get(f"/cycles/{cycle.id}/overdue?page=x").status_code == 200
    outsider = app.test_client()
    login(outsider, org["nurse"].nip)
    assert outsider.get(f"/cycles/{cycle.id}/overdue").status_code == 403


def test_the_distribution_page_pages_through_units_and_finds_those_off_the_curve(app, db, make, client):
    from app.views.cycles import DISTRIBUTION_UNITS_PER_PAGE

    org = agency(make)
    extra = DISTRIBUTION_UNITS_PER_PAGE + 5
    for i in range(extra):
        unit = make.unit(f"Seksi {i:03d}", parent=org["kecamatan"])
        make.employee(f"Staf Seksi {i:03d}", supervisor=org["camat"], unit=unit, account=False)
    clock.travel_to(START)
    cycle = cycles.save_cycle(None, cycle_data([org["kecamatan"]]), org["hr"].account)
    cycles.open_cycle(cycle, org["hr"].account)
    db.session.execute(
        sa.update(Evaluation).where(Evaluation.cycle_id == cycle.id).values(state="reviewed", predikat="baik")
    )
    db.session.commit()
    # A unit rated "baik" as an organisation may have at most 70 % Baik: one all "baik" breaks it.
    off = db.session.scalar(sa.select(OrgUnit).where(OrgUnit.name == "Seksi 052"))
    cycles.set_unit_predikat(cycle, org["hr"].account, off.id, "baik")
    login(client, org["hr"].nip)
    url = f"/cycles/{cycle.id}/distribution"

    def units_on(html: str) -> list[str]:
        return re.findall(r"<tr class=\"[^\"]*\">\s*<td>([^<]+)</td>", html)

    first = client.get(url).get_data(as_text=True)
    second = client.get(url + "?page=2").get_data(as_text=True)
    total = extra + 2  # the kecamatan and the puskesmas have evaluations too
    assert len(units_on(first)) == DISTRIBUTION_UNITS_PER_PAGE
    assert len(units_on(second)) == total - DISTRIBUTION_UNITS_PER_PAGE
    assert sorted(units_on(first) + units_on(second)) == units_on(first) + units_on(second)  # by name
    assert f"1 dari {total} unit tidak sesuai kurva." in first

    only = client.get(url + "?tidak_sesuai=1").get_data(as_text=True)
    assert units_on(only) == ["Seksi 052"]

    # Setting a unit's predikat from page 2 comes back to page 2.
    unit = db.session.scalar(sa.select(OrgUnit).where(OrgUnit.name == units_on(second)[-1]))
    token = re.search(r'name="csrf_token" value="([^"]+)"', second).group(1)
    response = client.post(
        url + "?page=2", data={"csrf_token": token, "unit_id": unit.id, "org_predikat": "baik"}
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("?page=2")
    # Each row's select shows the unit's own org predikat chosen, and only that one.
    again = client.get(url + "?page=2").get_data(as_text=True)
    rows = dict(re.findall(r"<tr class=\"[^\"]*\">\s*<td>([^<]+)</td>(.*?)</tr>", again, re.S))
    assert re.findall(r'value="(\w*)" selected', rows[unit.name]) == ["baik"]
    assert re.findall(r'value="(\w*)" selected', rows[units_on(second)[0]]) == []
    assert rows[unit.name].count("<option") == len(OrgPredikat) + 1  # and "belum ditetapkan"


def test_an_audit_search_matching_too_many_people_says_so(app, db, make, client, hr):
    from app.views.audit_log import MAX_PEOPLE

    unit, position = make.unit(), make.position()
    many = [make.employee(f"Staf Umum {i:02d}", unit=unit, position=position) for i in range(MAX_PEOPLE + 1)]
    for person in many[:3]:
        _events(db, person.account.id, 1)
    login(client, hr.nip)
    page = client.get("/audit/?who=staf+umum").get_data(as_text=True)
    assert f"Lebih dari {MAX_PEOPLE} orang cocok" in page
    one = client.get("/audit/?who=Staf+Umum+01").get_data(as_text=True)
    assert "orang cocok" not in one and [actor for actor, _r in _rows(one)] == ["Staf Umum 01"]
    nobody = client.get("/audit/?who=tidak+ada+orang+ini").get_data(as_text=True)
    assert _rows(nobody) == [] and "Tidak ada catatan yang cocok." in nobody


def test_the_results_board_pages_through_every_published_name_by_unit(app, db, make, client):
    from app.models import Cycle, PublicationMode

    org = agency(make)
    for i in range(9):
        make.employee(f"Staf Hasil {i}", supervisor=org["head"], unit=org["puskesmas"], account=False)
    clock.travel_to(START)
    cycle = cycles.save_cycle(None, cycle_data([org["kecamatan"]]), org["hr"].account)
    cycles.open_cycle(cycle, org["hr"].account)
    cycle = db.session.get(Cycle, cycle.id)
    cycle.state, cycle.publication_mode = "published", PublicationMode.NAMES
    db.session.execute(
        sa.update(Evaluation)
        .where(Evaluation.cycle_id == cycle.id)
        .values(state="published", predikat="baik")
    )
    db.session.commit()
    expected = [
        name
        for (name,) in db.session.execute(
            sa.select(sa.literal_column("employee.name"))
            .select_from(Evaluation)
            .join(Evaluation.employee)
            .where(Evaluation.cycle_id == cycle.id)
            .order_by(Evaluation.unit_id, Evaluation.id)
        )
    ]
    app.config["PAGE_SIZE"] = 1  # four names a page
    login(client, org["nurse"].nip)
    shown = []
    for number in range(1, (len(expected) + 3) // 4 + 1):
        page = client.get(f"/results/{cycle.id}?page={number}").get_data(as_text=True)
        # the predikat in a badge of its meaning's colour (Baik: positive)
        shown += re.findall(
            r"<tr><td>([^<]+)</td><td>[^<]+</td>"
            r'<td><span class="badge text-bg-success">Baik</span></td></tr>',
            page,
        )
    assert shown == expected and len(expected) > 8


def test_the_board_shows_the_totals_as_announced_at_publication(app, db, make, client):
    from datetime import timedelta

    from app.models import Cycle

    org = agency(make)
    clock.travel_to(START)
    cycle = cycles.save_cycle(None, cycle_data([org["kecamatan"]]), org["hr"].account)
    cycles.open_cycle(cycle, org["hr"].account)
    # Everyone reviewed "baik" except the nurse, who stays unrated; the appeal phase is over.
    db.session.execute(
        sa.update(Evaluation)
        .where(Evaluation.cycle_id == cycle.id, Evaluation.employee_id != org["nurse"].id)
        .values(state="reviewed", predikat="baik", appeal_until=START)
    )
    db.session.execute(sa.update(Cycle).where(Cycle.id == cycle.id).values(state="appeal"))
    db.session.commit()
    clock.travel_to(START + timedelta(days=120))
    cycle = db.session.get(Cycle, cycle.id)
    settle_the_rest(cycle, org["hr"].account)
    cycles.publish(cycle, org["hr"].account, "names")

    rated = db.session.scalar(
        sa.select(sa.func.count()).where(Evaluation.cycle_id == cycle.id, Evaluation.state == "published")
    )
    assert cycle.published_totals["names"] == rated > 0
    totals = {name: counts["baik"] for _id, name, counts, *_settled in cycle.published_totals["units"]}
    assert sum(totals.values()) == rated

    # Whatever happens to the rows afterwards, the board says what was announced.
    db.session.execute(sa.update(Evaluation).where(Evaluation.cycle_id == cycle.id).values(predikat="kurang"))
    db.session.commit()
    login(client, org["nurse"].nip)
    board = client.get(f"/results/{cycle.id}").get_data(as_text=True)
    totals_table = board[board.index('id="totals"') : board.index("</table>", board.index('id="totals"'))]
    for name, baik in totals.items():
        assert re.search(rf"<td>{re.escape(name)}</td><td>0</td><td>{baik}</td>", totals_table), name
    names_table = board[board.index('id="names"') :]
    assert "Perawat Rabiatul" in names_table and "Perawat Debora" not in names_table  # she was unrated
