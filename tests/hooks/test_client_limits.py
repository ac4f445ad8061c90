"""The client's own limits over HTTP against the simulator: calls_per_minute, max_concurrency, threads."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from airflow_provider_wdt.client import ClientSettings, WdtClient
from airflow_provider_wdt.errors import WdtRateLimitError
from airflow_provider_wdt.protocol import Credentials
from airflow_provider_wdt.simulator import WdtSimulator

NOW = "system.Core.now"


@pytest.fixture
def sim() -> Iterator[WdtSimulator]:
    with WdtSimulator(pending=0) as simulator:
        yield simulator


def client_for(sim: WdtSimulator, window: float | None = None, **settings: object) -> WdtClient:
    conn = sim.connection()
    credentials = Credentials.from_connection_fields(conn["login"], conn["schema"], conn["password"])
    # max_retries=0: a refused call raises instead of being retried, so no refusal can hide.
    client = WdtClient(credentials, conn["host"], ClientSettings(max_retries=0, **settings))  # type: ignore[arg-type]
    if window is not None:
        client.rate_window = window  # a shorter "minute", as sim.rate_window
    return client


def refusals(sim: WdtSimulator) -> int:
    return sum(1 for record in sim.request_log if record.status != 0)


def call_many(client: WdtClient, calls: int, threads: int) -> float:
    started = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(client.call, NOW) for _ in range(calls)]:
            future.result()
    return time.monotonic() - started


def test_no_call_is_refused_under_a_limit_equal_to_the_simulators(sim: WdtSimulator) -> None:
    sim.rate_window = 1.0
    sim.set_rate_limit(calls_per_minute=10, max_concurrency=2)
    sim.latency_ms = 20
    client = client_for(sim, window=1.0, calls_per_minute=10, max_concurrency=2)
    try:
        elapsed = call_many(client, calls=35, threads=6)
    finally:
        client.close()
    assert refusals(sim) == 0 and sim.request_count == 35
    assert elapsed >= 3.0  # 35 calls at 10 per window need at least three more windows after the first 10


def test_a_client_limit_above_the_simulators_is_refused(sim: WdtSimulator) -> None:
    """The control for the test above: the simulator does refuse a client that sends too much."""
    sim.rate_window = 1.0
    sim.set_rate_limit(calls_per_minute=10)
    client = client_for(sim, window=1.0, calls_per_minute=12, max_concurrency=2)
    with pytest.raises(WdtRateLimitError):
        call_many(client, calls=12, threads=2)
    client.close()


def test_max_concurrency_bounds_the_calls_in_flight(sim: WdtSimulator) -> None:
    sim.set_rate_limit(max_concurrency=3)  # the simulator refuses a fourth call in flight
    sim.faults.slow(24, 0.06)  # each call holds its slot for 60 ms
    client = client_for(sim, max_concurrency=3)
    try:
        elapsed = call_many(client, calls=24, threads=8)
    finally:
        client.close()
    assert refusals(sim) == 0 and sim.request_count == 24
    assert client.limiter.peak_in_flight == 3
    assert sim.seller().limiter.peak_in_flight == 3  # three at a time reached the platform
    assert elapsed < 24 * 0.06  # really concurrent: serial calls would take 1.44 s
    assert sim.connections_accepted <= 3  # one keep-alive connection per call in flight


def test_the_default_max_concurrency_is_one_call_at_a_time(sim: WdtSimulator) -> None:
    sim.set_rate_limit(max_concurrency=1)
    sim.faults.slow(12, 0.02)
    client = client_for(sim)
    try:
        call_many(client, calls=12, threads=4)
    finally:
        client.close()
    assert refusals(sim) == 0 and client.request_count == 12
    assert client.limiter.peak_in_flight == 1


def test_waiting_for_the_window_is_logged_at_most_once_a_minute(
    sim: WdtSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    logger = logging.getLogger("test.wdt.limits")
    client = client_for(sim, window=0.3, calls_per_minute=2)
    client.limiter.log = logger
    with caplog.at_level(logging.INFO, logger=logger.name):
        started = time.monotonic()
        for _ in range(8):
            client.call(NOW)
    client.close()
    assert time.monotonic() - started >= 0.9  # it waited three windows
    waits = [r for r in caplog.records if "calls_per_minute=2 reached" in r.getMessage()]
    assert len(waits) == 1


def test_the_session_is_shared_safely_by_threads(sim: WdtSimulator) -> None:
    client = client_for(sim, max_concurrency=4)
    start = threading.Barrier(8)

    def first_call() -> object:
        start.wait()  # every thread asks for the session at the same moment
        return client.session

    with ThreadPoolExecutor(8) as pool:
        sessions = {id(s) for s in pool.map(lambda _: first_call(), range(8))}
    call_many(client, calls=40, threads=8)
    client.close()
    assert len(sessions) == 1
    assert client.request_count == 40 == sim.request_count
