"""The options of the console's pickers, read from the taxonomies the API serves."""

from __future__ import annotations

from marketplace.console.blueprint import bp
from marketplace.console.formatting import level
from marketplace.search.service import DELIVERY_MODE_NAMES
from marketplace.solutions.schemas import DELIVERY_MODES
from marketplace.taxonomy.service import list_industries, taxonomy


def industry_groups() -> list[tuple[str, list]]:
    """Manufacturing's 小类 grouped under their 大类, for a select with option groups."""
    groups: dict[str, list] = {}
    names = {}
    for entry in list_industries(under="C"):
        if entry.level == "division":
            names[entry.code] = entry.name
            groups.setdefault(entry.code, [])
        elif entry.level == "class":
            groups.setdefault(entry.code[:3], []).append(entry)
    return [(f"{code} {names.get(code, '')}", entries) for code, entries in groups.items() if entries]


def industry_name(code: str | None) -> str:
    """``C2929 塑料零件及其他塑料制品制造`` for a code; the code alone if it is unknown."""
    entry = taxonomy().industries.get(code or "")
    return f"{entry.code} {entry.name}" if entry else (code or "—")


def scenario_name(code: str) -> str:
    """The Chinese name of a scenario code."""
    scenario = taxonomy().scenarios.get(code)
    return scenario.name if scenario else code


@bp.app_context_processor
def pickers() -> dict:
    """Offer the picker options and the name lookups to every console template."""
    return {
        "industry_groups": industry_groups,
        "industry_name": industry_name,
        "scenario_name": scenario_name,
        "all_scenarios": lambda: list(taxonomy().scenarios.values()),
        "scenario_options": lambda: [(s.code, s.name) for s in taxonomy().scenarios.values()],
        "level_options": [(value, level(value)) for value in range(5)],
        "delivery_modes": [(mode, DELIVERY_MODE_NAMES[mode]) for mode in DELIVERY_MODES],
    }
