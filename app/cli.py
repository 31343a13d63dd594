"""Command-line tools: `flask users`, `flask demo`, `flask people`."""

import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext

from app.extensions import db
from app.models import Account, Role

users_cli = AppGroup("users", help="Akun pengguna.")
demo_cli = AppGroup("demo", help="Data contoh Kecamatan Rakumpit.")
people_cli = AppGroup("people", help="Impor dan ekspor unit kerja dan pegawai (CSV).")


@users_cli.command("create-admin")
@click.option("--email", prompt="Email", help="Email untuk masuk.")
@click.option("--name", default="Administrator", show_default=True, help="Nama tampilan.")
@click.password_option("--password", prompt="Kata sandi", confirmation_prompt="Ulangi kata sandi")
def create_admin(email: str, name: str, password: str) -> None:
    """Create a system administrator account (no employee record)."""
    from app.services import Refused, accounts

    email = email.strip().lower()
    if "@" not in email:
        raise click.BadParameter("email tidak valid", param_hint="--email")
    problem = accounts.password_problem(password, account=Account(email=email, display_name=name))
    if problem:
        raise click.ClickException(problem)
    try:
        accounts.create_system_account(email, name, password, {Role.ADMIN})
    except Refused as refusal:
        raise click.ClickException(str(refusal)) from refusal
    db.session.commit()
    click.echo(f"Administrator {email} dibuat.")


@demo_cli.command("load")
def demo_load() -> None:
    """Create (or complete) the demo agency and print its logins."""
    from app.demo import load_demo
    from app.services import Refused

    try:
        logins = load_demo()
    except Refused as refusal:
        raise click.ClickException(str(refusal)) from refusal
    click.echo("Data contoh Kecamatan Rakumpit siap. Akun untuk mencoba:")
    width = max(len(login.role) for login in logins)
    for login in logins:
        click.echo(f"  {login.role:<{width}}  {login.login:<40}  {login.password}   ({login.name})")


def _kind_option(func):
    return click.option(
        "--kind",
        type=click.Choice(["employees", "units"]),
        default="employees",
        show_default=True,
        help="Isi berkas: pegawai (employees) atau unit kerja (units).",
    )(func)


@people_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_kind_option
@click.option("--dry-run", is_flag=True, help="Periksa saja, jangan simpan.")
def people_import(file: Path, kind: str, dry_run: bool) -> None:
    """Import units or employees from a CSV file, all or nothing."""
    from app.imports import people as csv_import

    data = file.read_bytes()
    with click.progressbar(length=max(data.count(b"\n"), 1), label="Memeriksa", file=sys.stderr) as bar:
        done = 0

        def progress(rows: int) -> None:
            nonlocal done
            bar.update(rows - done)
            done = rows

        plan = csv_import.plan_import(kind, data, progress=progress)
    if not plan.ok:
        for error in plan.errors:
            where = f"baris {error.line}: " if error.line else ""
            click.echo(f"{where}{error.message}", err=True)
        raise click.ClickException(f"{len(plan.errors)} kesalahan; tidak ada yang disimpan.")
    summary = f"{plan.created} baru, {plan.updated} diubah, {plan.unchanged} tidak berubah"
    if dry_run:
        click.echo(f"Pemeriksaan lolos ({summary}); tidak disimpan karena --dry-run.")
        return
    csv_import.apply_import(plan)
    click.echo(f"Impor selesai: {summary}.")


@people_cli.command("export")
@_kind_option
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Berkas tujuan (bawaan: layar)."
)
def people_export(kind: str, output: Path | None) -> None:
    """Export units or employees as CSV (the import format)."""
    from app.output import people_csv as csv_export

    chunks = [csv_export.export_units()] if kind == "units" else csv_export.iter_employees_csv()
    stream = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
    try:
        for chunk in chunks:
            stream.write(chunk)
    finally:
        if output:
            stream.close()
    if output:
        click.echo(f"Ditulis ke {output}.", err=True)


recap_cli = AppGroup("recap", help="Rekap Excel (.xlsx) untuk dikirim ke atas.")


def _recap_command(kind: str, help_text: str):
    @recap_cli.command(kind, help=help_text)
    @click.option("--cycle", "cycle_id", type=int, required=True, help="Nomor (id) periode.")
    @click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), help="Berkas tujuan.")
    def command(cycle_id: int, out: Path | None) -> None:
        from app.models import Cycle
        from app.output import xlsx

        cycle = db.session.get(Cycle, cycle_id)
        if cycle is None:
            raise click.ClickException(f"Periode {cycle_id} tidak ada.")
        out = out or Path(f"rekap-{kind}-{cycle_id}.xlsx")
        rows = xlsx.RECAPS[kind](cycle, str(out))
        click.echo(f"{rows} baris ditulis ke {out}.")

    return command


_recap_command("results", "Rekap hasil penilaian periode: satu baris per pegawai.")
_recap_command("progress", "Rekap kemajuan per unit kerja.")
_recap_command("distribution", "Rekap distribusi predikat per unit terhadap kurvanya.")


@recap_cli.command("monthly")
@click.option("--year", type=click.IntRange(2000, 2100), required=True, help="Tahun.")
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), help="Berkas tujuan.")
def recap_monthly(year: int, out: Path | None) -> None:
    """Monthly recap of a year: one row per employee, one column per month with the predikat."""
    from app.output import xlsx

    out = out or Path(f"rekap-bulanan-{year}.xlsx")
    rows = xlsx.write_monthly(year, str(out))
    click.echo(f"{rows} baris ditulis ke {out}.")


jobs_cli = AppGroup("jobs", help="Pekerjaan terjadwal.")


@jobs_cli.command("run-due")
def jobs_run_due() -> None:
    """Run everything that is due now, once (locks, windows, escalations, reminders, mail)."""
    from app.jobs import run_due

    report = run_due()
    for name, value in report.as_dict().items():
        click.echo(f"{name}: {value}")


@jobs_cli.command("relay")
def jobs_relay() -> None:
    """Send the due outbox messages now."""
    from app.notify.relay import relay

    result = relay()
    click.echo(f"terkirim {result.sent}, diulang {result.retried}, gagal {result.failed}")


@click.command("scheduler")
@click.option("--standby-seconds", default=30, show_default=True, help="Jeda pemeriksaan saat siaga.")
@with_appcontext
def scheduler_command(standby_seconds: int) -> None:
    """Run the scheduler process (one active; a second stands by)."""
    import logging

    from flask import current_app

    from app.jobs.scheduler import run

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    run(current_app._get_current_object(), standby_seconds=standby_seconds)


def register_commands(app: Flask) -> None:
    """Attach the command groups to the app."""
    app.cli.add_command(jobs_cli)
    app.cli.add_command(scheduler_command)
    app.cli.add_command(users_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(people_cli)
    app.cli.add_command(recap_cli)
