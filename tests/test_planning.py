"""Planning helpers through the services: copying last period's approved SKP into a new draft,
RHK templates per position published by HR or a unit head, starting a draft from them, and the
cascade links to the rater's current RHK that both keep."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import clock
from app.domain import Aspect, Comparator
from app.extensions import db as _db
from app.models import (
    AuditEvent,
    Evaluation,
    Indicator,
    ProgressRule,
    RhkTemplate,
)
from app.policy import Action, can, headed_unit_ids
from app.services import Conflict, Refused
from app.workflow import cycles, evaluations, planning, set_aside
from tests.workflow_helpers import START, agency, cycle_data, open_annual

NEXT_YEAR = START.replace(year=2028)


def evaluation_of(cycle, employee) -> Evaluation:
    """The employee's evaluation in the cycle."""
    return _db.session.scalar(
        sa.select(Evaluation).where(Evaluation.cycle_id == cycle.id, Evaluation.employee_id == employee.id)
    )


def rhk(evaluation, employee, text, parent=None, indicators=(("Waktu tunggu pasien", "30", "menit"),)):
    """An RHK with indicators in the employee's draft."""
    row = evaluations.save_rhk(
        evaluation,
        employee.account,
        {"kind": "main", "text": text, "parent_rhk_id": parent.id if parent else None},
    )
    for name, target, unit in indicators:
        evaluations.save_indicator(
            evaluation,
            employee.account,
            row,
            {
                "aspect": Aspect.TIME,
                "text": name,
                "comparator": Comparator.AT_MOST,
                "target": target,
                "unit": unit,
            },
        )
    return row


def approve(evaluation, employee, rater):
    """Submit and approve the SKP."""
    evaluations.submit_targets(evaluation, employee.account)
    evaluations.approve_targets(evaluation, rater.account)


@pytest.fixture
def last_year(make):
    """2027: the head's SKP and the nurse's (one RHK under the head's, one on its own), approved."""
    org = agency(make)
    cycle = open_annual(org)
    head_ev = evaluation_of(cycle, org["head"])
    services = rhk(head_ev, org["head"], "Layanan puskesmas bermutu")
    rhk(head_ev, org["head"], "Gizi masyarakat membaik")
    nurse_ev = evaluation_of(cycle, org["nurse"])
    care = rhk(nurse_ev, org["nurse"], "Pelayanan pasien yang cepat", parent=services)
    _db.session.get(Indicator, care.indicators[0].id).progress_rule = ProgressRule.LATEST
    _db.session.commit()
    rhk(
        nurse_ev,
        org["nurse"],
        "Pencatatan rekam medis lengkap",
        indicators=(("Rekam medis lengkap", "98", "%"), ("Berkas selesai", "120", "berkas")),
    )
    approve(head_ev, org["head"], org["camat"])
    approve(nurse_ev, org["nurse"], org["head"])
    return dict(org, cycle=cycle, nurse_ev=nurse_ev, head_ev=head_ev)


def open_next(org):
    """2028's annual cycle, opened by HR."""
    clock.travel_to(NEXT_YEAR)
    data = cycle_data([org["kecamatan"]], NEXT_YEAR, name="SKP Tahunan 2028", year=2028)
    cycle = cycles.save_cycle(None, data, org["hr"].account)
    cycles.open_cycle(cycle, org["hr"].account)
    return cycle


# ---- copy last period's SKP --------------------------------------------------------------------------


def test_copy_brings_rhks_and_indicators_after_the_existing_ones_without_results(last_year):
    org = last_year
    indicator = last_year["nurse_ev"].rhks[0].indicators[0]
    indicator.realisation, indicator.feedback = 25, "Bagus"
    _db.session.commit()
    cycle = open_next(org)
    draft = evaluation_of(cycle, org["nurse"])
    rhk(draft, org["nurse"], "Inovasi antrean daring")
    added = planning.copy_previous_skp(draft, org["nurse"].account, expected_version=draft.version)

    _db.session.expire_all()
    draft = evaluation_of(cycle, org["nurse"])
    assert [r.text for r in draft.rhks] == [
        "Inovasi antrean daring",
        "Pelayanan pasien yang cepat",
        "Pencatatan rekam medis lengkap",
    ]
    assert (added.rhks, added.indicators) == (2, 3)
    old = {r.text: r for r in last_year["nurse_ev"].rhks}
    copied = draft.rhks[1]
    assert copied.copied_from_rhk_id == old["Pelayanan pasien yang cepat"].id
    assert copied.indicators[0].progress_rule is ProgressRule.LATEST
    assert copied.indicators[0].target == 30 and copied.indicators[0].unit == "menit"
    assert copied.indicators[0].realisation is None and copied.indicators[0].feedback is None
    assert [i.text for i in draft.rhks[2].indicators] == ["Rekam medis lengkap", "Berkas selesai"]
    event = _db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "evaluation.skp_copied"))
    assert event.object_id == str(draft.id) and event.data["rhks"] == 2


def test_cascade_follows_the_raters_copy_then_the_same_text_else_reports_the_rhk(last_year):
    org = last_year
    cycle = open_next(org)
    head_draft = evaluation_of(cycle, org["head"])
    planning.copy_previous_skp(head_draft, org["head"].account)
    head_new = {r.text: r for r in evaluation_of(cycle, org["head"]).rhks}
    draft = evaluation_of(cycle, org["nurse"])
    planning.copy_previous_skp(draft, org["nurse"].account)
    care = next(r for r in evaluation_of(cycle, org["nurse"]).rhks if r.text == "Pelayanan pasien yang cepat")
    assert care.parent_rhk_id == head_new["Layanan puskesmas bermutu"].id  # through copied_from_rhk_id
    part = planning.page_part(evaluation_of(cycle, org["nurse"]), org["nurse"].account, {"employee"})
    assert part.relink == [] and part.previous_copied


def test_the_raters_copy_counts_even_when_its_wording_changed(last_year):
    org = last_year
    cycle = open_next(org)
    head_draft = evaluation_of(cycle, org["head"])
    planning.copy_previous_skp(head_draft, org["head"].account)
    head_draft = evaluation_of(cycle, org["head"])
    services = next(r for r in head_draft.rhks if r.text == "Layanan puskesmas bermutu")
    evaluations.save_rhk(
        head_draft, org["head"].account, {"kind": "main", "text": "Layanan puskesmas terakreditasi"}, services
    )
    planning.copy_previous_skp(evaluation_of(cycle, org["nurse"]), org["nurse"].account)
    care = evaluation_of(cycle, org["nurse"]).rhks[0]
    assert care.parent.text == "Layanan puskesmas terakreditasi"


def test_an_rhk_whose_old_parent_is_gone_is_copied_unlinked_and_the_draft_says_so(last_year):
    org = last_year
    cycle = open_next(org)
    head_draft = evaluation_of(cycle, org["head"])
    rhk(head_draft, org["head"], "layanan  PUSKESMAS bermutu")  # same text, typed anew: linked by text
    draft = evaluation_of(cycle, org["nurse"])
    added = planning.copy_previous_skp(draft, org["nurse"].account)
    assert added.unlinked == []
    care = evaluation_of(cycle, org["nurse"]).rhks[0]
    assert care.parent.text == "layanan  PUSKESMAS bermutu"


def test_no_match_leaves_the_link_empty_and_lists_it(last_year):
    org = last_year
    cycle = open_next(org)
    draft = evaluation_of(cycle, org["nurse"])
    added = planning.copy_previous_skp(draft, org["nurse"].account)
    assert added.unlinked == ["Pelayanan pasien yang cepat"]
    assert "perlu dihubungkan lagi" in added.message()
    draft = evaluation_of(cycle, org["nurse"])
    part = planning.page_part(draft, org["nurse"].account, {"employee"})
    assert [r.text for r in part.relink] == ["Pelayanan pasien yang cepat"]
    evaluations.save_rhk(
        draft,
        org["nurse"].account,
        {"kind": "main", "text": "Pelayanan pasien yang cepat", "parent_rhk_id": None},
        part.relink[0],
    )
    head_rhk = rhk(evaluation_of(cycle, org["head"]), org["head"], "Mutu layanan")
    evaluations.save_rhk(
        draft,
        org["nurse"].account,
        {"kind": "main", "text": "Pelayanan pasien yang cepat", "parent_rhk_id": head_rhk.id},
        part.relink[0],
    )
    assert (
        planning.page_part(evaluation_of(cycle, org["nurse"]), org["nurse"].account, {"employee"}).relink
        == []
    )


def test_copy_twice_is_refused_and_a_double_submit_meets_the_version_check(last_year):
    org = last_year
    cycle = open_next(org)
    draft = evaluation_of(cycle, org["nurse"])
    version = draft.version
    planning.copy_previous_skp(draft, org["nurse"].account, expected_version=version)
    with pytest.raises(Conflict):
        planning.copy_previous_skp(draft, org["nurse"].account, expected_version=version)
    with pytest.raises(Refused, match="sudah disalin"):
        planning.copy_previous_skp(draft, org["nurse"].account, expected_version=draft.version)
    assert len(evaluation_of(cycle, org["nurse"]).rhks) == 2


def test_only_the_employee_copies_into_their_own_open_draft(last_year):
    org = last_year
    cycle = open_next(org)
    draft = evaluation_of(cycle, org["nurse"])
    for who in (org["head"], org["colleague"], org["hr"]):
        with pytest.raises(Refused, match="Hanya pegawai"):
            planning.copy_previous_skp(draft, who.account)
    own = rhk(draft, org["nurse"], "Inovasi antrean daring")
    evaluations.submit_targets(draft, org["nurse"].account)
    with pytest.raises(Refused, match="selama masih disusun"):
        planning.copy_previous_skp(draft, org["nurse"].account)
    assert [r.id for r in evaluation_of(cycle, org["nurse"]).rhks] == [own.id]


def test_after_the_target_deadline_nothing_is_copied(last_year):
    org = last_year
    cycle = open_next(org)
    draft = evaluation_of(cycle, org["nurse"])
    clock.travel_to(NEXT_YEAR + timedelta(days=26))
    with pytest.raises(Refused, match="Tenggat"):
        planning.copy_previous_skp(draft, org["nurse"].account)
    assert planning.page_part(draft, org["nurse"].account, {"employee"}) is None


@pytest.mark.parametrize("state", ["draft", "submitted", "withdrawn"])
def test_only_an_approved_earlier_annual_skp_is_offered(make, state):
    org = agency(make)
    cycle = open_annual(org)
    ev = evaluation_of(cycle, org["nurse"])
    rhk(ev, org["nurse"], "Pelayanan pasien yang cepat")
    if state == "submitted":
        evaluations.submit_targets(ev, org["nurse"].account)
    if state == "withdrawn":
        set_aside.withdraw(ev, org["hr"].account, "pensiun", "Pensiun")
    new = open_next(org)
    draft = evaluation_of(new, org["nurse"])
    assert planning.previous_skp(draft) is None
    with pytest.raises(Refused, match="Belum ada SKP tahunan sebelumnya"):
        planning.copy_previous_skp(draft, org["nurse"].account)


def test_the_most_recent_approved_one_is_copied(last_year):
    org = last_year
    cycle = open_next(org)
    draft = evaluation_of(cycle, org["nurse"])
    assert planning.previous_skp(draft).cycle_id == last_year["cycle"].id
    assert planning.previous_skp(last_year["nurse_ev"]) is None  # nothing earlier than 2027


# ---- RHK templates -------------------------------------------------------------------------------------

ROW = {
    "aspect": "time",
    "text": "Waktu tunggu pasien",
    "comparator": "at_most",
    "target": "30",
    "unit": "menit",
}


def template_data(position, text="Pelayanan pasien yang cepat", parent=None, rows=(ROW,)) -> dict:
    """What the template form posts."""
    return {
        "position_id": position.id,
        "kind": "main",
        "text": text,
        "parent_rhk_id": parent.id if parent else None,
        "indicators": [dict(r) for r in rows],
    }


def test_a_unit_head_manages_templates_for_positions_in_their_unit_and_below(make):
    org = agency(make)
    nurse_position, camat_position = org["nurse"].position, org["camat"].position
    assert headed_unit_ids(org["head"].account) == {org["puskesmas"].id}
    assert headed_unit_ids(org["camat"].account) == {org["kecamatan"].id, org["puskesmas"].id}
    assert headed_unit_ids(org["nurse"].account) == set()  # heads nobody
    assert can(org["head"].account, Action.MANAGE_RHK_TEMPLATES, nurse_position)
    assert not can(org["head"].account, Action.MANAGE_RHK_TEMPLATES, camat_position)
    assert can(org["camat"].account, Action.MANAGE_RHK_TEMPLATES, nurse_position)
    assert can(org["hr"].account, Action.MANAGE_RHK_TEMPLATES, camat_position)
    assert not can(org["nurse"].account, Action.MANAGE_RHK_TEMPLATES)

    planning.publish_template(org["head"].account, template_data(nurse_position))
    with pytest.raises(Refused, match="unit yang Anda pimpin"):
        planning.publish_template(org["head"].account, template_data(camat_position))
    with pytest.raises(Refused, match="unit yang Anda pimpin"):
        planning.publish_template(org["nurse"].account, template_data(nurse_position, "Lain"))
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(RhkTemplate)) == 1


def test_a_template_needs_an_indicator_and_readable_rows_and_nothing_is_half_saved(make):
    org = agency(make)
    hr, position = org["hr"].account, org["nurse"].position
    blank = {"aspect": "time", "text": "", "comparator": "at_most", "target": "", "unit": ""}
    with pytest.raises(Refused) as info:
        planning.publish_template(hr, template_data(position, rows=(blank,)))
    assert "sedikitnya satu indikator" in info.value.errors["indicators"]
    with pytest.raises(Refused) as info:
        planning.publish_template(hr, template_data(position, rows=(ROW, {**ROW, "target": "tiga puluh"})))
    assert info.value.errors == {"indicators-1-target": "Target harus berupa angka."}
    with pytest.raises(Refused) as info:
        planning.publish_template(
            hr, template_data(position, rows=({**ROW, "comparator": "range", "target_max": "5"},))
        )
    assert "indicators-0-target_max" in info.value.errors
    with pytest.raises(Refused) as info:
        planning.publish_template(hr, template_data(position, text="  "))
    assert "text" in info.value.errors
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(RhkTemplate)) == 0

    saved = planning.publish_template(
        hr, template_data(position, rows=(blank, ROW, {**ROW, "text": "Antrean", "progress_rule": "sum"}))
    )
    assert [(i.text, i.position, i.progress_rule) for i in saved.indicators] == [
        ("Waktu tunggu pasien", 0, None),
        ("Antrean", 1, ProgressRule.SUM),
    ]
    with pytest.raises(Refused, match="sudah mempunyai templat"):
        planning.publish_template(hr, template_data(position, text="pelayanan pasien  yang cepat"))


def test_the_parent_is_one_of_the_publishers_own_rhks_in_a_running_annual_cycle(make):
    org = agency(make)
    cycle = open_annual(org)
    own = rhk(evaluation_of(cycle, org["head"]), org["head"], "Layanan puskesmas bermutu")
    other = rhk(evaluation_of(cycle, org["colleague"]), org["colleague"], "Rekam medis")
    assert [r.id for r in planning.parent_choices(org["head"].account)] == [own.id]
    with pytest.raises(Refused) as info:
        planning.publish_template(org["head"].account, template_data(org["nurse"].position, parent=other))
    assert "parent_rhk_id" in info.value.errors
    saved = planning.publish_template(org["head"].account, template_data(org["nurse"].position, parent=own))
    assert saved.parent_rhk_id == own.id


def test_changing_a_template_publishes_a_new_one_and_retires_the_old(make):
    org = agency(make)
    hr, position = org["hr"].account, org["nurse"].position
    old = planning.publish_template(hr, template_data(position))
    new = planning.publish_template(hr, template_data(position, rows=({**ROW, "target": "20"},)), old)
    _db.session.expire_all()
    old, new = _db.session.get(RhkTemplate, old.id), _db.session.get(RhkTemplate, new.id)
    assert old.retired_at is not None and new.retired_at is None
    assert new.text == old.text and new.indicators[0].target == 20 and old.indicators[0].target == 30
    with pytest.raises(Conflict):
        planning.publish_template(hr, template_data(position), old)
    with pytest.raises(Conflict):
        planning.retire_template(hr, old)
    planning.retire_template(hr, new)
    assert planning.templates_for(position.id) == []
    actions = _db.session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.object_type == "rhk_template").order_by(AuditEvent.id)
    ).all()
    assert actions == [
        "rhk_template.published",
        "rhk_template.published",
        "rhk_template.retired",
        "rhk_template.retired",
    ]


def test_starting_from_a_template_links_to_the_raters_rhk_or_its_namesake(make):
    org = agency(make)
    cycle = open_annual(org)
    services = rhk(evaluation_of(cycle, org["head"]), org["head"], "Layanan puskesmas bermutu")
    by_head = planning.publish_template(
        org["head"].account, template_data(org["nurse"].position, parent=services)
    )
    admin = rhk(evaluation_of(cycle, org["hr"]), org["hr"], "Administrasi kepegawaian tertib")
    rhk(evaluation_of(cycle, org["head"]), org["head"], "administrasi kepegawaian tertib")
    by_hr = planning.publish_template(
        org["hr"].account, template_data(org["nurse"].position, "Data pegawai mutakhir", parent=admin)
    )
    other = rhk(evaluation_of(cycle, org["hr"]), org["hr"], "Kecamatan aman")
    unmatched = planning.publish_template(
        org["hr"].account, template_data(org["nurse"].position, "Ronda", parent=other)
    )
    draft = evaluation_of(cycle, org["nurse"])
    added = planning.apply_templates(
        draft, org["nurse"].account, [by_head.id, by_hr.id, unmatched.id], expected_version=draft.version
    )
    assert (added.rhks, added.indicators, added.unlinked) == (3, 3, ["Ronda"])
    rows = evaluation_of(cycle, org["nurse"]).rhks
    assert [r.parent.text if r.parent else None for r in rows] == [
        "Layanan puskesmas bermutu",
        "administrasi kepegawaian tertib",
        None,
    ]
    assert rows[0].indicators[0].text == "Waktu tunggu pasien"
    part = planning.page_part(evaluation_of(cycle, org["nurse"]), org["nurse"].account, {"employee"})
    assert [o.in_skp for o in part.offers] == [True, True, True] and part.addable == []


def test_only_current_templates_of_ones_own_position_are_added(make):
    org = agency(make)
    cycle = open_annual(org)
    mine = planning.publish_template(org["hr"].account, template_data(org["nurse"].position))
    theirs = planning.publish_template(org["hr"].account, template_data(org["camat"].position))
    draft = evaluation_of(cycle, org["nurse"])
    with pytest.raises(Refused, match="tidak lagi tersedia"):
        planning.apply_templates(draft, org["nurse"].account, [theirs.id])
    with pytest.raises(Refused, match="Pilih templat"):
        planning.apply_templates(draft, org["nurse"].account, [])
    with pytest.raises(Refused, match="Hanya pegawai"):
        planning.apply_templates(draft, org["head"].account, [mine.id])
    planning.retire_template(org["hr"].account, mine)
    with pytest.raises(Refused, match="tidak lagi tersedia"):
        planning.apply_templates(draft, org["nurse"].account, [mine.id])
    assert evaluation_of(cycle, org["nurse"]).rhks == []
    version = draft.version
    fresh = planning.publish_template(org["hr"].account, template_data(org["nurse"].position, "Baru"))
    planning.apply_templates(draft, org["nurse"].account, [fresh.id], expected_version=version)
    with pytest.raises(Conflict):
        planning.apply_templates(draft, org["nurse"].account, [fresh.id], expected_version=version)
    assert len(evaluation_of(cycle, org["nurse"]).rhks) == 1


def test_rhks_the_draft_already_has_are_not_copied_again(last_year):
    org = last_year
    cycle = open_next(org)
    draft = evaluation_of(cycle, org["nurse"])
    rhk(draft, org["nurse"], "pelayanan pasien yang  cepat")
    part = planning.page_part(evaluation_of(cycle, org["nurse"]), org["nurse"].account, {"employee"})
    assert (part.previous_counts, part.previous_skipped) == ((1, 2), 1)
    assert "Salin 1 RHK dengan 2 indikator" in part.copy_confirm()
    added = planning.copy_previous_skp(draft, org["nurse"].account)
    assert (added.rhks, added.skipped) == (1, 1)
    assert "1 RHK yang teksnya sudah ada" in added.message()
    assert [r.text for r in evaluation_of(cycle, org["nurse"]).rhks] == [
        "pelayanan pasien yang  cepat",
        "Pencatatan rekam medis lengkap",
    ]


def test_nothing_left_to_copy_is_refused(last_year):
    org = last_year
    cycle = open_next(org)
    draft = evaluation_of(cycle, org["nurse"])
    rhk(draft, org["nurse"], "Pelayanan pasien yang cepat")
    rhk(draft, org["nurse"], "Pencatatan rekam medis lengkap")
    with pytest.raises(Refused, match="sudah ada di draf ini"):
        planning.copy_previous_skp(draft, org["nurse"].account)
    assert len(evaluation_of(cycle, org["nurse"]).rhks) == 2


def test_the_demo_offers_the_head_of_the_puskesmas_templates_to_the_nurses(app, db):
    from app.demo import load_demo
    from app.models import Employee, Position

    load_demo()
    nurse = _db.session.scalar(sa.select(Employee).where(Employee.email.like("debora.yuliani@%")))
    ev = _db.session.scalar(
        sa.select(Evaluation).where(Evaluation.employee_id == nurse.id).order_by(Evaluation.id.desc())
    )
    assert ev.state == "targets_draft"  # returned by her head
    part = planning.page_part(ev, nurse.account, {"employee"})
    assert [o.template.text for o in part.offers] == ["Waktu tunggu pasien di poli umum singkat"]
    assert part.offers[0].link.text == "Kepuasan masyarakat atas layanan puskesmas meningkat"
    assert part.previous is not None and part.previous_counts == (0, 0)  # last year's RHKs are all there
    midwives = _db.session.scalar(sa.select(Position.id).where(Position.name == "Bidan Terampil"))
    assert len(planning.templates_for(midwives)) == 1


def test_a_unit_head_cannot_retire_or_replace_someone_elses_template(make):
    org = agency(make)
    by_hr = planning.publish_template(org["hr"].account, template_data(org["nurse"].position))
    with pytest.raises(Refused, match="diterbitkan orang lain"):
        planning.retire_template(org["head"].account, by_hr)
    with pytest.raises(Refused, match="diterbitkan orang lain"):
        planning.publish_template(org["head"].account, template_data(org["nurse"].position, "Baru"), by_hr)
    assert [t.id for t in planning.templates_for(org["nurse"].position.id)] == [by_hr.id]
