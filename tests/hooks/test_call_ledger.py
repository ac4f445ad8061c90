"""The per-seller call ledger across processes (spawned interpreters, not threads), against the simulator
enforcing the same per-window limit and calls in flight as the clients."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_provider_wdt.errors import WdtConfigError
from airflow_provider_wdt.handover import CallHandover, gap_calls
from airflow_provider_wdt.ledger import CallLedger, ledger_key
from airflow_provider_wdt.simulator import WdtSimulator
from tests.hooks import ledger_worker

WINDOW = 1.0  # the simulator's and the clients' "minute", shortened


@pytest.fixture
def sim() -> Iterator[WdtSimulator]:
    with WdtSimulator(pending=0) as simulator:
        simulator.rate_window = WINDOW
        yield simulator


def refusals(sim: WdtSimulator) -> list[object]:
    return [record for record in sim.request_log if record.status != 0]


def test_two_processes_of_one_seller_share_the_limit(sim: WdtSimulator, tmp_path: Path) -> None:
    sim.set_rate_limit(calls_per_minute=6, max_concurrency=2)
    sim.faults.slow(24, 0.05)  # each call holds a concurrency slot on the platform for 50 ms
    settings = {"calls_per_minute": 6, "max_concurrency": 2, "ledger_dir": str(tmp_path)}
    start_at = time.time() + 2.0  # both interpreters imported by then: their calls overlap
    spawn = multiprocessing.get_context("spawn")
    args = (sim.connection(), WINDOW, 12, 2, start_at, settings)
    with spawn.Pool(2) as pool:
        results = [pool.apply_async(ledger_worker.call_many, args) for _ in range(2)]
        errors = [result.get(timeout=60) for result in results]
    assert errors == [[], []]
    assert refusals(sim) == [] and sim.request_count == 24
    assert sim.seller().limiter.peak_in_flight == 2  # both processes' calls did overlap, two at a time


def _log_lines(directory: Path, kind: str) -> int:
    logs = list(directory.glob("*.log"))
    if not logs:
        return 0
    return sum(1 for line in logs[0].read_text().splitlines() if line.startswith(kind + " "))


def test_calls_of_a_killed_process_still_count_and_its_slot_is_freed(
    sim: WdtSimulator, tmp_path: Path
) -> None:
    sim.set_rate_limit(calls_per_minute=1, max_concurrency=1)
    sim.faults.slow(1, 1.0)  # the first call is still in flight when the process is killed
    settings = {"calls_per_minute": 1, "max_concurrency": 1, "ledger_dir": str(tmp_path)}
    spawn = multiprocessing.get_context("spawn")
    child = spawn.Process(target=ledger_worker.call_forever, args=(sim.connection(), WINDOW, settings))
    child.start()
    deadline = time.monotonic() + 30
    while _log_lines(tmp_path, "S") < 1:  # admitted and recorded, so it is on its way to the platform
        assert time.monotonic() < deadline and child.is_alive()
        time.sleep(0.01)
    time.sleep(0.2)  # it reached the platform, which counts it
    os.kill(child.pid, signal.SIGKILL)  # type: ignore[arg-type]
    child.join()
    assert _log_lines(tmp_path, "E") == 0  # it died with its call in flight

    errors = []

    def two_calls() -> None:
        errors.extend(ledger_worker.call_many(sim.connection(), WINDOW, 2, 1, 0, settings))

    started = time.monotonic()
    caller = threading.Thread(target=two_calls, daemon=True)
    caller.start()
    caller.join(timeout=4 * WINDOW + 5)
    assert not caller.is_alive(), "the dead process's call kept its slot or its place in the window"
    assert errors == [] and refusals(sim) == []
    assert time.monotonic() - started >= WINDOW  # the second call waited for the first's window


def test_a_ledger_is_opened_only_at_the_first_call(tmp_path: Path) -> None:
    ledger = CallLedger(str(tmp_path / "ledger"), ledger_key("http://x/openapi", "shop a/b"), 5)
    assert not (tmp_path / "ledger").exists()
    with ledger.slot():
        pass
    names = sorted(path.name for path in (tmp_path / "ledger").iterdir())
    assert [name.split(".", 1)[1] for name in names] == ["lock", "log", "slot0"]
    assert all(name.startswith("shop_a_b-") for name in names)
    ledger.close()


def test_an_unusable_directory_names_the_extra(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    ledger = CallLedger(str(blocker / "ledger"), "k", 5)
    with pytest.raises(WdtConfigError, match="ledger_dir"), ledger.slot():
        pass


def test_the_gap_after_a_last_hand_over_counts_as_used_at_the_full_rate() -> None:
    assert gap_calls(100.0, 110.0, 60, 60.0) == [101.0 + i for i in range(10)]
    assert len(gap_calls(0.0, 1000.0, 60, 60.0)) == 60  # more than a window: one full window
    assert gap_calls(110.0, 110.0, 60, 60.0) == []


def test_a_hand_over_from_another_host_is_counted_here(tmp_path: Path) -> None:
    store: dict[str, str] = {}
    log = logging.getLogger("test.wdt.handover")
    clock = [1000.0]

    def handover(directory: str) -> CallHandover:
        ledger = CallLedger(str(tmp_path / directory), "seller", 10, window=60.0, clock=lambda: clock[0])
        return CallHandover(
            ledger, logger=log, store_get=store.get, store_set=store.__setitem__, clock=lambda: clock[0]
        )

    first = handover("host-a")
    for _ in range(4):
        with first.ledger.slot():
            pass
    first.send(final=False)  # then the task dies: 5 s of unknown use follow
    clock[0] += 5.0
    second = handover("host-b")
    assert second.receive() == 4 + 1  # its 4 calls, and 10 a minute over 5 s
    assert len(second.ledger.recent_calls()) == 5
    third = handover("host-a")  # the first host's own ledger already holds its calls
    assert third.receive() == 0
    first.send(final=True)
    assert handover("host-c").receive() == 4
