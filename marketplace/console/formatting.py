"""How the console writes amounts, statuses and levels, as people read them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from marketplace.assessments.service import indicator
from marketplace.auth.security import ROLE_NAMES
from marketplace.common.lifecycle import STATUS_NAMES as LISTING_STATUS_NAMES
from marketplace.console.blueprint import bp
from marketplace.inquiries.service import STATUS_NAMES as INQUIRY_STATUS_NAMES
from marketplace.models import InquiryStatus, ListingStatus, Role
from marketplace.pilots.labels import SIZE_NAMES, TIER_NAMES
from marketplace.pilots.labels import STATUS_NAMES as PROJECT_STATUS_NAMES
from marketplace.pilots.models import ProjectStatus
from marketplace.search.service import DELIVERY_MODE_NAMES

WAN = 10_000
YI = 100_000_000
SOURCE_NAMES = {"vendor_claimed": "服务商自报", "third_party": "第三方测评", "city_accepted": "城市验收"}


def _number(value: Decimal) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text or "0"


def _unit(high: int) -> tuple[int, str]:
    if high >= YI:
        return YI, "亿元"
    if high >= WAN:
        return WAN, "万元"
    return 1, "元"


def amount(value: int | None) -> str:
    """One amount: 30000 → 3 万元, 2500 → 2500 元, 150000000 → 1.5 亿元."""
    if value is None:
        return "—"
    scale, unit = _unit(value)
    return f"{_number(Decimal(value) / scale)} {unit}"


def amount_range(low: int | None, high: int | None) -> str:
    """A price range as people write it: 30000–80000 → 3–8 万元; one unit, chosen by the higher end."""
    if low is None or high is None:
        return amount(high if low is None else low)
    if low == high:
        return amount(low)
    scale, unit = _unit(high)
    return f"{_number(Decimal(low) / scale)}–{_number(Decimal(high) / scale)} {unit}"


def listing_status(value: str) -> str:
    """草稿 / 待审核 / 已发布 / 已驳回 / 已下架."""
    return LISTING_STATUS_NAMES[ListingStatus(value)]


def inquiry_status(value: str) -> str:
    """新咨询 / 已联系 / 已成交 / 未成交."""
    return INQUIRY_STATUS_NAMES[InquiryStatus(value)]


def level(value: int | None) -> str:
    """The indicator's name of a level (一级 … 四级), or 未评测."""
    return indicator().level_name(value or None)


CHINA_STANDARD_TIME = timezone(timedelta(hours=8), "北京时间")


def local_time(value: str | None) -> str:
    """A stored UTC time (ISO 8601, as the schemas dump it) in Beijing time: 2026-12-07 09:00."""
    if not value:
        return "—"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(CHINA_STANDARD_TIME).strftime("%Y-%m-%d %H:%M")


FILTERS = {
    "local_time": local_time,
    "amount": amount,
    "amount_range": amount_range,
    "listing_status": listing_status,
    "inquiry_status": inquiry_status,
    "level": level,
    "delivery_mode": lambda value: DELIVERY_MODE_NAMES.get(value, value),
    "role_name": lambda value: ROLE_NAMES[Role(value)],
    "project_status": lambda value: PROJECT_STATUS_NAMES[ProjectStatus(value)],
    "size_name": lambda value: SIZE_NAMES.get(value, value),
    "tier_name": lambda value: TIER_NAMES.get(value, value),
    "source_name": lambda value: SOURCE_NAMES.get(value, value),
}


def register_filters() -> None:
    """Offer the filters to every template."""
    for name, function in FILTERS.items():
        bp.add_app_template_filter(function, name)


register_filters()
