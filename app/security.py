"""Security configured once for every request: response headers, the client address behind
trusted proxies, and throttling of sign-in and password-reset requests.

- Headers come from Flask-Talisman: a Content-Security-Policy without inline script or style
  that forbids framing (clickjacking of the approve/review/decision forms), nosniff,
  `Referrer-Policy: no-referrer` (reset tokens travel in URLs), HSTS in production only.
  Endpoints that serve uploaded files get a sandbox policy instead.
- The client address is the socket peer, or what TRUSTED_PROXIES reverse proxies in front of
  us report (werkzeug's ProxyFix): an X-Forwarded-For written by the client itself is ignored.
- Throttling comes from Flask-Limiter, per client address and for everyone together, on top of
  the per-account lockout in app/services/accounts.py. The counters live in Redis in
  production so every worker and host shares them.
"""

import ipaddress
import math
import time

from flask import Flask, make_response, render_template, request
from flask_limiter import Limiter, RateLimitExceeded
from flask_login import current_user
from flask_talisman import Talisman
from werkzeug.middleware.proxy_fix import ProxyFix

CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",  # Bootstrap draws its icons (toggler, close, checks) as data: SVG
    "font-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}

# For user-uploaded files: nothing may load or run, and the document gets an opaque origin, so an
# HTML/PDF polyglot opened in a tab can neither script nor read the app's origin.
SANDBOX_POLICY = {"default-src": "'none'", "frame-ancestors": "'none'", "sandbox": ""}
SANDBOXED_ENDPOINTS = ("evaluations.download_evidence", "dialog.download")

PERMISSIONS_POLICY = {"browsing-topics": "()", "camera": "()", "microphone": "()", "geolocation": "()"}

# What a throttled request was trying to do, for the 429 page.
SIGN_IN, PASSWORD_RESET = "sign-in", "password-reset"


def init_app(app: Flask) -> None:
    """Install the proxy fix, the security headers and the throttling; call after the blueprints."""
    trusted = app.config["TRUSTED_PROXIES"]
    if trusted > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=trusted, x_proto=trusted)  # type: ignore[method-assign]
    init_headers(app)
    init_throttling(app)


def init_headers(app: Flask) -> None:
    """Flask-Talisman with the policy above; HSTS in production only, no HTTPS redirect here."""
    production = app.config["ENV_NAME"] == "production"
    Talisman(
        app,
        # TLS ends at the reverse proxy, which also redirects http to https; a redirect here would
        # loop behind a proxy that does not say X-Forwarded-Proto and break http health checks.
        force_https=False,
        strict_transport_security=production,
        strict_transport_security_include_subdomains=False,  # other hosts of the agency are not ours
        content_security_policy=CONTENT_SECURITY_POLICY,
        frame_options="DENY",
        referrer_policy="no-referrer",
        permissions_policy=PERMISSIONS_POLICY,
        # The cookie settings stay those of config.py (Secure in production, not over dev http).
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        session_cookie_http_only=app.config["SESSION_COOKIE_HTTPONLY"],
        session_cookie_samesite=app.config["SESSION_COOKIE_SAMESITE"],
    )
    for endpoint in SANDBOXED_ENDPOINTS:
        app.view_functions[endpoint].talisman_view_options = {"content_security_policy": SANDBOX_POLICY}


def client_address() -> str:
    """The throttling key of the client: its address (an IPv6 client by its /64, which one
    subscriber usually holds whole)."""
    address = request.remote_addr or "unknown"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def everyone() -> str:
    """The throttling key shared by all clients (the global limits)."""
    return "all-clients"


def failed_sign_in(response) -> bool:
    """Count a sign-in attempt that did not end signed in (a refusal by the limit itself aside)."""
    return response.status_code != 429 and not current_user.is_authenticated


def counted(response) -> bool:
    """Count every password-reset request that the limit did not refuse itself."""
    return response.status_code != 429


def init_throttling(app: Flask) -> None:
    """A Flask-Limiter for this app, applied to the sign-in and password-reset posts."""
    config = app.config
    if not config["RATELIMIT_ENABLED"]:
        app.logger.info("Sign-in throttling is off (RATELIMIT_ENABLED)")
        return
    storage = config["RATELIMIT_STORAGE_URI"]
    if storage.startswith("memory://"):
        if config["ENV_NAME"] == "production":
            raise RuntimeError(
                "RATELIMIT_STORAGE_URI=memory:// counts per process, so each worker and host would allow "
                "the full limit: set it to the shared Redis, e.g. redis://127.0.0.1:6379/0"
            )
        app.logger.warning(
            "Sign-in throttling counts in this process's memory (%s); set RATELIMIT_STORAGE_URI to a "
            "Redis URL to share the counters between processes",
            storage,
        )
    options = {}
    if storage.startswith(("redis://", "rediss://", "redis+unix://")):
        # A Redis that hangs must not hold sign-in: give up quickly and fall back to memory.
        options = {"socket_connect_timeout": 1, "socket_timeout": 1}
    limiter = Limiter(
        client_address,
        storage_uri=storage,
        storage_options=options,
        strategy="fixed-window",
        key_prefix=config["RATELIMIT_KEY_PREFIX"],
        # Redis down: count in this process's memory meanwhile (retried with backoff), and
        # never turn a storage error into a failed request.
        in_memory_fallback_enabled=True,
        swallow_errors=True,
        headers_enabled=False,
    )
    limiter.init_app(app)
    app.extensions["kinerja_limiter"] = limiter

    views = app.view_functions
    per_address = limiter.limit(
        config["LOGIN_RATE_PER_ADDRESS"], methods=["POST"], deduct_when=failed_sign_in
    )
    for_all = limiter.limit(
        config["LOGIN_RATE_GLOBAL"], key_func=everyone, methods=["POST"], deduct_when=failed_sign_in
    )
    views["auth.login"] = for_all(per_address(views["auth.login"]))

    # Asking for a link and using one share a budget: both are what an attacker would repeat.
    per_address = limiter.shared_limit(
        config["PASSWORD_RESET_RATE_PER_ADDRESS"], scope=PASSWORD_RESET, methods=["POST"], deduct_when=counted
    )
    for_all = limiter.shared_limit(
        config["PASSWORD_RESET_RATE_GLOBAL"],
        scope=PASSWORD_RESET + "-all",
        key_func=everyone,
        methods=["POST"],
        deduct_when=counted,
    )
    for endpoint in ("auth.forgot_password", "auth.reset_password"):
        views[endpoint] = for_all(per_address(views[endpoint]))

    @app.errorhandler(RateLimitExceeded)
    def throttled(error):
        """The 429 page: what happened and in how many minutes to try again, the identifier kept."""
        seconds = retry_after_seconds(limiter)
        response = make_response(
            render_template(
                "errors/throttled.html",
                what=SIGN_IN if request.endpoint == "auth.login" else PASSWORD_RESET,
                minutes=max(1, math.ceil(seconds / 60)),
                form=retry_form(),
            ),
            429,
        )
        response.headers["Retry-After"] = str(seconds)
        return response


def retry_after_seconds(limiter: Limiter) -> int:
    """Seconds until the breached limit's window ends (a minute when the storage cannot say)."""
    breached = limiter.current_limit
    try:
        reset_at = breached.window.reset_time if breached is not None else None
    except Exception:  # the storage went away between the check and now
        reset_at = None
    if reset_at is None:
        return 60
    return max(1, math.ceil(reset_at - time.time()))


def retry_form():
    """The form the throttled user was sending, refilled with what they typed (never the password)."""
    from app.forms.auth import ForgotPasswordForm, LoginForm

    form_class = {"auth.login": LoginForm, "auth.forgot_password": ForgotPasswordForm}.get(
        request.endpoint or ""
    )
    if form_class is None:
        return None
    return form_class(formdata=None, identifier=request.form.get("identifier", "")[:254])
