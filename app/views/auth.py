"""Sign-in, sign-out and password change."""

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from app.forms.auth import ChangePasswordForm, ForgotPasswordForm, LoginForm, ResetPasswordForm
from app.services import Refused, accounts
from app.views import actor, apply_refusal, form_checks_csrf

bp = Blueprint("auth", __name__)

ALLOWED_WHILE_MUST_CHANGE = {
    "auth.change_password",
    "auth.logout",
    "auth.forgot_password",
    "auth.reset_password",
    "static",
    "main.healthz",
}


@bp.before_app_request
def require_password_change():
    """A user with an initial password must change it before anything else."""
    if (
        current_user.is_authenticated
        and current_user.must_change_password
        and request.endpoint not in ALLOWED_WHILE_MUST_CHANGE
    ):
        return redirect(url_for("auth.change_password"))
    return None


def safe_next(target: str | None) -> str:
    """Only same-site paths are followed after sign-in."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
            return target
    return url_for("main.index")


@bp.route("/login", methods=["GET", "POST"])
@form_checks_csrf
def login():
    """Sign in with NIP or e-mail and password."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        account = accounts.authenticate(form.identifier.data, form.password.data)
        if account is not None:
            login_user(account)
            if account.must_change_password:
                flash(_("Ini sign-in pertama Anda: silakan ganti kata sandi awal."), "info")
                return redirect(url_for("auth.change_password"))
            return redirect(safe_next(request.args.get("next")))
        flash(
            _(
                "NIP/email atau kata sandi salah, atau akun sedang dikunci sementara karena "
                "terlalu banyak percobaan. Coba lagi nanti atau hubungi admin kepegawaian."
            ),
            "danger",
        )
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    """Sign out (POST with the CSRF token, so no page can sign a user out by a link).

    The account's sessions end on the server too, so a copied cookie stops working.
    """
    account = actor()
    if account is not None:
        accounts.sign_out(account)
    logout_user()
    flash(_("Anda telah keluar dari semua perangkat."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
@form_checks_csrf
def change_password():
    """Change one's own password."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            accounts.change_password(actor(), form.current_password.data, form.new_password.data)
        except Refused as refusal:
            apply_refusal(form, refusal)
        else:
            login_user(actor())  # the session id carries the new nonce
            flash(_("Kata sandi berhasil diganti."), "success")
            return redirect(url_for("main.index"))
    return render_template("auth/change_password.html", form=form)


@bp.route("/password/forgot", methods=["GET", "POST"])
@form_checks_csrf
def forgot_password():
    """Ask for a reset link by email; the answer never reveals whether the account exists."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        accounts.request_password_reset(form.identifier.data)
        flash(
            _(
                "Bila NIP/email itu terdaftar, tautan untuk mengatur ulang kata sandi sudah dikirim ke "
                "email akun tersebut. Periksa kotak masuk Anda."
            ),
            "info",
        )
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot_password.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@form_checks_csrf
def reset_password(token: str):
    """Choose a new password from a signed, expiring, single-use link."""
    if accounts.account_for_reset_token(token) is None:
        flash(
            _("Tautan atur ulang kata sandi tidak berlaku lagi (kedaluwarsa atau sudah dipakai)."), "danger"
        )
        return redirect(url_for("auth.forgot_password"))
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            accounts.reset_password(token, form.new_password.data)
        except Refused as refusal:
            apply_refusal(form, refusal)
        else:
            logout_user()
            flash(_("Kata sandi baru tersimpan. Silakan masuk."), "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form)
