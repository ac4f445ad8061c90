"""WdtPendingSyncEventTrigger run by asyncio against the simulator over real HTTP on 127.0.0.1.

The trigger runs in its own event loop on a thread, as long as a test wants, while the test changes the
simulator; every test bounds its waits (``RunningTrigger.wait_for``) so a broken trigger fails, not hangs.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from airflow_provider_wdt.hooks.wdt import WdtHook
from airflow_provider_wdt.simulator import WdtSimulator
from airflow_provider_wdt.stock_sync import sync_info
from tests.conftest import set_connection
from tests.helpers import LogText, fast_connection
from tests.sensors.conftest import WRONG_SECRET

try:
    from airflow_provider_wdt.triggers.wdt import WdtPendingSyncEventTrigger
except ImportError as exc:  # Airflow 2.11
    NO_EVENT_TRIGGER: str | None = str(exc)
else:
    NO_EVENT_TRIGGER = None

pytestmark = [
    pytest.mark.skipif(
        NO_EVENT_TRIGGER is not None, reason="event-driven scheduling (BaseEventTrigger) needs Airflow 3.0+"
    ),
    pytest.mark.timeout(60),  # each test takes about a second; a trigger that hangs fails here
]

POLL = 0.05  # seconds between polls in these tests
RETRY_DELAY = 30


def offer_again(sim: WdtSimulator) -> None:
    """Move the simulator's clock past RETRY_DELAY: every item syncFail'ed so far is listed again at once
    (waiting instead would bring them back second by second, maybe over two polls: two changes)."""
    sim.clock_offset += RETRY_DELAY + 1


class MemoryStateStore:
    """The part of Airflow 3.3's asset state store the trigger uses, JSON round-tripped like the DB."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.writes = 0

    async def aget(self, key: str, default: Any = None) -> Any:
        return json.loads(self.values[key]) if key in self.values else default

    async def aset(self, key: str, value: Any) -> None:
        self.values[key] = json.dumps(value)
        self.writes += 1


class SharedRowStore(MemoryStateStore):
    """What 3.3 does when one trigger row watches two assets: every access raises ValueError."""

    async def aget(self, key: str, default: Any = None) -> Any:
        raise ValueError("Task has 2 concrete inlets and outlets")

    async def aset(self, key: str, value: Any) -> None:
        raise ValueError("Task has 2 concrete inlets and outlets")


class UnreachableStore(MemoryStateStore):
    """A store whose first ``failures`` reads and every write fail (the API server away for a moment)."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def aget(self, key: str, default: Any = None) -> Any:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("api-server unreachable")
        return await super().aget(key, default)

    async def aset(self, key: str, value: Any) -> None:
        raise ConnectionError("api-server unreachable")


class RunningTrigger:
    """The trigger's run() consumed on a thread (as the triggerer does), until stop()."""

    def __init__(self, trigger: Any) -> None:
        self.trigger = trigger
        self.events: list[dict[str, Any]] = []
        self.loop = asyncio.new_event_loop()
        self.error: BaseException | None = None
        self.returned = False
        self._task: asyncio.Task[None] | None = None
        self._thread = threading.Thread(target=self._main, name="event-trigger", daemon=True)
        self._thread.start()

    def _main(self) -> None:
        async def consume() -> None:
            async for event in self.trigger.run():
                self.events.append(event.payload)
            self.returned = True

        self._task = self.loop.create_task(consume())
        try:
            self.loop.run_until_complete(self._task)
        except asyncio.CancelledError:
            pass
        except BaseException as exc:
            self.error = exc
        finally:
            self.loop.close()

    def wait_for(self, condition: Callable[[], bool], timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert self.error is None, self.error
            assert time.monotonic() < deadline, f"timed out; events so far: {self.events}"
            time.sleep(0.01)

    def stop(self) -> None:
        while self._task is None and self._thread.is_alive():
            time.sleep(0.01)
        if self._task is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(10)
        assert not self._thread.is_alive(), "the trigger did not stop when cancelled"
        assert self.error is None, self.error
        assert not self.returned, "run() returned: the triggerer would re-create it and fire again"


@pytest.fixture
def start() -> Iterator[Callable[..., RunningTrigger]]:
    running: list[RunningTrigger] = []

    def start(store: Any = None, **kwargs: Any) -> RunningTrigger:
        trigger = WdtPendingSyncEventTrigger(**{"poll_interval": POLL, **kwargs})
        if store is not None:
            trigger.asset_state_store = store
        running.append(RunningTrigger(trigger))
        return running[-1]

    yield start
    for run in running:
        run.stop()


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch) -> Iterator[WdtSimulator]:
    """An empty simulator that offers syncFail'ed items again after RETRY_DELAY; ``wdt_default`` points at
    it. Tests move its clock past the delay rather than wait (``offer_again``)."""
    with WdtSimulator(seed=5, retry_delay=RETRY_DELAY) as sim:
        set_connection(monkeypatch, "wdt_default", fast_connection(sim))
        yield sim


def lines_at(level: str, text: str) -> list[str]:
    """Log lines at ``level`` ("error", "warning"): structlog's ``[error    ]`` or stdlib's ``ERROR``."""
    return [line for line in text.splitlines() if f"[{level}" in line or f" {level.upper()} " in line]


def settle(sim: WdtSimulator, polls: int = 10) -> None:
    """Until ``polls`` more requests reached the simulator (a poll makes one or more): time for a wrong
    event to show up, counted in polls rather than seconds so that a slow start cannot make it vacuous."""
    seen = sim.request_count
    deadline = time.monotonic() + 15
    while sim.request_count < seen + polls:
        assert time.monotonic() < deadline, "the trigger stopped polling"
        time.sleep(0.01)


def sync_all(sim: WdtSimulator, fail: set[int] = frozenset()) -> None:  # type: ignore[assignment]
    """Report every pending id as synced, or as failed for the ids in ``fail``, as a DAG run would."""
    hook = WdtHook()
    try:
        for rec_id in sim.pending_ids():
            calc = hook.calc_stock(rec_id)
            if rec_id in fail:
                hook.sync_fail(rec_id, sync_info(calc, success=False, result="shop refused"))
            else:
                hook.sync_success(rec_id, sync_info(calc, success=True))
    finally:
        hook.close()


def test_serialize_is_configuration_only_and_round_trips() -> None:
    trigger = WdtPendingSyncEventTrigger(wdt_conn_id="wdt_shop", poll_interval=5, probe_count=20)
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_wdt.triggers.wdt.WdtPendingSyncEventTrigger"
    assert kwargs == {
        "wdt_conn_id": "wdt_shop",
        "poll_interval": 5.0,
        "probe_count": 20,
        "refire_after": None,
    }
    module, _, name = classpath.rpartition(".")
    rebuilt = getattr(importlib.import_module(module), name)(**json.loads(json.dumps(kwargs)))
    assert rebuilt.serialize() == (classpath, kwargs)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"poll_interval": 0}, "poll_interval"),
        ({"poll_interval": "soon"}, "poll_interval"),
        ({"probe_count": 5}, "count"),
        ({"refire_after": -1}, "refire_after"),
    ],
)
def test_bad_configuration_names_the_argument(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        WdtPendingSyncEventTrigger(**kwargs)


def test_nothing_fires_while_the_list_is_empty(
    sim: WdtSimulator, start: Callable[..., RunningTrigger]
) -> None:
    run = start()
    run.wait_for(lambda: sim.request_count >= 10)  # it does poll (the first connection lookup may be slow)
    assert run.events == []


def test_one_event_per_change_with_a_small_payload(
    sim: WdtSimulator, start: Callable[..., RunningTrigger]
) -> None:
    first = sim.add_pending(25)
    run = start()
    run.wait_for(lambda: len(run.events) == 1)
    settle(sim)
    assert len(run.events) == 1  # the same 25 items stay pending: no second event
    event = run.events[0]
    assert event["reason"] == "changed"
    assert event["old_position"] == 0
    assert event["count"] == 25
    assert event["first_ids"] == sim.pending_ids()[:10]
    assert set(event["first_ids"]) <= set(first)
    assert len(json.dumps(event)) < 400

    second = sim.add_pending(5)
    run.wait_for(lambda: len(run.events) == 2)
    settle(sim)
    assert len(run.events) == 2
    assert run.events[1]["old_position"] == event["new_position"]
    assert run.events[1]["new_position"] > event["new_position"]
    assert run.events[1]["count"] == 5
    assert sorted(run.events[1]["first_ids"]) == second


def test_synced_items_stay_quiet_offered_again_and_stock_changes_fire_once(
    sim: WdtSimulator, start: Callable[..., RunningTrigger]
) -> None:
    ids = sim.add_pending(12)
    run = start()
    run.wait_for(lambda: len(run.events) == 1)
    failed = set(ids[:4])
    sync_all(sim, fail=failed)  # 8 synced; 4 syncFail: deferred, offered again later past the watermark
    settle(sim)
    assert len(run.events) == 1  # deferred items are not listed
    offer_again(sim)
    run.wait_for(lambda: len(run.events) == 2, timeout=5)
    assert run.events[1]["count"] == 4
    assert set(run.events[1]["first_ids"]) == failed
    settle(sim)
    assert len(run.events) == 2  # still pending, not moved: no more
    sync_all(sim)
    settle(sim)
    sim.change_stock(ids[5], 3)  # synced earlier: back on the list, due now
    sim.change_stock(ids[6], -1)
    run.wait_for(lambda: len(run.events) == 3)
    settle(sim)
    assert len(run.events) == 3
    assert sorted(run.events[2]["first_ids"]) == [ids[5], ids[6]]


def test_restart_with_the_state_store_kept_does_not_fire_again(
    sim: WdtSimulator, start: Callable[..., RunningTrigger]
) -> None:
    sim.add_pending(15)
    store = MemoryStateStore()
    first = start(store=store)
    first.wait_for(lambda: len(first.events) == 1)
    first.wait_for(lambda: store.writes == 1)
    first.stop()
    saved = json.loads(store.values["wdt_pending_sync"])
    assert saved["position"] == first.events[0]["new_position"]

    second = start(store=store)  # a new instance from the same kwargs, as a restarted triggerer makes
    settle(sim)
    assert second.events == []
    sim.add_pending(3)  # and it still fires on the next change, from the saved watermark
    second.wait_for(lambda: len(second.events) == 1)
    assert second.events[0]["old_position"] == saved["position"]
    assert second.events[0]["count"] == 3


def test_without_a_state_store_a_restart_fires_once_more(
    sim: WdtSimulator, start: Callable[..., RunningTrigger]
) -> None:
    # Airflow 3.0-3.2: no store, the watermark is in memory (the README states this duplicate).
    sim.add_pending(5)
    first = start()
    first.wait_for(lambda: len(first.events) == 1)
    first.stop()
    second = start()
    second.wait_for(lambda: len(second.events) == 1)
    settle(sim)
    assert len(second.events) == 1


def test_a_store_that_raises_falls_back_to_memory_with_an_error_log(
    sim: WdtSimulator, start: Callable[..., RunningTrigger], capture_logs: LogText
) -> None:
    sim.add_pending(5)
    run = start(store=SharedRowStore())
    run.wait_for(lambda: len(run.events) == 1)
    settle(sim)
    assert len(run.events) == 1
    errors = [line for line in lines_at("error", capture_logs()) if "state store" in line]
    assert len(errors) == 1
    assert "identical arguments" in errors[0]


def test_refire_after_fires_again_while_items_stay_pending(
    sim: WdtSimulator, start: Callable[..., RunningTrigger]
) -> None:
    sim.add_pending(6)
    run = start(refire_after=0.4)
    run.wait_for(lambda: len(run.events) == 1)
    started = time.monotonic()
    run.wait_for(lambda: len(run.events) == 2, timeout=5)
    assert time.monotonic() - started >= 0.3
    assert run.events[1]["reason"] == "still pending"
    assert run.events[1]["old_position"] == 0 and run.events[1]["count"] == 6
    sync_all(sim)
    time.sleep(1.0)  # more than refire_after: nothing pending, nothing fires
    assert len(run.events) in (2, 3)  # at most one refire raced the sync
    count = len(run.events)
    time.sleep(1.0)
    assert len(run.events) == count


def test_without_refire_after_nothing_refires(
    sim: WdtSimulator, start: Callable[..., RunningTrigger]
) -> None:
    sim.add_pending(6)
    run = start()
    run.wait_for(lambda: len(run.events) == 1)
    time.sleep(1.0)
    assert len(run.events) == 1


def test_errors_are_logged_and_followed_by_a_sleep(
    sim: WdtSimulator, start: Callable[..., RunningTrigger], capture_logs: LogText
) -> None:
    sim.faults.http_error(10_000, status=503)
    run = start(poll_interval=0.2)
    run.wait_for(lambda: sim.request_count >= 1)
    first = sim.request_count
    time.sleep(1.0)
    polls = sim.request_count - first
    # ~5 polls of 1 + max_retries (3 by default) requests each; a tight loop would make hundreds.
    assert 3 <= polls <= 6 * 4
    assert run.events == []
    assert any("WDT poll failed" in line for line in lines_at("warning", capture_logs()))
    sim.faults.clear()
    sim.add_pending(2)
    run.wait_for(lambda: len(run.events) == 1, timeout=5)  # recovers by itself


def test_an_auth_error_is_logged_at_error_level_once_and_polling_goes_on(
    sim: WdtSimulator,
    start: Callable[..., RunningTrigger],
    capture_logs: LogText,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    conn = fast_connection(sim)
    set_connection(monkeypatch, "wdt_bad", {**conn, "password": f"{WRONG_SECRET}:wdtsim_salt"})
    sim.add_pending(3)
    run = start(wdt_conn_id="wdt_bad", poll_interval=0.1)
    run.wait_for(lambda: sim.request_count >= 1)
    first = sim.request_count
    time.sleep(1.0)
    assert run.events == []
    assert 4 <= sim.request_count - first <= 12  # one request a poll: auth errors are not retried
    logs = capture_logs()
    errors = lines_at("error", logs)
    assert len(errors) == 1 and "WdtAuthError" in errors[0]
    assert WRONG_SECRET not in logs
    # The connection is fixed: the next poll reads it again and fires.
    set_connection(monkeypatch, "wdt_bad", conn)
    run.wait_for(lambda: len(run.events) == 1, timeout=5)


def test_a_store_that_cannot_be_read_yet_is_read_again_before_any_event(
    sim: WdtSimulator, start: Callable[..., RunningTrigger], capture_logs: LogText
) -> None:
    store = UnreachableStore(failures=3)
    store.values["wdt_pending_sync"] = json.dumps({"position": 10**12, "fired_at": None})
    sim.add_pending(5)  # all before the saved watermark: already seen before the restart
    run = start(store=store)
    run.wait_for(lambda: store.failures == 0)
    settle(sim)
    assert run.events == []  # it waited for the saved watermark instead of starting from 0
    logs = capture_logs()
    assert "api-server unreachable" in logs
    assert "watermark position 1000000000000 (asset state store)" in logs


def test_a_failed_save_is_a_warning_and_the_trigger_goes_on(
    sim: WdtSimulator, start: Callable[..., RunningTrigger], capture_logs: LogText
) -> None:
    sim.add_pending(5)
    run = start(store=UnreachableStore(failures=0))
    run.wait_for(lambda: len(run.events) == 1)
    settle(sim)
    assert len(run.events) == 1  # the watermark in memory still holds
    assert any("could not save the watermark" in line for line in lines_at("warning", capture_logs()))
    sim.add_pending(2)
    run.wait_for(lambda: len(run.events) == 2)
