"""Configuration from the environment (a `.env` file is honoured).

Every setting has a development default except SECRET_KEY in production, which must be set.
"""

import os
import secrets
from pathlib import Path

from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent
load_dotenv(BASE_DIR / ".env")


def env_bool(name: str, default: bool = False) -> bool:
    """Read a yes/no environment variable."""
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on", "ya"}


def env_int(name: str, default: int) -> int:
    """Read an integer environment variable."""
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def instance_secret_key(instance_path: Path) -> str:
    """Return the development secret key, generating it once into the instance folder."""
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


PLACEHOLDER_SECRETS = {"change-me-to-64-random-hex-characters", "change-me", "secret", "dev"}
GENERATE_SECRET = "python3 -c 'import secrets; print(secrets.token_hex(32))'"


def secret_key_problem(key: str | None) -> str | None:
    """Why a production SECRET_KEY is not acceptable, or None.

    The key signs sessions and CSRF tokens: a guessable one lets anyone forge a session.
    """
    if not key:
        return f"SECRET_KEY must be set in production. Generate one with: {GENERATE_SECRET}"
    if key.strip().lower() in PLACEHOLDER_SECRETS or key.lower().startswith("change-me"):
        return f"SECRET_KEY is still the example placeholder. Generate one with: {GENERATE_SECRET}"
    if len(key) < 32 or len(set(key)) < 10:
        return (
            "SECRET_KEY is too short or too simple (at least 32 random characters). "
            f"Generate one with: {GENERATE_SECRET}"
        )
    return None


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs written the usual way."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Config:
    """Settings shared by every environment, read from the environment."""

    ENV_NAME = os.environ.get("APP_ENV", "development")
    SECRET_KEY = os.environ.get("SECRET_KEY")
    INSTANCE_PATH = os.environ.get("INSTANCE_PATH")  # default: ./instance
    DATABASE_URL = os.environ.get("DATABASE_URL")  # default: SQLite file in the instance folder
    # Uploaded evidence, generated document ZIPs and CSV files waiting for confirmation. Default:
    # the instance folder. Several app nodes and schedulers: one folder all of them mount
    # (docs/operations.md, "Several app nodes").
    FILES_DIR = os.environ.get("FILES_DIR")
    SQLALCHEMY_TRACK_MODIFICATIONS = False

    TIMEZONE = os.environ.get("TIMEZONE", "Asia/Jakarta")
    BABEL_DEFAULT_LOCALE = os.environ.get("DEFAULT_LANGUAGE", "id")
    BABEL_DEFAULT_TIMEZONE = TIMEZONE
    AGENCY_NAME = os.environ.get("AGENCY_NAME", "Pemerintah Kota Palangka Raya")
    # The place written before the date on the signature lines of SKP and evaluation documents.
    AGENCY_PLACE = os.environ.get("AGENCY_PLACE", "Palangka Raya")
    # How often the scheduler looks for ZIPs of a unit's documents that HR asked for.
    DOCUMENT_BUNDLE_SECONDS = env_int("DOCUMENT_BUNDLE_SECONDS", 5)

    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")  # empty: mail stays in the outbox
    MAIL_PORT = env_int("MAIL_PORT", 25)
    MAIL_USE_TLS = env_bool("MAIL_USE_TLS")
    MAIL_USE_SSL = env_bool("MAIL_USE_SSL")
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "kinerja@localhost")
    BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:5000")
    MAIL_SUPPRESS_SEND = env_bool("MAIL_SUPPRESS_SEND", False)
    RELAY_BATCH_SIZE = env_int("RELAY_BATCH_SIZE", 200)
    RELAY_MAX_ATTEMPTS = env_int("RELAY_MAX_ATTEMPTS", 8)
    RELAY_BACKOFF_SECONDS = env_int("RELAY_BACKOFF_SECONDS", 60)
    RELAY_LEASE_SECONDS = env_int("RELAY_LEASE_SECONDS", 45)  # renewed while a batch is sent
    RELAY_SMTP_TIMEOUT = env_int("RELAY_SMTP_TIMEOUT", 20)  # seconds per SMTP exchange
    RELAY_INTERVAL_SECONDS = env_int("RELAY_INTERVAL_SECONDS", 15)  # how often the scheduler relays mail
    # Database timeouts in seconds (app/database.py, PostgreSQL); 0: none.
    DB_CONNECT_TIMEOUT = env_int("DB_CONNECT_TIMEOUT", 5)
    DB_STATEMENT_TIMEOUT = env_int("DB_STATEMENT_TIMEOUT", 15)  # web workers
    DB_BULK_STATEMENT_TIMEOUT = env_int("DB_BULK_STATEMENT_TIMEOUT", 600)  # `flask` commands, bulk actions
    DB_POOL_TIMEOUT = env_int("DB_POOL_TIMEOUT", 10)
    SCHEDULER_LOCK_ID = env_int("SCHEDULER_LOCK_ID", 715_2019)
    SCHEDULER_DUE_MINUTES = env_int("SCHEDULER_DUE_MINUTES", 5)
    PASSWORD_RESET_HOURS = env_int("PASSWORD_RESET_HOURS", 2)

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    WTF_CSRF_TIME_LIMIT = env_int("WTF_CSRF_TIME_LIMIT", 8 * 3600)

    PASSWORD_HASH_METHOD = os.environ.get("PASSWORD_HASH_METHOD", "scrypt")
    PASSWORD_MIN_LENGTH = env_int("PASSWORD_MIN_LENGTH", 8)
    LOGIN_MAX_FAILURES = env_int("LOGIN_MAX_FAILURES", 5)
    LOGIN_LOCKOUT_MINUTES = env_int("LOGIN_LOCKOUT_MINUTES", 15)

    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto are believed (nginx: 1).
    TRUSTED_PROXIES = env_int("TRUSTED_PROXIES", 0)
    # Throttling (app/security.py); limits in Flask-Limiter's notation, ";" between several.
    RATELIMIT_ENABLED = env_bool("RATELIMIT_ENABLED", True)
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_KEY_PREFIX = os.environ.get("RATELIMIT_KEY_PREFIX", "kinerja")
    LOGIN_RATE_PER_ADDRESS = os.environ.get("LOGIN_RATE_PER_ADDRESS", "10 per minute;50 per hour")
    LOGIN_RATE_GLOBAL = os.environ.get("LOGIN_RATE_GLOBAL", "300 per minute;6000 per hour")
    PASSWORD_RESET_RATE_PER_ADDRESS = os.environ.get(
        "PASSWORD_RESET_RATE_PER_ADDRESS", "5 per minute;20 per hour"
    )
    PASSWORD_RESET_RATE_GLOBAL = os.environ.get("PASSWORD_RESET_RATE_GLOBAL", "60 per minute;600 per hour")

    MAX_CONTENT_LENGTH = env_int("MAX_UPLOAD_MB", 32) * 1024 * 1024
    IMPORT_MAX_ROWS = env_int("IMPORT_MAX_ROWS", 200_000)
    PAGE_SIZE = env_int("PAGE_SIZE", 25)
    SEND_FILE_MAX_AGE_DEFAULT = env_int("STATIC_MAX_AGE", 3600)  # static files, Bootstrap included
    EVIDENCE_MAX_MB = env_int("EVIDENCE_MAX_MB", 5)
    # Rendered evaluation pages kept per worker process (app/pagecache.py; some 10-50 KB each); 0: off.
    PAGE_CACHE_SIZE = env_int("PAGE_CACHE_SIZE", 200)
    # Render every cache hit again and fail when it differs (a check for the tests, costly).
    PAGE_CACHE_VERIFY = env_bool("PAGE_CACHE_VERIFY", False)


class ProductionConfig(Config):
    """Production: secure cookies and a secret key that must come from the environment."""

    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/0")


class TestConfig(Config):
    """Tests: a database of the suite's choosing and fast password hashing."""

    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "test-secret-key"
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
    RATELIMIT_ENABLED = False  # tests/test_throttling.py turns it on, against Redis
    PAGE_CACHE_VERIFY = True  # every hit of the page cache is rendered again and compared


CONFIGS = {"development": Config, "production": ProductionConfig, "testing": TestConfig}
