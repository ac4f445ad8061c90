"""getSelfWaitSyncIdListOpen paging in both tie modes, over HTTP."""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Iterator

import pytest

from airflow_provider_wdt.simulator import DEFAULT_APPKEY, DEFAULT_APPSECRET, DEFAULT_SID, WdtSimulator

from .qjbclient import QjbClient

WAIT = "sales.StockSync.getSelfWaitSyncIdListOpen"


@pytest.fixture
def big() -> Iterator[tuple[WdtSimulator, QjbClient]]:
    with WdtSimulator(pending=400, seed=7) as sim:
        client = QjbClient(sim.url, DEFAULT_SID, DEFAULT_APPKEY, DEFAULT_APPSECRET)
        yield sim, client
        client.close()


def _page(client: QjbClient, count: int, position: int) -> dict:
    answer = client.call(WAIT, [count, position])
    assert answer["status"] == 0, answer
    return answer["data"]


def _dsu(sim: WdtSimulator, rec_id: int) -> int:
    return sim.goods(rec_id)["disable_syn_until"]


def test_seeded_state_is_deterministic_and_grouped() -> None:
    a, b, c = (
        WdtSimulator(pending=300, seed=3),
        WdtSimulator(pending=300, seed=3),
        WdtSimulator(pending=300, seed=4),
    )
    ids = a.pending_ids()
    assert ids == b.pending_ids() != c.pending_ids()
    assert len(set(ids)) == 300 and all(100_000 <= i < 110_000 for i in ids)
    assert ids != sorted(ids)  # queue order is not id order, as in the doc example
    sizes = Counter(Counter(_dsu(a, i) for i in ids).values())
    assert set(sizes) <= {1, 2, 3, 4} and sizes[1] and sizes[4]
    keys = [(_dsu(a, i), i) for i in ids]
    assert keys == sorted(keys)
    assert all(a.goods(i)["platform_id"] == 127 for i in ids[:5])


@pytest.mark.parametrize("count", [10, 13, 50])
def test_after_mode_skips_nothing_and_never_splits_a_group(
    big: tuple[WdtSimulator, QjbClient], count: int
) -> None:
    sim, client = big
    seen: list[int] = []
    pages: list[list[int]] = []
    position = 0
    while True:
        data = _page(client, count, position)
        if not data["id_list"]:
            assert "position" not in data
            break
        ids = data["id_list"]
        assert len(ids) <= count
        assert data["position"] == _dsu(sim, ids[-1])
        pages.append(ids)
        seen.extend(ids)
        position = data["position"]
    assert seen == sim.pending_ids()  # same order, no duplicates, nothing skipped
    for prev, nxt in itertools.pairwise(pages):
        assert _dsu(sim, prev[-1]) < _dsu(sim, nxt[0])
    assert any(len(p) < count for p in pages[:-1])  # pages are cut at group boundaries


def test_after_mode_first_group_longer_than_count() -> None:
    with WdtSimulator() as sim:
        group = sim.add_pending(15, same_disable_syn_until=True)
        client = QjbClient(sim.url, DEFAULT_SID, DEFAULT_APPKEY, DEFAULT_APPSECRET)
        data = _page(client, 10, 0)
        assert len(data["id_list"]) == 10 and set(data["id_list"]) <= set(group)
        # The cursor moved past the group's value: the rest waits for the next pass.
        assert _page(client, 10, data["position"]) == {"id_list": []}
        client.close()


def test_from_mode_repeats_last_group_and_end_keeps_returning_it(big: tuple[WdtSimulator, QjbClient]) -> None:
    sim, client = big
    sim.tie_mode = "from"
    expected = sim.pending_ids()
    count = 10
    seen: list[int] = []
    position = 0
    prev: list[int] | None = None
    for _ in range(500):
        data = _page(client, count, position)
        ids = data["id_list"]
        assert data["position"] == _dsu(sim, ids[-1])
        if prev is not None:
            last_group = [i for i in prev if _dsu(sim, i) == position]
            assert ids[: len(last_group)] == last_group  # the last group comes again
        if ids == prev:
            break  # the end: the last group keeps coming back
        remaining = len(expected) - expected.index(ids[0])
        assert len(ids) == min(count, remaining)  # filled up to count
        seen.extend(i for i in ids if i not in seen)
        prev, position = ids, data["position"]
    else:
        pytest.fail("from-mode paging never reached its end")
    assert seen == expected
    tail = [i for i in expected if _dsu(sim, i) == _dsu(sim, expected[-1])]
    assert ids == tail
    assert _page(client, count, position)["id_list"] == tail


def test_position_zero_is_the_start_in_both_modes(big: tuple[WdtSimulator, QjbClient]) -> None:
    sim, client = big
    first = _page(client, 20, 0)["id_list"]
    sim.tie_mode = "from"
    assert _page(client, 20, 0)["id_list"][: len(first)] == first == sim.pending_ids()[: len(first)]


def test_no_pending_gives_empty_list_without_position() -> None:
    with WdtSimulator() as empty:
        c = QjbClient(empty.url, DEFAULT_SID, DEFAULT_APPKEY, DEFAULT_APPSECRET)
        assert c.call(WAIT, [10, 0]) == {"status": 0, "data": {"id_list": []}}
        c.close()


def test_tie_mode_validated() -> None:
    with pytest.raises(ValueError):
        WdtSimulator(tie_mode="between")


def test_5000_id_page_is_fast() -> None:
    with WdtSimulator(pending=20_000, seed=2) as sim:
        client = QjbClient(sim.url, DEFAULT_SID, DEFAULT_APPKEY, DEFAULT_APPSECRET)
        client.call(WAIT, [5000, 0])  # warm up
        best_http = min(_timed(lambda: client.call(WAIT, [5000, 0])) for _ in range(5))
        seller = sim.seller()
        best_page = min(
            _timed(lambda: seller.page(5000, 0, "after", sim.server_wdt_time())) for _ in range(5)
        )
        print(f"\n5000-id page: {best_page * 1e3:.2f} ms in the store, {best_http * 1e3:.2f} ms over HTTP")
        assert len(client.call(WAIT, [5000, 0])["data"]["id_list"]) >= 4996
        assert best_http < 0.2  # sanity bound only; the target is well under 10 ms
        client.close()


def _timed(fn: object) -> float:
    assert callable(fn)
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start
