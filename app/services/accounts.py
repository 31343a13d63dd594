"""Accounts: sign-in with lockout, passwords, roles. Every change is audited."""

import re
import secrets
from datetime import timedelta
from functools import cache

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash, generate_password_hash
from zxcvbn import zxcvbn

from app import audit, clock
from app.extensions import db
from app.forms.people import ROLE_LABELS
from app.inputs import int_or_none
from app.models import Account, Employee, PasswordResetToken, Role
from app.models.outbox import secret_marker
from app.nip import normalise_nip
from app.policy import rights_beyond
from app.services import Refused

# The signed-in account as every request reads it (built once; the id is its parameter).
_SIGNED_IN = (
    sa.select(
        Account,
        sa.exists().where(Employee.supervisor_id == Account.employee_id, Employee.active).label("leads_team"),
    )
    .options(joinedload(Account.employee), joinedload(Account.role_rows))
    .where(Account.id == sa.bindparam("account_id"))
)


def load_account(user_id: str) -> Account | None:
    """Flask-Login loader: the id carries a nonce that a password change renews."""
    account_id, _sep, nonce = user_id.partition(".")
    number = int_or_none(account_id, minimum=1)
    if number is None:
        return None
    # One statement on every request: the account, its employee, its roles (a row per role,
    # joined rather than a second statement), and whether anyone reports to them (the
    # navigation's team link), instead of loading the whole team on every page.
    row = db.session.execute(_SIGNED_IN, {"account_id": number}).unique().first()
    if row is None or row.Account.session_nonce != nonce:
        return None
    account = row.Account
    account.leads_team = bool(row.leads_team)
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


# Words anyone would try first against an account of this agency: zxcvbn's dictionaries are
# English, so the local ones are given to it as if the user had typed them.
LOCAL_WORDS = (
    "kinerja",
    "asn",
    "skp",
    "pns",
    "pppk",
    "pegawai",
    "pemerintah",
    "kota",
    "kabupaten",
    "kecamatan",
    "kelurahan",
    "puskesmas",
    "dinas",
    "rakumpit",
    "palangka",
    "raya",
    "palangkaraya",
    "kalteng",
    "indonesia",
    "jakarta",
    "rahasia",
    "katasandi",
    "sandi",
    "masuk",
    "admin",
    "administrator",
    "bismillah",
    "merdeka",
    "garuda",
    "sayang",
    "cinta",
    "selamat",
    "berakhlak",
    "kepegawaian",
)
GUESSABLE_SCORE = 3  # zxcvbn: 3 resists about 10^8 guesses (an offline attack on a slow hash)


def _personal_words(account: Account | None, employee: Employee | None) -> list[str]:
    """Name parts, NIP, e-mail and its local part of the person the password is for."""
    words: list[str] = []
    for text in (
        employee.name if employee else None,
        account.display_name if account else None,
    ):
        words += [part for part in re.split(r"[^\w]+", (text or "").lower()) if len(part) >= 3]
    for email in {employee.email if employee else None, account.login_email if account else None}:
        if email:
            local = email.lower().partition("@")[0]
            words += [email.lower(), local, *[p for p in re.split(r"[^a-z0-9]+", local) if len(p) >= 3]]
    if employee is not None and employee.nip:
        words.append(employee.nip)
    return list(dict.fromkeys(words))


def password_problem(
    password: str, *, account: Account | None = None, employee: Employee | None = None
) -> str | None:
    """Why a new password is not acceptable for this person, or None.

    Beyond length, it refuses what is guessed early: common passwords, repeats and sequences,
    words of this agency, and the person's own name, NIP or e-mail (zxcvbn's estimate).
    """
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        return _("Kata sandi minimal %(n)d karakter.", n=minimum)
    if len(password) > 128:
        return _("Kata sandi paling banyak 128 karakter.")
    if password.isdigit():
        return _("Kata sandi tidak boleh hanya berisi angka.")
    lowered = password.lower()
    employee = employee or (account.employee if account is not None else None)
    personal = _personal_words(account, employee)
    if employee is not None and employee.nip and employee.nip in password:
        return _("Kata sandi tidak boleh memuat NIP.")
    if any(len(word) >= 4 and word in lowered for word in personal):
        return _("Kata sandi tidak boleh memuat nama, NIP, atau email pemilik akun.")
    result = zxcvbn(password[:100], user_inputs=[*personal, *LOCAL_WORDS])
    if result["score"] >= GUESSABLE_SCORE:
        return None
    patterns = {match.get("pattern") for match in result["sequence"]}
    dictionaries = {match.get("dictionary_name") for match in result["sequence"]}
    if "user_inputs" in dictionaries:
        reason = _("memuat nama, kata umum di instansi ini, atau data diri yang mudah ditebak")
    elif "passwords" in dictionaries:
        reason = _("termasuk kata sandi yang paling sering dipakai")
    elif "repeat" in patterns:
        reason = _("berupa pengulangan karakter atau kata (misalnya aaaaaaaa)")
    elif "sequence" in patterns or "spatial" in patterns:
        reason = _("berupa urutan huruf, angka, atau tombol papan ketik (misalnya abcd1234, qwerty)")
    elif "date" in patterns or "regex" in patterns:
        reason = _("terlalu bertumpu pada tanggal atau tahun")
    else:
        reason = _("terlalu pendek atau terlalu umum")
    return _(
        "Kata sandi ini mudah ditebak: %(reason)s. Gunakan gabungan beberapa kata yang tidak "
        "berhubungan, misalnya 'kopi-hujan-jendela-42'.",
        reason=reason,
    )


def _set_password(account: Account, password: str, *, must_change: bool) -> None:
    """Store the hash; every open session and every reset link of the account stop working."""
    account.password_hash = hash_password(password)
    account.must_change_password = must_change
    account.failed_logins = 0
    account.locked_until = None
    account.session_nonce = secrets.token_hex(8)
    void_reset_links(account)


def void_reset_links(account: Account) -> None:
    """Every reset link of the account not used yet stops working (in the caller's transaction)."""
    if account.id is not None:
        db.session.execute(
            sa.update(PasswordResetToken)
            .where(PasswordResetToken.account_id == account.id, PasswordResetToken.used_at.is_(None))
            .values(used_at=clock.utcnow())
        )


def sign_out(account: Account) -> None:
    """End the account's sessions for real: a copied session cookie stops working; commits.

    The session cookie names the account's nonce (`Account.get_id`); a new nonce makes every
    cookie issued before it worthless, on every device, at no cost per request.
    """
    account.session_nonce = secrets.token_hex(8)
    audit.record("auth.logout", account, actor=account)
    db.session.commit()


def change_password(account: Account, current: str, new: str) -> None:
    """The user changes their own password; commits, or raises Refused by field."""
    if not account.password_hash or not check_password_hash(account.password_hash, current):
        raise Refused({"current_password": _("Kata sandi saat ini salah.")})
    if current == new:
        raise Refused({"new_password": _("Kata sandi baru harus berbeda dari kata sandi saat ini.")})
    problem = password_problem(new, account=account)
    if problem:
        raise Refused({"new_password": problem})
    _set_password(account, new, must_change=False)
    audit.record("auth.password_changed", account, actor=account)
    db.session.commit()


def password_setting_refusal(actor: Account, employee: Employee) -> str | None:
    """Why `actor` may not set this employee's password, or None.

    Setting someone's password lets one sign in as them, so nobody may do it to an account that
    holds a right they do not hold themselves (HR cannot become an administrator this way), and
    one's own password is changed with the current one, not set.
    """
    account = employee.account
    if account is None:
        return None
    if account.id == actor.id:
        return _("Untuk akun Anda sendiri, gunakan menu Ganti kata sandi.")
    beyond = rights_beyond(actor, account)
    if beyond:
        return _(
            "Anda tidak dapat menetapkan kata sandi akun ini karena akun itu memiliki hak yang tidak "
            "Anda miliki (%(roles)s). Mintalah administrator sistem, atau minta pemilik akun memakai "
            '"Lupa kata sandi".',
            roles=role_names(beyond),
        )
    return None


def role_names(roles: set[Role]) -> str:
    """The roles as users read them, comma-separated."""
    return ", ".join(str(ROLE_LABELS[role]) for role in sorted(roles))


def set_initial_password(actor: Account, employee: Employee, password: str) -> Account:
    """Someone else (HR) sets a password the employee must change at first sign-in; creates the
    account if needed. Raises Refused by field; the caller commits. Audited as set by the actor."""
    refusal = password_setting_refusal(actor, employee)
    if refusal:
        raise Refused(refusal)
    problem = password_problem(password, account=employee.account, employee=employee)
    if problem:
        raise Refused({"password": problem})
    account = employee.account
    created = account is None
    if created:
        account = Account(employee=employee)
        account.set_roles({Role.EMPLOYEE})
        db.session.add(account)
    _set_password(account, password, must_change=True)
    audit.record(
        "account.password_set",
        account,
        actor=actor,
        data={"employee": employee.nip, "created": created, "set_by_other": True},
    )
    return account


def set_roles(account: Account, roles: set[Role], *, actor: Account | None = None) -> bool:
    """Replace the roles of an account (audited; the caller commits). True when rights were
    gained and so the account's password was renewed.

    Someone may know the account's password (an initial password HR set, even one changed
    since by whoever knew it), and rights granted to the account would then be theirs too. So
    when HR or administrator rights are granted to someone else's account, its password and
    sessions end and a reset link goes to the account's own e-mail.
    """
    gained = roles - account.roles - {Role.EMPLOYEE}
    before = sorted(r.value for r in account.roles)
    account.set_roles(roles)
    after = sorted(r.value for r in roles)
    if before != after:
        audit.record("account.roles_changed", account, actor=actor, data={"before": before, "after": after})
    renew = bool(gained) and (actor is None or actor.id != account.id)
    if renew:
        account.password_hash = None
        account.must_change_password = False
        account.session_nonce = secrets.token_hex(8)
        void_reset_links(account)
        _queue_reset_email(account)
        audit.record(
            "account.password_renewal_required", account, actor=actor, data={"gained": sorted(gained)}
        )
    return renew


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


def request_password_reset(identifier: str) -> None:
    """Queue a reset email if the account exists; commits.

    The email carries a marker where the link goes: the relay makes the single-use link when
    it sends (`app.notify.secret_links`), so the link is in no table and on no page. The answer
    to the user is the same either way, so the form reveals no accounts.
    """
    account = find_account(identifier)
    if account is None or not account.is_active or not account.login_email:
        audit.record("auth.password_reset_unknown", data={"identifier": (identifier or "")[:254]})
        db.session.commit()
        return
    _queue_reset_email(account)
    audit.record("auth.password_reset_requested", account, actor=account)
    db.session.commit()


def _queue_reset_email(account: Account) -> None:
    """Queue the email whose link (made when it is sent) sets the account's password."""
    from app.notify import notify

    notify(
        "password_reset",
        account,
        f"password_reset:{account.id}:{secrets.token_hex(8)}",
        link=secret_marker("password_reset", account.id),
        hours=current_app.config["PASSWORD_RESET_HOURS"],
    )


def _live_reset_token(token: str) -> PasswordResetToken | None:
    if not token or len(token) > 200:
        return None
    row = db.session.scalar(
        sa.select(PasswordResetToken).where(PasswordResetToken.token_hash == PasswordResetToken.digest(token))
    )
    if row is None or row.used_at is not None or row.expires_at <= clock.utcnow():
        return None
    return row


def account_for_reset_token(token: str) -> Account | None:
    """The account a reset link is for, or None when it is unknown, expired or already used."""
    row = _live_reset_token(token)
    account = db.session.get(Account, row.account_id) if row is not None else None
    if account is None or not account.is_active:
        return None
    return account


def reset_password(token: str, new: str) -> Account:
    """Set a new password from a reset link; this link and every other one of the account then
    stop working, and so do the account's sessions; commits."""
    account = account_for_reset_token(token)
    if account is None:
        raise Refused(_("Tautan atur ulang kata sandi tidak berlaku lagi (kedaluwarsa atau sudah dipakai)."))
    problem = password_problem(new, account=account)
    if problem:
        raise Refused({"new_password": problem})
    _set_password(account, new, must_change=False)
    audit.record("auth.password_reset", account, actor=account)
    db.session.commit()
    return account
