"""The application factory."""

import os
from pathlib import Path

from flask import Flask
from flask_babel import lazy_gettext
from sqlalchemy import event
from sqlalchemy.engine import Engine

from config import CONFIGS, TestConfig, instance_secret_key, normalise_database_url, secret_key_problem


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: configuration, extensions, blueprints, error pages, commands."""
    instance_path = os.environ.get("INSTANCE_PATH") or str(Path.cwd() / "instance")
    if test_config and test_config.get("INSTANCE_PATH"):
        instance_path = test_config["INSTANCE_PATH"]
    app = Flask(__name__, instance_path=str(Path(instance_path).resolve()))
    configure(app, test_config)
    from app import inputs

    inputs.init_app(app)  # id converter and request cleaning: before any route or request hook
    register_extensions(app)
    register_blueprints(app)
    from app import security

    security.init_app(app)  # headers, proxy fix, throttling: after the blueprints it applies to
    from app.views.errors import register_error_handlers

    register_error_handlers(app)
    from app.templating import register_template_helpers

    register_template_helpers(app)
    from app.cli import register_commands

    register_commands(app)
    return app


def configure(app: Flask, test_config: dict | None) -> None:
    """Load the config class for APP_ENV, then the test overrides; fill derived settings."""
    if test_config is not None:
        app.config.from_object(TestConfig)
        app.config.update(test_config)
    else:
        env = os.environ.get("APP_ENV", "development")
        app.config.from_object(CONFIGS.get(env, CONFIGS["development"]))
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)

    if app.config["ENV_NAME"] == "production":
        problem = secret_key_problem(app.config.get("SECRET_KEY"))
        if problem:
            raise RuntimeError(problem)
    elif not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret_key(instance)

    url = app.config.get("DATABASE_URL") or f"sqlite:///{instance / 'kinerja.db'}"
    url = normalise_database_url(url)
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if url.startswith("sqlite"):
        options.setdefault("connect_args", {"timeout": 15})
    else:
        options.setdefault("pool_pre_ping", True)
        options.setdefault("pool_timeout", app.config["DB_POOL_TIMEOUT"])
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    """SQLite: WAL journal (synchronous=NORMAL), a busy timeout and enforced foreign keys."""
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # with WAL: durable across crashes, fsync at checkpoints
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def register_extensions(app: Flask) -> None:
    """Bind every extension to the app."""
    from app import models  # noqa: F401  (register the tables)
    from app.extensions import babel, csrf, db, login_manager, mail, migrate

    db.init_app(app)
    from app import database

    database.init_app(app)  # connect, statement and reply timeouts (PostgreSQL)
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"))
    csrf.init_app(app)
    babel.init_app(app)
    mail.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = lazy_gettext("Silakan masuk terlebih dahulu.")
    login_manager.login_message_category = "warning"
    from app.services.accounts import load_account

    login_manager.user_loader(load_account)


def register_blueprints(app: Flask) -> None:
    """Mount the blueprints."""
    from app.views import (
        admin,
        audit_log,
        auth,
        curve,
        cycles,
        dialog,
        documents,
        evaluations,
        main,
        org,
        peers,
        people,
        planning,
        progress,
        reassign,
        recaps,
        results,
        set_aside,
        workflow,
    )

    for module in (
        main,
        auth,
        people,
        org,
        cycles,
        curve,
        evaluations,
        progress,
        dialog,
        peers,
        planning,
        documents,
        reassign,
        set_aside,
        results,
        recaps,
        audit_log,
        workflow,
        admin,
    ):
        app.register_blueprint(module.bp)
