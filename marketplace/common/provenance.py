"""Provenance of the numbers on solutions and cases: only a city office or an admin marks them accepted.

Every outcome claim of a solution and every metric of a case carries its ``source_type``
(DOMAIN.md §5). ``vendor_claimed`` and ``third_party`` are the author's word; ``city_accepted``
is a city's, so it is set only by a city office or an admin, and the entry records who accepted it
(``accepted_by``, ``accepted_by_name``) and when (``accepted_at``). An accepted entry keeps its
acceptance through later edits only while its numbers stay the same; changing them drops it.
"""

from __future__ import annotations

from marketplace.errors import Conflict, NotFound, Unprocessable
from marketplace.evidence import CITY_ACCEPTED
from marketplace.models import User, utcnow

ACCEPTANCE_KEYS = ("accepted_by", "accepted_by_name", "accepted_at")
NUMBERS = {"outcome_claims": ("metric", "value", "unit"), "metrics": ("name", "before", "after", "unit")}
"""What an accepted entry vouches for, per evidence list: a change to any of these drops the acceptance."""


def _numbers(field: str, entry: dict) -> tuple:
    return tuple(entry.get(key) for key in NUMBERS[field])


def _stamp(entry: dict, actor: User) -> dict:
    return {
        **entry,
        "source_type": CITY_ACCEPTED,
        "accepted_by": actor.id,
        "accepted_by_name": actor.name,
        "accepted_at": utcnow().isoformat(),
    }


def reconcile(
    field: str, entries: list[dict], stored: list[dict], actor: User, may_accept: bool
) -> list[dict]:
    """The entries to store for ``field`` after a create or an edit, with their acceptance.

    An entry sent as ``city_accepted`` keeps the acceptance of a stored accepted entry with the same
    numbers; otherwise it is accepted now if ``actor`` ``may_accept``, and refused if not.

    :param entries: the loaded list the request sends (it replaces ``stored``).
    :raises Unprocessable: naming ``field[i].source_type`` for an entry the caller may not accept.
    """
    accepted = {_numbers(field, e): e for e in stored if e.get("source_type") == CITY_ACCEPTED}
    kept, errors = [], {}
    for index, sent in enumerate(entries):
        entry = {key: value for key, value in sent.items() if key not in ACCEPTANCE_KEYS}
        if entry.get("source_type") == CITY_ACCEPTED:
            previous = accepted.get(_numbers(field, entry))
            if previous is not None:
                entry.update({key: previous[key] for key in ACCEPTANCE_KEYS if key in previous})
            elif may_accept:
                entry = _stamp(entry, actor)
            else:
                was_accepted = any(
                    e[NUMBERS[field][0]] == entry[NUMBERS[field][0]] for e in accepted.values()
                )
                errors[index] = {
                    "source_type": [
                        "数值已改变，城市验收随之失效，请改为 vendor_claimed 或 third_party"
                        if was_accepted
                        else "只有城市主管部门或平台管理员可以标记为城市验收（city_accepted）"
                    ]
                }
        kept.append(entry)
    if errors:
        first = min(errors)
        raise Unprocessable(
            f"{field}[{first}].source_type：{errors[first]['source_type'][0]}", {field: errors}
        )
    return kept


def accept(field: str, entries: list[dict], index: int, actor: User) -> list[dict]:
    """``entries`` with the one at ``index`` accepted by ``actor`` now; the caller checks the role.

    :raises NotFound: if there is no entry at ``index``.
    :raises Conflict: if it is accepted already.
    """
    if not 0 <= index < len(entries):
        raise NotFound("该效果数据不存在")
    if entries[index].get("source_type") == CITY_ACCEPTED:
        raise Conflict("该效果数据已经过城市验收")
    return [_stamp(entry, actor) if i == index else dict(entry) for i, entry in enumerate(entries)]
