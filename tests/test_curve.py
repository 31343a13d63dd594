"""HR edits the kurva distribusi: rules checked, audited, and kept per version, so a published
cycle is still read against the rules it was published under."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import clock
from app.domain import OrgPredikat, Predikat
from app.models import AuditEvent, DistributionBand, Role, UnitPredikat
from app.services import Conflict, Refused, curve
from app.workflow import cycles
from app.workflow.distribution import distribution
from tests.conftest import login, post_form
from tests.test_workflow_services import World
from tests.workflow_helpers import settle_the_rest

SB, B, BP, K, SK = Predikat


def rule(group, low=None, high=None) -> curve.Rule:
    return curve.Rule(tuple(group), low, high)


def current(org: OrgPredikat) -> list[str]:
    return [curve.Rule.of(band).sentence() for band in curve.bands_for().get(org, [])]


# ---- the rules, checked ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rules", "field", "message"),
    [
        ([rule([], None, 70)], "rules-0-group", "Pilih paling sedikit satu predikat"),
        ([rule([SB], None, 120)], "rules-0-max_pct", "0 sampai 100"),
        ([rule([SB], -1, None)], "rules-0-min_pct", "0 sampai 100"),
        ([rule([SB])], "rules-0-min_pct", "Isi batas paling sedikit, paling banyak"),
        ([rule([SB], 50, 40)], "rules-0-max_pct", "tidak boleh lebih kecil"),
        ([rule([SB], None, 10), None, rule([SB], 5, None)], "rules-2-group", "sudah diatur di baris 1"),
        ([rule([BP], 30, None), rule([BP, K], None, 20)], "rules-0-min_pct", "Bertentangan: Butuh Perbaikan"),
        ([rule([B], 60, None), rule([BP, K], 50, None)], "", "berjumlah 110%, lebih dari 100%"),
        ([rule([SB, B], None, 40), rule([BP, K, SK], None, 50)], "", "hanya berjumlah 90%"),
        ([rule(list(Predikat), 10, None)], "", "mencakup semua predikat"),
    ],
)
def test_rules_that_cannot_stand_are_refused_with_the_reason_beside_the_field(app, rules, field, message):
    errors = curve.problems(rules)
    assert message in errors[field]


def test_a_satisfiable_curve_passes_and_blank_rows_are_skipped(app):
    assert curve.problems([None, rule([B], None, 70), None, rule([BP, K], 1, None), rule([SB], 0, 10)]) == {}


def test_the_default_curve_has_the_rule_for_units_rated_baik(app):
    assert current(OrgPredikat.BAIK) == [
        "Baik paling banyak 70%",
        "Butuh Perbaikan + Kurang/Misconduct paling sedikit 1%",
    ]


# ---- saving: versioned, audited ----------------------------------------------------------------


def test_saving_retires_the_old_rules_adds_the_new_and_audits_both(app, db, hr):
    account = hr.account
    before = curve.bands_for()[OrgPredikat.ISTIMEWA]
    curve.save(
        OrgPredikat.ISTIMEWA,
        [rule([SB], None, 60), rule([BP, K, SK], 5, None)],
        "Keputusan Wali Kota tentang kurva 2027",
        account,
        expected_version=curve.version_of(before),
    )
    assert current(OrgPredikat.ISTIMEWA) == [
        "Sangat Baik paling banyak 60%",
        "Butuh Perbaikan + Kurang/Misconduct + Sangat Kurang paling sedikit 5%",
    ]
    old = db.session.get(DistributionBand, before[0].id)
    assert old.retired_at is not None and old.max_pct == 70  # kept, not changed
    [event] = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "curve.changed")).all()
    assert (event.actor_id, event.comment) == (account.id, "Keputusan Wali Kota tentang kurva 2027")
    assert event.data["before"] == ["Sangat Baik paling banyak 70%"]
    assert event.data["after"][0] == "Sangat Baik paling banyak 60%"


def test_saving_needs_a_reason_a_change_and_the_version_the_form_showed(app, db, hr):
    bands = curve.bands_for()[OrgPredikat.ISTIMEWA]
    version = curve.version_of(bands)
    with pytest.raises(Refused) as refused:
        curve.save(OrgPredikat.ISTIMEWA, [rule([SB], None, 60)], "ok", hr.account, expected_version=version)
    assert "alasan" in refused.value.errors["reason"]
    with pytest.raises(Refused, match="Tidak ada yang berubah"):
        curve.save(
            OrgPredikat.ISTIMEWA,
            [rule([SB], None, 70)],
            "Tanpa perubahan nyata",
            hr.account,
            expected_version=version,
        )
    curve.save(
        OrgPredikat.ISTIMEWA,
        [rule([SB], None, 60)],
        "Perubahan pertama hari ini",
        hr.account,
        expected_version=version,
    )
    with pytest.raises(Conflict):  # a second officer still holding the page of before
        curve.save(
            OrgPredikat.ISTIMEWA,
            [rule([SB], None, 50)],
            "Perubahan kedua dari halaman lama",
            hr.account,
            expected_version=version,
        )
    assert current(OrgPredikat.ISTIMEWA) == ["Sangat Baik paling banyak 60%"]


def test_a_published_cycle_keeps_the_rules_it_was_published_under(app, db, make):
    w = World(make)
    cycle, org, hr = w.cycle, w.org, w.acc("hr")
    db.session.add(
        UnitPredikat(cycle_id=cycle.id, unit_id=org["puskesmas"].id, org_predikat=OrgPredikat.ISTIMEWA)
    )
    db.session.commit()
    ev = w.reviewed("above", "above")
    cycles.advance(cycle, hr)
    cycles.advance(cycle, hr)
    clock.travel_to(ev.appeal_until + timedelta(days=1))
    # 100 % Sangat Baik in a unit rated Istimewa breaks "at most 70 %": published with a reason
    settle_the_rest(cycle, hr)
    cycles.publish(cycle, hr, "names", "Unit ini berprestasi luar biasa tahun ini.")
    [unit] = [u for u in distribution(cycle) if u.unit_id == org["puskesmas"].id]
    published_problems = list(unit.problems)

    clock.advance(timedelta(days=1))
    bands = curve.bands_for()[OrgPredikat.ISTIMEWA]
    curve.save(
        OrgPredikat.ISTIMEWA,
        [rule([SB], None, 90)],
        "Batas baru untuk tahun berikutnya",
        hr,
        expected_version=curve.version_of(bands),
    )
    [unit] = [u for u in distribution(cycle) if u.unit_id == org["puskesmas"].id]
    assert unit.problems == published_problems
    assert any("maksimal 70%" in problem for problem in unit.problems)


# ---- through the pages -------------------------------------------------------------------------


def form_of(page: str) -> dict:
    """The edit form's fields as the browser would send them untouched."""
    data = {}
    for name, value in re.findall(r'name="(rules-\d+-(?:min|max)_pct|version)"[^>]*?value="([^"]*)"', page):
        data[name] = value
    for name, value in re.findall(r'checked[^>]*name="(rules-\d+-group)"[^>]*value="([^"]*)"', page):
        data.setdefault(name, []).append(value)
    for name, value in re.findall(r'name="(rules-\d+-group)"[^>]*value="([^"]*)"[^>]*checked', page):
        data.setdefault(name, []).append(value)
    return data


def test_hr_changes_a_curve_through_the_form_and_sees_it_with_its_history(client, db, hr):
    login(client, hr.nip)
    index = client.get("/kurva/").get_data(as_text=True)
    assert "Butuh Perbaikan + Kurang/Misconduct paling sedikit 1%" in index
    assert "Belum pernah diubah" in index
    page = client.get("/kurva/istimewa").get_data(as_text=True)
    data = form_of(page)
    assert data["rules-0-group"] == ["sangat_baik"] and data["rules-0-max_pct"] == "70"
    data.update(
        {"rules-0-max_pct": "65", "rules-1-group": ["kurang", "sangat_kurang"], "rules-1-min_pct": "2"}
    )
    data["reason"] = "Surat edaran BKPSDM nomor 800/12"
    response = post_form(client, "/kurva/istimewa", data, token_from="/kurva/istimewa")
    assert response.status_code == 302
    index = client.get("/kurva/").get_data(as_text=True)
    assert "Sangat Baik paling banyak 65%" in index
    assert "Kurang/Misconduct + Sangat Kurang paling sedikit 2%" in index
    assert "Surat edaran BKPSDM nomor 800/12" in index and hr.name in index


def test_a_refused_curve_keeps_what_was_typed_and_says_why_beside_the_field(client, db, hr):
    login(client, hr.nip)
    data = form_of(client.get("/kurva/baik").get_data(as_text=True))
    data.update(
        {"rules-0-min_pct": "80", "rules-0-max_pct": "70", "rules-1-min_pct": "abc", "reason": "Coba"}
    )
    response = post_form(client, "/kurva/baik", data, token_from="/kurva/baik")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'value="80"' in page and 'value="abc"' in page and "Coba" in page
    assert "Isi dengan bilangan bulat" in page
    assert 'id="rules-1-min_pct-fout"' in page
    assert current(OrgPredikat.BAIK) == [
        "Baik paling banyak 70%",
        "Butuh Perbaikan + Kurang/Misconduct paling sedikit 1%",
    ]
    data["rules-1-min_pct"] = "1"
    page = post_form(client, "/kurva/baik", data, token_from="/kurva/baik").get_data(as_text=True)
    assert "tidak boleh lebih kecil" in page and 'id="rules-0-max_pct-fout"' in page
    assert "paling sedikit 10 karakter" in page


def test_a_curve_changed_meanwhile_is_not_overwritten(client, db, hr):
    login(client, hr.nip)
    stale = form_of(client.get("/kurva/istimewa").get_data(as_text=True))
    bands = curve.bands_for()[OrgPredikat.ISTIMEWA]
    curve.save(
        OrgPredikat.ISTIMEWA,
        [rule([SB], None, 60)],
        "Perubahan oleh petugas lain",
        hr.account,
        expected_version=curve.version_of(bands),
    )
    stale.update({"rules-0-max_pct": "50", "reason": "Perubahan dari halaman lama"})
    response = post_form(client, "/kurva/istimewa", stale, token_from="/kurva/istimewa")
    assert response.status_code == 409
    assert "sudah diubah orang lain" in response.get_data(as_text=True)
    assert current(OrgPredikat.ISTIMEWA) == ["Sangat Baik paling banyak 60%"]


def test_only_hr_sees_or_edits_the_curve(client, make):
    staff = make.employee("Staf Biasa", roles={Role.EMPLOYEE})
    login(client, staff.nip)
    assert client.get("/kurva/").status_code == 403
    assert client.get("/kurva/baik").status_code == 403
    assert post_form(client, "/kurva/baik", {"reason": "x" * 20}).status_code in (400, 403)
    assert current(OrgPredikat.BAIK)[0] == "Baik paling banyak 70%"
