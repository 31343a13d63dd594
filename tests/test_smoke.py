"""The app starts, the health check answers, and the schema matches the models."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.extensions import include_name
from tests.conftest import login


def test_healthz_reports_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_migrations_match_the_models(app, db):
    """`flask db check` would find nothing to generate."""
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": include_name})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_home_requires_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_signed_in_employee_sees_home(client, make):
    employee = make.employee("Siti Aminah")
    response = login(client, employee.nip)
    assert response.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "Selamat datang, Siti Aminah" in page
