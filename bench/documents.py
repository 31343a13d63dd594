"""Benchmark: one SKP and one Dokumen Evaluasi Kinerja Pegawai as PDF, as the download routes make them.

    .venv/bin/python -m bench.documents [--database-url URL] [--repeat 15]

Setup (untimed): the demo agency with its two cycles (app.demo), on a fresh database; the
published evaluation with the most indicators, made a full SKP with `--extra-rhk` more RHK of two
indicators each (default 6: 8 RHK, 15 indicators, three pages), is printed. Measured (median and worst of
`--repeat` runs, after one warm-up): the whole download (load the evaluation, fill the template,
lay out and write the PDF), beside its floor: WeasyPrint alone laying out the same HTML, already
rendered, with the same bundled fonts. Goal: median < 300 ms for each document.
"""

import argparse
import statistics
import time
from decimal import Decimal

import sqlalchemy as sa

from app.demo import load_demo
from app.domain import Aspect, Comparator
from app.extensions import db
from app.models import Evaluation, EvaluationState, Indicator, Rhk, RhkKind
from app.output import pdf
from bench.common import fresh_app

GOAL_MS = 300.0


def runs(func, repeat: int) -> list[float]:
    """Milliseconds of `repeat` calls of func, after one untimed warm-up."""
    func()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append((time.perf_counter() - start) * 1000)
    return times


def add_rhks(evaluation: Evaluation, count: int) -> None:
    """Make the SKP a full one: `count` more RHK, each with two reported and reviewed indicators."""
    for n in range(count):
        rhk = Rhk(kind=RhkKind.MAIN if n % 3 else RhkKind.ADDITIONAL, position=100 + n)
        rhk.text = f"Layanan kesehatan masyarakat nomor {n + 1} terlaksana sesuai standar pelayanan minimal"
        for k, aspect in enumerate((Aspect.QUANTITY, Aspect.QUALITY)):
            rhk.indicators.append(
                Indicator(
                    aspect=aspect,
                    text=f"Kegiatan {n + 1}.{k + 1} yang dilaksanakan dan dilaporkan tepat waktu",
                    comparator=Comparator.AT_LEAST,
                    target=Decimal(90 + k),
                    unit="%",
                    realisation=Decimal(92 + k),
                    realisation_note="Rekap laporan bulanan Januari–Desember",
                    feedback="Capaian baik; pertahankan pencatatan harian.",
                    position=k,
                )
            )
        evaluation.rhks.append(rhk)
    db.session.commit()


def report(label: str, times: list[float], floor: list[float] | None = None) -> None:
    """One line: median, worst, and the median's ratio to the floor's."""
    median = statistics.median(times)
    ratio = f"   {median / statistics.median(floor):4.1f}x floor" if floor else ""
    goal = "" if floor is None else ("   ok" if median < GOAL_MS else f"   over the {GOAL_MS:.0f} ms goal")
    print(f"  {label:<60} median {median:7.1f} ms   worst {max(times):7.1f} ms{ratio}{goal}", flush=True)


def main() -> None:
    """Load the demo, pick the richest published evaluation, time both documents."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument(
        "--extra-rhk", type=int, default=6, help="RHK (two indicators each) added to the printed SKP"
    )
    args = parser.parse_args()
    app = fresh_app(args.database_url)
    with app.app_context():
        load_demo()
        evaluation_id = db.session.scalar(
            sa.select(Evaluation.id)
            .join(Rhk, Rhk.evaluation_id == Evaluation.id)
            .join(Indicator, Indicator.rhk_id == Rhk.id)
            .where(Evaluation.state == EvaluationState.PUBLISHED)
            .group_by(Evaluation.id)
            .order_by(sa.func.count(Indicator.id).desc(), Evaluation.id)
            .limit(1)
        )
        add_rhks(db.session.get(Evaluation, evaluation_id), args.extra_rhk)
    with app.test_request_context():
        evaluation = pdf.load_for_document(evaluation_id)
        print(
            f"{db.engine.dialect.name}: evaluation {evaluation_id} of {evaluation.employee.name}, "
            f"{len(evaluation.rhks)} RHK, {len(evaluation.indicators)} indicators",
            flush=True,
        )
        for label, html_of, make in (
            ("SKP", pdf.skp_html, pdf.skp_pdf),
            ("Dokumen Evaluasi Kinerja", pdf.evaluation_html, pdf.evaluation_pdf),
        ):
            html = html_of(pdf.load_for_document(evaluation_id))
            floor = runs(lambda html=html: pdf.to_pdf(html), args.repeat)
            whole = runs(lambda make=make: make(pdf.load_for_document(evaluation_id)), args.repeat)
            db.session.rollback()
            report(f"{label}: download (query + template + PDF)", whole, floor)
            report(f"{label}: floor (WeasyPrint alone, same HTML)", floor)


if __name__ == "__main__":
    main()
