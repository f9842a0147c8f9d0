"""Scenario intents from needs in plain words: the bundled corpus of labelled SME need statements.

An enterprise says "老板出差，报销单全压着" where a catalog says "OA 移动审批 流程审批": the catalog's
own texts teach the scenario classifier product language only. The corpus
(``seed_data/intents/scenario_needs.json``, provenance in the README beside it) holds statements
written the way enterprises write, each labelled with one scenario of the taxonomy; the matcher
learns its needs→scenario model from them as well as from the catalog.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

INTENTS_FILE = Path("intents") / "scenario_needs.json"
"""The corpus, relative to the ``seed_data`` directory."""


def load_scenario_needs(seed_dir: str | Path, codes: Sequence[str] | None = None) -> dict[str, list[str]]:
    """The corpus as scenario code → statements; an absent file gives none.

    :param seed_dir: the ``seed_data`` directory.
    :param codes: the taxonomy's scenario codes; when given, a statement under any other code is an
        error rather than a silently unknown label.
    :raises ValueError: if the file is malformed or names a scenario outside ``codes``.
    """
    path = Path(seed_dir) / INTENTS_FILE
    if not path.exists():
        return {}
    document = json.loads(path.read_text(encoding="utf-8"))
    scenarios = document.get("scenarios") if isinstance(document, dict) else None
    if not isinstance(scenarios, dict):
        raise ValueError(f"{path}: expected an object with 'scenarios': {{code: [statement, ...]}}")
    unknown = sorted(set(scenarios) - set(codes)) if codes is not None else []
    if unknown:
        raise ValueError(f"{path}: scenarios not in the taxonomy: {unknown}")
    needs: dict[str, list[str]] = {}
    for code, statements in scenarios.items():
        if not isinstance(statements, list) or not all(isinstance(s, str) for s in statements):
            raise ValueError(f"{path}: scenario {code!r} must list statements as strings")
        kept = [s.strip() for s in statements if s.strip()]
        if kept:
            needs[code] = kept
    return needs


def labelled_statements(intents: Mapping[str, Sequence[str]]) -> tuple[list[str], list[list[str]]]:
    """The corpus as parallel lists of statements and their one-scenario labels, in a stable order."""
    texts, labels = [], []
    for code in sorted(intents):
        for statement in intents[code]:
            texts.append(statement)
            labels.append([code])
    return texts, labels
