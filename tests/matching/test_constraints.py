"""Constraints stated in an enterprise's own words (matching.constraints), and how they fit items."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching.constraints import (
    MAX_BUDGET_CNY,
    NO_SERVER,
    ON_SITE,
    stated_budget,
    stated_deadline_days,
    stated_delivery,
)
from matching.features import CONSTRAINTS, FEATURES, STRUCTURE, Profile, deadline_fit, delivery_fit
from matching.ranker import STRUCTURE_WEIGHTS, PriorRanker


@pytest.mark.parametrize(
    ("needs", "budget"),
    [
        ("钱不多，五万以内", 50_000),
        ("预算二十万左右", 200_000),
        ("小厂二十几个人，预算就一万块。", 10_000),
        ("预算1.5万", 15_000),
        ("预算：5万", 50_000),
        ("两三万以内能搞定最好", 30_000),
        ("控制在8千元", 8_000),
        ("最多花十二万", 120_000),
        ("10万元以下", 100_000),
        ("预算三点五万", 35_000),
        ("五十万封顶", 500_000),
        ("预算大概20来万", 200_000),
        ("预算十万，最多十二万", 100_000),
        # an amount without a budget cue is not a budget
        ("电费一个月二十多万，不知道哪台机器最费电", None),
        ("年产值五千万，工人两百多", None),
        ("预算不多", None),
        ("预算万", None),
        ("", None),
    ],
)
def test_a_budget_needs_a_cue_and_an_amount(needs, budget):
    assert stated_budget(needs) == budget


@pytest.mark.parametrize(
    ("needs", "days"),
    [
        ("下个月客户要来验厂，时间很紧，一个月内必须能用。", 30),
        ("想要个轻一点的，两周内能用起来的。", 14),
        ("十天之内要用", 10),
        ("半个月内", 15),
        ("预算5万以内，下个月就要用起来。", 30),
        ("下周之前要弄好", 7),
        ("3个月内见效", 90),
        # next month without a need to be ready, or a month-end without a window, is no deadline
        ("想知道哪个款卖得好、下个月该备多少货", None),
        ("月底算产量老扯皮", None),
        ("", None),
    ],
)
def test_a_deadline_needs_a_window_or_a_need_to_be_ready(needs, days):
    assert stated_deadline_days(needs) == days


@pytest.mark.parametrize(
    ("needs", "delivery"),
    [
        ("客户要求数据不能出厂，不能用公有云。", ON_SITE),
        ("老板不想上云，控制系统要放在厂里。", ON_SITE),
        ("工艺数据是命根子，不能出厂。", ON_SITE),
        ("配方绝对不能传出去", ON_SITE),
        ("数据要存在本地", ON_SITE),
        ("只能内网用", ON_SITE),
        ("不想在厂里放服务器，也没有IT人员", NO_SERVER),
        ("最好手机就能扫，不想买服务器。", NO_SERVER),
        ("东西放在厂里没人管", None),
        ("电费太高", None),
    ],
)
def test_the_place_of_the_data(needs, delivery):
    assert stated_delivery(needs) == delivery


WORDS = (
    "预算以内万千元块最多不超过控制在零一二两三四五六七八九十百千点来几半个天周月下星期0123456789.，："
    + "数据不能出厂云服务器"
)


@settings(max_examples=500, deadline=None)
@given(st.text(st.sampled_from(list(WORDS))))
def test_any_words_give_plausible_constraints_or_none(needs):
    """Numerals out of order (十十万, 千百元) or absurd amounts never raise; they state nothing."""
    budget = stated_budget(needs)
    assert budget is None or (isinstance(budget, int) and 0 < budget <= MAX_BUDGET_CNY)
    days = stated_deadline_days(needs)
    assert days is None or (isinstance(days, int) and days >= 1)
    assert stated_delivery(needs) in (None, ON_SITE, NO_SERVER)


def test_fits_by_hand():
    assert deadline_fit(None, 90) == deadline_fit(30, None) == deadline_fit(30, 30) == 1.0
    assert deadline_fit(30, 45) == 0.5
    assert deadline_fit(30, 60) == deadline_fit(30, 200) == 0.0
    assert delivery_fit(ON_SITE, ("on_premise", "saas")) == delivery_fit(ON_SITE, ("edge",)) == 1.0
    assert delivery_fit(ON_SITE, ("saas",)) == delivery_fit(ON_SITE, ("saas", "edge")) == 0.0
    assert delivery_fit(NO_SERVER, ("on_premise",)) == 0.0
    assert delivery_fit(NO_SERVER, ("on_premise", "saas")) == delivery_fit(None, ("saas",)) == 1.0
    assert delivery_fit(ON_SITE, ()) == 1.0  # delivery unknown: no penalty


def test_a_missed_constraint_moves_an_item_down_its_band_and_none_stated_changes_nothing():
    """The prior multiplies the structured fit by the constraints' fit: the band of need fit stays,
    and with every constraint met (or none stated) the structured fit is the weighted mean alone."""
    rng = np.random.default_rng(0)
    X = rng.uniform(0.2, 1.0, size=(40, len(FEATURES)))
    column = FEATURES.index(CONSTRAINTS)
    X[:, column] = 1.0
    prior = PriorRanker()
    weights = np.array([STRUCTURE_WEIGHTS[name] for name in STRUCTURE])
    structure = X[:, [FEATURES.index(name) for name in STRUCTURE]] @ weights / weights.sum()
    assert prior.structure_fit(X) == pytest.approx(structure)
    missed = X.copy()
    missed[0, column] = 0.0
    before, after = prior.decision_function(X), prior.decision_function(missed)
    assert np.array_equal(after[1:], before[1:])
    assert after[0] < before[0] and np.floor(after[0]) == np.floor(before[0])


def test_the_profile_takes_the_field_first_then_the_words():
    assert Profile("C2929", "钱不多，五万以内").budget_max_cny == 50_000
    assert Profile("C2929", "钱不多，五万以内", budget_max_cny=80_000).budget_max_cny == 80_000
    assert Profile.from_mapping({"industry": "C2929", "needs": "电费太高"}).budget_max_cny is None
    stated = Profile("C2929", "数据不能出厂，两周内要用起来")
    assert (stated.deadline_days, stated.delivery) == (14, ON_SITE)
