"""The kurva distribusi as HR edits it: rules per organisation predikat, checked, audited, versioned.

A rule bounds the share of a group of employee predikat in a unit with a given organisation
predikat ("paling banyak 70 % Sangat Baik"). An edit never changes a row in place: the org
predikat's rules in force are retired and the new ones added, in one transaction, so a published
cycle keeps being read against the rules it was published under (`bands_for`).
"""

import functools
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import combinations

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app import audit, clock
from app.domain import OrgPredikat, Predikat
from app.extensions import db
from app.models import Account, Cycle, DistributionBand
from app.services import Conflict, Refused

MAX_RULES = 8  # per org predikat; the default curve has at most three
MIN_REASON = 10
SEEDED = datetime(2000, 1, 1, tzinfo=UTC)  # when the default curve's rows count as in force (migration)
CHANGED_MEANWHILE = _l("Kurva ini sudah diubah orang lain sejak halaman dibuka. Muat ulang, lalu ubah lagi.")


@dataclass(frozen=True)
class Rule:
    """One rule as typed: a group of employee predikat and its lower and/or upper share (%)."""

    group: tuple[Predikat, ...]
    min_pct: int | None
    max_pct: int | None

    @classmethod
    def of(cls, band: DistributionBand) -> "Rule":
        """The rule a stored band says."""
        return cls(group_of(band.predikat_group), band.min_pct, band.max_pct)

    @property
    def stored_group(self) -> str:
        """The group as stored: predikat values in the scale's order, comma-separated."""
        return ",".join(p.value for p in self.group)

    def sentence(self) -> str:
        """The rule in words: "Butuh Perbaikan + Kurang paling sedikit 1 %"."""
        names = " + ".join(p.label for p in self.group)
        if self.min_pct is not None and self.max_pct is not None:
            return _(
                "%(group)s antara %(min)d%% dan %(max)d%%", group=names, min=self.min_pct, max=self.max_pct
            )
        if self.min_pct is not None:
            return _("%(group)s paling sedikit %(min)d%%", group=names, min=self.min_pct)
        if self.max_pct == 0:
            return _("tidak ada %(group)s", group=names)
        return _("%(group)s paling banyak %(max)d%%", group=names, max=self.max_pct)


def group_of(stored: str) -> tuple[Predikat, ...]:
    """A stored group, in the scale's order."""
    chosen = {Predikat(value) for value in stored.split(",") if value}
    return tuple(p for p in Predikat if p in chosen)


def in_force(at: datetime | None = None) -> sa.ColumnElement:
    """Rules in force now (`at` None) or at an instant."""
    if at is None:
        return DistributionBand.retired_at.is_(None)
    return sa.and_(
        DistributionBand.valid_from <= at,
        sa.or_(DistributionBand.retired_at.is_(None), DistributionBand.retired_at > at),
    )


@functools.cache
def _in_force_now() -> sa.Select:
    """The rules in force now, in their order; built once per process."""
    return sa.select(DistributionBand).where(in_force()).order_by(DistributionBand.id)


@functools.cache
def _in_force_at() -> sa.Select:
    """The rules in force at `:at`, in their order; built once per process."""
    at = sa.bindparam("at", type_=DistributionBand.valid_from.type)
    return sa.select(DistributionBand).where(in_force(at)).order_by(DistributionBand.id)


def bands_for(cycle: Cycle | None = None) -> dict[OrgPredikat, list[DistributionBand]]:
    """The rules a cycle is checked against: those in force when it was published, else today's."""
    at = cycle.published_at if cycle is not None else None
    bands: dict[OrgPredikat, list[DistributionBand]] = {}
    query = _in_force_now() if at is None else _in_force_at()
    for band in db.session.scalars(query, {"at": at} if at is not None else {}):
        bands.setdefault(band.org_predikat, []).append(band)
    return bands


def version_of(bands: list[DistributionBand]) -> str:
    """What an edit form carries to notice a change made meanwhile: the ids of the rules it shows."""
    return ",".join(str(band.id) for band in bands) or "-"


def problems(rules: list[Rule | None]) -> dict[str, str]:
    """Why a set of rules cannot stand, keyed by `rules-<row>-<field>` (or "" for the whole set).

    `None` marks a blank row, which is skipped. Beyond each rule's own bounds, the set must be
    satisfiable: a group cannot need more than a larger group allows, groups with nothing in
    common cannot together need more than 100 %, and groups that cover the whole scale cannot
    together allow less than 100 %."""
    errors: dict[str, str] = {}
    seen: dict[tuple, int] = {}
    for row, rule in enumerate(rules):
        if rule is None:
            continue
        key = f"rules-{row}"
        if not rule.group:
            errors[f"{key}-group"] = _("Pilih paling sedikit satu predikat untuk aturan ini.")
        for name, value in (("min_pct", rule.min_pct), ("max_pct", rule.max_pct)):
            if value is not None and not 0 <= value <= 100:
                errors[f"{key}-{name}"] = _("Isi persentase 0 sampai 100.")
        if rule.min_pct is None and rule.max_pct is None:
            errors[f"{key}-min_pct"] = _("Isi batas paling sedikit, paling banyak, atau keduanya.")
        elif rule.min_pct is not None and rule.max_pct is not None and rule.min_pct > rule.max_pct:
            errors[f"{key}-max_pct"] = _(
                "Batas paling banyak tidak boleh lebih kecil dari batas paling sedikit."
            )
        if rule.group in seen:
            errors[f"{key}-group"] = _(
                "Kelompok predikat ini sudah diatur di baris %(n)d; gabungkan kedua aturan.",
                n=seen[rule.group] + 1,
            )
        seen.setdefault(rule.group, row)
    if errors:
        return errors
    numbered = [(row, rule) for row, rule in enumerate(rules) if rule is not None]
    for (row_a, a), (row_b, b) in combinations(numbered, 2):
        for (row_small, small), (_row_big, big) in (((row_a, a), (row_b, b)), ((row_b, b), (row_a, a))):
            if set(small.group) <= set(big.group) and small.min_pct is not None and big.max_pct is not None:
                if small.min_pct > big.max_pct:
                    errors[f"rules-{row_small}-min_pct"] = _(
                        "Bertentangan: %(small)s paling sedikit %(min)d%%, "
                        "padahal %(big)s paling banyak %(max)d%%.",
                        small=" + ".join(p.label for p in small.group),
                        min=small.min_pct,
                        big=" + ".join(p.label for p in big.group),
                        max=big.max_pct,
                    )
    for size in range(2, len(numbered) + 1):
        for chosen in combinations(numbered, size):
            groups = [set(rule.group) for _row, rule in chosen]
            if sum(len(g) for g in groups) != len(set().union(*groups)):
                continue  # some predikat in two groups: no simple sum
            mins = [rule.min_pct for _row, rule in chosen]
            maxes = [rule.max_pct for _row, rule in chosen]
            if all(m is not None for m in mins) and sum(mins) > 100:
                errors[""] = _(
                    "Bertentangan: batas paling sedikit beberapa kelompok berjumlah %(n)d%%, "
                    "lebih dari 100%%.",
                    n=sum(mins),
                )
            if (
                set().union(*groups) == set(Predikat)
                and all(m is not None for m in maxes)
                and sum(maxes) < 100
            ):
                errors[""] = _(
                    "Bertentangan: batas paling banyak seluruh predikat hanya berjumlah %(n)d%%, "
                    "kurang dari 100%%.",
                    n=sum(maxes),
                )
    for _row, rule in numbered:
        if set(rule.group) == set(Predikat):
            errors.setdefault(
                "",
                _("Aturan yang mencakup semua predikat selalu bernilai 100%; pilih sebagian predikat saja."),
            )
    return errors


def save(
    org: OrgPredikat, rules: list[Rule | None], reason: str, actor: Account | None, *, expected_version: str
) -> list[DistributionBand]:
    """Replace the rules of one organisation predikat; audited with the reason; commits."""
    reason = (reason or "").strip()
    errors = problems(rules)
    if len(reason) < MIN_REASON:
        errors["reason"] = _("Tuliskan alasan perubahan (paling sedikit %(n)d karakter).", n=MIN_REASON)
    if errors:
        raise Refused(errors)
    new = [rule for rule in rules if rule is not None]
    current = bands_for().get(org, [])
    if version_of(current) != expected_version:
        raise Conflict(str(CHANGED_MEANWHILE))
    if [Rule.of(band) for band in current] == new:
        raise Refused(_("Tidak ada yang berubah."))
    now = clock.utcnow()
    ids = [band.id for band in current]
    retired = (
        db.session.execute(
            sa.update(DistributionBand)
            .where(DistributionBand.id.in_(ids), DistributionBand.retired_at.is_(None))
            .values(retired_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if ids
        else 0
    )
    others = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(DistributionBand)
        .where(DistributionBand.org_predikat == org, in_force(), DistributionBand.id.not_in(ids or [0]))
    )
    if retired != len(ids) or others:
        db.session.rollback()
        raise Conflict(str(CHANGED_MEANWHILE))
    bands = [
        DistributionBand(
            org_predikat=org,
            predikat_group=rule.stored_group,
            min_pct=rule.min_pct,
            max_pct=rule.max_pct,
            valid_from=now,
        )
        for rule in new
    ]
    db.session.add_all(bands)
    audit.record(
        "curve.changed",
        actor=actor,
        object_type="distribution_band",
        object_id=org.value,
        comment=reason,
        data={
            "org_predikat": org.value,
            "before": [Rule.of(band).sentence() for band in current],
            "after": [rule.sentence() for rule in new],
        },
    )
    db.session.commit()
    return bands
