"""test_connection, what the UI's Test button and `airflow connections test` wait for: one short attempt."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from airflow_provider_wdt.errors import WdtTransportError
from airflow_provider_wdt.hooks.wdt import WdtHook
from airflow_provider_wdt.simulator import WdtSimulator
from tests.conftest import set_connection
from tests.helpers import fast_connection, free_port


@pytest.fixture
def silent_host() -> Iterator[int]:
    """A port that accepts TCP connections and never answers (the kernel's backlog does the accepting)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        accepted: list[socket.socket] = []
        stop = threading.Event()

        def accept() -> None:
            server.settimeout(0.2)
            while not stop.is_set():
                try:
                    accepted.append(server.accept()[0])
                except OSError:
                    continue

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        yield server.getsockname()[1]
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()


#: A retry would wait 5 s, so one shows in the elapsed times the tests check.
RETRY_WAIT = 5


def timed_test(
    monkeypatch: pytest.MonkeyPatch, conn: dict, port: int | None = None
) -> tuple[bool, str, float]:
    """(ok, message, seconds) of test_connection on ``conn``, pointed at ``port`` on 127.0.0.1 if given."""
    if port is not None:
        conn["host"] = f"http://127.0.0.1:{port}/openapi"
    set_connection(monkeypatch, "wdt_under_test", conn)
    started = time.monotonic()
    ok, message = WdtHook("wdt_under_test").test_connection()
    return ok, message, time.monotonic() - started


def test_silent_host_answers_within_the_default_test_timeout(
    simulator: WdtSimulator, silent_host: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The default timeout (30 s) and 3 retries would take minutes.
    ok, message, elapsed = timed_test(
        monkeypatch, fast_connection(simulator, retry_wait=RETRY_WAIT), silent_host
    )
    assert not ok and "no answer" in message and "within 10 s" in message
    # The setting that applied is named, not the task calls' `timeout` (30 s, untouched here).
    assert "test_timeout extra" in message and "'s timeout extra" not in message
    assert 9 <= elapsed < 15, elapsed


def test_test_timeout_extra_sets_the_wait(
    simulator: WdtSimulator, silent_host: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok, message, elapsed = timed_test(
        monkeypatch, fast_connection(simulator, retry_wait=RETRY_WAIT, test_timeout=0.5), silent_host
    )
    assert not ok and "within 0.5 s (the connection's test_timeout extra)" in message
    assert elapsed < 3


def test_a_task_calls_timeout_names_the_timeout_extra(
    simulator: WdtSimulator, silent_host: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = fast_connection(simulator, timeout=0.3, test_timeout=7, max_retries=0)
    conn["host"] = f"http://127.0.0.1:{silent_host}/openapi"
    set_connection(monkeypatch, "wdt_slow", conn)
    with pytest.raises(WdtTransportError, match=r"within 0\.3 s \(the connection's timeout extra\)"):
        WdtHook("wdt_slow").get_server_time()


def test_failure_is_not_retried(simulator: WdtSimulator, monkeypatch: pytest.MonkeyPatch) -> None:
    simulator.faults.http_error(n=3, status=503)
    ok, message, elapsed = timed_test(monkeypatch, fast_connection(simulator, retry_wait=RETRY_WAIT))
    assert not ok and "503" in message
    assert simulator.request_count == 1  # a retry would have waited RETRY_WAIT and sent again
    assert elapsed < 3


def test_success_leaves_the_hooks_own_settings_alone(
    simulator: WdtSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_connection(monkeypatch, "wdt_default", fast_connection(simulator, retry_wait=RETRY_WAIT))
    hook = WdtHook()
    ok, message = hook.test_connection()
    assert ok and "server time" in message
    assert hook.client.settings.max_retries == 3 and hook.client.settings.timeout == 30


def test_closed_port_fails_at_once(monkeypatch: pytest.MonkeyPatch, simulator: WdtSimulator) -> None:
    ok, message, elapsed = timed_test(
        monkeypatch, fast_connection(simulator, retry_wait=RETRY_WAIT), free_port()
    )
    assert not ok and "could not reach" in message
    assert elapsed < 3
