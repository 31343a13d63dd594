"""Builders for workflow tests: an agency, a cycle with deadlines, an SKP filled in."""

from datetime import timedelta

import sqlalchemy as sa

from app import clock
from app.domain import Aspect, Comparator
from app.extensions import db
from app.models import Role
from app.workflow import cycles, evaluations, set_aside

START = clock.now().replace(year=2027, month=1, day=5, hour=9, minute=0, second=0, microsecond=0)


def agency(make):
    """camat > kepala puskesmas > two nurses; HR; all in the puskesmas unit under the kecamatan."""
    kecamatan = make.unit("Kecamatan Rakumpit")
    puskesmas = make.unit("Puskesmas Rakumpit", parent=kecamatan)
    camat = make.employee("Camat", unit=kecamatan)
    head = make.employee("Kepala Puskesmas", supervisor=camat, unit=puskesmas)
    nurse = make.employee("Perawat Debora", supervisor=head, unit=puskesmas)
    colleague = make.employee("Perawat Rabiatul", supervisor=head, unit=puskesmas)
    hr = make.employee("Petugas HR", roles={Role.EMPLOYEE, Role.HR}, unit=kecamatan, supervisor=camat)
    return dict(
        kecamatan=kecamatan,
        puskesmas=puskesmas,
        camat=camat,
        head=head,
        nurse=nurse,
        colleague=colleague,
        hr=hr,
    )


def cycle_data(units, start=START, **overrides) -> dict:
    """Valid data for an annual cycle starting at `start`."""
    data = {
        "name": "SKP Tahunan 2027",
        "kind": "annual",
        "year": 2027,
        "period": None,
        "annual_cycle_id": None,
        "unit_ids": [u.id for u in units],
        "target_deadline": start + timedelta(days=25),
        "assessment_deadline": start + timedelta(days=60),
        "review_deadline": start + timedelta(days=80),
        "appeal_deadline": start + timedelta(days=110),
        "appeal_window_days": 14,
        "appeal_decision_days": 14,
    }
    data.update(overrides)
    return data


def open_annual(org, start=START):
    """An annual cycle over the kecamatan, opened by HR at `start`."""
    clock.travel_to(start)
    cycle = cycles.save_cycle(None, cycle_data([org["kecamatan"]], start), org["hr"].account)
    cycles.open_cycle(cycle, org["hr"].account)
    return cycle


def write_skp(evaluation, employee):
    """Two RHK with indicators, as the nurse of the walkthrough writes them."""
    actor = employee.account
    rhk = evaluations.save_rhk(evaluation, actor, {"kind": "main", "text": "Pelayanan pasien yang cepat"})
    evaluations.save_indicator(
        evaluation,
        actor,
        rhk,
        {
            "aspect": Aspect.TIME,
            "text": "Waktu tunggu pasien",
            "comparator": Comparator.AT_MOST,
            "target": "30",
            "unit": "menit",
        },
    )
    rhk2 = evaluations.save_rhk(evaluation, actor, {"kind": "main", "text": "Kepuasan masyarakat terjaga"})
    evaluations.save_indicator(
        evaluation,
        actor,
        rhk2,
        {
            "aspect": Aspect.QUALITY,
            "text": "Indeks kepuasan masyarakat",
            "comparator": Comparator.AT_LEAST,
            "target": "85",
            "unit": "%",
        },
    )


def run_at_once(app, db, job, times: int = 2) -> list[Exception]:
    """Run `job` from `times` threads released together, each in its own app context, as
    schedulers on several hosts would; the exceptions they raised."""
    import threading

    errors, barrier = [], threading.Barrier(times)

    def scheduler():
        with app.app_context():
            try:
                barrier.wait()
                job()
            except Exception as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=scheduler) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def settle_the_rest(cycle, hr_account) -> int:
    """Mark whoever in the cycle has no result yet "tidak dinilai" (publication covers everyone)."""
    if not db.session.scalar(sa.select(sa.func.count()).where(set_aside.not_yet_rated(cycle))):
        return 0
    return set_aside.mark_rest_not_rated(cycle, hr_account, "Tidak dinilai sampai batas tahap penilaian.")
