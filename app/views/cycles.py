"""HR's cycle pages: create, preview, open, advance, extend, reopen, distribution, publish, close."""

import functools
from datetime import datetime

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    get_template_attribute,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import login_required
from flask_sqlalchemy.pagination import Pagination
from markupsafe import Markup
from sqlalchemy.orm import aliased

from app import clock
from app.domain import OrgPredikat, Predikat
from app.extensions import db
from app.forms.base import options
from app.forms.cycles import KIND_LABELS, CycleForm, ExtendForm
from app.inputs import page_number, parse_int
from app.models import (
    Cycle,
    CycleKind,
    CycleState,
    Employee,
    Evaluation,
    EvaluationState,
    OrgUnit,
)
from app.models.types import UTCDateTime
from app.policy import Action, require
from app.services import Conflict, Refused, coaching, cockpit
from app.services.cockpit import NOT_STARTED
from app.services.home import locked_early
from app.services.people import matching
from app.services.tasks import flag, late
from app.templating import progress_columns
from app.views import ListPage, RowPage, actor, apply_refusal, form_checks_csrf, form_version
from app.views.org import unit_tree
from app.workflow import cycles as service
from app.workflow.definitions import CYCLE_STATE_LABELS, EVALUATION_STATE_LABELS
from app.workflow.distribution import distribution

bp = Blueprint("cycles", __name__, url_prefix="/cycles")

OVERDUE_ON_DASHBOARD = 10  # the rest are on their own page, with a search
DASHBOARD_UNITS = 20  # units in the dashboard's progress table; more: those furthest behind, and a link
DISTRIBUTION_UNITS_PER_PAGE = 50


# The constant label sets a page may ask for translated, by name.
LABEL_SETS = {"cycle_states": CYCLE_STATE_LABELS, "evaluation_states": EVALUATION_STATE_LABELS}
_TRANSLATED: dict[tuple[str, str], dict] = {}


def translated(name: str) -> dict:
    """The label set `name` (LABEL_SETS) in the request's language, translated once per process
    and language: a lazy label is translated again each time a row shows it (ten rows of the
    overdue table, say), and the catalogues do not change while the process runs."""
    key = (name, str(get_locale()))
    texts = _TRANSLATED.get(key)
    if texts is None:
        texts = _TRANSLATED[key] = {state: str(label) for state, label in LABEL_SETS[name].items()}
    return texts


def get_cycle(cycle_id: int) -> Cycle:
    """The cycle or 404, for HR."""
    require(actor(), Action.MANAGE_CYCLES)
    cycle = db.session.get(Cycle, cycle_id)
    if cycle is None:
        abort(404)
    return cycle


def local(value: datetime | None) -> datetime | None:
    """A naive date-time from a form, in the agency's time zone."""
    return value.replace(tzinfo=clock.tz()) if value is not None else None


def version() -> int:
    """The version the page was rendered with; refused when the form carries none it can read."""
    return form_version(request.form.get("version"))


def refusal_status(refusal: Refused) -> int:
    """409 when the cycle changed since the page was rendered, else 400."""
    return 409 if isinstance(refusal, Conflict) else 400


@bp.route("/")
@login_required
def index():
    """Every cycle, newest first, each with what it waits for from HR (`?perlu=1`: only those)."""
    require(actor(), Action.MANAGE_CYCLES)
    cycles = db.session.scalars(sa.select(Cycle).order_by(Cycle.year.desc(), Cycle.id.desc())).all()
    now = clock.utcnow()
    running = [c.id for c in cycles if c.state in cockpit.PHASES]
    counts = cockpit.cycle_counts(running, now)
    waiting = {c.id: cockpit.waiting_for_hr(c, counts.get(c.id, cockpit.CycleCounts()), now) for c in cycles}
    only_waiting = request.args.get("perlu") == "1"
    return render_template(
        "cycles/index.html",
        cycles=[c for c in cycles if waiting[c.id]] if only_waiting else cycles,
        waiting=waiting,
        counts=counts,
        waiting_count=sum(1 for kinds in waiting.values() if kinds),
        only_waiting=only_waiting,
        labels=CYCLE_STATE_LABELS,
        kinds=KIND_LABELS,
    )


def fill(form: CycleForm) -> None:
    """Choices for units and the annual cycles a periodic one may reuse."""
    form.unit_ids.choices = options(
        (u.id, "\u2003" * depth + u.name) for u, depth, _n in unit_tree() if u.active
    )
    annual = db.session.scalars(
        sa.select(Cycle).where(Cycle.kind == CycleKind.ANNUAL).order_by(Cycle.year.desc())
    ).all()
    form.annual_cycle_id.choices = options([(0, _("— tidak ada —"))] + [(c.id, c.name) for c in annual])


@bp.route("/new", methods=["GET", "POST"])
@bp.route("/<int:cycle_id>/edit", methods=["GET", "POST"])
@login_required
@form_checks_csrf
def edit(cycle_id: int | None = None):
    """Create or edit a draft cycle."""
    require(actor(), Action.MANAGE_CYCLES)
    cycle = get_cycle(cycle_id) if cycle_id else None
    form = CycleForm(obj=cycle)
    fill(form)
    if request.method == "GET" and cycle is not None:
        form.unit_ids.data = [u.id for u in cycle.units]
        form.kind.data = cycle.kind.value
        form.annual_cycle_id.data = cycle.annual_cycle_id or 0
        for name in service.ORDERED_DEADLINES:
            value = getattr(cycle, name)
            getattr(form, name).data = value.astimezone(clock.tz()).replace(tzinfo=None) if value else None
    elif request.method == "GET":
        form.year.data = clock.now().year + 1
    if form.validate_on_submit():
        data = {
            "name": form.name.data,
            "kind": form.kind.data,
            "year": form.year.data,
            "period": form.period.data,
            "annual_cycle_id": form.annual_cycle_id.data or None,
            "unit_ids": form.unit_ids.data,
            "appeal_window_days": form.appeal_window_days.data,
            "appeal_decision_days": form.appeal_decision_days.data,
            "reminder_days": form.reminder_days.data,
            "coaching_behind_pct": form.coaching_behind_pct.data,
            "auto_advance": form.auto_advance.data,
            **{name: local(getattr(form, name).data) for name in service.ORDERED_DEADLINES},
        }
        try:
            cycle = service.save_cycle(cycle, data, actor())
        except Refused as refusal:
            apply_refusal(form, refusal)
        else:
            flash(
                _("Periode %(name)s disimpan. Periksa cakupannya lalu buka periode.", name=cycle.name),
                "success",
            )
            return redirect(url_for("cycles.view", cycle_id=cycle.id))
    return render_template("cycles/form.html", form=form, cycle=cycle)


def overdue_count(cycle: Cycle) -> int:
    """How many are late (the number every page shows: the same condition as the list)."""
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Evaluation)
        .join(Cycle, Cycle.id == Evaluation.cycle_id)
        .where(Evaluation.cycle_id == cycle.id, late(clock.utcnow()))
    )


def _late_rows(evaluations: sa.Select) -> sa.Select:
    """What a row of the overdue table shows (`cycles/_overdue.html`) for the evaluations
    `evaluations` selects (by id), in the list's order: plain rows, the names joined in and the
    lock's cause (HR closed the phase early) judged in the same statement."""
    rater = aliased(Employee)
    return (
        sa.select(
            Evaluation.id,
            Evaluation.state,
            Employee.name.label("employee_name"),
            rater.name.label("rater_name"),
            OrgUnit.name.label("unit_name"),
            flag(locked_early()).label("locked_early"),
        )
        .join(Cycle, Cycle.id == Evaluation.cycle_id)
        .join(Employee, Employee.id == Evaluation.employee_id)
        .join(rater, rater.id == Evaluation.rater_id)
        .join(OrgUnit, OrgUnit.id == Evaluation.unit_id)
        .where(Evaluation.id.in_(evaluations))
        .order_by(Evaluation.unit_id, Evaluation.id)
    )


def overdue_query(cycle: Cycle, query: str) -> sa.Select:
    """The late evaluations (app.services.tasks.late) of the people `query` finds (by part of
    their name or NIP), as the overdue table's rows, by unit."""
    found = (
        sa.select(Evaluation.id)
        .join(Cycle, Cycle.id == Evaluation.cycle_id)
        .where(
            Evaluation.cycle_id == cycle.id,
            late(clock.utcnow()),
            Evaluation.employee_id.in_(sa.select(Employee.id).where(matching(query))),
        )
    )
    return _late_rows(found)


@functools.cache
def _late_window_statement() -> sa.Select:
    """The overdue table's rows of the cycle `:cycle_id` at `:now`, limited to the units `:low`
    to `:high` that are in `:units`, from `:offset`, `:limit` rows. The page's ids are picked
    first without the people's names, then only those rows are read with them; the unit range
    keeps the index's order (an IN list alone made PostgreSQL scan the cycle's every
    evaluation). Built once per process: composing `late` costs more than running it."""
    unit = Evaluation.unit_id
    page = (
        sa.select(Evaluation.id)
        .join(Cycle, Cycle.id == Evaluation.cycle_id)
        .where(
            Evaluation.cycle_id == sa.bindparam("cycle_id"),
            unit.between(sa.bindparam("low"), sa.bindparam("high")),
            unit.in_(sa.bindparam("units", expanding=True)),
            late(sa.bindparam("now", type_=UTCDateTime())),
        )
        .order_by(unit, Evaluation.id)
        .offset(sa.bindparam("offset"))
        .limit(sa.bindparam("limit"))
        .subquery()
    )
    return _late_rows(sa.select(page.c.id))


def late_window(cycle: Cycle, per_unit: dict[int, int], offset: int, limit: int) -> list[sa.Row]:
    """The late evaluations from `offset` on, in the list's order (by unit, then id), read from
    the units that part of the list falls in only: the counts per unit say which."""
    before, units, covered = 0, [], 0
    for unit_id in sorted(per_unit):
        n = per_unit[unit_id]
        if not units and before + n <= offset:
            before += n
            continue
        units.append(unit_id)
        covered += n
        if before + covered >= offset + limit:
            break
    if not units:
        return []
    params = {
        "cycle_id": cycle.id,
        "low": units[0],
        "high": units[-1],
        "units": units,
        "now": clock.utcnow(),
        "offset": offset - before,
        "limit": limit,
    }
    return db.session.execute(_late_window_statement(), params).all()


class LatePage(Pagination):
    """A page of the overdue list: the total from the counts per unit (cockpit.late_per_unit),
    the rows from the units the page falls in (`late_window`)."""

    def __init__(self, cycle: Cycle, per_unit: dict[int, int], per_page: int):
        self._cycle, self._per_unit = cycle, per_unit
        super().__init__(page=page_number(), per_page=per_page, max_per_page=None, error_out=False)

    def _query_items(self) -> list:
        offset = (self.page - 1) * self.per_page
        return late_window(self._cycle, self._per_unit, offset, self.per_page)

    def _query_count(self) -> int:
        return sum(self._per_unit.values())


@functools.cache
def _extended_statement() -> sa.Select:
    """Evaluations of the cycle `:cycle_id` under a personal extension still running at `:now`,
    the soonest to end first, as plain rows with the names shown; built once per process."""
    return (
        sa.select(
            Evaluation.id,
            Evaluation.state,
            Evaluation.extended_until,
            Employee.name.label("employee_name"),
            OrgUnit.name.label("unit_name"),
        )
        .join(Employee, Employee.id == Evaluation.employee_id)
        .join(OrgUnit, OrgUnit.id == Evaluation.unit_id)
        .where(
            Evaluation.cycle_id == sa.bindparam("cycle_id"),
            Evaluation.extended_until.is_not(None),  # the partial index ix_evaluation_extended
            Evaluation.extended_until > sa.bindparam("now", type_=UTCDateTime()),
        )
        .order_by(Evaluation.extended_until, Evaluation.id)
        .limit(200)
    )


def extended(cycle: Cycle) -> list[sa.Row]:
    """Evaluations working under a personal extension that still runs."""
    return db.session.execute(_extended_statement(), {"cycle_id": cycle.id, "now": clock.utcnow()}).all()


@bp.route("/<int:cycle_id>")
@login_required
def view(cycle_id: int):
    """The cycle's dashboard: phase, deadlines, actions, coverage, progress per unit, overdue."""
    return dashboard(get_cycle(cycle_id))


def consequences(cycle: Cycle, units: list[cockpit.UnitProgress]) -> dict[str, str]:
    """What each irreversible cycle action does, with its real figures, for its confirmation
    (the counts come from the progress table the page shows, so they agree with it)."""
    total = cockpit.totals(units)
    S = EvaluationState
    texts = {
        "close": _(
            "Tutup periode? %(n)d penilaian menjadi arsip untuk selamanya; tidak ada yang dapat diubah lagi.",
            n=sum(total.values()),
        )
    }
    if cycle.state == CycleState.TARGET_SETTING:
        texts["advance"] = _(
            "Pindah ke tahap berikutnya, penilaian mandiri? %(locked)d pegawai yang belum "
            "mengajukan SKP akan terkunci (kecuali yang tenggatnya diperpanjang); %(opened)d pegawai "
            "dengan SKP yang ditetapkan menerima email pembukaan penilaian mandiri.",
            locked=total.get(NOT_STARTED, 0) + total.get(S.TARGETS_DRAFT.value, 0),
            opened=total.get(S.TARGETS_APPROVED.value, 0),
        )
    elif cycle.state == CycleState.SELF_ASSESSMENT:
        texts["advance"] = _(
            "Pindah ke tahap berikutnya, penilaian atasan? %(locked)d pegawai yang belum "
            "mengajukan penilaian mandiri akan terkunci (kecuali yang tenggatnya diperpanjang).",
            locked=total.get(S.ASSESSMENT_DRAFT.value, 0),
        )
    else:
        texts["advance"] = _(
            "Pindah ke tahap berikutnya, masa keberatan? %(waiting)d penilaian mandiri belum dinilai atasan.",
            waiting=total.get(S.ASSESSMENT_SUBMITTED.value, 0),
        )
    return texts


def curve_chart(cycle: Cycle, counts: list[cockpit.UnitCounts]) -> cockpit.CurveChart | None:
    """The dashboard's distribution chart, once ratings can exist (none before the self-assessment)."""
    if cycle.state in (CycleState.DRAFT, CycleState.TARGET_SETTING):
        return None
    return cockpit.curve_chart(distribution(cycle, counts))


def units_shown(cycle: Cycle, units: list[cockpit.UnitProgress]) -> list[cockpit.UnitProgress]:
    """The units the dashboard's progress table lists: all of them, by name, when there are few
    or the officer asked for all (`?unit=semua`); else the DASHBOARD_UNITS furthest behind in the
    current phase (the lowest share done, then the most still to do), or the first by name once
    no phase is running. A city's 200 units are a list to look up, not to read on every visit."""
    if len(units) <= DASHBOARD_UNITS or request.args.get("unit") == "semua":
        return units
    if cycle.state not in cockpit.PHASES:
        return units[:DASHBOARD_UNITS]
    return sorted(units, key=lambda u: (u.percent, u.done - u.total, u.name, u.unit_id))[:DASHBOARD_UNITS]


def dashboard(
    cycle: Cycle, status: int = 200, refused_ev: int | None = None, errors: dict[str, str] | None = None
):
    """Render the dashboard; after a refused action (`status` 400/409) the reason shows next to
    the refused form's field and the form keeps what was typed (`refused_ev`: the evaluation of a
    personal one)."""
    counts = cockpit.unit_counts(cycle)  # one read of the counters for the table, the curve and the overdue
    units = cockpit.unit_progress(cycle, counts)
    late_per_unit = cockpit.late_per_unit(cycle, clock.utcnow(), counts)
    coverage = service.coverage(cycle) if cycle.state == CycleState.DRAFT else None
    texts = consequences(cycle, units)
    if coverage is not None:
        texts["open"] = _(
            "Buka periode? %(n)d pegawai akan menerima email dan mulai %(task)s. Setelah dibuka, "
            "cakupan dan tenggat periode tidak dapat diubah lagi di sini.",
            n=len(coverage.covered),
            task=_("mengisi realisasi") if cycle.is_periodic else _("menyusun SKP"),
        )
    return render_template(
        "cycles/view.html",
        cycle=cycle,
        labels=translated("cycle_states"),
        ev_labels=translated("evaluation_states"),
        kinds=KIND_LABELS,
        coverage=coverage,
        progress=units_shown(cycle, units),
        unit_count=len(units),
        unit_limit=DASHBOARD_UNITS,
        columns=progress_columns(units),
        phases=cockpit.phase_bars(cycle, units),
        timeline=cockpit.completion_over_time(cycle, sum(u.total for u in units)),
        curve=curve_chart(cycle, counts),
        late=(late_by_unit := cockpit.overdue_by_unit(cycle, per_unit=late_per_unit)),
        confirm_text=texts,
        overdue=late_window(cycle, counts_of(late_per_unit), 0, OVERDUE_ON_DASHBOARD),
        overdue_total=late_by_unit.total,
        extended=extended(cycle),
        coaching=coaching.open_by_unit(cycle.id) if cycle.state in cockpit.PHASES else [],
        extend_form=ExtendForm(),
        S=EvaluationState,
        C=CycleState,
        typed=request.form if status >= 400 else {},
        refused=request.endpoint if status >= 400 else None,
        refused_ev=refused_ev,
        errors=errors or {},
    ), status


def counts_of(per_unit: dict[int, tuple[str, int]]) -> dict[int, int]:
    """{unit id: n} of cockpit.late_per_unit's {unit id: (name, n)}."""
    return {unit_id: n for unit_id, (_name, n) in per_unit.items()}


def overdue_page(cycle: Cycle, status: int = 200, refused_ev: int | None = None, errors=None):
    """Everyone late in this cycle, page by page (the page and search of the request)."""
    query = (request.args.get("q") or "").strip()
    if query:
        page = RowPage(overdue_query(cycle, query), current_app.config["PAGE_SIZE"])
    else:
        per_unit = counts_of(cockpit.late_per_unit(cycle, clock.utcnow()))
        page = LatePage(cycle, per_unit, current_app.config["PAGE_SIZE"])
    return render_template(
        "cycles/overdue.html",
        cycle=cycle,
        page=page,
        q=query,
        labels=translated("cycle_states"),
        ev_labels=translated("evaluation_states"),
        # where a personal extension's form sends the officer back to (this page, this search)
        back={
            "list": "1",
            **({"page": page.page} if page.page > 1 else {}),
            **({"q": query} if query else {}),
        },
        S=EvaluationState,
        typed=request.form if status >= 400 else {},
        refused_ev=refused_ev,
        errors=errors or {},
    ), status


@bp.route("/<int:cycle_id>/overdue")
@login_required
def overdue_list(cycle_id: int):
    """Everyone late in this cycle, page by page, each with the personal extension form."""
    return overdue_page(get_cycle(cycle_id))


# The fields of the cycle forms: a refusal about one of them is shown next to it, the rest on top.
FIELDS = ("until", "reason")


def act(cycle_id: int, run, success: str, refused_ev: int | None = None, anchor: str = "", on_list=False):
    """Run one HR action on a cycle. A refusal changes nothing and answers with an error status:
    the page the form was on again, with the reason next to the field and what was typed, never
    a redirect that looks like success (`on_list`: the form was on the overdue list)."""
    cycle = get_cycle(cycle_id)
    form = ExtendForm()
    errors: dict[str, str] = {}
    status = 400
    if not form.validate_on_submit():
        errors = {name: messages[0] for name, messages in form.errors.items()}
    else:
        try:
            result = run(cycle, form)
        except Refused as refusal:
            db.session.rollback()
            errors, status = dict(refusal.errors), refusal_status(refusal)
            cycle = db.session.get(Cycle, cycle_id)
        else:
            flash(success.format(n=result) if isinstance(result, int) else success, "success")
            if on_list:
                return redirect(url_for("cycles.overdue_list", cycle_id=cycle_id, **list_args()))
            return redirect(url_for("cycles.view", cycle_id=cycle_id) + anchor)
    for name, message in errors.items():
        if name not in FIELDS and not (refused_ev and name == ""):
            flash(message, "danger")
    beside = {name: m for name, m in errors.items() if name in FIELDS or (refused_ev and name == "")}
    if on_list:
        return overdue_page(cycle, status, refused_ev, beside)
    return dashboard(cycle, status, refused_ev, beside)


def list_args() -> dict[str, str]:
    """The overdue list's page and search a form on it came from (kept in its action URL)."""
    return {k: v for k in ("page", "q") if (v := request.args.get(k))}


@bp.route("/<int:cycle_id>/open", methods=["POST"])
@login_required
@form_checks_csrf
def open_cycle(cycle_id: int):
    """Open the cycle for every covered employee."""
    return act(
        cycle_id,
        lambda c, f: service.open_cycle(c, actor(), expected_version=version()),
        _("Periode dibuka untuk {n} pegawai; semua pegawai diberi tahu lewat email."),
    )


@bp.route("/<int:cycle_id>/advance", methods=["POST"])
@login_required
@form_checks_csrf
def advance(cycle_id: int):
    """Move to the next phase."""
    return act(
        cycle_id,
        lambda c, f: service.advance(c, actor(), expected_version=version()),
        _("Periode berpindah ke tahap berikutnya."),
    )


@bp.route("/<int:cycle_id>/reopen", methods=["POST"])
@login_required
@form_checks_csrf
def reopen(cycle_id: int):
    """Reopen the previous phase with a new deadline."""

    def run(cycle, form):
        if form.until.data is None:
            raise Refused({"until": _("Isi tenggat baru.")})
        return service.reopen(cycle, actor(), local(form.until.data), expected_version=version())

    return act(cycle_id, run, _("Tahap sebelumnya dibuka kembali."))


@bp.route("/<int:cycle_id>/extend", methods=["POST"])
@login_required
@form_checks_csrf
def extend(cycle_id: int):
    """Extend the current phase for everyone."""

    def run(cycle, form):
        if form.until.data is None:
            raise Refused({"until": _("Isi tenggat baru.")})
        return service.extend_phase(cycle, actor(), local(form.until.data), form.reason.data or "")

    return act(cycle_id, run, _("Tenggat diperpanjang; {n} penilaian yang terkunci dibuka kembali."))


@bp.route("/<int:cycle_id>/evaluations/<int:evaluation_id>/extend", methods=["POST"])
@login_required
@form_checks_csrf
def extend_one(cycle_id: int, evaluation_id: int):
    """Extend the deadline of one employee, with a reason."""
    get_cycle(cycle_id)  # HR only, before anything is looked up
    evaluation = db.session.get(Evaluation, evaluation_id)
    if evaluation is None or evaluation.cycle_id != cycle_id:
        abort(404)
    name = evaluation.employee.name

    def run(cycle, form):
        if form.until.data is None:
            raise Refused({"until": _("Isi tenggat baru.")})
        service.extend_one(evaluation, actor(), local(form.until.data), form.reason.data or "")

    success = _("Tenggat %(name)s diperpanjang.", name=name)
    on_list = request.args.get("list") == "1"
    return act(cycle_id, run, success, refused_ev=evaluation_id, anchor="#overdue", on_list=on_list)


@bp.route("/<int:cycle_id>/close", methods=["POST"])
@login_required
@form_checks_csrf
def close(cycle_id: int):
    """Close for ever."""
    return act(
        cycle_id,
        lambda c, f: service.close(c, actor(), expected_version=version()),
        _("Periode ditutup; isinya tidak dapat diubah lagi."),
    )


def org_options() -> dict[str, Markup]:
    """The org predikat select's options for each value a unit can have ("" for none yet), each
    rendered once per page: a page of 50 units repeats six of them."""
    choices = [("", _("— belum ditetapkan —"))] + [(o.value, o.label) for o in OrgPredikat]
    render = get_template_attribute("cycles/_org_options.html", "org_options")
    return {chosen: render(choices, chosen) for chosen in ["", *(o.value for o in OrgPredikat)]}


@bp.route("/<int:cycle_id>/distribution", methods=["GET", "POST"])
@login_required
@form_checks_csrf
def publication(cycle_id: int):
    """The distribution per unit against its curve; org predikat per unit; publish."""
    cycle = get_cycle(cycle_id)
    typed, status = {}, 200
    if request.method == "POST":
        form = ExtendForm()
        typed = request.form
        try:
            if not form.validate_on_submit():
                errors = [m for messages in form.errors.values() for m in messages]
                raise Refused(errors[0] if errors else _("Formulir tidak valid."))
            if "unit_id" in request.form:
                service.set_unit_predikat(
                    cycle,
                    actor(),
                    request.form.get("unit_id", type=parse_int),
                    request.form.get("org_predikat", ""),
                )
                # back to the page of units the officer was on
                return redirect(url_for("cycles.publication", cycle_id=cycle.id, **request.args))
            mode = request.form.get("mode", "")
            if mode not in ("names", "totals"):
                raise Refused(_("Pilih cara pengumuman: nama dengan predikat, atau jumlah per unit saja."))
            service.publish(cycle, actor(), mode, request.form.get("reason", ""), expected_version=version())
            flash(_("Hasil diumumkan; semua pegawai diberi tahu lewat email."), "success")
            return redirect(url_for("results.board", cycle_id=cycle.id))
        except Refused as refusal:
            db.session.rollback()
            for message in refusal.errors.values():
                flash(message, "danger")
            status = refusal_status(refusal)
            cycle = get_cycle(cycle_id)
    units = distribution(cycle)
    off_curve = [u for u in units if u.problems]
    only_off = request.args.get("tidak_sesuai") == "1"
    return render_template(
        "cycles/distribution.html",
        cycle=cycle,
        page=ListPage(off_curve if only_off else units, DISTRIBUTION_UNITS_PER_PAGE),
        unit_count=len(units),
        off_count=len(off_curve),
        only_off=only_off,
        OrgPredikat=OrgPredikat,
        org_options=org_options(),
        Predikat=Predikat,
        labels=CYCLE_STATE_LABELS,
        typed=typed,
        form=ExtendForm(),
        publish_confirm=_(
            "Umumkan hasil? %(n)d pegawai akan menerima email; hasil tidak dapat diubah lagi.",
            n=service.announced_to(cycle),
        )
        if cycle.state == CycleState.APPEAL
        else "",
    ), status
