"""The long jobs' garbage-collector freeze."""

import gc

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


def test_a_heap_frozen_by_someone_else_stays_frozen():
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with frozen_heap():
            pass
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


def test_objects_made_inside_the_block_are_still_collected():
    with frozen_heap():
        cycle: list = []
        cycle.append(cycle)
        del cycle
        assert gc.collect() >= 1
