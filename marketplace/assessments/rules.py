"""The digital-level rule: scoring answers by the indicator, the level they reach, and the gap to a level.

Pure functions over an :class:`~marketplace.assessments.indicator.Indicator`, no Flask.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from marketplace.assessments.indicator import PART_CODES, Indicator, LevelRequirement

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
