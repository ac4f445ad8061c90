"""Leaks: no keep-alive socket, thread or file descriptor outlives an operation, whatever failed in it."""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from airflow_provider_wdt.hooks.wdt import WdtHook
from airflow_provider_wdt.simulator import WdtSimulator
from airflow_provider_wdt.triggers.wdt import WdtPendingSyncTrigger
from tests.conftest import set_connection
from tests.helpers import fast_connection, free_port
from tests.reliability import soak
from tests.reliability.environment import SALT
from tests.reliability.faults import SLOW_TIMEOUT, programmed_faults
from tests.reliability.probes import open_fds
from tests.reliability.runners import FULL_PULLS, run_operation

pytestmark = pytest.mark.reliability

#: A slow answer just past the timeout (0.2 s): the simulator thread is free again soon after.
LEAK_SLOW = 0.45


@contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """Without the cyclic collector, only an explicit close (or refcounting) can close a socket, so a
    close that relies on garbage collection shows up deterministically."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def server_side_open(sim: WdtSimulator, wait: float) -> int:
    """Connections the simulator still has open after at most ``wait`` s (the client hung up on the rest)."""
    return soak._wait_connections_closed(sim, wait)


@pytest.mark.parametrize(
    "fault",
    ["slow", "drop", "http_error", "html", "truncated_json", "rate_limit", "db_error"],
)
def test_hook_close_leaves_no_keepalive_socket_after_any_fault(
    rsim: WdtSimulator, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    """Regression for BUG-5: after a timed-out request, urllib3 2's exception/traceback cycle kept the
    connection pool (and its idle keep-alive socket) alive; Session.close() does not close pools on
    urllib3 2, so the socket stayed open until the next cyclic garbage collection."""
    rsim.add_pending(30)
    set_connection(monkeypatch, "wdt_rel", fast_connection(rsim, timeout=SLOW_TIMEOUT))
    program = {
        "slow": lambda: rsim.faults.slow(2, LEAK_SLOW),
        "drop": lambda: rsim.faults.drop(2),
        "http_error": lambda: rsim.faults.http_error(2, 503),
        "html": lambda: rsim.faults.html(2),
        "truncated_json": lambda: rsim.faults.truncated_json(2),
        "rate_limit": lambda: rsim.faults.rate_limit(2),
        "db_error": lambda: rsim.faults.db_error(2, 5),
    }[fault]
    with no_cyclic_gc():
        hook = WdtHook("wdt_rel")
        hook.get_pending_sync_ids(10, 0)
        program()
        hook.get_pending_sync_ids(10, 0)  # survives the two faults
        hook.close()
        assert server_side_open(rsim, LEAK_SLOW + 1.0) == 0


@pytest.mark.parametrize("op", ["op_ndjson", "op_xcom", "sensor_poke", "trigger"])
def test_operations_leave_no_keepalive_socket_after_timeouts(
    rsim: WdtSimulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, op: str
) -> None:
    rsim.add_pending(30)
    set_connection(monkeypatch, "wdt_rel", fast_connection(rsim, timeout=SLOW_TIMEOUT))
    faults = programmed_faults(rsim)
    faults.at(2 if op in FULL_PULLS else 1, lambda: faults.slow(2, LEAK_SLOW))
    with no_cyclic_gc():
        outcome = run_operation(op, "wdt_rel", count=10, out_dir=tmp_path)
        assert outcome.error is None, outcome.error
        assert server_side_open(rsim, LEAK_SLOW + 1.0) == 0


def test_cancelled_trigger_leaves_no_socket_or_thread(rsim: WdtSimulator) -> None:
    """The triggerer cancels a trigger (task cleared, deferral timeout) while a poll is in flight."""
    rsim.faults.slow(1, 0.8)
    threads_before = threading.active_count()

    async def cancel_mid_poll() -> None:
        trigger = WdtPendingSyncTrigger(wdt_conn_id="wdt_rel", poll_interval=0.01, end_time=time.time() + 30)

        async def consume() -> None:
            async for _ in trigger.run():
                raise AssertionError("no event expected before the cancellation")

        task = asyncio.ensure_future(consume())
        deadline = time.monotonic() + 10
        while programmed_faults(rsim).requests == 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    with no_cyclic_gc():
        asyncio.run(cancel_mid_poll())  # also joins the default executor's poll thread
        assert server_side_open(rsim, 2.0) == 0
    assert threading.active_count() <= threads_before + 1  # at most a simulator worker finishing


def test_many_failures_leak_no_file_descriptors(rsim: WdtSimulator, monkeypatch, tmp_path: Path) -> None:
    """80 failed operations of every kind (transport, TLS, auth, config, mid-pull): fds stay flat."""
    rsim.add_pending(25)
    hosts = [
        f"http://127.0.0.1:{free_port()}/openapi",
        rsim.url.replace("http://", "https://"),
        "http://wdt-leaks.invalid/openapi",
    ]
    kinds = ("hook", "op_ndjson", "op_xcom", "sensor_poke")

    def run_round(i: int) -> None:
        conn = fast_connection(rsim, max_retries=0)
        if i % 4 < 3:
            conn["host"] = hosts[i % 3]
        else:
            conn["password"] = "wrong:" + SALT
        set_connection(monkeypatch, "wdt_fail", conn)
        outcome = run_operation(kinds[i % len(kinds)], "wdt_fail", count=10, out_dir=tmp_path / str(i))
        assert outcome.error is not None

    for i in range(12):  # warm-up: imports, lazily opened files
        run_round(i)
    before = open_fds()
    for i in range(80):
        run_round(i)
    assert open_fds() <= before + 2
    assert server_side_open(rsim, 1.0) == 0
