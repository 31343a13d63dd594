"""The planning helpers through HTTP, as the pages post them: the SKP draft's copy and template
buttons, the templates page of HR and of a unit head, refusals that keep what was typed, and who
gets a 403."""

import re

import pytest
import sqlalchemy as sa

from app.extensions import db as _db
from app.models import Evaluation, RhkTemplate
from app.workflow import planning
from tests.conftest import csrf_token, login, post_form
from tests.test_planning import approve, open_next, rhk, template_data
from tests.workflow_helpers import agency, open_annual


def version_of(html: str, action: str) -> str:
    """The version carried by the form posting to `action`."""
    form = re.search(rf'<form[^>]*action="{re.escape(action)}"[^>]*>(.*?)</form>', html, re.S).group(1)
    return re.search(r'name="version"(?: type="hidden")? value="(\d+)"', form).group(1)


def evaluation_of(cycle, employee) -> Evaluation:
    return _db.session.scalar(
        sa.select(Evaluation).where(Evaluation.cycle_id == cycle.id, Evaluation.employee_id == employee.id)
    )


@pytest.fixture
def world(make):
    """Last year's approved SKP of the nurse (under the head's RHK), this year's cycle open."""
    org = agency(make)
    cycle = open_annual(org)
    head_ev = evaluation_of(cycle, org["head"])
    services = rhk(head_ev, org["head"], "Layanan puskesmas bermutu")
    nurse_ev = evaluation_of(cycle, org["nurse"])
    rhk(nurse_ev, org["nurse"], "Pelayanan pasien yang cepat", parent=services)
    approve(head_ev, org["head"], org["camat"])
    approve(nurse_ev, org["nurse"], org["head"])
    new = open_next(org)
    return dict(org, last=cycle, cycle=new)


def test_the_employee_copies_last_years_skp_from_the_draft(client, world):
    draft = evaluation_of(world["cycle"], world["nurse"])
    page_url = f"/evaluations/{draft.id}"
    login(client, world["nurse"].nip)
    html = client.get(page_url).get_data(as_text=True)
    assert "Salin SKP periode lalu" in html
    assert "Salin 1 RHK dengan 1 indikator dari SKP Tahunan 2027" in html  # the confirmation's figures
    action = f"/evaluations/{draft.id}/salin-skp"
    version = version_of(html, action)
    token = csrf_token(client, page_url)
    response = client.post(action, data={"csrf_token": token, "version": version})
    assert response.status_code == 302
    html = client.get(page_url).get_data(as_text=True)
    assert "1 RHK dengan 1 indikator ditambahkan" in html
    assert "perlu dihubungkan lagi" in html and 'id="relink"' in html
    # The same click again (back button, double submit): the version check refuses it, nothing copied twice.
    response = client.post(action, data={"csrf_token": token, "version": version})
    assert response.status_code == 409
    assert "Belum tersimpan." in response.get_data(as_text=True)
    _db.session.expire_all()
    assert len(evaluation_of(world["cycle"], world["nurse"]).rhks) == 1


def test_a_colleague_cannot_copy_into_someone_elses_draft(client, world):
    draft = evaluation_of(world["cycle"], world["nurse"])
    login(client, world["colleague"].nip)
    response = post_form(client, f"/evaluations/{draft.id}/salin-skp", {"version": draft.version})
    assert response.status_code == 403
    assert evaluation_of(world["cycle"], world["nurse"]).rhks == []


def test_the_head_publishes_a_template_and_the_nurse_adds_it(client, world):
    head_ev = evaluation_of(world["cycle"], world["head"])
    services = rhk(head_ev, world["head"], "Layanan puskesmas bermutu")
    login(client, world["head"].nip)
    home = client.get("/").get_data(as_text=True)
    assert "/templat-rhk/" in home
    form = client.get("/templat-rhk/baru").get_data(as_text=True)
    assert world["nurse"].position.name in form and world["camat"].position.name not in form
    data = {
        "position_id": str(world["nurse"].position.id),
        "kind": "main",
        "text": "Pelayanan pasien yang cepat",
        "parent_rhk_id": str(services.id),
        "indicators-0-aspect": "time",
        "indicators-0-text": "Waktu tunggu pasien",
        "indicators-0-comparator": "at_most",
        "indicators-0-target": "30",
        "indicators-0-unit": "menit",
        "indicators-0-progress_rule": "latest",
    }
    refused = post_form(
        client,
        "/templat-rhk/baru",
        {**data, "indicators-0-target": "tiga puluh"},
        token_from="/templat-rhk/baru",
    )
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "Target harus berupa angka." in html and 'value="tiga puluh"' in html
    assert "Pelayanan pasien yang cepat" in html
    response = post_form(client, "/templat-rhk/baru", data, token_from="/templat-rhk/baru")
    assert response.status_code == 302
    listing = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Templat diterbitkan." in listing and "Waktu tunggu pasien" in listing
    post_form(client, "/logout", {}, token_from="/")

    draft = evaluation_of(world["cycle"], world["nurse"])
    login(client, world["nurse"].nip)
    page_url = f"/evaluations/{draft.id}"
    html = client.get(page_url).get_data(as_text=True)
    assert "Mulai dari templat jabatan" in html
    template = _db.session.scalar(sa.select(RhkTemplate))
    action = f"/evaluations/{draft.id}/templat"
    response = client.post(
        action,
        data={
            "csrf_token": csrf_token(client, page_url),
            "version": version_of(html, action),
            "template_ids": template.id,
        },
    )
    assert response.status_code == 302
    _db.session.expire_all()
    added = evaluation_of(world["cycle"], world["nurse"]).rhks
    assert [(r.text, r.parent_rhk_id) for r in added] == [("Pelayanan pasien yang cepat", services.id)]
    assert "sudah ada di SKP" in client.get(page_url).get_data(as_text=True)


@pytest.mark.parametrize("who", ["nurse", "colleague"])
def test_employees_without_a_unit_get_403_on_the_templates_pages(client, world, who):
    template = planning.publish_template(world["hr"].account, template_data(world["nurse"].position))
    login(client, world[who].nip)
    assert client.get("/templat-rhk/").status_code == 403
    assert client.get("/templat-rhk/baru").status_code == 403
    assert client.get(f"/templat-rhk/{template.id}/ubah").status_code == 403
    assert post_form(client, f"/templat-rhk/{template.id}/tarik", {}).status_code == 403
    assert "/templat-rhk/" not in client.get("/").get_data(as_text=True)


def test_another_units_head_gets_403_on_a_template_outside_their_units(client, world, make):
    other_unit = make.unit("Kelurahan Mungku Baru", parent=world["kecamatan"])
    lurah = make.employee("Lurah", unit=other_unit, supervisor=world["camat"])
    make.employee("Staf kelurahan", supervisor=lurah)
    template = planning.publish_template(world["hr"].account, template_data(world["nurse"].position))
    login(client, lurah.nip)
    assert client.get("/templat-rhk/").status_code == 200
    assert "Pelayanan pasien yang cepat" not in client.get("/templat-rhk/").get_data(as_text=True)
    assert client.get(f"/templat-rhk/{template.id}/ubah").status_code == 403
    assert post_form(client, f"/templat-rhk/{template.id}/tarik", {}).status_code == 403
    assert _db.session.get(RhkTemplate, template.id).retired_at is None


def test_hr_changes_and_retires_a_template(client, world):
    template = planning.publish_template(world["hr"].account, template_data(world["nurse"].position))
    login(client, world["hr"].nip)
    assert "/templat-rhk/" in client.get("/").get_data(as_text=True)
    form = client.get(f"/templat-rhk/{template.id}/ubah").get_data(as_text=True)
    assert 'value="Waktu tunggu pasien"' in form
    response = post_form(
        client,
        f"/templat-rhk/{template.id}/ubah",
        {
            "position_id": str(world["nurse"].position.id),
            "kind": "main",
            "text": "Pelayanan pasien yang cepat",
            "indicators-0-aspect": "time",
            "indicators-0-text": "Waktu tunggu pasien",
            "indicators-0-comparator": "at_most",
            "indicators-0-target": "20",
            "indicators-0-unit": "menit",
        },
        token_from=f"/templat-rhk/{template.id}/ubah",
    )
    assert response.status_code == 302
    _db.session.expire_all()
    current = planning.templates_for(world["nurse"].position.id)
    assert [i.target for i in current[0].indicators] == [20]
    assert _db.session.get(RhkTemplate, template.id).retired_at is not None
    response = post_form(client, f"/templat-rhk/{current[0].id}/tarik", {}, token_from="/templat-rhk/")
    assert response.status_code == 302
    assert planning.templates_for(world["nurse"].position.id) == []
    listing = client.get("/templat-rhk/?ditarik=1").get_data(as_text=True)
    assert "ditarik" in listing


def test_adding_a_row_keeps_what_was_typed(client, world):
    login(client, world["hr"].nip)
    response = post_form(
        client,
        "/templat-rhk/baru",
        {
            "position_id": "",
            "kind": "main",
            "text": "Sesuatu yang diketik",
            "more": "1",
            **{f"indicators-{n}-{k}": v for n in range(3) for k, v in {"aspect": "time", "text": ""}.items()},
            "indicators-1-text": "Indikator kedua",
        },
        token_from="/templat-rhk/baru",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Sesuatu yang diketik" in html and 'value="Indikator kedua"' in html
    assert 'name="indicators-3-text"' in html
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(RhkTemplate)) == 0


PEOPLE = {
    "employee": "nurse",
    "colleague": "colleague",
    "rater": "head",
    "appeal_handler": "camat",
    "hr": "hr",
    "anonymous": None,
}


def counts() -> tuple[int, int, int]:
    """RHKs, live templates and retired templates: what a refused action leaves as it was."""
    from app.models import Rhk

    _db.session.expire_all()
    return (
        _db.session.scalar(sa.select(sa.func.count()).select_from(Rhk)),
        _db.session.scalar(sa.select(sa.func.count()).where(RhkTemplate.retired_at.is_(None))),
        _db.session.scalar(sa.select(sa.func.count()).where(RhkTemplate.retired_at.is_not(None))),
    )


def planning_routes(world, draft, template):
    """Every state-changing planning route, its data, and who may use it."""
    row = {
        "position_id": str(world["nurse"].position.id),
        "kind": "main",
        "indicators-0-aspect": "time",
        "indicators-0-text": "Waktu tunggu pasien",
        "indicators-0-comparator": "at_most",
        "indicators-0-target": "25",
        "indicators-0-unit": "menit",
    }
    return [
        (f"/evaluations/{draft.id}/salin-skp", {}, {"employee"}),
        (f"/evaluations/{draft.id}/templat", {"template_ids": str(template.id)}, {"employee"}),
        ("/templat-rhk/baru", {**row, "text": "Templat baru"}, {"rater", "appeal_handler", "hr"}),
        # HR's template: a unit head changes or retires only the templates they published.
        (f"/templat-rhk/{template.id}/ubah", {**row, "text": "Templat diganti"}, {"hr"}),
        (f"/templat-rhk/{template.id}/tarik", {}, {"hr"}),
    ]


@pytest.mark.parametrize("index", range(5))
def test_authorisation_matrix(app, world, index):
    """Everyone else is refused (403, or 400 with the reason) and nothing changes; then the first
    one allowed succeeds (the head and the camat head the puskesmas, HR manages every position)."""
    template = planning.publish_template(world["hr"].account, template_data(world["nurse"].position))
    draft = evaluation_of(world["cycle"], world["nurse"])
    url, data, allowed = planning_routes(world, draft, template)[index]
    for who in sorted(PEOPLE, key=lambda w: w in allowed):
        client = app.test_client()
        if PEOPLE[who]:
            login(client, world[PEOPLE[who]].nip)
        before = counts()
        version = str(_db.session.get(Evaluation, draft.id).version)
        response = client.post(url, data={"csrf_token": csrf_token(client, "/"), "version": version, **data})
        if who == "anonymous":
            assert response.status_code == 302 and "/login" in response.headers["Location"]
        elif who in allowed:
            assert response.status_code == 302, (who, url, response.get_data(as_text=True)[:300])
            assert counts() != before, (who, url)
            return  # the first allowed person changed it; the rest would find it done
        else:
            assert response.status_code in (400, 403), (who, url, response.status_code)
        assert counts() == before, (who, url)


def test_a_unit_head_changes_only_their_own_templates(client, world):
    by_head = planning.publish_template(world["head"].account, template_data(world["nurse"].position))
    by_hr = planning.publish_template(world["hr"].account, template_data(world["nurse"].position, "Lain"))
    login(client, world["camat"].nip)  # heads the kecamatan and the puskesmas below it
    listing = client.get("/templat-rhk/").get_data(as_text=True)
    assert (
        f"/templat-rhk/{by_head.id}/ubah" not in listing and f"/templat-rhk/{by_hr.id}/tarik" not in listing
    )
    assert client.get(f"/templat-rhk/{by_head.id}/ubah").status_code == 403
    assert post_form(client, f"/templat-rhk/{by_head.id}/tarik", {}).status_code == 403
    post_form(client, "/logout", {}, token_from="/")
    login(client, world["head"].nip)
    listing = client.get("/templat-rhk/").get_data(as_text=True)
    assert f"/templat-rhk/{by_head.id}/ubah" in listing and f"/templat-rhk/{by_hr.id}/ubah" not in listing
    response = post_form(client, f"/templat-rhk/{by_head.id}/tarik", {}, token_from="/templat-rhk/")
    assert response.status_code == 302
    assert [t.id for t in planning.templates_for(world["nurse"].position.id)] == [by_hr.id]


def test_a_template_retired_while_the_page_was_open_is_refused_with_the_reason(client, world):
    template = planning.publish_template(world["hr"].account, template_data(world["nurse"].position))
    draft = evaluation_of(world["cycle"], world["nurse"])
    page_url = f"/evaluations/{draft.id}"
    login(client, world["nurse"].nip)
    html = client.get(page_url).get_data(as_text=True)
    action = f"/evaluations/{draft.id}/templat"
    assert f'id="template-{template.id}"' in html
    version, token = version_of(html, action), csrf_token(client, page_url)
    planning.retire_template(world["hr"].account, template)
    response = client.post(
        action, data={"csrf_token": token, "version": version, "template_ids": template.id}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Belum tersimpan." in html and "tidak lagi tersedia untuk jabatan Anda" in html
    assert evaluation_of(world["cycle"], world["nurse"]).rhks == []


def test_a_template_without_indicators_is_refused_with_what_was_typed(client, world):
    login(client, world["hr"].nip)
    response = post_form(
        client,
        "/templat-rhk/baru",
        {
            "position_id": str(world["nurse"].position.id),
            "kind": "additional",
            "text": "Pelayanan pasien yang cepat",
            "indicators-0-aspect": "time",
            "indicators-0-text": "",
        },
        token_from="/templat-rhk/baru",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Isi sedikitnya satu indikator" in html and "Pelayanan pasien yang cepat</textarea>" in html
    assert '<option selected value="additional">' in html
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(RhkTemplate)) == 0
