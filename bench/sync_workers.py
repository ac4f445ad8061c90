"""The stock-sync measurements, each in a fresh child process (``python -m bench.sync_bench --worker KIND``).

Airflow, the provider and requests are imported inside the functions only (the orchestrator never loads
Airflow). Every connection has ``max_retries`` 0: a refused or failed call breaks the run instead of
being retried out of sight, so a finished run proves there was no refusal.
"""

from __future__ import annotations

import gc
import json
import os
import time
from collections.abc import Callable
from typing import Any

from bench.common import CONN_ID, SEED, BenchBroken, credentials
from bench.workers import RecordingTI, _maxrss_kb, _proc_status_kb, _reset_peak_rss


def connection_json(url: str, **extra: Any) -> str:
    sid, appkey, appsecret = credentials()
    extra = {"appkey": appkey, "max_retries": 0, **{k: v for k, v in extra.items() if v is not None}}
    return json.dumps({"conn_type": "wdt", "host": url, "login": sid, "password": appsecret, "extra": extra})


def _record_calls(window: float | None) -> list[float]:
    """When each WDT call was admitted (sent); with ``window``, every client's limiter uses that window."""
    from airflow_provider_wdt.client import WdtClient
    from airflow_provider_wdt.ratelimit import CallLimiter

    starts: list[float] = []
    acquire, init = CallLimiter._acquire, WdtClient.__init__

    def timed_acquire(self: CallLimiter) -> None:
        acquire(self)
        starts.append(time.monotonic())  # list.append is atomic: safe from the push threads

    def init_with_window(self: WdtClient, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        if window is not None:
            self.rate_window = window

    CallLimiter._acquire = timed_acquire  # type: ignore[method-assign]
    WdtClient.__init__ = init_with_window  # type: ignore[method-assign]
    return starts


def _pull_to_file(tmp: str, expected: int) -> str:
    from airflow_provider_wdt.operators.wdt import WdtPendingSyncIdsOperator

    path = os.path.join(tmp, f"ids-{os.getpid()}.ndjson")
    op = WdtPendingSyncIdsOperator(task_id="bench_pull", wdt_conn_id=CONN_ID, output_path=path)
    ti = RecordingTI()
    context: Any = {"ti": ti}
    op.execute(context)
    if ti.xcoms.get("id_count") != expected:
        raise BenchBroken(f"pulled {ti.xcoms.get('id_count')} ids, expected {expected}")
    return path


def _sync(rec_ids: Any, shop_concurrency: int, report_path: str) -> dict[str, int]:
    from airflow_provider_wdt.operators.wdt import WdtStockSyncOperator
    from example_dags.example_wdt_stock_sync import push_to_shop

    op = WdtStockSyncOperator(
        task_id="bench_sync",
        wdt_conn_id=CONN_ID,
        rec_ids=rec_ids,
        push_callable=push_to_shop,
        shop_concurrency=shop_concurrency,
        report_path=report_path,
    )
    context: Any = {"ti": RecordingTI()}
    summary: dict[str, int] = op.execute(context)
    return summary


def _check(summary: dict[str, int], expected: int) -> None:
    reported = summary["succeeded"] + summary["failed"] + summary["already_reported"]
    if summary["ids"] != expected or reported != expected:
        raise BenchBroken(f"sync summary {summary} does not account for {expected} ids")


def worker_sync(p: dict[str, Any]) -> dict[str, Any]:
    """One timed sync of every pending id (pulled to a file first, untimed; for the rate part, listed)."""
    starts = _record_calls(p.get("window"))
    source: Any
    if p.get("window"):
        # No pull: its calls would count in the platform's window too. The simulator's ids follow from
        # its seed, so the same simulator built here (not started) lists them.
        from airflow_provider_wdt.simulator import WdtSimulator

        source = WdtSimulator(pending=p["ids"], seed=SEED).pending_ids()
    else:
        source = _pull_to_file(p["tmp"], p["ids"])
    pulled_calls = len(starts)
    report = os.path.join(p["tmp"], f"report-{os.getpid()}.ndjson")
    started = time.monotonic()
    summary = _sync(source, p["shop_concurrency"], report)
    wall = time.monotonic() - started
    _check(summary, p["ids"])
    calls = [t - started for t in starts[pulled_calls:]]
    return {"wall": wall, "summary": summary, "calls": calls}


def worker_sync_memory(p: dict[str, Any]) -> dict[str, Any]:
    """Peak RSS growth of a sync over N ids from a file; a 10-id sync first pays the lazy imports."""
    import airflow_provider_wdt.operators.wdt  # noqa: F401 - loaded at DAG parse, part of the baseline

    path = _pull_to_file(p["tmp"], p["ids"])
    report = os.path.join(p["tmp"], f"memory-report-{os.getpid()}.ndjson")
    with open(path, encoding="utf-8") as ids_file:
        first = [int(next(ids_file)) for _ in range(10)]
    _sync(first, p["shop_concurrency"], report)  # the same report: the real sync skips these 10
    gc.collect()
    reset = _reset_peak_rss()
    before = _proc_status_kb("VmRSS") or _maxrss_kb()
    summary = _sync(path, p["shop_concurrency"], report)
    peak = _proc_status_kb("VmHWM") or _maxrss_kb()
    _check(summary, p["ids"])
    return {"rss_before_kb": before, "peak_kb": peak, "peak_reset": reset}


def worker_pull(p: dict[str, Any]) -> dict[str, Any]:
    """The pull alone, to a file (its calls count in the seller's budget like the sync's)."""
    started = time.monotonic()
    path = _pull_to_file(p["tmp"], p["ids"])
    return {"path": path, "wall": time.monotonic() - started}


def worker_sync_file(p: dict[str, Any]) -> dict[str, Any]:
    """A sync of the ids file ``path`` with the report ``report`` (a resume when it exists)."""
    started = time.monotonic()
    summary = _sync(p["path"], p["shop_concurrency"], p["report"])
    return {"summary": summary, "wall": time.monotonic() - started}


WORKERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "sync": worker_sync,
    "sync_memory": worker_sync_memory,
    "pull": worker_pull,
    "sync_file": worker_sync_file,
}


def worker_main(kind: str, params_json: str, result_path: str) -> int:
    params = json.loads(params_json)
    os.environ["AIRFLOW_CONN_" + CONN_ID.upper()] = connection_json(
        params["url"],
        max_concurrency=params.get("max_concurrency"),
        calls_per_minute=params.get("calls_per_minute"),
        rate_window=params.get("rate_window"),
        ledger_dir=params.get("ledger_dir"),
    )
    os.environ["WDT_EXAMPLE_SHOP_URL"] = params["shop_url"]
    result = WORKERS[kind](params)
    with open(result_path, "w", encoding="utf-8") as out:
        json.dump(result, out)
    return 0
