"""People for HR (list, create, edit, deactivate, passwords, roles, CSV), and a supervisor's team."""

import secrets
from functools import cache
from pathlib import Path

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_login import login_required
from markupsafe import Markup
from sqlalchemy.orm import joinedload

from app import clock
from app.extensions import db
from app.forms.base import options
from app.forms.people import EmployeeForm, ImportConfirmForm, ImportForm, InitialPasswordForm, RolesForm
from app.imports import people as csv_import
from app.inputs import parse_int
from app.models import Account, Cycle, Employee, Evaluation, OrgUnit, Position, ReassignedRole, Role
from app.models.types import UTCDateTime
from app.output import people_csv as csv_export
from app.policy import Action, require
from app.services import Refused, accounts, people, reassign, tasks
from app.storage import files_root
from app.views import actor, apply_refusal, form_checks_csrf, form_version

bp = Blueprint("people", __name__, url_prefix="/people")


def get_employee(employee_id: int) -> Employee:
    """The employee or 404."""
    employee = db.session.get(Employee, employee_id)
    if employee is None:
        abort(404)
    return employee


def fill_choices(form: EmployeeForm) -> None:
    """Units and positions to choose from."""
    units = db.session.execute(
        sa.select(OrgUnit.id, OrgUnit.name, OrgUnit.code).where(OrgUnit.active).order_by(OrgUnit.name)
    )
    form.unit_id.choices = options(
        [(0, _("— pilih unit —"))] + [(u.id, f"{u.name} ({u.code})") for u in units]
    )
    positions = db.session.execute(
        sa.select(Position.id, Position.name, Position.kind).order_by(Position.name)
    )
    form.position_id.choices = options(
        [(0, _("— pilih jabatan —"))] + [(p.id, f"{p.name} ({p.kind.value})") for p in positions]
    )


@bp.route("/")
@login_required
def index():
    """Paginated, searchable employee list."""
    require(actor(), Action.VIEW_PEOPLE_LIST)
    q = request.args.get("q", "").strip()[:100]
    unit_id = request.args.get("unit", type=parse_int)
    status = request.args.get("status", "active")
    query = (
        sa.select(Employee)
        .options(
            joinedload(Employee.unit),
            joinedload(Employee.position),
            joinedload(Employee.supervisor),
        )
        .order_by(Employee.name, Employee.id)
    )
    if q:
        query = query.where(people.matching(q))
    if unit_id:
        query = query.where(Employee.unit_id == unit_id)
    if status == "active":
        query = query.where(Employee.active)
    elif status == "inactive":
        query = query.where(~Employee.active)
    page = db.paginate(query, per_page=current_app.config["PAGE_SIZE"], error_out=False, max_per_page=100)
    units = db.session.execute(sa.select(OrgUnit.id, OrgUnit.name).order_by(OrgUnit.name)).all()
    return render_template("people/index.html", page=page, q=q, unit_id=unit_id, status=status, units=units)


@cache
def _team_statement() -> sa.Select:
    """The active direct subordinates of `:me` (signed in as `:account_id`), as plain rows with
    the first of their evaluations that waits for them at `:now` (app/services/tasks.py), or
    None. Built once per process: composing it costs more than running it."""
    me, account_id = sa.bindparam("me"), sa.bindparam("account_id")
    now = sa.bindparam("now", type_=UTCDateTime())
    waiting = (
        sa.select(sa.func.min(Evaluation.id))
        .join(Cycle, Cycle.id == Evaluation.cycle_id)
        .where(Evaluation.employee_id == Employee.id, tasks.waits_for(me, account_id, now))
        .correlate(Employee)
        .scalar_subquery()
    )
    return (
        sa.select(
            Employee.id,
            Employee.name,
            Employee.nip,
            Position.name.label("position_name"),
            OrgUnit.name.label("unit_name"),
            waiting.label("waiting"),
        )
        .join(Position, Position.id == Employee.position_id)
        .join(OrgUnit, OrgUnit.id == Employee.unit_id)
        .where(Employee.supervisor_id == me, Employee.active)
        .order_by(Employee.name, Employee.id)
    )


@bp.route("/team")
@login_required
def team():
    """The signed-in supervisor's direct subordinates, those whose SKP waits for them marked with
    it (`?perlu=1`: only those), by the conditions of the home page (app/services/tasks.py)."""
    account = actor()
    only_waiting = request.args.get("perlu") == "1"
    members = []
    if account.employee_id is not None:
        members = db.session.execute(
            _team_statement(), {"me": account.employee_id, "account_id": account.id, "now": clock.utcnow()}
        ).all()
    waiting = sum(1 for member in members if member.waiting)
    if only_waiting:
        members = [member for member in members if member.waiting]
    return render_template("people/team.html", members=members, waiting=waiting, only_waiting=only_waiting)


@bp.route("/new", methods=["GET", "POST"])
@login_required
@form_checks_csrf
def create():
    """HR adds an employee."""
    require(actor(), Action.MANAGE_PEOPLE)
    form = EmployeeForm()
    fill_choices(form)
    if form.validate_on_submit():
        try:
            employee = people.save_employee(None, form.data)
        except Refused as refusal:
            apply_refusal(form, refusal)
        else:
            flash(_("Pegawai %(name)s ditambahkan.", name=employee.name), "success")
            return redirect(url_for("people.view", employee_id=employee.id))
    return render_template("people/form.html", form=form, employee=None)


@bp.route("/<int:employee_id>")
@login_required
def view(employee_id: int):
    """One employee's profile."""
    employee = get_employee(employee_id)
    require(actor(), Action.VIEW_EMPLOYEE, employee)
    evaluations = db.session.scalars(
        sa.select(Evaluation)
        .join(Cycle, Cycle.id == Evaluation.cycle_id)
        .where(Evaluation.employee_id == employee.id)
        .options(joinedload(Evaluation.cycle))
        .order_by(Cycle.year.desc(), Cycle.id.desc())
    ).all()
    return render_template(
        "people/view.html",
        employee=employee,
        evaluations=evaluations,
        password_form=InitialPasswordForm(),
        password_refusal=accounts.password_setting_refusal(actor(), employee),
        roles_form=roles_form_for(employee.account),
    )


@bp.route("/<int:employee_id>/edit", methods=["GET", "POST"])
@login_required
@form_checks_csrf
def edit(employee_id: int):
    """HR edits an employee, the supervisor included (with the loop check)."""
    require(actor(), Action.MANAGE_PEOPLE)
    employee = get_employee(employee_id)
    form = EmployeeForm(obj=employee)
    fill_choices(form)
    if request.method == "GET":
        form.supervisor_nip.data = employee.supervisor.nip if employee.supervisor else ""
        form.version.data = str(employee.version)
        form.employment_type.data = employee.employment_type.value
    status = 200
    if form.validate_on_submit():
        try:
            expected = form_version(form.version.data)
            people.save_employee(employee, form.data, expected_version=expected, actor=actor())
        except Refused as refusal:
            apply_refusal(form, refusal)
            status = 400
        else:
            flash(_("Data %(name)s disimpan.", name=employee.name), "success")
            offer_to_move_evaluations(employee)
            return redirect(url_for("people.view", employee_id=employee.id))
    return render_template("people/form.html", form=form, employee=employee), status


def offer_to_move_evaluations(employee: Employee) -> None:
    """After a change of supervisor: offer to move the employee's in-flight evaluations too."""
    count = reassign.moved_with_supervisor(employee)
    if count:
        supervisor = employee.supervisor
        link = url_for(
            "reassign.employee",
            employee_id=employee.id,
            rater=supervisor.nip,
            handler=supervisor.supervisor.nip if supervisor.supervisor else "",
        )
        text = _(
            "%(n)d penilaian %(name)s yang sedang berjalan masih dinilai pejabat penilai sebelumnya.",
            n=count,
            name=employee.name,
        )
        label = _("Pindahkan juga kepada %(name)s", name=supervisor.name)
        flash(Markup('{} <a href="{}">{}</a>').format(text, link, label), "warning")


def with_reassign_link(message: str, employee: Employee) -> Markup:
    """A refused deactivation, with the way out when evaluations are still held."""
    held = reassign.held_count(employee)
    if not any(held.values()):
        return Markup.escape(message)
    role = "rater" if held[ReassignedRole.RATER] else "appeal_handler"
    link = url_for("reassign.bulk", role=role, **{"from": employee.nip})
    return Markup('{} <a href="{}">{}</a>').format(message, link, _("Pindahkan penilaiannya"))


@bp.route("/<int:employee_id>/active", methods=["POST"])
@login_required
def set_active(employee_id: int):
    """HR deactivates or reactivates an employee."""
    require(actor(), Action.MANAGE_PEOPLE)
    employee = get_employee(employee_id)
    active = request.form.get("active") == "1"
    try:
        people.set_active(employee, active)
    except Refused as refusal:
        message = refusal.errors[""]
        held = isinstance(refusal, people.StillOfficiating)
        flash(with_reassign_link(message, employee) if held else message, "danger")
    else:
        message = _("%(name)s diaktifkan kembali.") if active else _("%(name)s dinonaktifkan.")
        flash(message % {"name": employee.name}, "success")
    return redirect(url_for("people.view", employee_id=employee.id))


@bp.route("/<int:employee_id>/password", methods=["POST"])
@login_required
@form_checks_csrf
def set_password(employee_id: int):
    """HR sets an initial password; the employee must change it at first sign-in."""
    require(actor(), Action.MANAGE_PEOPLE)
    employee = get_employee(employee_id)
    form = InitialPasswordForm()
    if form.validate_on_submit():
        try:
            accounts.set_initial_password(actor(), employee, form.password.data)
        except Refused as refusal:
            apply_refusal(form, refusal)
        else:
            db.session.commit()
            flash(
                _(
                    "Kata sandi awal untuk %(name)s disimpan; ia wajib menggantinya saat masuk pertama.",
                    name=employee.name,
                ),
                "success",
            )
            return redirect(url_for("people.view", employee_id=employee.id))
    return render_template(
        "people/view.html",
        employee=employee,
        password_form=form,
        password_refusal=accounts.password_setting_refusal(actor(), employee),
        roles_form=roles_form_for(employee.account),
    ), 400


def roles_form_for(account: Account | None) -> RolesForm | None:
    """The roles form, filled from the account, for administrators."""
    if account is None:
        return None
    form = RolesForm()
    if request.method == "GET":
        form.hr.data = Role.HR in account.roles
        form.admin.data = Role.ADMIN in account.roles
    return form


@bp.route("/<int:employee_id>/roles", methods=["POST"])
@login_required
def set_roles(employee_id: int):
    """An administrator grants or withdraws the HR and admin roles."""
    require(actor(), Action.MANAGE_ROLES)
    employee = get_employee(employee_id)
    if employee.account is None:
        abort(404)
    form = RolesForm()
    if form.validate_on_submit():
        roles = {Role.EMPLOYEE}
        if form.hr.data:
            roles.add(Role.HR)
        if form.admin.data:
            roles.add(Role.ADMIN)
        if employee.account.id == actor().id and Role.ADMIN not in roles:
            flash(_("Anda tidak dapat mencabut peran administrator Anda sendiri."), "danger")
        else:
            renewed = accounts.set_roles(employee.account, roles, actor=actor())
            db.session.commit()
            flash(_("Peran %(name)s disimpan.", name=employee.name), "success")
            if renewed:
                flash(
                    _(
                        "Karena haknya bertambah, kata sandi lama %(name)s tidak berlaku lagi dan semua "
                        "sesinya berakhir. Tautan untuk membuat kata sandi baru dikirim ke %(email)s: "
                        "pastikan alamat itu memang miliknya.",
                        name=employee.name,
                        email=employee.email,
                    ),
                    "warning",
                )
    return redirect(url_for("people.view", employee_id=employee.id))


def import_dir() -> Path:
    """Where uploaded CSV files wait between preview and confirmation."""
    path = files_root() / "imports"  # shared by the app nodes: the preview and the confirmation may differ
    path.mkdir(parents=True, exist_ok=True)
    return path


def stash_for_confirmation(kind: str, data: bytes) -> ImportConfirmForm:
    """Keep an uploaded file until HR confirms its preview; the form carries its token."""
    token = secrets.token_hex(16)
    (import_dir() / f"{token}.{kind}.csv").write_bytes(data)
    return ImportConfirmForm(token=f"{token}.{kind}")


@bp.route("/import", methods=["GET", "POST"])
@login_required
@form_checks_csrf
def import_upload():
    """HR uploads a CSV and sees a preview of the changes; nothing is written yet."""
    require(actor(), Action.MANAGE_PEOPLE)
    form = ImportForm()
    plan = confirm = None
    if form.validate_on_submit():
        data = form.file.data.read()
        plan = csv_import.plan_import(form.kind.data, data)
        if plan.ok:
            confirm = stash_for_confirmation(form.kind.data, data)
    return render_template("people/import.html", form=form, plan=plan, confirm=confirm)


@bp.route("/import/confirm", methods=["POST"])
@login_required
def import_confirm():
    """Apply a previewed import, all or nothing."""
    require(actor(), Action.MANAGE_PEOPLE)
    form = ImportConfirmForm()
    token = form.token.data or ""
    name, _sep, kind = token.partition(".")
    path = import_dir() / f"{name}.{kind}.csv"
    if (
        not form.validate_on_submit()
        or not name.isalnum()
        or kind not in csv_import.KINDS
        or not path.exists()
    ):
        flash(_("Pratinjau impor tidak ditemukan atau sudah dipakai. Unggah ulang berkasnya."), "danger")
        return redirect(url_for("people.import_upload"))
    data = path.read_bytes()
    path.unlink(missing_ok=True)
    plan = csv_import.plan_import(kind, data)
    try:
        csv_import.apply_import(plan)
    except Refused:
        # The data changed between the preview and now: show what the file would do today.
        flash(_("Data pegawai berubah sejak pratinjau. Periksa pratinjau baru lalu simpan lagi."), "warning")
        fresh = csv_import.plan_import(kind, data)
        confirm = stash_for_confirmation(kind, data) if fresh.ok else None
        return render_template("people/import.html", form=ImportForm(kind=kind), plan=fresh, confirm=confirm)
    flash(
        _(
            "Impor selesai: %(c)d baru, %(u)d diubah, %(n)d tidak berubah.",
            c=plan.created,
            u=plan.updated,
            n=plan.unchanged,
        ),
        "success",
    )
    return redirect(url_for("people.index" if kind == "employees" else "org.index"))


@bp.route("/export.csv")
@login_required
def export_employees():
    """Download every employee as CSV (the import format)."""
    require(actor(), Action.MANAGE_PEOPLE)
    stamp = clock.now().strftime("%Y%m%d-%H%M")
    return Response(
        stream_with_context(csv_export.iter_employees_csv()),
        mimetype="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="pegawai-{stamp}.csv"'},
    )
