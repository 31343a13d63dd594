"""Error pages in Bahasa Indonesia."""

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

from app import database
from app.extensions import db
from app.inputs import UnreadableInput


def register_error_handlers(app) -> None:
    """Install the handlers for 400/CSRF, 403, 404, 405, 413, 500 and 503 (the database not answering)."""

    def page(code: int, title: str, message: str):
        return render_template("errors/error.html", code=code, title=title, message=message), code

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return page(
            400,
            _("Permintaan ditolak"),
            _(
                "Token keamanan formulir tidak ada atau sudah kedaluwarsa, sehingga tidak ada "
                "yang diubah. Kembali ke halaman sebelumnya, muat ulang, lalu coba lagi."
            ),
        )

    @app.errorhandler(UnreadableInput)
    def unreadable_input(error):
        return page(
            400,
            _("Permintaan ditolak"),
            _(
                "Alamat atau isian memuat karakter yang tidak diizinkan (karakter kendali atau teks "
                "yang rusak), sehingga tidak ada yang dibuka atau diubah. Periksa lalu coba lagi."
            ),
        )

    @app.errorhandler(400)
    def bad_request(error):
        return page(400, _("Permintaan tidak valid"), _("Permintaan tidak dapat diproses."))

    @app.errorhandler(403)
    def forbidden(error):
        return page(403, _("Akses ditolak"), _("Anda tidak berwenang membuka atau mengubah data ini."))

    @app.errorhandler(404)
    def not_found(error):
        return page(404, _("Halaman tidak ditemukan"), _("Halaman atau data yang Anda cari tidak ada."))

    @app.errorhandler(405)
    def method_not_allowed(error):
        return page(405, _("Metode tidak diizinkan"), _("Halaman ini tidak menerima permintaan seperti itu."))

    @app.errorhandler(413)
    def too_large(error):
        limit = app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
        flash(_("Berkas terlalu besar. Ukuran maksimum %(mb)d MB.", mb=limit), "danger")
        return redirect(request.path)

    @app.errorhandler(sa.exc.OperationalError)
    @app.errorhandler(sa.exc.InterfaceError)
    @app.errorhandler(sa.exc.TimeoutError)
    def database_unavailable(error):
        """503 when the database gave up or did not answer in time (app/database.py); other errors go on."""
        if not database.unavailable(error):
            raise error
        app.logger.warning("database unavailable: %s", error)
        db.session().invalidate()  # no round trip to a server that may not answer; the pool connects anew
        # Rendered on its own, without base.html and the context processors: they would ask the
        # database again for the signed-in user.
        html = app.jinja_env.get_template("errors/unavailable.html").render(
            title=_("Basis data tidak menjawab"),
            message=_(
                "Basis data sedang tidak menjawab, sehingga halaman ini tidak dapat ditampilkan dan "
                "tidak ada perubahan yang tersimpan. Silakan coba lagi dalam beberapa saat."
            ),
            agency_name=app.config["AGENCY_NAME"],
            again=request.url if request.method == "GET" else url_for("main.index"),
        )
        return html, 503, {"Retry-After": "30"}

    @app.errorhandler(500)
    def server_error(error):
        db.session.rollback()
        return page(
            500,
            _("Terjadi kesalahan"),
            _("Terjadi kesalahan di server; tidak ada perubahan yang tersimpan. Silakan coba lagi."),
        )
