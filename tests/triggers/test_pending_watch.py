"""The watermark rule (airflow_provider_wdt.pending_watch) against the simulator, on both paging modes."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from airflow_provider_wdt.hooks.wdt import WdtHook
from airflow_provider_wdt.pending_watch import find_change
from airflow_provider_wdt.simulator import WdtSimulator


@pytest.mark.parametrize("tie_mode", ["after", "from"])
def test_one_change_then_one_request_a_poll_while_nothing_moves(
    make_sim: Callable[..., WdtSimulator], tie_mode: str
) -> None:
    sim = make_sim(tie_mode=tie_mode)
    ids = sim.add_pending(30)
    hook = WdtHook()
    change = find_change(hook, 0, 10)
    assert change is not None
    assert (change.old_position, change.count) == (0, 30)
    assert change.first_ids == sim.pending_ids()[:10]
    assert set(change.first_ids) <= set(ids)
    sim.reset_stats()
    assert find_change(hook, change.new_position, 10) is None
    assert sim.request_count == 1  # the probe only: no walk when the cursor did not move
    added = sim.add_pending(3)
    later = find_change(hook, change.new_position, 10)
    assert later is not None
    assert later.old_position == change.new_position
    assert set(added) <= set(later.first_ids)
    # "from" pages include the old position: the group of 1-4 ids sharing it is listed again.
    assert later.count == len(added) if tie_mode == "after" else len(added) < later.count <= len(added) + 4
    hook.close()


def test_a_large_group_at_the_watermark_is_not_a_change(make_sim: Callable[..., WdtSimulator]) -> None:
    # "from" pages include the position: 12 ids sharing the watermark fill the 10-id probe every time.
    sim = make_sim(tie_mode="from")
    sim.add_pending(12, same_disable_syn_until=True)
    hook = WdtHook()
    change = find_change(hook, 0, 10)
    assert change is not None and change.count == 12
    assert find_change(hook, change.new_position, 10) is None
    hook.close()


def test_an_empty_list_is_no_change(make_sim: Callable[..., WdtSimulator]) -> None:
    sim = make_sim()
    assert find_change(WdtHook(), 0, 10) is None
    assert sim.request_count == 1
