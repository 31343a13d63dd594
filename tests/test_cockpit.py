"""The HR cockpit (app/services/cockpit.py, the cycle dashboard and the cycle list): progress per
phase and per unit, completion over time, the distribution against its curve and overdue by unit,
counted once and agreeing with the HR home and the overdue list."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import clock
from app.models import AuditEvent, Evaluation, OrgUnit
from app.services import cockpit, home
from app.workflow import cycles, evaluations
from app.workflow.distribution import distribution
from tests.conftest import login
from tests.workflow_helpers import START, agency, open_annual, write_skp


def evaluation_of(db, cycle, person) -> Evaluation:
    return db.session.scalar(
        sa.select(Evaluation).where(Evaluation.cycle_id == cycle.id, Evaluation.employee_id == person.id)
    )


def approved(org, cycle, db, who):
    """`who` writes and submits the SKP; the head approves it at once."""
    ev = evaluation_of(db, cycle, org[who])
    write_skp(ev, org[who])
    evaluations.submit_targets(ev, org[who].account)
    evaluations.approve_targets(ev, org["head"].account)
    return ev


def dashboard(client, cycle) -> str:
    response = client.get(f"/cycles/{cycle.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_progress_per_phase_and_unit_and_completion_day_by_day(make, db, client):
    org = agency(make)  # the puskesmas: head, nurse, colleague; the kecamatan: the HR officer
    cycle = open_annual(org)
    clock.advance(timedelta(days=1))
    approved(org, cycle, db, "nurse")
    clock.advance(timedelta(days=2))
    approved(org, cycle, db, "colleague")

    units = {u.name: u for u in cockpit.unit_progress(cycle)}
    assert {name: (u.done, u.total) for name, u in units.items()} == {
        "Kecamatan Rakumpit": (0, 1),
        "Puskesmas Rakumpit": (2, 3),
    }
    [bar] = cockpit.phase_bars(cycle, list(units.values()))
    assert (bar.phase, bar.done, bar.total, bar.percent, bar.current) == ("target_setting", 2, 4, 50, True)
    # The HR home's bar counts the same.
    [progress] = home.for_account(org["hr"].account).cycles
    assert (progress.done, progress.total) == (bar.done, bar.total)

    timeline = cockpit.completion_over_time(cycle, total=4)
    first_day = START.date()
    [approvals] = timeline.series
    assert approvals.points == [(first_day + timedelta(days=1), 1), (first_day + timedelta(days=3), 2)]
    assert timeline.days == [first_day + timedelta(days=1), first_day + timedelta(days=3)]
    assert (timeline.start, timeline.end) == (first_day, first_day + timedelta(days=3))
    assert approvals.at(first_day + timedelta(days=2)) == 1

    login(client, org["hr"].nip)
    html = dashboard(client, cycle)
    phase = html[html.index('id="phase-chart"') :]
    assert "2 dari 4 SKP ditetapkan (50%)" in phase[: phase.index("</figure>")]
    assert 'role="img"' in phase and "<figcaption" in html
    timeline_html = html[html.index('id="timeline-chart"') :]
    timeline_html = timeline_html[: timeline_html.index("</figure>")]
    assert "<title" in timeline_html and 'viewBox="0 0 600 240"' in timeline_html
    # the numbers behind the line, day by day, in a table
    assert re.findall(
        r"<tr><td>(\d+ \w+ \d{4})</td><td class=\"text-end\">(\d+)</td></tr>", timeline_html
    ) == [
        ("6 Jan 2027", "1"),
        ("8 Jan 2027", "2"),
    ]
    units = html[html.index('id="unit-progress"') :]
    row = units[units.index("<td>Puskesmas Rakumpit</td>") :]
    assert "2 dari 3 (66%)" in row[: row.index("</tr>")]


@pytest.mark.postgres_only
def test_an_approval_committed_after_a_later_one_is_still_counted(make, db):
    """Audit ids are taken when a row is written, and transactions commit in any order: a row whose
    id is lower than one the chart has read may appear afterwards. The chart reads the unsettled
    rows again on each view, so it counts that row, and keeps it once it settles."""
    org = agency(make)
    cycle = open_annual(org)
    clock.advance(timedelta(days=1))
    approved(org, cycle, db, "nurse")
    day = clock.now().date()
    [line] = cockpit.completion_over_time(cycle, total=4).series
    assert line.last == 1

    # The head's approval is written in a transaction that has not committed yet: it takes its id.
    head = evaluation_of(db, cycle, org["head"])
    late = db.engine.connect()
    pending = late.begin()
    late.execute(
        sa.insert(AuditEvent).values(
            occurred_at=clock.utcnow(),
            actor_id=org["camat"].account.id,
            action="evaluation.approve_targets",
            object_type="evaluation",
            object_id=str(head.id),
            from_state="targets_submitted",
            to_state="targets_approved",
        )
    )
    try:
        approved(org, cycle, db, "colleague")  # committed first, with a higher id
        for _view in range(2):  # the second view cannot settle the colleague's row: one still runs
            [line] = cockpit.completion_over_time(cycle, total=4).series
            assert line.last == 2
        pending.commit()
    finally:
        late.close()
    [line] = cockpit.completion_over_time(cycle, total=4).series
    assert line.points == [(day, 3)]

    clock.advance(cockpit.SETTLE_AFTER + timedelta(minutes=1))  # all settled: kept, read no more
    for _view in range(2):
        [line] = cockpit.completion_over_time(cycle, total=4).series
        assert line.points == [(day, 3)]
    kept = cockpit._reached[(str(db.engine.url), cycle.id, cycle.opened_at, ("targets_approved",))]
    assert kept.counts == {("targets_approved", day): 3} and not kept.waiting


def test_a_self_assessment_returned_and_sent_again_counts_once_on_its_first_day(make, db):
    org = agency(make)
    cycle = open_annual(org)
    ev = approved(org, cycle, db, "nurse")
    clock.travel_to(cycle.target_deadline + timedelta(days=1))
    cycles.advance(cycle, org["hr"].account)
    db.session.refresh(ev)
    for indicator in ev.indicators:
        evaluations.save_realisation(ev, org["nurse"].account, indicator, "50", None)
    evaluations.submit_assessment(ev, org["nurse"].account)
    first_day = clock.now().date()
    _approvals, assessments = cockpit.completion_over_time(cycle, total=4).series
    assert assessments.points == [(first_day, 1)]
    clock.advance(timedelta(days=2))
    evaluations.return_assessment(ev, org["head"].account, "Lampirkan bukti dukung.")
    evaluations.submit_assessment(ev, org["nurse"].account)
    # The colleague's locked SKP, reopened by a personal extension, is set on that later day.
    locked = evaluation_of(db, cycle, org["colleague"])
    cycles.extend_one(locked, org["hr"].account, clock.now() + timedelta(days=3), "Sakit")
    approved(org, cycle, db, "colleague")

    # read again: only the rows written since are read, and the nurse's second submission is no news
    approvals, assessments = cockpit.completion_over_time(cycle, total=4).series
    assert approvals.points == [(START.date(), 1), (first_day + timedelta(days=2), 2)]
    assert assessments.points == [(first_day, 1)]  # not 2, not on the later day
    bars = cockpit.phase_bars(cycle, cockpit.unit_progress(cycle))
    assert [(b.phase, b.done, b.current) for b in bars] == [
        ("target_setting", 2, False),
        ("self_assessment", 1, True),
    ]
    assert [approvals.last, assessments.last] == [b.done for b in bars]  # the lines end at the bars


def test_overdue_by_unit_adds_up_to_the_overdue_list_and_the_hr_home(make, db, client):
    org = agency(make)
    for i in range(3):
        unit = make.unit(f"Kelurahan {i}", parent=org["kecamatan"])
        for j in range(i + 1):
            make.employee(f"Staf {i}{j}", supervisor=org["camat"], unit=unit, account=False)
    cycle = open_annual(org)
    approved(org, cycle, db, "nurse")
    clock.travel_to(cycle.target_deadline + timedelta(hours=1))

    late = cockpit.overdue_by_unit(cycle, limit=2)
    # puskesmas: head and colleague; kecamatan: HR; kelurahan i: i + 1 staff; most first, then by name
    assert [(b.name, b.count) for b in late.bars] == [
        ("Kelurahan 2", 3),
        ("Kelurahan 1", 2),
        ("3 unit lainnya", 4),
    ]
    assert (late.units, late.total) == (5, 9)
    assert home.for_account(org["hr"].account).cycles[0].late == late.total

    login(client, org["hr"].nip)
    html = dashboard(client, cycle)
    assert f'id="overdue-count">{late.total}</span>' in html
    assert f'id="overdue-chart-total">{late.total}</td>' in html
    chart = html[html.index('id="overdue-chart"') :]
    chart = chart[: chart.index("</figure>")]
    assert "Puskesmas Rakumpit" in chart and "2 pegawai" in chart  # 8 bars fit: every unit by name
    listed = 0
    for number in range(1, 10):
        page = client.get(f"/cycles/{cycle.id}/overdue?page={number}").get_data(as_text=True)
        found = len(re.findall(r"evaluations/\d+/extend\?list=1", page))
        if not found:
            break
        listed += found
    assert listed == late.total

    # A search of the list pages its rows the same way: six "Staf" are late, four to a page.
    client.application.config["PAGE_SIZE"] = 4
    found, counts = [], set()
    for number in (1, 2, 3):
        page = client.get(f"/cycles/{cycle.id}/overdue", query_string={"q": "Staf", "page": number})
        html = page.get_data(as_text=True)
        counts.update(re.findall(r'id="overdue-count">(\d+)</span>', html))
        found.append(re.findall(r">(Staf \d\d)</a>", html))
    assert counts == {"6"}
    assert [len(names) for names in found] == [4, 2, 0]
    listed = [name for names in found for name in names]
    assert sorted(listed) == ["Staf 00", "Staf 10", "Staf 11", "Staf 20", "Staf 21", "Staf 22"]
    assert [name[5] for name in listed] == sorted(name[5] for name in listed)  # unit by unit
    html = client.get(f"/cycles/{cycle.id}/overdue", query_string={"q": "Staf 11"}).get_data(as_text=True)
    row = html[html.index(">Staf 11</a>") :]
    row = row[: row.index("</tr>")]
    assert "Kelurahan 1" in row and org["camat"].name in row and "SKP disusun" in row  # unit, rater, state
    # a page number no list can reach is the first page, not an error
    far = client.get(f"/cycles/{cycle.id}/overdue", query_string={"q": "Staf", "page": "9" * 30})
    assert far.status_code == 200 and ">Staf 00</a>" in far.get_data(as_text=True)

    # A personal extension takes one out of the chart, the list and the home alike.
    cycles.extend_one(
        evaluation_of(db, cycle, org["hr"]), org["hr"].account, clock.now() + timedelta(days=3), "Sakit"
    )
    assert cockpit.overdue_by_unit(cycle).total == 8
    assert home.for_account(org["hr"].account).cycles[0].late == 8
    html = dashboard(client, cycle)
    assert 'id="overdue-count">8</span>' in html
    running = html[html.index('id="extended"') :]
    running = running[: running.index("</section>")]
    assert f"{org['hr'].name}</a> ({org['hr'].unit.name})" in running and "tenggat" in running


def test_the_distribution_chart_shows_each_unit_against_its_band_in_words(make, db, client):
    org = agency(make)
    kelurahan = make.unit("Kelurahan Mungku Baru", parent=org["kecamatan"])
    make.employee("Lurah Mungku Baru", supervisor=org["camat"], unit=kelurahan, account=False)
    cycle = open_annual(org)
    # Everyone rated: the puskesmas all "Baik" (a unit rated "Baik" may have at most 70 % Baik).
    db.session.execute(
        sa.update(Evaluation).where(Evaluation.cycle_id == cycle.id).values(state="reviewed", predikat="baik")
    )
    cycle.state = "supervisor_review"
    db.session.commit()
    puskesmas = db.session.get(OrgUnit, org["puskesmas"].id)
    cycles.set_unit_predikat(cycle, org["hr"].account, puskesmas.id, "baik")
    cycles.set_unit_predikat(cycle, org["hr"].account, org["kecamatan"].id, "istimewa")

    chart = cockpit.curve_chart(distribution(cycle))
    assert (chart.total, chart.judged, chart.off, chart.unset) == (
        3,
        2,
        1,
        1,
    )  # the kelurahan: no org predikat
    off, fine = chart.units
    assert off.unit_name == "Puskesmas Rakumpit" and off.problems  # the unit off the curve first
    baik = next(b for b in off.bands if b.group == "Baik")
    assert (round(baik.share), baik.max_pct, baik.above, baik.ok) == (100, 70, True, False)
    assert all(b.ok for b in fine.bands)

    login(client, org["hr"].nip)
    html = dashboard(client, cycle)
    figure = html[html.index('id="curve-chart"') :]
    figure = figure[: figure.index("</figure>")]
    assert "1 dari 3 unit tidak sesuai kurva." in figure
    assert "1 unit dengan pegawai yang dinilai belum diberi predikat organisasi." in figure
    unit = figure[figure.index('data-unit="Puskesmas Rakumpit"') : figure.index('data-unit="Kecamatan')]
    assert "TIDAK SESUAI KURVA" in unit  # said in words, not only in red
    assert "100% (maksimal 70%):" in figure and "<strong>di atas batas</strong>" in figure
    assert '<td>Puskesmas Rakumpit</td><td>Baik</td><td>Baik</td><td class="text-end">100%</td>' in figure
    # The distribution page counts the same.
    page = client.get(f"/cycles/{cycle.id}/distribution").get_data(as_text=True)
    assert "1 dari 3 unit tidak sesuai kurva." in page


def test_the_cycle_list_says_what_waits_for_hr_and_filters_on_it(make, db, client):
    org = agency(make)
    quiet = open_annual(org)  # nothing late, deadline ahead
    clock.travel_to(START - timedelta(days=400))
    old = cycles.save_cycle(
        None,
        {
            **_data(org, START - timedelta(days=400)),
            "name": "SKP Tahunan 2025",
            "year": 2025,
        },
        org["hr"].account,
    )
    cycles.open_cycle(old, org["hr"].account)
    clock.travel_to(old.target_deadline + timedelta(days=1))  # the old one is late; the new one not yet open
    login(client, org["hr"].nip)

    listing = client.get("/cycles/").get_data(as_text=True)
    old_row = listing[listing.index(f'data-cycle="{old.id}"') :]
    old_row = old_row[: old_row.index("</tr>")]
    late = cockpit.overdue_by_unit(old).total
    assert late == 4
    assert f"{late} pegawai lewat tenggat" in old_row
    assert "tenggat tahap lewat: lanjutkan ke tahap berikutnya" in old_row
    assert f'href="/cycles/{old.id}/overdue"' in old_row
    quiet_row = listing[listing.index(f'data-cycle="{quiet.id}"') :]
    assert "tidak ada" in quiet_row[: quiet_row.index("</tr>")]

    waiting = client.get("/cycles/?perlu=1").get_data(as_text=True)
    assert f'data-cycle="{old.id}"' in waiting and f'data-cycle="{quiet.id}"' not in waiting
    assert 'aria-current="page" href="/cycles/?perlu=1"' in waiting


def _data(org, start):
    from tests.workflow_helpers import cycle_data

    return cycle_data([org["kecamatan"]], start)


def unit_rows(html: str) -> list[str]:
    """The unit names of the dashboard's progress table, in order."""
    start = html.index('id="unit-progress"')
    table = html[start : html.index("</table>", start)]
    return re.findall(r"<tr><td>([^<]+)</td>", table)


def test_a_large_agency_sees_the_units_furthest_behind_first_and_can_list_them_all(
    make, db, client, monkeypatch
):
    from app.views import cycles as views

    org = agency(make)  # the kecamatan: 1 evaluation; the puskesmas: 3
    cycle = open_annual(org)
    login(client, org["hr"].nip)
    assert unit_rows(dashboard(client, cycle)) == ["Kecamatan Rakumpit", "Puskesmas Rakumpit"]
    assert 'id="unit-progress-shown"' not in dashboard(client, cycle)  # few units: all, no note

    monkeypatch.setattr(views, "DASHBOARD_UNITS", 1)
    # Nobody done yet: the unit with the most still to do is the furthest behind.
    html = dashboard(client, cycle)
    assert unit_rows(html) == ["Puskesmas Rakumpit"]
    assert "1 unit dengan kemajuan terendah pada tahap ini, dari 2 unit." in html
    assert f'href="/cycles/{cycle.id}?unit=semua#unit-progress"' in html

    approved(org, cycle, db, "nurse")
    approved(org, cycle, db, "colleague")
    # 2 of 3 in the puskesmas, 0 of 1 in the kecamatan: the lowest share done comes first.
    assert unit_rows(dashboard(client, cycle)) == ["Kecamatan Rakumpit"]
    everything = client.get(f"/cycles/{cycle.id}?unit=semua").get_data(as_text=True)
    assert unit_rows(everything) == ["Kecamatan Rakumpit", "Puskesmas Rakumpit"]  # by name
    assert "Semua 2 unit, menurut nama." in everything
    assert f'href="/cycles/{cycle.id}#unit-progress"' in everything
    # The phase bars and the confirmations still count every unit, not the ones listed.
    assert "2 dari 4 SKP ditetapkan (50%)" in dashboard(client, cycle)
