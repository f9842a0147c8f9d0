"""Keep the garbage collector off the objects a process already holds while a long job allocates."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Exclude every object alive now from garbage collection until the block ends.

    A job that streams many rows (a rebuild, an outbox drain, synthetic seeding) allocates enough
    container objects to start a full collection every few thousand rows, and each full collection
    walks every object of the process: the app, the taxonomy, the analysis chain's dictionaries.
    Frozen objects are skipped (``gc.freeze``), so collections cost what the job itself keeps
    alive; on a 100k store this halved the cost of reading it for a rebuild. Objects made inside
    the block are collected as usual. A process whose heap is already frozen (a gunicorn worker,
    frozen by its master before forking) is left as it is.
    """
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
