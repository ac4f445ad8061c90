"""Simulator fixtures for the sensor and trigger tests (tests/triggers/conftest.py re-uses them)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from airflow_provider_wdt.simulator import WdtSimulator
from tests.conftest import set_connection

AddLater = Callable[..., list[int]]
WRONG_SECRET = "wrong_secret"


@pytest.fixture
def fast_sim(make_sim: Callable[..., WdtSimulator]) -> WdtSimulator:
    """An empty simulator; ``wdt_default`` points at it and retries without waiting (fast fault tests)."""
    return make_sim(seed=11)


@pytest.fixture
def wrong_secret_conn(fast_sim: WdtSimulator, monkeypatch: pytest.MonkeyPatch) -> str:
    """``wdt_bad``: fast_sim's connection with a wrong secret (the platform refuses it with status 1)."""
    conn = fast_sim.connection()
    conn["password"] = f"{WRONG_SECRET}:wdtsim_salt"
    set_connection(monkeypatch, "wdt_bad", conn)
    return "wdt_bad"


@pytest.fixture
def add_after_first_poll(fast_sim: WdtSimulator) -> Iterator[AddLater]:
    """``add(n, delay)`` adds n pending ids ``delay`` s after the first request reaches the simulator.

    Waiting for that first request (not a fixed timer) makes sure the first poke always sees an empty
    list, however long Airflow takes to start the task. The returned list fills when the ids are added.
    """
    threads: list[threading.Thread] = []

    def add(n: int, delay: float = 0.3) -> list[int]:
        added: list[int] = []

        def run() -> None:
            deadline = time.monotonic() + 120
            while fast_sim.request_count == 0 and time.monotonic() < deadline:
                time.sleep(0.005)
            time.sleep(delay)
            added.extend(fast_sim.add_pending(n))

        thread = threading.Thread(target=run, name="add-pending-later", daemon=True)
        thread.start()
        threads.append(thread)
        return added

    yield add
    for thread in threads:
        thread.join(5)
