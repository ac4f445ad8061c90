"""WdtPendingSyncTrigger run by asyncio against the simulator over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import importlib
import json
import time
from typing import Any

import pytest

from airflow_provider_wdt._compat import TriggerEvent
from airflow_provider_wdt.simulator import WdtSimulator
from airflow_provider_wdt.triggers.wdt import WdtPendingSyncTrigger
from tests.sensors.conftest import WRONG_SECRET, AddLater


def events(trigger: WdtPendingSyncTrigger, timeout: float = 15) -> list[dict[str, Any]]:
    """Every event the trigger yields, run to its end as the triggerer would."""

    async def collect() -> list[dict[str, Any]]:
        found = []
        async for event in trigger.run():
            assert isinstance(event, TriggerEvent)
            found.append(event.payload)
        return found

    return asyncio.run(asyncio.wait_for(collect(), timeout))


def one_event(trigger: WdtPendingSyncTrigger, timeout: float = 15) -> dict[str, Any]:
    found = events(trigger, timeout)
    assert len(found) == 1
    return found[0]


def test_serialize_round_trips_through_json() -> None:
    trigger = WdtPendingSyncTrigger(
        wdt_conn_id="wdt_shop",
        position=123,
        poll_interval=30,
        end_time=1_800_000_000.5,
        request_timeout=12,
        max_retries=1,
        retry_wait=2,
    )
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_wdt.triggers.wdt.WdtPendingSyncTrigger"
    decoded = json.loads(json.dumps(kwargs))  # JSON-safe: what the metadata DB stores
    module, _, name = classpath.rpartition(".")
    rebuilt = getattr(importlib.import_module(module), name)(**decoded)
    assert rebuilt.serialize() == (classpath, kwargs)
    assert kwargs == {
        "wdt_conn_id": "wdt_shop",
        "position": 123,
        "poll_interval": 30.0,
        "end_time": 1_800_000_000.5,
        "request_timeout": 12.0,
        "max_retries": 1,
        "retry_wait": 2.0,
    }
    # Defaults serialize too (no end time: wait until Airflow's own deferral timeout).
    assert json.loads(json.dumps(WdtPendingSyncTrigger().serialize()[1]))["end_time"] is None


def test_success_at_once_when_ids_are_pending(fast_sim: WdtSimulator) -> None:
    fast_sim.add_pending(25)
    payload = one_event(WdtPendingSyncTrigger(poll_interval=30))
    assert payload["status"] == "success"
    assert 1 <= payload["count"] <= 10
    assert payload["rec_ids"] == fast_sim.pending_ids()[: payload["count"]]
    assert isinstance(payload["position"], int)
    assert fast_sim.request_count == 1


def test_polls_until_ids_appear_without_blocking_the_loop(
    fast_sim: WdtSimulator, add_after_first_poll: AddLater
) -> None:
    fast_sim.faults.slow(1, seconds=0.5)  # the first poll hangs half a second in its worker thread
    added = add_after_first_poll(3, delay=0.6)
    trigger = WdtPendingSyncTrigger(poll_interval=0.1)

    async def main() -> tuple[dict[str, Any], int, float]:
        ticks = 0
        done = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not done.is_set():
                await asyncio.sleep(0.01)
                ticks += 1

        tick_task = asyncio.create_task(ticker())
        started = time.monotonic()
        async for event in trigger.run():
            payload = event.payload
            break
        elapsed = time.monotonic() - started
        done.set()
        await tick_task
        return payload, ticks, elapsed

    payload, ticks, elapsed = asyncio.run(asyncio.wait_for(main(), 15))
    assert payload["status"] == "success"
    assert sorted(payload["rec_ids"]) == sorted(added)
    assert fast_sim.request_count >= 3  # the slow empty poll, more empty polls, the one that found them
    # The loop kept running while requests were in flight: ~1 tick per 10 ms (loosely, for loaded CI).
    assert elapsed >= 1.0
    assert ticks >= elapsed / 0.01 / 3


def test_sleeps_between_polls_on_transient_errors(fast_sim: WdtSimulator) -> None:
    fast_sim.add_pending(2)
    fast_sim.faults.http_error(1, status=503)
    fast_sim.faults.drop(1)
    fast_sim.faults.rate_limit(1)
    fast_sim.faults.db_error(1, status=5)
    started = time.monotonic()
    payload = one_event(WdtPendingSyncTrigger(poll_interval=0.15))
    assert payload["status"] == "success" and payload["count"] == 2
    # max_retries=0: each fault costs one poll and one poll_interval, not a burst of retries.
    assert fast_sim.request_count == 5
    assert time.monotonic() - started >= 4 * 0.15


def test_in_poll_retries_when_asked(fast_sim: WdtSimulator) -> None:
    fast_sim.add_pending(2)
    fast_sim.faults.http_error(2, status=502)
    started = time.monotonic()
    payload = one_event(WdtPendingSyncTrigger(poll_interval=30, max_retries=2, retry_wait=0))
    assert payload["status"] == "success"
    assert fast_sim.request_count == 3
    assert time.monotonic() - started < 5  # no poll_interval sleep: the hook's retries did it


def test_auth_failure_ends_at_once(fast_sim: WdtSimulator, wrong_secret_conn: str) -> None:
    started = time.monotonic()
    payload = one_event(WdtPendingSyncTrigger(wdt_conn_id=wrong_secret_conn, poll_interval=30, max_retries=3))
    assert time.monotonic() - started < 5
    assert payload["status"] == "error"
    assert payload["error_type"] == "WdtAuthError"
    assert payload["message"]
    assert WRONG_SECRET not in json.dumps(payload)
    assert fast_sim.request_count == 1


def test_missing_connection_is_an_error_event(fast_sim: WdtSimulator) -> None:
    payload = one_event(WdtPendingSyncTrigger(wdt_conn_id="no_such_connection", poll_interval=30))
    assert payload["status"] == "error"
    assert "no_such_connection" in payload["message"]
    assert fast_sim.request_count == 0


def test_timeout_event_when_the_end_time_passes(fast_sim: WdtSimulator) -> None:
    started = time.monotonic()
    payload = one_event(WdtPendingSyncTrigger(poll_interval=0.1, end_time=time.time() + 0.4))
    elapsed = time.monotonic() - started
    assert payload["status"] == "timeout"
    assert "timed out" in payload["message"]
    assert 0.4 <= elapsed < 3
    assert fast_sim.request_count >= 3


def test_timeout_after_failing_polls_names_the_last_error(fast_sim: WdtSimulator) -> None:
    fast_sim.faults.http_error(100, status=503)
    payload = one_event(WdtPendingSyncTrigger(poll_interval=0.1, end_time=time.time() + 0.3))
    assert payload["status"] == "timeout"
    assert "failed; the last: WdtServerError" in payload["message"]
    assert "503" in payload["message"]


def test_timeout_does_not_oversleep_a_long_poll_interval(fast_sim: WdtSimulator) -> None:
    started = time.monotonic()
    payload = one_event(WdtPendingSyncTrigger(poll_interval=60, end_time=time.time() + 0.3))
    assert payload["status"] == "timeout"
    assert time.monotonic() - started < 3


def test_end_time_already_past_polls_once(fast_sim: WdtSimulator) -> None:
    payload = one_event(WdtPendingSyncTrigger(poll_interval=30, end_time=time.time() - 1))
    assert payload["status"] == "timeout"
    assert fast_sim.request_count == 1
    fast_sim.add_pending(1)
    assert one_event(WdtPendingSyncTrigger(poll_interval=30, end_time=time.time() - 1))["status"] == "success"


def test_cancellation_stops_polling(fast_sim: WdtSimulator) -> None:
    trigger = WdtPendingSyncTrigger(poll_interval=0.05)

    async def main() -> None:
        task = asyncio.ensure_future(trigger.run().__anext__())
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    polls = fast_sim.request_count
    assert polls >= 2
    time.sleep(0.3)
    assert fast_sim.request_count == polls
