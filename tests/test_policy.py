"""Who may see and change what: the policy module, and every route asking it."""

import pytest

from app.models import Role
from app.policy import Action, can
from tests.conftest import csrf_token, login


@pytest.fixture
def org(make):
    """camat > kepala puskesmas > perawat; a colleague nurse; another kasi with staff; HR; admin."""
    camat = make.employee("Camat")
    head = make.employee("Kepala Puskesmas", supervisor=camat)
    nurse = make.employee("Perawat", supervisor=head)
    colleague = make.employee("Perawat Lain", supervisor=head)
    kasi = make.employee("Kasi", supervisor=camat)
    staff = make.employee("Staf Seksi", supervisor=kasi)
    hr = make.employee("HR", roles={Role.EMPLOYEE, Role.HR})
    admin = make.employee("Admin", roles={Role.EMPLOYEE, Role.ADMIN})
    return dict(
        camat=camat, head=head, nurse=nurse, colleague=colleague, kasi=kasi, staff=staff, hr=hr, admin=admin
    )


def test_viewing_an_employee(org):
    nurse = org["nurse"]
    allowed = {"nurse", "head", "camat", "hr", "admin"}
    for who, person in org.items():
        assert can(person.account, Action.VIEW_EMPLOYEE, nurse) == (who in allowed), who


def test_hr_actions_only_for_hr_and_admin(org):
    for action in (Action.VIEW_PEOPLE_LIST, Action.MANAGE_PEOPLE, Action.MANAGE_ORG, Action.VIEW_AUDIT):
        for who, person in org.items():
            assert can(person.account, action) == (who in {"hr", "admin"}), (who, action)


def test_roles_only_for_admin(org):
    for who, person in org.items():
        assert can(person.account, Action.MANAGE_ROLES) == (who == "admin"), who


def test_anonymous_may_do_nothing(org):
    assert not can(None, Action.VIEW_EMPLOYEE, org["nurse"])
    assert not can(None, Action.MANAGE_PEOPLE)


def test_an_employee_cannot_open_another_profile_by_editing_the_url(client, org):
    login(client, org["colleague"].nip)
    assert client.get(f"/people/{org['nurse'].id}").status_code == 403
    assert client.get(f"/people/{org['colleague'].id}").status_code == 200
    assert "Akses ditolak" in client.get(f"/people/{org['nurse'].id}").get_data(as_text=True)


def test_a_supervisor_sees_the_team_but_not_another_team(client, org):
    login(client, org["head"].nip)
    assert client.get(f"/people/{org['nurse'].id}").status_code == 200
    assert client.get(f"/people/{org['staff'].id}").status_code == 403


def test_missing_employee_is_a_404_in_indonesian(client, org):
    login(client, org["hr"].nip)
    response = client.get("/people/999999")
    assert response.status_code == 404
    assert "Halaman tidak ditemukan" in response.get_data(as_text=True)


STATE_CHANGING_ROUTES = [
    ("/people/new", {}),
    ("/people/{nurse}/edit", {}),
    ("/people/{nurse}/active", {"active": "0"}),
    ("/people/{nurse}/password", {"password": "sembarang-123"}),
    ("/people/{nurse}/roles", {"hr": "y"}),
    ("/people/import", {}),
    ("/people/import/confirm", {"token": "x"}),
    ("/org/new", {"code": "X", "name": "X", "parent_id": "0"}),
    ("/org/{unit}/edit", {"code": "X", "name": "X", "parent_id": "0"}),
    ("/org/{unit}/active", {"active": "0"}),
    ("/org/positions", {"name": "X", "kind": "Pelaksana"}),
]


@pytest.mark.parametrize("route, data", STATE_CHANGING_ROUTES)
@pytest.mark.parametrize("who", ["nurse", "colleague", "head", "camat", "anonymous"])
def test_state_changing_routes_refuse_non_hr(app, org, route, data, who):
    client = app.test_client()
    if who != "anonymous":
        login(client, org[who].nip)
    url = route.format(nurse=org["nurse"].id, unit=org["nurse"].unit_id)
    response = client.post(url, data={"csrf_token": csrf_token(client), **data})
    if who == "anonymous":
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    else:
        assert response.status_code == 403, (who, url)


@pytest.mark.parametrize(
    "route",
    [
        "/people/",
        "/people/new",
        "/people/import",
        "/people/export.csv",
        "/org/",
        "/org/new",
        "/org/export.csv",
    ],
)
def test_hr_pages_refuse_employees(client, org, route):
    login(client, org["nurse"].nip)
    assert client.get(route).status_code == 403
