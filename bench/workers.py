"""The measurements themselves, each run in a fresh child process (``--worker KIND``).

Airflow, the provider and requests are imported inside the functions only: the orchestrating process
imports this module for ``WORKERS`` and must never load Airflow itself.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

from bench.common import CONN_ID, PACKAGE, SEED, BenchBroken, connection_json, credentials
from bench.reference import reference_pull


class RecordingTI:
    """The one TaskInstance method the operator calls."""

    def __init__(self) -> None:
        self.xcoms: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value


def record_request_counts() -> list[int]:
    """Each WdtClient's request_count when it is closed (the operator closes its hook after a pull)."""
    from airflow_provider_wdt.client import WdtClient

    counts: list[int] = []
    original = WdtClient.close

    def close(self: WdtClient) -> None:
        counts.append(self.request_count)
        original(self)

    WdtClient.close = close  # type: ignore[method-assign]
    return counts


def make_operator(task_id: str, count: int, output_path: str | None, **kwargs: Any) -> Any:
    from airflow_provider_wdt.operators.wdt import WdtPendingSyncIdsOperator

    if output_path is not None:
        kwargs.setdefault("output_format", "json")
    return WdtPendingSyncIdsOperator(
        task_id=task_id, wdt_conn_id=CONN_ID, count=count, output_path=output_path, **kwargs
    )


def run_operator(task_id: str, count: int, output_path: str | None, **kwargs: Any) -> tuple[Any, RecordingTI]:
    operator = make_operator(task_id, count, output_path, **kwargs)
    ti = RecordingTI()
    result = operator.execute({"ti": ti})
    return result, ti


def file_digest(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _proc_status_kb(field_name: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak_rss() -> bool:
    """Linux: writing 5 to clear_refs resets VmHWM to the current RSS, so the peak measured is ours."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear:
            clear.write("5")
    except OSError:
        return False
    return True


def _maxrss_kb() -> int:
    value = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return value // 1024 if sys.platform == "darwin" else value


# -- workers (each a fresh child process) --------------------------------------------------------------------
def cold_start() -> dict[str, float]:
    """What the first execute() in a task process pays on top of later ones, and where it goes (ms)."""
    timings: dict[str, float] = {}

    def timed(name: str, action: Callable[[], Any]) -> None:
        started = time.perf_counter()
        action()
        timings[name] = (time.perf_counter() - started) * 1000

    timed("import Airflow + the operator module (DAG parse)", lambda: __import__(f"{PACKAGE}.operators.wdt"))
    timed("import hooks.wdt (requests, client)", lambda: __import__(f"{PACKAGE}.hooks.wdt"))
    from airflow_provider_wdt.hooks.wdt import WdtHook

    timed("first connection lookup", lambda: WdtHook.get_connection(CONN_ID))
    timed("second connection lookup", lambda: WdtHook.get_connection(CONN_ID))
    timed("first execute(), 1 page of 10 ids", lambda: run_operator("bench_cold", 10, None, max_pages=1))
    later = []
    for _ in range(5):
        started = time.perf_counter()
        run_operator("bench_warm", 10, None, max_pages=1)
        later.append((time.perf_counter() - started) * 1000)
    timings["later execute(), 1 page of 10 ids, fastest of 5"] = min(later)
    return timings


def worker_wall(p: dict[str, Any]) -> dict[str, Any]:
    """Cold start first, then operator and reference alternately against one simulator.

    The first full run of each side is a warm-up (reported, not counted): connection pools, allocator.
    """
    timings = cold_start()
    import requests  # noqa: F401 - the reference's import, paid before timing like any script's

    url, n, count, rounds, tmp = p["url"], p["ids"], p["count"], p["rounds"], p["tmp"]
    sid, appkey, appsecret = credentials()
    counts = record_request_counts()
    op_path, ref_path = os.path.join(tmp, "operator.json"), os.path.join(tmp, "reference.json")
    runs: list[dict[str, Any]] = []

    def operator_run(label: str) -> None:
        gc.collect()
        started, cpu_started = time.perf_counter(), time.process_time()
        result, ti = run_operator(f"bench_{len(runs)}", count, op_path)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        if result != op_path or ti.xcoms.get("id_count") != n:
            raise BenchBroken(f"operator returned {result!r} with XComs {ti.xcoms}, expected {n} ids")
        runs.append(
            {"side": "operator", "label": label, "wall": wall, "cpu": cpu, "requests": counts[-1], "ids": n}
        )

    def reference_run(label: str) -> None:
        gc.collect()
        started, cpu_started = time.perf_counter(), time.process_time()
        ids, requests_sent = reference_pull(url, sid, appkey, appsecret, count, ref_path)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        if ids != n:
            raise BenchBroken(f"reference client pulled {ids} ids, expected {n}")
        runs.append(
            {
                "side": "reference",
                "label": label,
                "wall": wall,
                "cpu": cpu,
                "requests": requests_sent,
                "ids": ids,
            }
        )

    reference_run("warm-up")
    operator_run("warm-up")
    for i in range(rounds):
        order = (operator_run, reference_run) if i % 2 == 0 else (reference_run, operator_run)
        for run in order:
            run(f"round {i + 1}")
    same = file_digest(op_path) == file_digest(ref_path)
    if not same:
        raise BenchBroken(f"{op_path} and {ref_path} differ: the operator's ids are not the reference's")
    return {"runs": runs, "same_output": same, "bytes": os.path.getsize(op_path), "cold_start_ms": timings}


def worker_memory(p: dict[str, Any]) -> dict[str, Any]:
    """Peak RSS growth of one execute() over the RSS just before it, in this fresh process."""
    import airflow_provider_wdt.operators.wdt  # noqa: F401 - loaded at DAG parse, part of the baseline

    url, n, count, mode, tmp = p["url"], p["ids"], p["count"], p["mode"], p["tmp"]
    path = os.path.join(tmp, f"memory-{mode}-{n}-{os.getpid()}.json")
    if p["warm"] and mode != "reference":
        # A one-page pull first: the lazy imports and the first connection lookup are then paid.
        run_operator("bench_warm", 10, None, max_pages=1)
    if mode == "reference":
        import requests  # noqa: F401
    gc.collect()
    reset = _reset_peak_rss()
    rss_before = _proc_status_kb("VmRSS") or _maxrss_kb()
    result: Any = None
    if mode == "file":
        result, ti = run_operator("bench_memory", count, path)
        delivered = ti.xcoms.get("id_count")
    elif mode == "xcom":
        kwargs = {} if p["guard"] is None else {"max_xcom_ids": p["guard"]}
        result, ti = run_operator("bench_memory", count, None, **kwargs)
        delivered = len(result)
    else:
        sid, appkey, appsecret = credentials()
        delivered, _ = reference_pull(url, sid, appkey, appsecret, count, path)
    peak = _proc_status_kb("VmHWM") or _maxrss_kb()
    del result
    if delivered != n:
        raise BenchBroken(f"memory case {mode} delivered {delivered} ids, expected {n}")
    return {"rss_before_kb": rss_before, "peak_kb": peak, "peak_reset": reset}


def worker_requests(p: dict[str, Any]) -> dict[str, Any]:
    """Requests per pull against in-process simulators (request counts do not depend on the GIL)."""
    from airflow_provider_wdt.simulator import WdtSimulator

    sid, appkey, appsecret = credentials()
    tmp = p["tmp"]
    rows: list[dict[str, Any]] = []

    def measure(sim: WdtSimulator, n: int, seeding: str, counts_: list[int]) -> None:
        os.environ["AIRFLOW_CONN_" + CONN_ID.upper()] = connection_json(sim.url)
        expected = sim.pending_ids()
        for count in counts_:
            for tie_mode in ("after", "from"):
                sim.tie_mode = tie_mode
                sim.reset_stats()
                ids, _ = run_operator(f"bench_requests_{len(rows)}", count, None, max_xcom_ids=max(n, 1))
                operator_requests = sim.request_count
                if ids != expected:
                    raise BenchBroken(
                        f"{n} ids ({seeding}, {tie_mode}, count {count}): the operator delivered "
                        f"{len(ids)} ids, {len(set(ids))} distinct, not the {len(expected)} pending in order"
                    )
                reference_requests = None
                if tie_mode == "after":  # the reference only knows "an empty page ends the list"
                    path = os.path.join(tmp, "requests-reference.json")
                    reference_requests = reference_pull(sim.url, sid, appkey, appsecret, count, path)[1]
                rows.append(
                    {
                        "ids": n,
                        "count": count,
                        "seeding": seeding,
                        "tie_mode": tie_mode,
                        "requests": operator_requests,
                        "reference_requests": reference_requests,
                    }
                )

    edge_count = p["count"]
    for n in p["edge_ids"]:
        with WdtSimulator(pending=n, seed=SEED) as sim:
            measure(sim, n, "ties", [edge_count])
    n = p["request_ids"]
    with WdtSimulator(pending=n, seed=SEED) as sim:
        measure(sim, n, "ties", p["request_counts"])
    tie_free = WdtSimulator(seed=SEED)
    for _ in range(n):
        tie_free.add_pending(1)  # one record per call: every disable_syn_until distinct
    with tie_free:
        measure(tie_free, n, "no ties", p["request_counts"])
    return {"rows": rows}


def worker_profile(p: dict[str, Any]) -> dict[str, Any]:
    """One operator pull and one reference pull under cProfile (``--profile``): top functions by own time."""
    import cProfile
    import io
    import pstats

    sid, appkey, appsecret = credentials()
    path = os.path.join(p["tmp"], "profile.json")
    sides: dict[str, Callable[[], Any]] = {
        "operator": lambda: run_operator("bench_profile", p["count"], path),
        "reference": lambda: reference_pull(p["url"], sid, appkey, appsecret, p["count"], path),
    }
    text = io.StringIO()
    for side, action in sides.items():
        action()  # warm-up
        profiler = cProfile.Profile()
        profiler.enable()
        action()
        profiler.disable()
        text.write(f"--- {side} ---\n")
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(16)
    return {"text": text.getvalue()}


WORKERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "wall": worker_wall,
    "memory": worker_memory,
    "requests": worker_requests,
    "profile": worker_profile,
}


def worker_main(kind: str, params_json: str, result_path: str) -> int:
    params = json.loads(params_json)
    if params.get("url"):
        os.environ["AIRFLOW_CONN_" + CONN_ID.upper()] = connection_json(params["url"])
    result = WORKERS[kind](params)
    with open(result_path, "w", encoding="utf-8") as out:
        json.dump(result, out)
    return 0
