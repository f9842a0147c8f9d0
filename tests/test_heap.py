"""The long jobs' garbage-collector freeze."""

import gc
import weakref

from marketplace.common.heap import frozen_heap


def test_objects_alive_before_the_block_are_frozen_during_it_only():
    assert gc.get_freeze_count() == 0
    with frozen_heap():
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0


def test_the_heap_is_unfrozen_when_the_job_fails():
    try:
        with frozen_heap():
            raise RuntimeError("job failed")
    except RuntimeError:
        pass
    assert gc.get_freeze_count() == 0


class _Node:
    """A container that refers to itself: only the cycle collector frees it."""

    def __init__(self) -> None:
        self.me = self


def test_a_heap_frozen_by_someone_else_stays_frozen():
    """A gunicorn worker's heap, frozen by its master, must not be thawed by a job's block.

    The freeze count alone is not a stable witness: another thread may free frozen objects by
    reference count meanwhile. Frozen cyclic garbage is: only an unfreeze lets it be collected.
    """
    cycle = _Node()
    cycle_ref = weakref.ref(cycle)
    gc.freeze()
    try:
        del cycle
        with frozen_heap():
            pass
        gc.collect()
        assert cycle_ref() is not None
    finally:
        gc.unfreeze()
    gc.collect()
    assert cycle_ref() is None


def test_garbage_from_before_the_block_waits_and_garbage_made_inside_is_collected():
    before = _Node()
    before_ref = weakref.ref(before)
    with frozen_heap():
        del before
        gc.collect()
        assert before_ref() is not None  # frozen: not even looked at
        inside = _Node()
        inside_ref = weakref.ref(inside)
        del inside
        gc.collect()
        assert inside_ref() is None
    gc.collect()
    assert before_ref() is None
