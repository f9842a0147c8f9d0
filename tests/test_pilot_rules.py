"""The level rule and the 90%/100% pilot arithmetic, on hand-built cases (no app, no store)."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

import seed_data
from marketplace.assessments import rules
from marketplace.assessments.indicator import (
    INDICATOR_FILE,
    LevelRequirement,
    PilotTargets,
    load_indicator,
    parse_indicator,
)
from marketplace.pilots.targets import (
    MET,
    NOT_APPLICABLE,
    NOT_MET,
    Member,
    combine_rules,
    pilot_progress,
    required_count,
    rule_progress,
)

SEED_DIR = Path(seed_data.__file__).resolve().parent
RULE = (
    LevelRequirement(4, 80, 10, 6),
    LevelRequirement(3, 60, 8, 5),
    LevelRequirement(2, 40, 6, 3),
    LevelRequirement(1, 20, 6, 3),
)
CONSTRAINTS = {f"c{i}": True for i in range(9)} | {f"g{i}": False for i in range(7)}
NINE_TENTHS = Fraction(9, 10)


@pytest.fixture
def indicator():
    """The indicator file of ``seed_data``."""
    return load_indicator(str(SEED_DIR))


def levels(constraint: tuple[int, ...] | list[int] = (), guidance: tuple[int, ...] | list[int] = ()) -> dict:
    """Scenario levels: the given levels for the first constraint / guidance scenarios, 0 for the rest."""
    result = dict.fromkeys(CONSTRAINTS, 0)
    result.update({f"c{i}": value for i, value in enumerate(constraint)})
    result.update({f"g{i}": value for i, value in enumerate(guidance)})
    return result


def level_of(score: int, scenario_levels: dict[str, int]) -> int:
    """The level under the hand-built rule."""
    return rules.digital_level(score, scenario_levels, CONSTRAINTS, RULE)


class TestLevelRule:
    """The level is the highest L whose score band and scenario gate both hold."""

    GATE_2 = levels([2, 2, 2], [2, 2, 2])

    def test_score_exactly_at_the_band_edge_reaches_the_level(self):
        """Bands are inclusive (≥ 40): an off-by-one here moves enterprises across the pilot line."""
        assert level_of(40, self.GATE_2) == 2

    def test_one_point_below_the_band_drops_a_level(self):
        assert level_of(39, self.GATE_2) == 1

    def test_score_exactly_at_the_lowest_band(self):
        """The lowest band has an edge too: below 20 points is 未达一级."""
        assert level_of(20, self.GATE_2) == 1
        assert level_of(19, self.GATE_2) == 0

    def test_gate_fails_on_constraint_count(self):
        """Six scenarios at 二级, but only two constraint ones: the gate for 二级 fails."""
        scenario_levels = levels([2, 2, 1], [2, 2, 2, 2])
        assert rules.scenarios_at(scenario_levels, CONSTRAINTS, 2) == (6, 2)
        assert level_of(95, scenario_levels) == 1

    def test_gate_fails_on_scenario_count(self):
        """Five scenarios at 二级, all constraint ones: too few scenarios."""
        assert level_of(95, levels([2, 2, 2, 2, 2])) == 0

    def test_gate_counts_scenarios_above_the_level(self):
        """A scenario at 三级 counts towards the 二级 gate."""
        assert level_of(45, levels([3, 3, 2], [4, 2, 2])) == 2

    def test_high_score_limited_by_the_gate(self):
        """90 points, but the scenarios only pass the 三级 gate."""
        scenario_levels = levels([3, 3, 3, 3, 3], [3, 3, 3])
        assert level_of(90, scenario_levels) == 3

    def test_top_level_at_its_edges(self):
        scenario_levels = levels([4] * 6, [4] * 4)
        assert level_of(80, scenario_levels) == 4
        assert level_of(79, scenario_levels) == 3

    def test_nothing_reached_is_level_zero(self):
        """Reaching nothing is level 0 (未达一级), not None, which means not assessed."""
        assert level_of(0, levels()) == 0


class TestGap:
    """What stands between an assessment and a level."""

    def test_points_only(self):
        """With the scenario gate met, the gap is points alone and names no scenario to raise."""
        gap = rules.level_gap(34, levels([2, 2, 2], [2, 2, 2]), CONSTRAINTS, RULE, 2)
        assert (gap.points_missing, gap.scenarios_missing, gap.scenarios_to_raise) == (6, 0, ())

    def test_constraint_scenarios_are_raised_first_closest_first(self):
        """Two constraint scenarios at 二级, four guidance ones: one more constraint scenario, the closest."""
        scenario_levels = levels([2, 2, 0, 1], [2, 2, 2, 2])
        gap = rules.level_gap(50, scenario_levels, CONSTRAINTS, RULE, 2)
        assert gap.points_missing == 0
        assert gap.constraint_scenarios_missing == 1 and gap.scenarios_missing == 0
        assert [(s.code, s.constraint, s.current_level) for s in gap.scenarios_to_raise] == [("c3", True, 1)]

    def test_count_and_constraint_shortfalls_together(self):
        """One constraint scenario at 二级 and nothing else: two constraint and three more of any kind."""
        scenario_levels = levels([2, 1, 1, 0], [1])
        gap = rules.level_gap(20, scenario_levels, CONSTRAINTS, RULE, 2)
        assert gap.points_missing == 20
        assert (gap.scenarios_missing, gap.constraint_scenarios_missing) == (5, 2)
        raised = gap.scenarios_to_raise
        assert len(raised) == 5 and sum(s.constraint for s in raised) >= 2
        after = {**scenario_levels, **{s.code: 2 for s in raised}}
        assert level_of(40, after) == 2

    def test_no_gap_once_reached(self):
        assert rules.level_gap(60, levels([2, 2, 2], [2, 2, 2]), CONSTRAINTS, RULE, 2) is None

    def test_unknown_target_level_is_refused(self):
        with pytest.raises(ValueError):
            rules.level_gap(0, levels(), CONSTRAINTS, RULE, 5)

    def test_smaller_gap_sorts_first(self):
        """The dashboard lists the enterprises closest to the target in this order."""
        near = rules.level_gap(38, levels([2, 2, 2], [2, 2, 2]), CONSTRAINTS, RULE, 2)
        far = rules.level_gap(38, levels([2, 2], [2, 2, 2]), CONSTRAINTS, RULE, 2)
        assert near.order < far.order


class TestPilotArithmetic:
    """⌈0.9·n⌉ in exact integers; no assessment counts as below 二级."""

    @pytest.mark.parametrize(
        ("members", "required"), [(0, 0), (1, 1), (9, 9), (10, 9), (11, 10), (20, 18), (21, 19)]
    )
    def test_required_count_is_the_exact_ceiling(self, members, required):
        """90% of n is rounded up, never down: 11 members need 10."""
        assert required_count(members, NINE_TENTHS) == required

    def test_exactly_ninety_percent_meets_the_target(self):
        """The rule is ≥ 90%: exactly 9 of 10 meets it."""
        progress = rule_progress([2] * 9 + [1], NINE_TENTHS, 2)
        assert progress.share == Fraction(9, 10)
        assert (progress.required, progress.needed, progress.status) == (9, 0, MET)

    def test_just_below_ninety_percent_needs_one_more(self):
        progress = rule_progress([2] * 8 + [1, 1], NINE_TENTHS, 2)
        assert (progress.needed, progress.status) == (1, NOT_MET)

    def test_above_the_target_needs_none(self):
        """``needed`` never goes negative, however far above the target."""
        assert rule_progress([3] * 10, NINE_TENTHS, 2).needed == 0

    def test_empty_sub_industry_is_not_applicable(self):
        """A 细分行业 with nobody enrolled has no share: 0 of 0 is neither met nor missed."""
        progress = pilot_progress([], PilotTargets(2, NINE_TENTHS, Fraction(1)))
        for rule in (progress.main, progress.little_giant):
            assert (rule.members, rule.share, rule.needed, rule.status) == (0, None, 0, NOT_APPLICABLE)
        assert progress.status == NOT_APPLICABLE

    def test_no_assessment_counts_as_below(self):
        """An enterprise never assessed cannot help a city meet its target."""
        progress = rule_progress([2, 2, None], NINE_TENTHS, 2)
        assert (progress.achieved, progress.unassessed, progress.needed) == (2, 1, 1)

    def test_enterprise_in_both_groups_counts_once_in_each(self):
        """A 规上 小巨人 is one member of the 90% group and one of the 100% group."""
        targets = PilotTargets(2, NINE_TENTHS, Fraction(1))
        progress = pilot_progress([Member(True, "little_giant", 1)], targets)
        assert (progress.main.members, progress.little_giant.members) == (1, 1)
        assert (progress.main.needed, progress.little_giant.needed) == (1, 1)

    def test_main_group_is_the_union_of_above_scale_and_specialized(self):
        """The 90% group is 规上 or 专精特新 (小巨人 included), each once; 规下 are also tallied apart."""
        members = [
            Member(True, "none", 2),
            Member(True, "specialized", 2),
            Member(False, "specialized", 1),
            Member(False, "little_giant", None),
            Member(False, "innovative", 2),
            Member(False, "none", 3),
        ]
        progress = pilot_progress(members, PilotTargets(2, NINE_TENTHS, Fraction(1)))
        assert (progress.main.members, progress.main.achieved, progress.main.unassessed) == (4, 2, 1)
        assert (progress.main.required, progress.main.needed) == (4, 2)
        assert (progress.little_giant.members, progress.little_giant.needed) == (1, 1)
        assert (progress.below_scale.members, progress.below_scale.achieved) == (4, 2)

    def test_every_little_giant_must_reach_the_level(self):
        """The 小巨人 target is 100%: one of three below 二级 misses it."""
        progress = rule_progress([2, 3, 1], Fraction(1), 2)
        assert (progress.required, progress.needed, progress.status) == (3, 1, NOT_MET)

    def test_total_need_is_the_sum_of_each_sub_industry_need(self):
        """Pooled, 18 of 20 would meet 90%; but one 细分行业 is at 80%, so the total is not met."""
        ahead = rule_progress([2] * 10, NINE_TENTHS, 2)
        behind = rule_progress([2] * 8 + [1, None], NINE_TENTHS, 2)
        total = combine_rules([ahead, behind], NINE_TENTHS)
        assert (total.members, total.achieved, total.share) == (20, 18, Fraction(9, 10))
        assert (total.needed, total.status) == (1, NOT_MET)

    def test_pilot_status_needs_both_targets(self):
        """A 细分行业 meets the pilot only when the 90% rule and the 小巨人 rule both hold."""
        targets = PilotTargets(2, NINE_TENTHS, Fraction(1))
        met = pilot_progress([Member(True, "none", 2)], targets)
        missed = pilot_progress([Member(True, "none", 2), Member(False, "little_giant", 1)], targets)
        assert (met.status, missed.status) == (MET, NOT_MET)


class TestScoring:
    """Scores follow the indicator file; 成效 bands are compared exactly."""

    def test_parts_and_targets_come_from_the_file(self, indicator):
        """Official tables will replace these: weights, targets and the level rule live in the data file."""
        assert [(p.name, p.max_points) for p in indicator.parts] == [
            ("数字化基础", 50),
            ("数字化管理", 30),
            ("数字化成效", 20),
        ]
        assert len(indicator.scenarios) == 16 and sum(indicator.scenarios.values()) == 9
        assert indicator.targets == PilotTargets(2, Fraction(9, 10), Fraction(1))
        assert [row.level for row in indicator.level_rule] == [4, 3, 2, 1]

    def test_best_answers_score_one_hundred(self, indicator):
        """The file's options and bands add up to exactly the 50/30/20 the indicator promises."""
        answers = {
            item.code: max(item.options, key=lambda o: o.points).code for item in indicator.choice_items
        }
        measures = {
            item.code: {
                "before": Decimal(100),
                "after": Decimal(50) if item.measure.better == "lower" else Decimal(200),
            }
            for item in indicator.measure_items
        }
        assert rules.score_answers(indicator, answers, measures) == rules.Scores(50, 30, 20)

    def test_improvement_exactly_at_a_band_edge_earns_the_band(self, indicator):
        """1.0 → 0.9 is a 10% cut in energy per revenue: the top band, not lost to rounding."""
        energy = next(item for item in indicator.measure_items if item.code == "energy_intensity")
        assert energy.measure.points(Decimal("1.0"), Decimal("0.9")) == 7
        assert energy.measure.points(Decimal("1.0"), Decimal("0.91")) == 5
        assert energy.measure.points(Decimal("1.0"), Decimal("1.1")) == 0

    def test_pass_rate_is_compared_in_percentage_points(self, indicator):
        """96% → 99% is 3 points up, not 3.1% up: the pass rate is compared by difference."""
        pass_rate = next(item for item in indicator.measure_items if item.code == "pass_rate")
        assert pass_rate.measure.points(Decimal("96.0"), Decimal("99.0")) == 7
        assert pass_rate.measure.points(Decimal("96.0"), Decimal("96.4")) == 1

    def test_unknown_measures_score_nothing(self, indicator):
        """成效 measures are optional: leaving them out scores 0 for that part, not an error."""
        answers = {item.code: item.options[0].code for item in indicator.choice_items}
        assert rules.score_answers(indicator, answers, {}).effectiveness == 0

    def test_problems_name_each_bad_answer(self, indicator):
        """Every problem of a form comes back at once, each under its answer, measure or scenario."""
        answers = {"network": "z", "pass_rate": "a", "nonsense": "a"}
        problems = rules.answer_problems(
            indicator,
            answers,
            {"energy_intensity": {"before": Decimal(0), "after": Decimal(1)}},
            {"quality": 2},
        )
        assert problems["answers"]["network"] and problems["answers"]["nonsense"]
        assert "measures" in problems["answers"]["pass_rate"][0]
        assert "system_coverage" in problems["answers"]
        assert problems["measures"]["energy_intensity"]
        assert len(problems["scenario_levels"]) == 15

    def test_inconsistent_file_is_refused(self):
        """An edited file whose points do not add up, or whose level rule is out of order, is refused."""
        doc = json.loads((SEED_DIR / INDICATOR_FILE).read_text(encoding="utf-8"), parse_float=Decimal)
        broken = copy.deepcopy(doc)
        broken["items"][0]["max_points"] += 1
        with pytest.raises(ValueError):
            parse_indicator(broken)
        broken = copy.deepcopy(doc)
        broken["level_rule"].reverse()
        with pytest.raises(ValueError):
            parse_indicator(broken)
