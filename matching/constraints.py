"""Constraints an enterprise states in its own words rather than in the form's fields.

An owner writes "钱不多，五万以内" or "预算二十万左右" in the needs and leaves the budget field empty;
the judged catalogs' rubric (``tests/relevance/RUBRIC.md`` §3) counts such a budget as stated, and so
does the matcher. Only an amount with a budget cue counts: "电费一个月二十多万" or "年产值五千万"
state no budget.
"""

from __future__ import annotations

import re

import cn2an

_DIGITS = "零一二两三四五六七八九十百千"


def _amount(n: int) -> str:
    """A number (digits, or Chinese numerals) and its unit, as groups ``amount<n>`` and ``unit<n>``."""
    number = rf"\d+(?:\.\d+)?|[{_DIGITS}]+(?:点[{_DIGITS}]+)?"
    return rf"(?P<amount{n}>{number})[来多几余]?(?P<unit{n}>万|千|元|块)"


_BUDGET = re.compile(
    # a cue, then the amount within a few words: 预算五万, 预算在8万, 最多花十二万, 控制在8千元
    rf"(?:预算|经费|最多|顶多|不超过|不能超过|控制在|只能花|能花)[^，。；！？,.;!?\d{_DIGITS}]{{0,4}}{_amount(1)}"
    # or the amount, then a bound: 五万以内, 10万元以下, 两三万块之内
    rf"|{_amount(2)}[元块钱]?(?:以内|以下|之内|封顶)"
)
_UNITS = {"万": 10_000, "千": 1_000, "元": 1, "块": 1}
MAX_BUDGET_CNY = 100_000_000
"""A larger amount is not an SME's retrofit budget (the request field's bound too)."""


def stated_budget(needs: str) -> int | None:
    """The budget ``needs`` states, in yuan, or None: the smallest amount with a budget cue.

    "两三万" (a span, as people say it) counts as its upper end. Never raises.
    """
    found = []
    for match in _BUDGET.finditer(needs):
        n = 1 if match.group("amount1") else 2
        value = _number(match.group(f"amount{n}"))
        if value is not None and 0 < value * _UNITS[match.group(f"unit{n}")] <= MAX_BUDGET_CNY:
            found.append(round(value * _UNITS[match.group(f"unit{n}")]))
    return min(found) if found else None


def _number(text: str) -> float | None:
    """``5``, ``1.5``, ``十二``, ``三点五`` or a span of two digits (``两三``, ``七八``) as a number."""
    if len(text) == 2 and all(char in "一二两三四五六七八九" for char in text):
        return max(float(cn2an.cn2an(char, "smart")) for char in text)
    try:
        return float(cn2an.cn2an(text, "smart"))
    except ValueError:  # numerals out of order: 十十, 千百
        return None
