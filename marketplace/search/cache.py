"""What requests read from the store about indexed items, kept for one index generation.

Every change to a solution, a case, a promotion or a provider's name or place reaches the index
through the outbox after its store commit, so the index's generation moving on is what makes such
reads stale. Search pages and recommendations read the same few hundred popular items again and
again; this cache spares them the store until the next commit to the index. Promotions depend on
the day too, so the day is part of the key.

The generation does not move while the index cannot be written, so each read also asks the store
which of the items are published now, and at which row versions: an item unpublished or edited
since it was cached is dropped or read again, whatever the index says.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import date
from typing import Any

from flask import current_app

Stamps = Callable[[list[int]], dict[int, Hashable]]
"""The ids among its argument that may be served now, each with the stamp of what was read of it."""
STORE_CACHE_SIZE = 40_000
"""Entries per process. A recommendation files two per candidate (the candidate and its vector), so
this holds some 20,000 items, as many as the matcher's text-vector cache (``VECTOR_CACHE_SIZE``).
Measured at 100,000 solutions (docs/benchmarks.md): the 78 judged profiles touch 13,600 solutions,
27,200 entries; at 20,000 entries the cache evicted what the next request needed, and a repeated
profile cost ~90 ms of CPU instead of ~33."""


class GenerationCache:
    """Values per namespace and id, all dropped when the key (generation, day) changes; bounded LRU.

    Read the key before reading the store: values read afterwards are never older than the
    generation they are filed under. Each value is filed with the stamp ``current`` gave its id
    when it was read, and served only while ``current`` still gives that stamp.
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
        current: Stamps,
    ) -> dict[int, Any]:
        """The values of ``ids`` that exist now, in ``ids`` order: cached, else from ``load(missing)``.

        :param key: what the values depend on (see :func:`cache_key`); ``None`` caches nothing.
        :param current: the ids among its argument that may be served now (published), each with
            a stamp that changes with what ``load`` reads (see
            :func:`marketplace.search.documents.published_stamps`); it is asked at every call.
        """
        stamps = current(ids)
        live = [i for i in ids if i in stamps]
        if key is None:
            loaded = load(live) if live else {}
            return {i: loaded[i] for i in live if i in loaded}
        with self._lock:
            if key != self._key:
                self._items.clear()
                self._key = key
            found = {}
            for i in live:
                entry = self._items.get((namespace, i))
                if entry is not None and entry[0] == stamps[i]:
                    found[i] = entry[1]
        missing = [i for i in live if i not in found]
        loaded = load(missing) if missing else {}
        found.update((i, loaded.get(i)) for i in missing)
        with self._lock:
            if key == self._key:
                for i in live:
                    self._items[(namespace, i)] = (stamps[i], found[i])
                    self._items.move_to_end((namespace, i))
                while len(self._items) > self.size:
                    self._items.popitem(last=False)
        return {i: found[i] for i in live if found[i] is not None}


def store_cache() -> GenerationCache:
    """This app's cache in this process."""
    return current_app.extensions.setdefault("store_cache", GenerationCache())


def cache_key(generation: Hashable | None) -> Hashable | None:
    """The key of what is cached now: the index generation and the day; ``None`` if there is none."""
    return None if generation is None else (generation, date.today())
