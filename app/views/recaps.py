"""HR's Excel recaps: a cycle's results, progress and distribution per unit, the monthly recap of a
year. The workbook is written to a temporary file (constant memory) and sent from there."""

import tempfile

from flask import Blueprint, abort, send_file
from flask_login import login_required
from werkzeug.utils import secure_filename

from app.extensions import db
from app.models import Cycle
from app.output import xlsx
from app.policy import Action, require
from app.views import actor

bp = Blueprint("recaps", __name__)

FIRST_YEAR, LAST_YEAR = 2000, 2100


def _send(write, subject, name: str):
    """Write a recap into a temporary file and send it as an attachment named `name`."""
    out = tempfile.TemporaryFile()  # noqa: SIM115 (closed by send_file when the response ends)
    write(subject, out)
    out.seek(0)
    return send_file(out, mimetype=xlsx.MIMETYPE, as_attachment=True, download_name=name, max_age=0)


def _cycle(cycle_id: int) -> Cycle:
    require(actor(), Action.MANAGE_CYCLES)
    cycle = db.session.get(Cycle, cycle_id)
    if cycle is None:
        abort(404)
    return cycle


def _name(kind: str, cycle: Cycle) -> str:
    """ "rekap-hasil-SKP_2027.xlsx"; the cycle's id when its name has no usable letters."""
    return f"rekap-{kind}-{secure_filename(cycle.name) or cycle.id}.xlsx"


@bp.route("/cycles/<int:cycle_id>/rekap-hasil.xlsx")
@login_required
def results(cycle_id: int):
    """The results of a cycle, one row per evaluation."""
    cycle = _cycle(cycle_id)
    return _send(xlsx.write_results, cycle, _name("hasil", cycle))


@bp.route("/cycles/<int:cycle_id>/rekap-kemajuan.xlsx")
@login_required
def progress(cycle_id: int):
    """A cycle's progress per unit."""
    cycle = _cycle(cycle_id)
    return _send(xlsx.write_progress, cycle, _name("kemajuan", cycle))


@bp.route("/cycles/<int:cycle_id>/rekap-distribusi.xlsx")
@login_required
def distribution(cycle_id: int):
    """A cycle's distribution per unit against its kurva."""
    cycle = _cycle(cycle_id)
    return _send(xlsx.write_distribution, cycle, _name("distribusi", cycle))


@bp.route("/rekap/bulanan/<int:year>.xlsx")
@login_required
def monthly(year: int):
    """The monthly recap of a year."""
    require(actor(), Action.MANAGE_CYCLES)
    if not FIRST_YEAR <= year <= LAST_YEAR:
        abort(404)
    return _send(xlsx.write_monthly, year, f"rekap-bulanan-{year}.xlsx")
