"""test_connection, what the UI's Test button and `airflow connections test` wait for: one short attempt."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from airflow_provider_wdt.hooks.wdt import WdtHook
from airflow_provider_wdt.simulator import WdtSimulator
from tests.conftest import set_connection
from tests.helpers import free_port


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


def _conn(simulator: WdtSimulator, **extra: object) -> dict:
    conn = simulator.connection()
    conn["extra"] = {**conn["extra"], "retry_wait": 5, **extra}
    return conn


def test_silent_host_answers_within_the_default_test_timeout(
    simulator: WdtSimulator, silent_host: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = _conn(simulator)  # the default timeout (30 s) and 3 retries would take minutes
    conn["host"] = f"http://127.0.0.1:{silent_host}/openapi"
    set_connection(monkeypatch, "wdt_silent", conn)
    started = time.monotonic()
    ok, message = WdtHook("wdt_silent").test_connection()
    elapsed = time.monotonic() - started
    assert not ok and "no answer" in message and "within 10 s" in message
    assert 9 <= elapsed < 15, elapsed


def test_test_timeout_extra_sets_the_wait(
    simulator: WdtSimulator, silent_host: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = _conn(simulator, test_timeout=0.5)
    conn["host"] = f"http://127.0.0.1:{silent_host}/openapi"
    set_connection(monkeypatch, "wdt_silent", conn)
    started = time.monotonic()
    ok, message = WdtHook("wdt_silent").test_connection()
    assert not ok and "within 0.5 s" in message
    assert time.monotonic() - started < 3


def test_failure_is_not_retried(simulator: WdtSimulator, monkeypatch: pytest.MonkeyPatch) -> None:
    set_connection(monkeypatch, "wdt_default", _conn(simulator))
    simulator.faults.http_error(n=3, status=503)
    started = time.monotonic()
    ok, message = WdtHook().test_connection()
    assert not ok and "503" in message
    assert simulator.request_count == 1  # a retry would have waited retry_wait (5 s) and sent again
    assert time.monotonic() - started < 3


def test_success_leaves_the_hooks_own_settings_alone(
    simulator: WdtSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_connection(monkeypatch, "wdt_default", _conn(simulator))
    hook = WdtHook()
    ok, message = hook.test_connection()
    assert ok and "server time" in message
    assert hook.client.settings.max_retries == 3 and hook.client.settings.timeout == 30


def test_closed_port_fails_at_once(monkeypatch: pytest.MonkeyPatch, simulator: WdtSimulator) -> None:
    conn = _conn(simulator)
    conn["host"] = f"http://127.0.0.1:{free_port()}/openapi"
    set_connection(monkeypatch, "wdt_closed", conn)
    started = time.monotonic()
    ok, message = WdtHook("wdt_closed").test_connection()
    assert not ok and "could not reach" in message
    assert time.monotonic() - started < 3
