"""What requests read from the store about indexed items, kept for one index generation.

Every change to a solution, a case, a promotion or a provider's name or place reaches the index
through the outbox after its store commit, so the index's generation moving on is what makes such
reads stale. Search pages and recommendations read the same few hundred popular items again and
again; this cache spares them the store until the next commit to the index. Promotions depend on
the day too, so the day is part of the key.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import date
from typing import Any

from flask import current_app

STORE_CACHE_SIZE = 20_000


class GenerationCache:
    """Values per namespace and id, all dropped when the key (generation, day) changes; bounded LRU.

    Read the key before reading the store: values read afterwards are never older than the
    generation they are filed under. Ids that ``load`` did not return (no longer published) are
    remembered as absent.
    """

    def __init__(self, size: int = STORE_CACHE_SIZE):
        self.size = size
        self._key: Hashable | None = None
        self._items: OrderedDict[tuple[str, int], Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(
        self,
        key: Hashable | None,
        namespace: str,
        ids: list[int],
        load: Callable[[list[int]], dict[int, Any]],
    ) -> dict[int, Any]:
        """The values of ``ids`` that exist, in ``ids`` order: cached, else from ``load(missing)``.

        :param key: what the values depend on (see :func:`cache_key`); ``None`` caches nothing.
        """
        if key is None:
            return load(ids)
        with self._lock:
            if key != self._key:
                self._items.clear()
                self._key = key
            found = {i: self._items[(namespace, i)] for i in ids if (namespace, i) in self._items}
        missing = [i for i in ids if i not in found]
        loaded = load(missing) if missing else {}
        found.update((i, loaded.get(i)) for i in missing)
        with self._lock:
            if key == self._key:
                for i in ids:
                    self._items[(namespace, i)] = found[i]
                    self._items.move_to_end((namespace, i))
                while len(self._items) > self.size:
                    self._items.popitem(last=False)
        return {i: found[i] for i in ids if found[i] is not None}


def store_cache() -> GenerationCache:
    """This app's cache in this process."""
    return current_app.extensions.setdefault("store_cache", GenerationCache())


def cache_key(generation: Hashable | None) -> Hashable | None:
    """The key of what is cached now: the index generation and the day; ``None`` if there is none."""
    return None if generation is None else (generation, date.today())
