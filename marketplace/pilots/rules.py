"""The digital-level rule and the pilot-target arithmetic: pure functions, no Flask.

Everything the official tables may change (question items, 成效 bands, the level rule table,
the pilot targets) comes from the indicator file in ``seed_data/indicator``; this module only
applies it. Arithmetic on shares is exact: thresholds are read as decimals and turned into
fractions, so "exactly 90%" is never lost to floating point.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import cache
from pathlib import Path

INDICATOR_FILE = Path("indicator") / "digital_level_2024.json"
PART_CODES = ("foundation", "management", "effectiveness")
MAIN_GROUP_TIERS = frozenset({"specialized", "little_giant"})
LITTLE_GIANT_TIER = "little_giant"
MET, NOT_MET, NOT_APPLICABLE = "met", "not_met", "not_applicable"


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


# -- Scoring -------------------------------------------------------------------------------


def answer_problems(
    indicator: Indicator,
    answers: Mapping[str, str],
    measures: Mapping[str, Mapping[str, Decimal]],
    scenario_levels: Mapping[str, int],
) -> dict[str, dict[str, list[str]]]:
    """Say in Chinese what is wrong with a set of answers; empty when they can be scored.

    Every option question and every scenario must be answered; 成效 measures are optional
    (an unknown measure scores 0).
    """
    problems: dict[str, dict[str, list[str]]] = {}
    choice = {item.code: item for item in indicator.choice_items}
    measured = {item.code: item for item in indicator.measure_items}
    for code in choice.keys() - answers.keys():
        problems.setdefault("answers", {})[code] = ["缺少作答"]
    for code, option in answers.items():
        item = choice.get(code)
        if item is None:
            message = "成效指标请在 measures 中填写" if code in measured else "未知的评测题目"
            problems.setdefault("answers", {})[code] = [message]
        elif item.option(option) is None:
            listed = "、".join(o.code for o in item.options)
            problems.setdefault("answers", {})[code] = [f"选项应为以下之一：{listed}"]
    for code, values in measures.items():
        item = measured.get(code)
        if item is None:
            problems.setdefault("measures", {})[code] = ["未知的成效指标"]
        elif item.measure.compare == "ratio" and values["before"] <= 0:
            problems.setdefault("measures", {})[code] = ["按比例比较的指标，改造前数值应大于 0"]
    for code in indicator.scenarios.keys() - scenario_levels.keys():
        problems.setdefault("scenario_levels", {})[code] = ["缺少该场景的等级"]
    for code in scenario_levels.keys() - indicator.scenarios.keys():
        problems.setdefault("scenario_levels", {})[code] = ["未知的场景代码"]
    return problems


@dataclass(frozen=True)
class Scores:
    """The points of the three parts."""

    foundation: int
    management: int
    effectiveness: int

    @property
    def total(self) -> int:
        """The score out of 100."""
        return self.foundation + self.management + self.effectiveness


def score_answers(
    indicator: Indicator, answers: Mapping[str, str], measures: Mapping[str, Mapping[str, Decimal]]
) -> Scores:
    """Score answers that :func:`answer_problems` found complete."""
    points = dict.fromkeys(PART_CODES, 0)
    for item in indicator.choice_items:
        points[item.part] += item.option(answers[item.code]).points
    for item in indicator.measure_items:
        if item.code in measures:
            points[item.part] += item.measure.points(
                measures[item.code]["before"], measures[item.code]["after"]
            )
    return Scores(**points)


# -- Level rule ----------------------------------------------------------------------------


def scenarios_at(
    scenario_levels: Mapping[str, int], constraints: Mapping[str, bool], level: int
) -> tuple[int, int]:
    """How many scenarios are at ``level`` or above, and how many of those are constraint ones."""
    reached = [code for code, value in scenario_levels.items() if value >= level]
    return len(reached), sum(1 for code in reached if constraints[code])


def meets(
    requirement: LevelRequirement,
    score: int,
    scenario_levels: Mapping[str, int],
    constraints: Mapping[str, bool],
) -> bool:
    """True if the score band and the scenario gate of ``requirement`` both hold."""
    count, constraint_count = scenarios_at(scenario_levels, constraints, requirement.level)
    return (
        score >= requirement.min_score
        and count >= requirement.min_scenarios
        and constraint_count >= requirement.min_constraint_scenarios
    )


def digital_level(
    score: int,
    scenario_levels: Mapping[str, int],
    constraints: Mapping[str, bool],
    rule: Iterable[LevelRequirement],
) -> int:
    """The highest level whose score band and scenario gate both hold; 0 below 一级."""
    return max(
        (row.level for row in rule if meets(row, score, scenario_levels, constraints)),
        default=0,
    )


@dataclass(frozen=True)
class ScenarioRaise:
    """A scenario that must rise to ``target_level``."""

    code: str
    constraint: bool
    current_level: int
    target_level: int


@dataclass(frozen=True)
class Gap:
    """What stands between an assessment and ``target_level``."""

    target_level: int
    points_missing: int
    scenarios_missing: int
    constraint_scenarios_missing: int
    scenarios_to_raise: tuple[ScenarioRaise, ...]

    @property
    def order(self) -> tuple[int, int]:
        """Sort key, smallest gap first: points missing, then scenarios to raise."""
        return self.points_missing, len(self.scenarios_to_raise)


def level_gap(
    score: int,
    scenario_levels: Mapping[str, int],
    constraints: Mapping[str, bool],
    rule: Iterable[LevelRequirement],
    target_level: int,
) -> Gap | None:
    """The gap to ``target_level``, or None if the assessment is already there.

    ``scenarios_to_raise`` is a smallest set of scenarios whose rise closes the gate: first the
    constraint scenarios the gate lacks, then any others, each time those already closest to
    the target first (ties in indicator order).

    :raises ValueError: if ``target_level`` is not a level of the rule.
    """
    rule = tuple(rule)
    requirement = next((row for row in rule if row.level == target_level), None)
    if requirement is None:
        raise ValueError(f"level {target_level} is not in the rule")
    if digital_level(score, scenario_levels, constraints, rule) >= target_level:
        return None
    count, constraint_count = scenarios_at(scenario_levels, constraints, target_level)
    scenarios_missing = max(0, requirement.min_scenarios - count)
    constraint_missing = max(0, requirement.min_constraint_scenarios - constraint_count)
    order = {code: i for i, code in enumerate(constraints)}
    below = sorted(
        (code for code, value in scenario_levels.items() if value < target_level),
        key=lambda code: (-scenario_levels[code], order[code]),
    )
    chosen = [code for code in below if constraints[code]][:constraint_missing]
    rest = [code for code in below if code not in chosen]
    chosen += rest[: max(0, scenarios_missing - len(chosen))]
    return Gap(
        target_level=target_level,
        points_missing=max(0, requirement.min_score - score),
        scenarios_missing=scenarios_missing,
        constraint_scenarios_missing=constraint_missing,
        scenarios_to_raise=tuple(
            ScenarioRaise(code, constraints[code], scenario_levels[code], target_level)
            for code in sorted(chosen, key=order.__getitem__)
        ),
    )


# -- Pilot targets -------------------------------------------------------------------------


def in_main_group(above_scale: bool, tier: str) -> bool:
    """Whether an enterprise counts in the 90% group: 规上, or 专精特新 (provincial or national).

    Reading of 财办建〔2024〕23号: the group is the union of 规上工业中小企业 and 省级专精特新
    中小企业, each enterprise counted once. A national 专精特新“小巨人” has first been recognised
    as a provincial 专精特新 enterprise, so it counts here too, and also in the 100% group
    (:func:`in_little_giant_group`).
    """
    return above_scale or tier in MAIN_GROUP_TIERS


def in_little_giant_group(tier: str) -> bool:
    """Whether an enterprise counts in the 100% group: national 专精特新“小巨人”."""
    return tier == LITTLE_GIANT_TIER


def required_count(members: int, share: Fraction) -> int:
    """How many of ``members`` must reach the target: ⌈share·members⌉ in exact integers."""
    return -(-share.numerator * members // share.denominator)


@dataclass(frozen=True)
class RuleProgress:
    """Where one group stands against its share target.

    Enterprises with no assessment count as below the target level (``unassessed`` says how
    many). ``needed`` is how many more must reach the target, never negative.
    """

    members: int
    achieved: int
    unassessed: int
    required: int
    needed: int
    target_share: Fraction

    @property
    def share(self) -> Fraction | None:
        """The share at the target level; None for an empty group."""
        return Fraction(self.achieved, self.members) if self.members else None

    @property
    def status(self) -> str:
        """``met``, ``not_met``, or ``not_applicable`` for an empty group."""
        if not self.members:
            return NOT_APPLICABLE
        return NOT_MET if self.needed else MET


def rule_progress(levels: Iterable[int | None], share: Fraction, target_level: int) -> RuleProgress:
    """Progress of one group, given each member's latest level (None = not assessed)."""
    levels = list(levels)
    achieved = sum(1 for level in levels if level is not None and level >= target_level)
    required = required_count(len(levels), share)
    return RuleProgress(
        members=len(levels),
        achieved=achieved,
        unassessed=sum(1 for level in levels if level is None),
        required=required,
        needed=max(0, required - achieved),
        target_share=share,
    )


def combine_rules(parts: Iterable[RuleProgress], share: Fraction) -> RuleProgress:
    """Totals over several 细分行业: counts add up, and so does ``needed``.

    The target holds per 细分行业, so the total need is the sum of each one's need, not the need
    of the pooled enterprises; the total is met only when every 细分行业 with members is.
    """
    parts = list(parts)
    return RuleProgress(
        members=sum(p.members for p in parts),
        achieved=sum(p.achieved for p in parts),
        unassessed=sum(p.unassessed for p in parts),
        required=sum(p.required for p in parts),
        needed=sum(p.needed for p in parts),
        target_share=share,
    )


@dataclass(frozen=True)
class Member:
    """An enrolled enterprise as the targets see it."""

    above_scale: bool
    tier: str
    level: int | None


@dataclass(frozen=True)
class PilotProgress:
    """One 细分行业 (or the total) against both targets, with 规下 enterprises for reference."""

    main: RuleProgress
    little_giant: RuleProgress
    below_scale: RuleProgress

    @property
    def status(self) -> str:
        """``not_met`` if either target is missed, ``met`` if any applies and all hold."""
        statuses = {self.main.status, self.little_giant.status}
        if NOT_MET in statuses:
            return NOT_MET
        return MET if MET in statuses else NOT_APPLICABLE


def pilot_progress(members: Iterable[Member], targets: PilotTargets) -> PilotProgress:
    """Both targets for one 细分行业; 规下 enterprises are tallied without a share target."""
    members = list(members)
    level = targets.target_level
    return PilotProgress(
        main=rule_progress(
            (m.level for m in members if in_main_group(m.above_scale, m.tier)),
            targets.main_group_share,
            level,
        ),
        little_giant=rule_progress(
            (m.level for m in members if in_little_giant_group(m.tier)), targets.little_giant_share, level
        ),
        below_scale=rule_progress((m.level for m in members if not m.above_scale), Fraction(0), level),
    )


def combine_progress(parts: Iterable[PilotProgress], targets: PilotTargets) -> PilotProgress:
    """The total over several 细分行业 (see :func:`combine_rules`)."""
    parts = list(parts)
    return PilotProgress(
        main=combine_rules((p.main for p in parts), targets.main_group_share),
        little_giant=combine_rules((p.little_giant for p in parts), targets.little_giant_share),
        below_scale=combine_rules((p.below_scale for p in parts), Fraction(0)),
    )
