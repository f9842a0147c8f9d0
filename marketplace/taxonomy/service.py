"""Read-only taxonomies built from the versioned files in ``seed_data/taxonomy`` (read by its loader)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, cached_property

from flask import current_app

from marketplace.taxonomy.finder import IndustryFinder, IndustryMatch
from seed_data import taxonomy as taxonomy_files

LEVELS = {"section": "门类", "division": "大类", "group": "中类", "class": "小类"}


@dataclass(frozen=True)
class Industry:
    """One entry of GB/T 4754: code with letter prefix, name, level and parent code."""

    code: str
    name: str
    level: str
    parent: str | None
    standard: str
    version: str

    @property
    def level_name(self) -> str:
        """The Chinese name of the level (门类/大类/中类/小类)."""
        return LEVELS[self.level]


@dataclass(frozen=True)
class Scenario:
    """One of the 16 business scenarios of the 2024 digital-level indicator."""

    code: str
    name: str
    constraint: bool
    group: str
    group_name: str
    sub_scenarios: tuple[str, ...]


CITY_SUFFIXES = ("市", "地区", "盟")
PROVINCE_SUFFIXES = ("省", "市")


def _short_forms(names, suffixes: tuple[str, ...]) -> dict[str, str]:
    """Each name without its suffix (苏州市 → 苏州), where that short form names one place only."""
    forms: dict[str, set[str]] = {}
    for name in names:
        for suffix in suffixes:
            if name.endswith(suffix) and len(name) - len(suffix) >= 2:
                forms.setdefault(name.removesuffix(suffix), set()).add(name)
    return {short: next(iter(full)) for short, full in forms.items() if len(full) == 1 and short not in names}


@dataclass(frozen=True)
class Regions:
    """Provincial and prefecture-level divisions by their full names, with common short forms.

    A municipality or special administrative region is its own only city (上海市 in 上海市).
    """

    provinces: tuple[str, ...]
    cities: dict[str, tuple[str, ...]]
    province_aliases: dict[str, str]

    @cached_property
    def province_of_city(self) -> dict[str, str]:
        """The province of every city."""
        return {city: province for province, cities in self.cities.items() for city in cities}

    @cached_property
    def _city_aliases(self) -> dict[str, str]:
        return _short_forms(self.province_of_city, CITY_SUFFIXES)

    @cached_property
    def _province_aliases(self) -> dict[str, str]:
        return {**_short_forms(self.provinces, PROVINCE_SUFFIXES), **self.province_aliases}

    def province(self, name: str) -> str | None:
        """The full name of a province given by full name or short form (浙江 → 浙江省), else None."""
        return name if name in self.provinces else self._province_aliases.get(name)

    def city(self, name: str) -> str | None:
        """The full name of a city given by full name or short form (苏州 → 苏州市), else None."""
        return name if name in self.province_of_city else self._city_aliases.get(name)


@dataclass(frozen=True)
class Taxonomy:
    """Industries, scenarios and regions, with lookups."""

    industries: dict[str, Industry]
    industry_meta: dict
    scenarios: dict[str, Scenario]
    scenario_meta: dict
    regions: Regions
    industry_aliases: tuple[dict, ...] = ()

    @cached_property
    def finder(self) -> IndustryFinder:
        """The industry finder, with every name spelled out in pinyin on first use."""
        return IndustryFinder(self.industries, list(self.industry_aliases))

    @property
    def provinces(self) -> tuple[str, ...]:
        """The provincial-level divisions by full name."""
        return self.regions.provinces

    def industry_subtree(self, code: str) -> list[Industry]:
        """Return ``code`` and every entry below it, in standard order."""
        return [entry for entry in self.industries.values() if entry.code.startswith(code)]

    def industry_path(self, code: str) -> list[Industry]:
        """Return the chain from the section down to ``code``."""
        path = []
        entry = self.industries.get(code)
        while entry is not None:
            path.append(entry)
            entry = self.industries.get(entry.parent) if entry.parent else None
        return path[::-1]


@cache
def load_taxonomy(seed_dir: str) -> Taxonomy:
    """Load and check the taxonomy files under ``seed_dir``; cached per directory.

    :raises ValueError: if a file is inconsistent (unknown parent, duplicate code).
    """
    manifest = taxonomy_files.read_manifest(seed_dir)
    meta = manifest["industries"]
    industries: dict[str, Industry] = {}
    for row in taxonomy_files.read_industries(seed_dir, manifest):
        code = row["code"].strip()
        parent = row["parent"].strip() or None
        if code in industries:
            raise ValueError(f"duplicate industry code {code}")
        if parent is not None and parent not in industries:
            raise ValueError(f"industry {code} has unknown parent {parent}")
        industries[code] = Industry(
            code,
            row["name"].strip(),
            row["level"].strip(),
            parent,
            meta["standard"],
            meta["version"],
        )
    scenario_doc = taxonomy_files.read_scenarios(seed_dir, manifest)
    group_names = {group["code"]: group["name"] for group in scenario_doc["groups"]}
    scenarios = {
        item["code"]: Scenario(
            item["code"],
            item["name"],
            item["constraint"],
            item["group"],
            group_names[item["group"]],
            tuple(item["sub_scenarios"]),
        )
        for item in scenario_doc["scenarios"]
    }
    regions = taxonomy_files.read_regions(seed_dir, manifest)
    scenario_meta = {key: scenario_doc[key] for key in ("name", "version", "source")}
    provinces = tuple(regions["provinces"])
    cities = {province: tuple(names) for province, names in regions["cities"].items()}
    if set(cities) - set(provinces):
        raise ValueError(f"cities listed under unknown provinces: {sorted(set(cities) - set(provinces))}")
    aliases = regions.get("province_aliases", {})
    if set(aliases.values()) - set(provinces):
        raise ValueError("province aliases name unknown provinces")
    alias_doc = taxonomy_files.read_industry_aliases(seed_dir, manifest, missing_ok=True)
    industry_aliases = tuple(alias_doc["aliases"])
    for alias in industry_aliases:
        unknown = [code for code in alias["codes"] if code not in industries]
        if unknown:
            raise ValueError(f"industry alias {alias['term']} names unknown codes {unknown}")
    return Taxonomy(
        industries, meta, scenarios, scenario_meta, Regions(provinces, cities, aliases), industry_aliases
    )


def taxonomy() -> Taxonomy:
    """Return the taxonomy of the current app."""
    return load_taxonomy(current_app.config["SEED_DATA_DIR"])


SEARCH_PAGE_SIZE = 20
"""Entries per page of a search (``q``) when the caller names no ``per_page``."""


@dataclass(frozen=True)
class IndustryHit(Industry):
    """An entry of a list or search, with why it matched the query (None when listing)."""

    match: IndustryMatch | None = None


def list_industries(under: str | None = None, level: str | None = None) -> list[Industry]:
    """List industries, optionally the subtree under a code and only one level."""
    tax = taxonomy()
    entries = tax.industry_subtree(under) if under else list(tax.industries.values())
    return [entry for entry in entries if level is None or entry.level == level]


def search_industries(
    q: str | None = None,
    under: str | None = None,
    level: str | None = None,
    page: int = 1,
    per_page: int | None = None,
) -> dict:
    """List industries, or find them by name, code, common name or pinyin, one page at a time.

    :param q: what the user typed (注塑, 汽车零部件, C367, 3670, slzp); without it, the entries in
        the standard's order.
    :param under: keep only this code and the entries below it.
    :param level: keep only one level (section, division, group, class).
    :param page: the page, from 1.
    :param per_page: entries per page; by default all entries of a list and
        :data:`SEARCH_PAGE_SIZE` of a search.
    :returns: the standard's metadata with ``total``, ``page``, ``per_page`` and ``items``
        (:class:`IndustryHit`, best match first for a search).
    """
    tax = taxonomy()
    if q:
        found = [
            (entry, match)
            for entry, match in tax.finder.find(q)
            if (under is None or entry.code.startswith(under)) and (level is None or entry.level == level)
        ]
        per_page = per_page or SEARCH_PAGE_SIZE
    else:
        found = [(entry, None) for entry in list_industries(under, level)]
    start = (page - 1) * per_page if per_page else 0
    window = found[start : start + per_page] if per_page else found
    return {
        **tax.industry_meta,
        "total": len(found),
        "page": page,
        "per_page": per_page,
        "items": [IndustryHit(**vars(entry), match=match) for entry, match in window],
    }
