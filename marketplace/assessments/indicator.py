"""The digital-level indicator (数字化水平评测指标): parts, items, scenarios, level rule, pilot targets.

Everything the official tables may change (question items, 成效 bands, the level rule table,
the pilot targets) comes from the indicator file in ``seed_data/indicator``; this module reads and
checks it, and :mod:`marketplace.assessments.rules` applies it. Pure data, no Flask. Thresholds are
read as decimals and turned into fractions, so "exactly 90%" is never lost to floating point.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import cache
from pathlib import Path

INDICATOR_FILE = Path("indicator") / "digital_level_2024.json"
PART_CODES = ("foundation", "management", "effectiveness")


@dataclass(frozen=True)
class Option:
    """One answer to a scored question, worth ``points``."""

    code: str
    label: str
    points: int


@dataclass(frozen=True)
class Band:
    """An improvement of at least ``min`` earns ``points``."""

    min: Decimal
    points: int


@dataclass(frozen=True)
class Measure:
    """A 成效 measure compared before and after: by ratio or by absolute points."""

    unit: str
    better: str
    compare: str
    bands: tuple[Band, ...]

    def improvement(self, before: Decimal, after: Decimal) -> Decimal:
        """The gain from ``before`` to ``after``, positive when the measure got better."""
        change = after - before if self.better == "higher" else before - after
        return change / before if self.compare == "ratio" else change

    def points(self, before: Decimal, after: Decimal) -> int:
        """Points of the best band the improvement reaches; 0 below every band."""
        gain = self.improvement(before, after)
        return max((band.points for band in self.bands if gain >= band.min), default=0)


@dataclass(frozen=True)
class Item:
    """A scored question: answered by an option, or, for 成效, by a measure before and after."""

    code: str
    part: str
    name: str
    short_name: str
    question: str
    max_points: int
    options: tuple[Option, ...] = ()
    measure: Measure | None = None

    def option(self, code: str) -> Option | None:
        """The option with ``code``, if the item has one."""
        return next((option for option in self.options if option.code == code), None)


@dataclass(frozen=True)
class Part:
    """One of the three scored parts (基础, 管理, 成效)."""

    code: str
    name: str
    max_points: int


@dataclass(frozen=True)
class LevelRequirement:
    """One row of the level rule: a score band and a scenario gate."""

    level: int
    min_score: int
    min_scenarios: int
    min_constraint_scenarios: int


@dataclass(frozen=True)
class PilotTargets:
    """What each 细分行业 must reach: the shares at ``target_level`` or above."""

    target_level: int
    main_group_share: Fraction
    little_giant_share: Fraction


@dataclass(frozen=True)
class Indicator:
    """The digital-level indicator: parts, items, scenarios, level rule and pilot targets."""

    name: str
    version: str
    source: str
    level_names: dict[int, str]
    parts: tuple[Part, ...]
    items: tuple[Item, ...]
    scenarios: dict[str, bool]
    scenario_level_meaning: dict[int, str]
    level_rule: tuple[LevelRequirement, ...]
    targets: PilotTargets

    @property
    def choice_items(self) -> tuple[Item, ...]:
        """Items answered by choosing an option."""
        return tuple(item for item in self.items if item.measure is None)

    @property
    def measure_items(self) -> tuple[Item, ...]:
        """成效 items answered with a measure before and after."""
        return tuple(item for item in self.items if item.measure is not None)

    def level_name(self, level: int | None) -> str:
        """The Chinese name of a level; ``None`` means not assessed."""
        return "未评测" if level is None else self.level_names[level]


def _parse_item(raw: dict) -> Item:
    measure = raw.get("measure")
    return Item(
        code=raw["code"],
        part=raw["part"],
        name=raw["name"],
        short_name=raw.get("short_name", raw["name"]),
        question=raw["question"],
        max_points=raw["max_points"],
        options=tuple(Option(o["code"], o["label"], o["points"]) for o in raw.get("options", ())),
        measure=None
        if measure is None
        else Measure(
            measure["unit"],
            measure["better"],
            measure["compare"],
            tuple(Band(Decimal(b["min"]), b["points"]) for b in measure["bands"]),
        ),
    )


def _check(indicator: Indicator) -> None:
    if tuple(part.code for part in indicator.parts) != PART_CODES:
        raise ValueError(f"indicator parts must be {PART_CODES}")
    if sum(part.max_points for part in indicator.parts) != 100:
        raise ValueError("indicator parts must sum to 100 points")
    for part in indicator.parts:
        total = sum(item.max_points for item in indicator.items if item.part == part.code)
        if total != part.max_points:
            raise ValueError(f"items of part {part.code} sum to {total}, not {part.max_points}")
    codes = [item.code for item in indicator.items]
    if len(set(codes)) != len(codes):
        raise ValueError("duplicate indicator item code")
    for item in indicator.items:
        if (item.measure is None) == (not item.options):
            raise ValueError(f"item {item.code} needs either options or a measure")
        best = (
            max(b.points for b in item.measure.bands) if item.measure else max(o.points for o in item.options)
        )
        if best != item.max_points:
            raise ValueError(f"item {item.code}: best answer is worth {best}, not {item.max_points}")
        if item.measure and (item.measure.better, item.measure.compare) not in {
            (better, compare) for better in ("lower", "higher") for compare in ("ratio", "points")
        }:
            raise ValueError(f"item {item.code}: unknown measure direction or comparison")
    levels = [row.level for row in indicator.level_rule]
    if levels != sorted(levels, reverse=True) or levels[-1] != 1:
        raise ValueError("level rule rows must run from the highest level down to level 1")
    if indicator.targets.target_level not in levels:
        raise ValueError("the pilot target level must be a level of the rule")


def parse_indicator(doc: dict) -> Indicator:
    """Build an :class:`Indicator` from the indicator file's JSON (floats read as ``Decimal``).

    :raises ValueError: if the parts, items or rule rows are inconsistent.
    :raises KeyError: if a required key is missing.
    """
    targets = doc["pilot_targets"]
    indicator = Indicator(
        name=doc["name"],
        version=doc["version"],
        source=doc["source"],
        level_names={int(level): name for level, name in doc["level_names"].items()},
        parts=tuple(Part(p["code"], p["name"], p["max_points"]) for p in doc["parts"]),
        items=tuple(_parse_item(raw) for raw in doc["items"]),
        scenarios={s["code"]: bool(s["constraint"]) for s in doc["scenarios"]},
        scenario_level_meaning={int(k): v for k, v in doc["scenario_level_meaning"].items()},
        level_rule=tuple(
            LevelRequirement(r["level"], r["min_score"], r["min_scenarios"], r["min_constraint_scenarios"])
            for r in doc["level_rule"]
        ),
        targets=PilotTargets(
            targets["target_level"],
            Fraction(Decimal(targets["main_group_share"])),
            Fraction(Decimal(targets["little_giant_share"])),
        ),
    )
    _check(indicator)
    return indicator


@cache
def load_indicator(seed_dir: str) -> Indicator:
    """Read and check the indicator file under ``seed_dir``; cached per directory.

    :raises ValueError: if the file is inconsistent.
    """
    text = (Path(seed_dir) / INDICATOR_FILE).read_text(encoding="utf-8")
    return parse_indicator(json.loads(text, parse_float=Decimal))
