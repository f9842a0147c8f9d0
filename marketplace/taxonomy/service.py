"""Read-only taxonomies built from the versioned files in ``seed_data/taxonomy`` (read by its loader)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, cached_property

from flask import current_app

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
    return Taxonomy(industries, meta, scenarios, scenario_meta, Regions(provinces, cities, aliases))


def taxonomy() -> Taxonomy:
    """Return the taxonomy of the current app."""
    return load_taxonomy(current_app.config["SEED_DATA_DIR"])


def list_industries(under: str | None = None, level: str | None = None) -> list[Industry]:
    """List industries, optionally the subtree under a code and only one level."""
    tax = taxonomy()
    entries = tax.industry_subtree(under) if under else list(tax.industries.values())
    return [entry for entry in entries if level is None or entry.level == level]
