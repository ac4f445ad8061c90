"""The network model: latency_ms on every answer, connect_latency_ms on a new connection's first answer."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time

import pytest

from airflow_provider_wdt.simulator import DEFAULT_APPKEY, DEFAULT_APPSECRET, DEFAULT_SID, WdtSimulator

from .qjbclient import QjbClient

NOW = "system.Core.now"


def timed_call(client: QjbClient) -> float:
    started = time.monotonic()
    assert client.call(NOW)["status"] == 0
    return time.monotonic() - started


def test_every_answer_pays_the_round_trip_and_a_new_connection_the_handshake_once() -> None:
    with WdtSimulator(latency_ms=80, connect_latency_ms=150) as sim:
        client = QjbClient(sim.url, DEFAULT_SID, DEFAULT_APPKEY, DEFAULT_APPSECRET)
        first, second, third = (timed_call(client) for _ in range(3))
        client.close()
        fresh = QjbClient(sim.url, DEFAULT_SID, DEFAULT_APPKEY, DEFAULT_APPSECRET)
        on_new_connection = timed_call(fresh)
        fresh.close()
    assert 0.23 <= first < 0.6  # 80 + 150 ms
    assert 0.08 <= second < 0.2 and 0.08 <= third < 0.2  # keep-alive: no handshake
    assert 0.23 <= on_new_connection < 0.6
    assert sim.connections_accepted == 2


def test_latency_can_change_while_running_and_defaults_to_none() -> None:
    with WdtSimulator() as sim:
        client = QjbClient(sim.url, DEFAULT_SID, DEFAULT_APPKEY, DEFAULT_APPSECRET)
        assert timed_call(client) < 0.05
        sim.latency_ms = 120
        assert timed_call(client) >= 0.12
        client.close()


def test_negative_latency_is_refused() -> None:
    with pytest.raises(ValueError, match="latency_ms must be >= 0"):
        WdtSimulator(latency_ms=-1)
    with pytest.raises(ValueError, match="connect_latency_ms must be >= 0"):
        WdtSimulator(connect_latency_ms=-5)


def test_cli_flags_set_the_latency() -> None:
    cmd = [sys.executable, "-m", "airflow_provider_wdt.simulator", "--port", "0"]
    cmd += ["--latency-ms", "100", "--connect-latency-ms", "100"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        match = re.search(r"(http://\S+/openapi)", proc.stdout.readline())
        assert match
        client = QjbClient(match.group(1), DEFAULT_SID, DEFAULT_APPKEY, DEFAULT_APPSECRET)
        assert timed_call(client) >= 0.2 and 0.1 <= timed_call(client) < 0.2
        client.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_rate_limiter_records_the_most_calls_in_flight() -> None:
    with WdtSimulator() as sim:
        sim.faults.slow(3, 0.2)
        clients = [QjbClient(sim.url, DEFAULT_SID, DEFAULT_APPKEY, DEFAULT_APPSECRET) for _ in range(3)]
        threads = [threading.Thread(target=c.call, args=(NOW,)) for c in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for client in clients:
            client.close()
        assert sim.seller().limiter.peak_in_flight == 3
