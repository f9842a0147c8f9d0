"""Constraints an enterprise states in its own words rather than in the form's fields.

An owner writes "钱不多，五万以内", "一个月内必须能用" or "数据不能出厂" in the needs and leaves the
form's fields empty; the judged catalogs' rubric (``tests/relevance/RUBRIC.md`` §3) counts such
constraints as stated, and so does the matcher. Each needs a cue: "电费一个月二十多万" states no
budget, "下个月该备多少货" no deadline.
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
_SPAN = rf"(?P<count>\d+|[{_DIGITS}]+|半)(?:个)?(?P<span>天|周|个?星期|个?礼拜|个?月)"
_DEADLINE = re.compile(
    # a window: 一个月内, 两周之内, 十天以内, 半个月前
    rf"{_SPAN}(?:内|之内|以内|前|之前)"
    # next week or month, then a need to be ready: 下个月就要用, 下个月客户来验厂, 下周之前
    r"|(?P<next>下个?月|下周|下个?星期)[^，。；！？,.;!?]{0,4}?(?:就要|要用|必须|得用|之前|前|上线|用上|验厂|审核|检查|来查)"
)
_SPAN_DAYS = {"天": 1, "周": 7, "星期": 7, "礼拜": 7, "月": 30}
ON_SITE, NO_SERVER = "on_site", "no_server"
"""What :func:`stated_delivery` can find: the data must stay on site, or there is to be no server of
the enterprise's own (a cloud service is wanted)."""
_ON_SITE = re.compile(
    r"不能?上云|不想上云|不放云|不能放(?:到|在)?云|不出厂|不能出厂|本地部署|私有化|内网|不(?:能|连|联)外网"
    r"|(?:数据|资料|图纸|配方|工艺)[^，。；！？,.;!?]{0,6}不(?:能|许|准|可以|想)?(?:出厂|外传|传出去|传到外|上传|出去)"
    r"|(?:数据|资料)[^，。；！？,.;!?]{0,4}(?:放|存|留)在?(?:本地|厂里|自己|公司)"
)
_NO_SERVER = re.compile(
    r"不想[^，。；！？,.;!?]{0,6}(?:放|买|搞|装)服务器|没有服务器|不要服务器|没有(?:IT|it|网管|信息部)"
)
MAX_BUDGET_CNY = 100_000_000
"""A larger amount is not an SME's retrofit budget (the request field's bound too)."""


def stated_budget(needs: str) -> int | None:
    """The budget ``needs`` states, in yuan, or None: the smallest amount with a budget cue.

    "两三万" (a span, as people say it) counts as its upper end. Never raises.
    """
    found = []
    for match in _BUDGET.finditer(needs):
        n = 1 if match.group("amount1") else 2
        cny = (_number(match.group(f"amount{n}")) or 0) * _UNITS[match.group(f"unit{n}")]
        if 0 < cny <= MAX_BUDGET_CNY:
            found.append(round(cny))
    return min(found) if found else None


def _number(text: str) -> float | None:
    """``5``, ``1.5``, ``十二``, ``三点五`` or a span of two digits (``两三``, ``七八``) as a number."""
    if len(text) == 2 and all(char in "一二两三四五六七八九" for char in text):
        return max(float(cn2an.cn2an(char, "smart")) for char in text)
    try:
        return float(cn2an.cn2an(text, "smart"))
    except ValueError:  # numerals out of order: 十十, 千百
        return None


def stated_deadline_days(needs: str) -> int | None:
    """The days within which ``needs`` says the item must be in use, or None (the shortest stated)."""
    found = []
    for match in _DEADLINE.finditer(needs):
        if match.group("next"):
            found.append(7 if "月" not in match.group("next") else 30)
            continue
        count = 0.5 if match.group("count") == "半" else _number(match.group("count"))
        unit = match.group("span").lstrip("个")
        if count:
            found.append(max(1, round(count * _SPAN_DAYS[unit])))
    return min(found) if found else None


def stated_delivery(needs: str) -> str | None:
    """:data:`ON_SITE` when ``needs`` says the data must stay on site ("数据不能出厂", "不能上云"),
    :data:`NO_SERVER` when it wants no server of its own ("不想在厂里放服务器"), else None."""
    if _NO_SERVER.search(needs):
        return NO_SERVER
    if _ON_SITE.search(needs):
        return ON_SITE
    return None
