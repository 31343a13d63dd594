"""Every Flask extension instance, created unbound and initialised in create_app()."""

from flask_babel import Babel
from flask_login import LoginManager
from flask_mail import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from app.inputs import page_number

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base whose constraints are named by convention (stable migrations)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Database(SQLAlchemy):
    """Flask-SQLAlchemy whose lists read `?page=` with the one integer parser (app/inputs.py): its own
    int() takes "٣" and numbers whose OFFSET the database cannot hold."""

    def paginate(self, select, *, page: int | None = None, **kwargs):
        """A page of `select`; the page number from the query string unless given."""
        return super().paginate(select, page=page if page is not None else page_number(), **kwargs)


db = Database(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
mail = Mail()


# Search objects made by hand in migration b626b9d82ee0 (a GIN trigram index on PostgreSQL, an
# FTS5 table and its shadow tables on SQLite): no model declares them, so the comparison of the
# models with the database (autogenerate, `flask db check`) leaves them out.
HAND_MADE = ("employee_search", "ix_employee_search")


def include_name(name, type_, parent_names) -> bool:
    """Alembic's include_name: every table and index but the hand-made search objects."""
    return not (type_ in ("table", "index") and name is not None and name.startswith(HAND_MADE))
