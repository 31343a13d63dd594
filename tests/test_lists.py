"""The SKP list (/evaluations/) and the team page (/people/team) read as plain rows: what each row
shows, and that "perlu tindakan saya" is exactly what the task conditions (app/services/tasks.py)
select for the person signed in."""

import re
from datetime import timedelta

import sqlalchemy as sa

from app.models import Cycle, Evaluation
from app.services import tasks
from app.workflow import cycles, evaluations
from tests.conftest import login
from tests.test_home_tasks import evaluation_of, page, reviewed, signed_in, submitted, text
from tests.workflow_helpers import agency, open_annual


def shown(app, moment) -> str:
    """A moment as the pages print it (local time, WIB)."""
    return app.jinja_env.filters["localtime"](moment)


def waiting_for(db, person) -> set[int]:
    """The evaluations the task conditions say wait for `person`, over the whole database."""
    return set(
        db.session.scalars(
            sa.select(Evaluation.id)
            .join(Cycle, Cycle.id == Evaluation.cycle_id)
            .where(tasks.needs_action(person.account))
        )
    )


def listed_waiting(client) -> set[int]:
    """The evaluations "Perlu tindakan saya" lists."""
    return {int(i) for i in re.findall(r'href="/evaluations/(\d+)', page(client, "/evaluations/?perlu=1"))}


def test_perlu_tindakan_saya_on_the_list_is_what_the_task_conditions_select(app, make, db, client):
    org = agency(make)
    cycle = open_annual(org)
    people = ("nurse", "colleague", "head", "camat", "hr")
    clients = {who: signed_in(app, org[who].nip) for who in people}

    def check():
        for who in people:
            assert listed_waiting(clients[who]) == waiting_for(db, org[who]), who

    check()  # everyone writes their SKP
    submitted(org, cycle, db, who="colleague")
    check()  # the head approves the colleague's SKP
    ev = reviewed(org, cycle, db)
    evaluations.file_appeal(ev, org["nurse"].account, "Realisasi saya melampaui target.")
    check()  # the camat decides the keberatan
    evaluations.appeal_comment(ev, org["camat"].account, "Mohon penjelasan.", addressed_to="employee")
    check()  # the nurse is asked for an explanation
    assert ev.id in waiting_for(db, org["nurse"]) and ev.id in waiting_for(db, org["camat"])


def test_the_list_shows_a_personal_extension_as_the_deadline(app, make, db, client):
    org = agency(make)
    cycle = open_annual(org)
    colleague = evaluation_of(db, cycle, org["colleague"])
    until = cycle.target_deadline + timedelta(days=3)
    cycles.extend_one(colleague, org["hr"].account, until, "Sakit")
    login(client, org["head"].nip)
    team = page(client, "/evaluations/")
    team = team[team.index('id="team-evaluations"') :]
    rows = {name: row for row in team.split("<tr")[2:] for name in ("Debora", "Rabiatul") if name in row}
    assert shown(app, until) in rows["Rabiatul"] and shown(app, cycle.target_deadline) not in rows["Rabiatul"]
    assert shown(app, cycle.target_deadline) in rows["Debora"]
    own = page(signed_in(app, org["colleague"].nip), "/evaluations/")
    assert shown(app, until) in own[own.index('id="my-evaluations"') :]


def test_the_appeals_inbox_names_the_employee_the_rater_and_the_decision_date(app, make, db, client):
    org = agency(make)
    cycle = open_annual(org)
    ev = reviewed(org, cycle, db)
    evaluations.file_appeal(ev, org["nurse"].account, "Realisasi saya melampaui target.")
    login(client, org["camat"].nip)
    html = page(client, "/evaluations/")
    inbox = text(html[html.index('id="appeal-inbox"') : html.index('id="my-evaluations"')])
    assert f"Perawat Debora Kepala Puskesmas SKP Tahunan 2027 {shown(app, ev.appeal.decide_by)}" in inbox
    assert f'href="/evaluations/{ev.id}#keberatan"' in html
    assert 'id="appeal-inbox"' not in page(signed_in(app, org["head"].nip), "/evaluations/")


def test_the_team_page_shows_each_members_position_and_unit(app, make, db, client):
    org = agency(make)
    open_annual(org)
    login(client, org["head"].nip)
    html = page(client, "/people/team")
    rows = text(html[html.index('id="team"') :])
    for who in ("nurse", "colleague"):
        person = org[who]
        assert f"{person.name} {person.nip} {person.position.name} {person.unit.name}" in rows
    assert text(html).count("tidak menunggu Anda") == 2


def test_the_list_and_the_team_page_read_their_rows_in_one_statement(app, make, db, client):
    """Beyond what every page reads for the person signed in, whatever the team's size or state."""
    from tests.test_query_counts import count_queries

    org = agency(make)
    cycle = open_annual(org)
    submitted(org, cycle, db, who="colleague")
    ev = reviewed(org, cycle, db)
    evaluations.file_appeal(ev, org["nurse"].account, "Realisasi saya melampaui target.")
    for who in ("head", "camat"):
        person = signed_in(app, org[who].nip)
        counts = []
        for url in ("/account/password", "/evaluations/", "/evaluations/?perlu=1", "/people/team"):
            page(person, url)
            with count_queries(app) as statements:
                page(person, url)
            counts.append(len(statements))
        base = counts[0]
        assert counts[1:] == [base + 1] * 3, (who, counts)
