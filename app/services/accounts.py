"""Accounts: sign-in with lockout, passwords, roles. Every change is audited."""

import secrets
from datetime import timedelta
from functools import cache

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadData, TimestampSigner, URLSafeTimedSerializer
from werkzeug.security import check_password_hash, generate_password_hash

from app import audit, clock
from app.extensions import db
from app.models import Account, Employee, Role
from app.nip import normalise_nip
from app.services import Refused


def load_account(user_id: str) -> Account | None:
    """Flask-Login loader: the id carries a nonce that a password change renews."""
    account_id, _sep, nonce = user_id.partition(".")
    if not account_id.isdigit():
        return None
    account = db.session.get(Account, int(account_id))
    if account is None or account.session_nonce != nonce:
        return None
    return account


def find_account(identifier: str) -> Account | None:
    """The account signed in with a NIP or an e-mail address."""
    identifier = (identifier or "").strip()
    if not identifier:
        return None
    if "@" in identifier:
        email = identifier.lower()
        account = db.session.scalar(sa.select(Account).join(Account.employee).where(Employee.email == email))
        return account or db.session.scalar(sa.select(Account).where(Account.email == email))
    nip = normalise_nip(identifier)
    return db.session.scalar(sa.select(Account).join(Account.employee).where(Employee.nip == nip))


def hash_password(password: str) -> str:
    """Hash with the configured method."""
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


@cache
def _dummy_hash(method: str) -> str:
    return generate_password_hash(secrets.token_hex(8), method=method)


def authenticate(identifier: str, password: str) -> Account | None:
    """Check the credentials, counting failures and locking the account; commits the audit."""
    config = current_app.config
    identifier = identifier or ""
    account = find_account(identifier)
    now = clock.utcnow()
    if account is None or not account.password_hash:
        check_password_hash(_dummy_hash(config["PASSWORD_HASH_METHOD"]), password or "")
        audit.record("auth.login_failed", data={"identifier": identifier[:254], "reason": "unknown"})
        db.session.commit()
        return None
    if account.locked_until is not None and account.locked_until > now:
        audit.record("auth.login_failed", account, actor=account, data={"reason": "locked"})
        db.session.commit()
        return None
    if not check_password_hash(account.password_hash, password or ""):
        account.failed_logins += 1
        reason = "password"
        if account.failed_logins >= config["LOGIN_MAX_FAILURES"]:
            account.locked_until = now + timedelta(minutes=config["LOGIN_LOCKOUT_MINUTES"])
            account.failed_logins = 0
            audit.record("auth.locked", account, actor=account)
            reason = "password_lock"
        audit.record("auth.login_failed", account, actor=account, data={"reason": reason})
        db.session.commit()
        return None
    if not account.is_active:
        audit.record("auth.login_failed", account, actor=account, data={"reason": "inactive"})
        db.session.commit()
        return None
    account.failed_logins = 0
    account.locked_until = None
    account.last_login_at = now
    audit.record("auth.login", account, actor=account)
    db.session.commit()
    return account


def password_problem(account: Account | None, password: str, nip: str | None = None) -> str | None:
    """Why a new password is not acceptable, or None."""
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        return _("Kata sandi minimal %(n)d karakter.", n=minimum)
    if len(password) > 128:
        return _("Kata sandi paling banyak 128 karakter.")
    if password.isdigit():
        return _("Kata sandi tidak boleh hanya berisi angka.")
    nip = nip or (account.employee.nip if account is not None and account.employee else None)
    if nip and nip in password:
        return _("Kata sandi tidak boleh memuat NIP.")
    return None


def _set_password(account: Account, password: str, *, must_change: bool) -> None:
    account.password_hash = hash_password(password)
    account.must_change_password = must_change
    account.failed_logins = 0
    account.locked_until = None
    account.session_nonce = secrets.token_hex(8)


def change_password(account: Account, current: str, new: str) -> None:
    """The user changes their own password; commits, or raises Refused by field."""
    if not account.password_hash or not check_password_hash(account.password_hash, current):
        raise Refused({"current_password": _("Kata sandi saat ini salah.")})
    if current == new:
        raise Refused({"new_password": _("Kata sandi baru harus berbeda dari kata sandi saat ini.")})
    problem = password_problem(account, new)
    if problem:
        raise Refused({"new_password": problem})
    _set_password(account, new, must_change=False)
    audit.record("auth.password_changed", account, actor=account)
    db.session.commit()


def set_initial_password(employee: Employee, password: str) -> Account:
    """HR sets a password the employee must change at first sign-in (creates the account)."""
    account = employee.account
    created = account is None
    if created:
        account = Account(employee=employee)
        account.set_roles({Role.EMPLOYEE})
        db.session.add(account)
    _set_password(account, password, must_change=True)
    audit.record("account.password_set", account, data={"employee": employee.nip, "created": created})
    return account


def set_roles(account: Account, roles: set[Role]) -> None:
    """Replace the roles of an account (audited)."""
    before = sorted(r.value for r in account.roles)
    account.set_roles(roles)
    after = sorted(r.value for r in roles)
    if before != after:
        audit.record("account.roles_changed", account, data={"before": before, "after": after})


def create_system_account(email: str, name: str, password: str, roles: set[Role]) -> Account:
    """An account without an employee record (e.g. the administrator)."""
    email = email.strip().lower()
    taken = db.session.scalar(sa.select(Employee.id).where(Employee.email == email)) or db.session.scalar(
        sa.select(Account.id).where(Account.email == email)
    )
    if taken:
        raise Refused({"email": _("Email %(email)s sudah dipakai.", email=email)})
    account = Account(email=email, display_name=name)
    account.set_roles(roles)
    _set_password(account, password, must_change=False)
    db.session.add(account)
    audit.record("account.created", account, data={"roles": sorted(r.value for r in roles)})
    return account


class _ClockSigner(TimestampSigner):
    """Reset links expire by the app's one clock."""

    def get_timestamp(self) -> int:
        return int(clock.utcnow().timestamp())


def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        current_app.config["SECRET_KEY"], salt="password-reset", signer=_ClockSigner
    )


def request_password_reset(identifier: str) -> None:
    """Email a signed, expiring, single-use reset link if the account exists; commits.

    The answer to the user is the same either way, so the form reveals no accounts.
    """
    from app.notify import notify

    account = find_account(identifier)
    if account is None or not account.is_active or not account.login_email:
        audit.record("auth.password_reset_unknown", data={"identifier": (identifier or "")[:254]})
        db.session.commit()
        return
    token = _reset_serializer().dumps({"a": account.id, "n": account.session_nonce})
    hours = current_app.config["PASSWORD_RESET_HOURS"]
    notify(
        "password_reset",
        account,
        f"password_reset:{account.id}:{account.session_nonce}:{token[-12:]}",
        token=token,
        hours=hours,
    )
    audit.record("auth.password_reset_requested", account, actor=account)
    db.session.commit()


def account_for_reset_token(token: str) -> Account | None:
    """The account a reset link is for, or None when it is forged, expired or already used."""
    try:
        data = _reset_serializer().loads(token, max_age=current_app.config["PASSWORD_RESET_HOURS"] * 3600)
    except BadData:
        return None
    account = db.session.get(Account, data.get("a")) if isinstance(data, dict) else None
    if account is None or account.session_nonce != data.get("n") or not account.is_active:
        return None
    return account


def reset_password(token: str, new: str) -> Account:
    """Set a new password from a reset link; the link then stops working; commits."""
    account = account_for_reset_token(token)
    if account is None:
        raise Refused(_("Tautan atur ulang kata sandi tidak berlaku lagi (kedaluwarsa atau sudah dipakai)."))
    problem = password_problem(account, new)
    if problem:
        raise Refused({"new_password": problem})
    _set_password(account, new, must_change=False)
    audit.record("auth.password_reset", account, actor=account)
    db.session.commit()
    return account
