"""Multi-seller safety: two connections with different sids used in one process never share a keep-alive
connection or a clock offset - through hooks, operators in threads, and triggers in one event loop."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import defaultdict
from typing import Any

import pytest

from airflow_provider_wdt.hooks.wdt import WdtHook
from airflow_provider_wdt.simulator import WdtSimulator
from airflow_provider_wdt.triggers.wdt import WdtPendingSyncTrigger
from tests.conftest import set_connection
from tests.helpers import fast_connection
from tests.reliability.environment import SID, make_simulator
from tests.reliability.invariants import check_invariant
from tests.reliability.runners import run_operation

pytestmark = pytest.mark.reliability

SID_B, APPKEY_B, APPSECRET_B = "relsid_b", "relkey_b", "RelSecretB91:RelSaltB73"


@pytest.fixture
def two_sellers(monkeypatch: pytest.MonkeyPatch):
    """One simulator, two sellers with different pending lists; ``wdt_a`` and ``wdt_b`` point at them."""
    with make_simulator(pending=45, seed=3) as sim:
        sim.add_seller(SID_B, APPKEY_B, APPSECRET_B, pending=38, seed=4)
        set_connection(monkeypatch, "wdt_a", fast_connection(sim))
        set_connection(monkeypatch, "wdt_b", fast_connection(sim, sid=SID_B))
        yield sim


def sids_per_connection(sim: WdtSimulator) -> dict[int, set[str | None]]:
    seen: dict[int, set[str | None]] = defaultdict(set)
    for record in sim.request_log:
        seen[record.connection_id].add(record.sid)
    return seen


def assert_no_shared_connection(sim: WdtSimulator) -> None:
    shared = {cid: sids for cid, sids in sids_per_connection(sim).items() if len(sids) > 1}
    assert not shared, f"keep-alive connections used for several sids: {shared}"


def test_interleaved_hooks_keep_one_connection_per_seller(two_sellers: WdtSimulator) -> None:
    hook_a, hook_b = WdtHook("wdt_a"), WdtHook("wdt_b")
    try:
        for i in range(10):
            hook_a.get_pending_sync_ids(10, 0)
            hook_b.get_server_time()
            if i == 4:
                two_sellers.faults.drop(2)  # both reconnect, still each on its own connection
        assert hook_a.client.session is not hook_b.client.session
    finally:
        hook_a.close()
        hook_b.close()
    assert_no_shared_connection(two_sellers)
    assert two_sellers.connections_accepted == 4  # one each, and one more each after the drops
    assert {r.sid for r in two_sellers.request_log} == {SID, SID_B}


def test_multi_seller_mode_never_reuses_a_connection(two_sellers: WdtSimulator, monkeypatch) -> None:
    set_connection(monkeypatch, "wdt_a", fast_connection(two_sellers, multi_seller=True))
    set_connection(monkeypatch, "wdt_b", fast_connection(two_sellers, sid=SID_B, multi_seller=True))
    hook_a, hook_b = WdtHook("wdt_a"), WdtHook("wdt_b")
    for _ in range(5):
        hook_a.get_server_time()
        hook_b.get_server_time()
    assert two_sellers.connections_accepted == two_sellers.request_count == 10
    assert_no_shared_connection(two_sellers)


def test_pulls_for_two_sellers_in_threads(two_sellers: WdtSimulator) -> None:
    """Concurrent full pulls for two sellers in one process (threads), under random faults: each gets
    exactly its own ids, and no connection carries both sids."""
    expected = {"wdt_a": two_sellers.pending_ids(), "wdt_b": two_sellers.pending_ids(SID_B)}
    assert expected["wdt_a"] != expected["wdt_b"]
    two_sellers.faults.random(0.15, ("http_error", "drop", "db_error"), seed=21)
    results: dict[str, Any] = {}

    def pull(conn_id: str) -> None:
        results[conn_id] = run_operation("hook", conn_id, count=10)

    threads = [threading.Thread(target=pull, args=(conn_id,)) for conn_id in ("wdt_a", "wdt_b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    two_sellers.faults.clear()
    for conn_id in ("wdt_a", "wdt_b"):
        assert check_invariant(results[conn_id], expected[conn_id]) == "ok", results[conn_id].error
    assert_no_shared_connection(two_sellers)


def test_operators_for_two_sellers_in_one_process(two_sellers: WdtSimulator, tmp_path) -> None:
    """Operators run one after the other in one worker process (Airflow 2.11 does not allow execute()
    outside the main thread): each delivers its own seller's ids; no connection is shared."""
    expected = {"wdt_a": two_sellers.pending_ids(), "wdt_b": two_sellers.pending_ids(SID_B)}
    two_sellers.faults.random(0.15, ("http_error", "drop", "db_error"), seed=22)
    for conn_id, kind in (("wdt_a", "op_ndjson"), ("wdt_b", "op_xcom"), ("wdt_a", "op_xcom")):
        outcome = run_operation(kind, conn_id, count=10, out_dir=tmp_path / conn_id / kind)
        check = check_invariant(outcome, expected[conn_id], out_dir=tmp_path / conn_id / kind)
        assert check == "ok", outcome.error
    two_sellers.faults.clear()
    assert_no_shared_connection(two_sellers)


def test_clock_offset_is_per_seller(monkeypatch: pytest.MonkeyPatch) -> None:
    """Seller A's platform runs 10 min ahead, seller B's is on time: B never inherits A's correction."""
    with (
        make_simulator(pending=20, clock_offset=600.0) as skewed,
        make_simulator(pending=20) as on_time,
    ):
        set_connection(monkeypatch, "wdt_a", fast_connection(skewed))
        set_connection(monkeypatch, "wdt_b", fast_connection(on_time))
        hook_a, hook_b = WdtHook("wdt_a"), WdtHook("wdt_b")
        for _ in range(3):
            hook_a.get_pending_sync_ids(10, 0)
            hook_b.get_pending_sync_ids(10, 0)
        assert abs(hook_a.client.clock_offset - 600) <= 2
        assert hook_b.client.clock_offset == 0
        assert [r.status for r in skewed.request_log] == [7, 0, 0, 0]  # learned once, then kept
        assert [r.status for r in on_time.request_log] == [0, 0, 0]  # never refused
        hook_a.close()
        hook_b.close()


def test_clock_offset_is_per_seller_on_one_platform(two_sellers: WdtSimulator) -> None:
    """A learns an offset; the platform's clock is then fixed: B, never skewed, is never refused, and A
    notices by itself (one refusal) and goes back to no offset."""
    hook_a, hook_b = WdtHook("wdt_a"), WdtHook("wdt_b")
    two_sellers.clock_offset = 600.0
    hook_a.get_server_time()
    two_sellers.clock_offset = 0.0
    hook_b.get_server_time()
    hook_b.get_server_time()
    hook_a.get_server_time()
    assert hook_b.client.clock_offset == 0 and abs(hook_a.client.clock_offset) <= 2
    by_sid: dict[str | None, list[int | None]] = defaultdict(list)
    for record in two_sellers.request_log:
        by_sid[record.sid].append(record.status)
    assert by_sid[SID_B] == [0, 0]
    assert by_sid[SID] == [7, 0, 7, 0]


def test_triggers_for_two_sellers_in_one_event_loop(two_sellers: WdtSimulator) -> None:
    """The triggerer runs many triggers in one process and loop: each has its own hook, session and clock."""
    two_sellers.clock_offset = -600.0
    end = time.time() + 10

    async def both() -> list[Any]:
        async def first(conn_id: str) -> dict[str, Any]:
            trigger = WdtPendingSyncTrigger(wdt_conn_id=conn_id, poll_interval=0.01, end_time=end)
            async for event in trigger.run():
                return dict(event.payload)
            raise AssertionError("no event")

        return list(await asyncio.gather(first("wdt_a"), first("wdt_b"), first("wdt_a"), first("wdt_b")))

    events = asyncio.run(both())
    assert [e["status"] for e in events] == ["success"] * 4
    page_a = two_sellers.seller().page(10, 0, "after", two_sellers.server_wdt_time())[0]
    page_b = two_sellers.seller(SID_B).page(10, 0, "after", two_sellers.server_wdt_time())[0]
    assert [e["rec_ids"] for e in events] == [page_a, page_b, page_a, page_b]
    assert_no_shared_connection(two_sellers)
    # Each trigger learned the skew for itself: one refusal per trigger, none carried over.
    refusals = [str(r.sid) for r in two_sellers.request_log if r.status == 7]
    assert sorted(refusals) == sorted([SID, SID_B, SID, SID_B])
