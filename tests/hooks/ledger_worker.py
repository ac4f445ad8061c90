"""What the call-ledger tests run in their processes (spawned, so a fresh interpreter each): a client of
one seller making calls. No pytest import; importable by ``multiprocessing`` spawn."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

NOW = "system.Core.now"


def make_client(conn: dict[str, Any], window: float, **settings: Any) -> Any:
    from airflow_provider_wdt.client import ClientSettings, WdtClient
    from airflow_provider_wdt.protocol import Credentials

    credentials = Credentials.from_connection_fields(conn["login"], conn["schema"], conn["password"])
    # max_retries=0: a refused call raises instead of being retried, so no refusal can hide.
    client = WdtClient(credentials, conn["host"], ClientSettings(max_retries=0, **settings))
    client.rate_window = window  # the simulator's shortened "minute"
    return client


def call_many(
    conn: dict[str, Any], window: float, calls: int, threads: int, start_at: float, settings: dict[str, Any]
) -> list[str]:
    """``calls`` calls from ``threads`` threads, starting at the wall-clock time ``start_at``; the errors."""
    client = make_client(conn, window, **settings)
    time.sleep(max(start_at - time.time(), 0))
    errors: list[str] = []

    def one(_: int) -> None:
        try:
            client.call(NOW)
        except Exception as exc:  # reported to the test, which asserts there is none
            errors.append(f"{type(exc).__name__}: {exc}")

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, range(calls)))
    client.close()
    return errors


def call_forever(conn: dict[str, Any], window: float, settings: dict[str, Any]) -> None:
    """Calls until killed (the test sends SIGKILL while one is in flight)."""
    client = make_client(conn, window, **settings)
    while True:
        client.call(NOW)
