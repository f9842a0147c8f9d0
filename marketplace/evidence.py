"""The evidence stored as JSON on solutions and cases, and the shape every reader may rely on.

Requests can only store evidence that passes the schemas (a PATCH is checked as the whole object
it makes). Rows written another way (an old version, a hand edit, an import) are checked again
where the store is read (:class:`marketplace.models.EvidenceJSON`): an entry of the wrong shape is
left out and logged, so that no reader (recommendations, similar items, the search index, the
pilot dashboard) ever meets a missing key.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

SOURCE_TYPES = ("vendor_claimed", "third_party", "city_accepted")
"""Where a number on a solution or case comes from (DOMAIN.md §5)."""
CITY_ACCEPTED = "city_accepted"
LEVELS = range(1, 5)

log = logging.getLogger("marketplace.store")


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_level(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value in LEVELS


def _is_text(value) -> bool:
    return isinstance(value, str)


def uplift_ok(item: dict) -> bool:
    """A declared level uplift: a scenario code and a rise between levels 1 and 4."""
    return (
        _is_text(item.get("scenario"))
        and _is_level(item.get("from_level"))
        and _is_level(item.get("to_level"))
        and item["from_level"] < item["to_level"]
    )


def claim_ok(item: dict) -> bool:
    """An outcome claim of a solution: metric, number, unit and a known source type."""
    return (
        _is_text(item.get("metric"))
        and _is_number(item.get("value"))
        and _is_text(item.get("unit"))
        and item.get("source_type") in SOURCE_TYPES
    )


def metric_ok(item: dict) -> bool:
    """A measured outcome of a case: name, numbers before and after, unit, and a known source type."""
    return (
        _is_text(item.get("name"))
        and _is_number(item.get("before"))
        and _is_number(item.get("after"))
        and _is_text(item.get("unit"))
        and item.get("source_type", "vendor_claimed") in SOURCE_TYPES
    )


CHECKS: dict[str, Callable[[dict], bool]] = {
    "solutions.level_uplifts": uplift_ok,
    "solutions.outcome_claims": claim_ok,
    "cases.metrics": metric_ok,
}


def well_formed(column: str, value) -> list[dict]:
    """The entries of a stored evidence list that have the shape readers rely on.

    Anything else (a non-list, a non-object entry, a missing or mistyped key) is left out and
    logged as a warning naming ``column``.
    """
    if value is None:
        return []
    if not isinstance(value, list):
        _skipped(column, value)
        return []
    check = CHECKS[column]
    kept = []
    for item in value:
        if isinstance(item, dict) and check(item):
            kept.append(item)
        else:
            _skipped(column, item)
    return kept


def _skipped(column: str, entry) -> None:
    log.warning("malformed stored evidence skipped", extra={"column": column, "entry": repr(entry)[:200]})
