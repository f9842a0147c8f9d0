"""Budgets stated in an enterprise's own words (matching.constraints)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching.constraints import MAX_BUDGET_CNY, stated_budget
from matching.features import Profile


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


@settings(max_examples=500, deadline=None)
@given(
    st.text(
        st.sampled_from(
            list("预算以内万千元块最多不超过控制在零一二两三四五六七八九十百千点来几0123456789.，：电费")
        )
    )
)
def test_any_words_give_a_plausible_budget_or_none(needs):
    """Numerals out of order (十十万, 千百元) or absurd amounts never raise; they state no budget."""
    budget = stated_budget(needs)
    assert budget is None or (isinstance(budget, int) and 0 < budget <= MAX_BUDGET_CNY)


def test_the_profile_takes_the_field_first_then_the_words():
    assert Profile("C2929", "钱不多，五万以内").budget_max_cny == 50_000
    assert Profile("C2929", "钱不多，五万以内", budget_max_cny=80_000).budget_max_cny == 80_000
    assert Profile.from_mapping({"industry": "C2929", "needs": "电费太高"}).budget_max_cny is None
