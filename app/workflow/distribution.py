"""The distribution of predikat per unit against its kurva distribusi (bands are data)."""

from dataclasses import dataclass, field

from flask_babel import gettext as _

from app.domain import OrgPredikat, Predikat
from app.models import Cycle, EvaluationState
from app.services.cockpit import UnitCounts, unit_counts
from app.services.curve import bands_for


@dataclass
class BandCheck:
    """One rule of a unit's curve: the share of a group of predikat against its allowed range."""

    group: str  # the predikat of the group, by name ("Butuh Perbaikan + Kurang/Misconduct")
    share: float
    min_pct: int | None
    max_pct: int | None

    @property
    def below(self) -> bool:
        """Under the minimum."""
        return self.min_pct is not None and self.share < self.min_pct

    @property
    def above(self) -> bool:
        """Over the maximum."""
        return self.max_pct is not None and self.share > self.max_pct

    @property
    def ok(self) -> bool:
        """Within the range."""
        return not (self.below or self.above)


@dataclass
class UnitDistribution:
    """Counts of predikat in one unit, its org predikat and what breaks the curve."""

    unit_id: int
    unit_name: str
    counts: dict = field(default_factory=lambda: {p: 0 for p in Predikat})
    unrated: int = 0  # not rated yet (still in the cycle's steps)
    not_rated: int = 0  # marked "tidak dinilai" by HR
    withdrawn: int = 0  # dikecualikan: out of the totals and the curve
    org_predikat: OrgPredikat | None = None
    problems: list[str] = field(default_factory=list)
    bands: list[BandCheck] = field(default_factory=list)

    @property
    def rated(self) -> int:
        """Evaluations with a predikat."""
        return sum(self.counts.values())

    def share(self, predikat: Predikat) -> float:
        """Percentage of rated evaluations with this predikat."""
        return 100.0 * self.counts[predikat] / self.rated if self.rated else 0.0


@dataclass
class Violation:
    """A unit whose distribution breaks its curve."""

    unit_name: str
    message: str


def distribution(cycle: Cycle, counts: list[UnitCounts] | None = None) -> list[UnitDistribution]:
    """Per unit: counts per predikat and org predikat (the counters per unit, `cockpit.unit_counts`,
    unless given), and curve problems."""
    units: dict[int, UnitDistribution] = {}
    for unit in unit_counts(cycle) if counts is None else counts:
        withdrawn = unit.states.get(EvaluationState.WITHDRAWN.value, 0)
        not_rated = unit.states.get(EvaluationState.NOT_RATED.value, 0)
        units[unit.unit_id] = UnitDistribution(
            unit.unit_id,
            unit.name,
            dict(unit.rated),
            unrated=sum(unit.states.values()) - sum(unit.rated.values()) - withdrawn - not_rated,
            not_rated=not_rated,
            withdrawn=withdrawn,
            org_predikat=unit.org_predikat,
        )
    bands = bands_for(cycle)  # a published cycle keeps the rules it was published under
    # Each rule's group, its names and the two messages are looked up once, not once per unit.
    rules = {
        org_predikat: [
            (band, group, " + ".join(p.label for p in group))
            for band in org_bands
            for group in [[Predikat(p) for p in band.predikat_group.split(",")]]
        ]
        for org_predikat, org_bands in bands.items()
    }
    below_text = _("%(group)s %(share).0f%%, minimal %(min)d%%")
    above_text = _("%(group)s %(share).0f%%, maksimal %(max)d%%")
    for entry in units.values():
        if entry.org_predikat is None or not entry.rated:
            continue
        rated = entry.rated
        for band, group, names in rules.get(entry.org_predikat, []):
            share = 100.0 * sum(entry.counts[p] for p in group) / rated  # the group's share, summed first
            check = BandCheck(names, share, band.min_pct, band.max_pct)
            entry.bands.append(check)
            if check.below:
                entry.problems.append(below_text % {"group": names, "share": share, "min": band.min_pct})
            if check.above:
                entry.problems.append(above_text % {"group": names, "share": share, "max": band.max_pct})
    return sorted(units.values(), key=lambda u: u.unit_name)


def curve_violations(cycle: Cycle, units: list[UnitDistribution] | None = None) -> list[Violation]:
    """Units whose distribution breaks their curve (of `units` when already computed)."""
    return [
        Violation(entry.unit_name, "; ".join(entry.problems))
        for entry in (distribution(cycle) if units is None else units)
        if entry.problems
    ]


def snapshot(units: list[UnitDistribution], names: int) -> dict:
    """The totals as announced, kept on the cycle: a published cycle never changes, so its board
    reads them instead of counting 100 000 evaluations again."""
    return {
        "units": [
            [
                u.unit_id,
                u.unit_name,
                {p.value: n for p, n in u.counts.items()},
                {"not_rated": u.not_rated, "withdrawn": u.withdrawn},
            ]
            for u in units
        ],
        "names": names,
    }


def from_snapshot(data: dict) -> list[UnitDistribution]:
    """The announced totals per unit, as `distribution` gives them."""
    units = []
    for unit_id, name, counts, *rest in data["units"]:  # totals published before the "tidak
        extra = rest[0] if rest else {}  # dinilai" and "dikecualikan" counts have three items
        units.append(
            UnitDistribution(
                unit_id,
                name,
                {p: counts.get(p.value, 0) for p in Predikat},
                not_rated=extra.get("not_rated", 0),
                withdrawn=extra.get("withdrawn", 0),
            )
        )
    return units
