"""Read the taxonomy files of this directory: GB/T 4754 industries and their common names, scenarios, regions.

``manifest.json`` names each file and what it follows (standard, version). These functions parse
the files and return them as read, with no Flask and no checks of their own:
``marketplace.taxonomy.service`` builds its checked lookups from them, and ``indexing.analysis``
takes the industry and scenario names into the analyser's lexicon. Each takes the ``seed_data``
directory, so a copy of the data can be read as well as this one.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

DEFAULT_FILES = {
    "industries": "industries_gbt4754_2017.csv",
    "scenarios": "scenarios_2024.json",
    "regions": "regions.json",
    "industry_aliases": "industry_aliases_2017.json",
}
"""The file of each part of the taxonomy when the manifest does not name one."""


def read_manifest(seed_dir: str | Path, *, missing_ok: bool = False) -> dict:
    """Read ``taxonomy/manifest.json``.

    :param seed_dir: the ``seed_data`` directory.
    :param missing_ok: give an empty manifest, rather than fail, when there is none.
    :returns: the manifest: per part (``industries``, ``scenarios``, ``regions``) its ``file``
        and, for industries, ``standard``, ``version`` and the like.
    :raises FileNotFoundError: if the manifest is missing and ``missing_ok`` is false.
    """
    path = Path(seed_dir) / "taxonomy" / "manifest.json"
    if missing_ok and not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def read_industries(
    seed_dir: str | Path, manifest: dict, *, missing_ok: bool = False
) -> list[dict[str, str]]:
    """Read the industry classification, one row per code, in file order.

    :param seed_dir: the ``seed_data`` directory.
    :param manifest: the manifest (:func:`read_manifest`) that names the file.
    :param missing_ok: give no rows, rather than fail, when the file is missing.
    :returns: the CSV rows as read, unstripped: ``code``, ``name``, ``level`` and ``parent``
        (empty for a section).
    :raises FileNotFoundError: if the file is missing and ``missing_ok`` is false.
    """
    path = _path(seed_dir, manifest, "industries")
    if missing_ok and not path.exists():
        return []
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def read_scenarios(seed_dir: str | Path, manifest: dict, *, missing_ok: bool = False) -> dict | None:
    """Read the scenario document of the digital-level indicator.

    :param seed_dir: the ``seed_data`` directory.
    :param manifest: the manifest (:func:`read_manifest`) that names the file.
    :param missing_ok: give ``None``, rather than fail, when the file is missing.
    :returns: the document as read: ``name``, ``version``, ``source``, ``groups`` (each ``code``
        and ``name``) and ``scenarios`` (each ``code``, ``name``, ``constraint``, ``group`` and
        ``sub_scenarios``).
    :raises FileNotFoundError: if the file is missing and ``missing_ok`` is false.
    """
    path = _path(seed_dir, manifest, "scenarios")
    if missing_ok and not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def read_regions(seed_dir: str | Path, manifest: dict) -> dict:
    """Read the region document, whose ``provinces`` lists the provincial-level divisions.

    :param seed_dir: the ``seed_data`` directory.
    :param manifest: the manifest (:func:`read_manifest`) that names the file.
    :raises FileNotFoundError: if the file is missing.
    """
    return json.loads(_path(seed_dir, manifest, "regions").read_text(encoding="utf-8"))


def read_industry_aliases(seed_dir: str | Path, manifest: dict, *, missing_ok: bool = False) -> dict:
    """Read the table of common names for industries (注塑 → C2929, C292), for the industry finder.

    :param seed_dir: the ``seed_data`` directory.
    :param manifest: the manifest (:func:`read_manifest`) that names the file.
    :param missing_ok: give an empty table, rather than fail, when the file is missing.
    :returns: the document as read: ``standard``, ``version`` and ``aliases`` (each ``term`` and
        ``codes``, the entries it means, most specific first).
    :raises FileNotFoundError: if the file is missing and ``missing_ok`` is false.
    """
    path = _path(seed_dir, manifest, "industry_aliases")
    if missing_ok and not path.exists():
        return {"aliases": []}
    return json.loads(path.read_text(encoding="utf-8"))


def _path(seed_dir: str | Path, manifest: dict, part: str) -> Path:
    """The file of ``part``: the one the manifest names, else its default name."""
    return Path(seed_dir) / "taxonomy" / manifest.get(part, {}).get("file", DEFAULT_FILES[part])
