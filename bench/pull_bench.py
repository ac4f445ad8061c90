"""How fast and how lean a full pull of pending ids is, against the simplest possible client (issue 7).

``python -m bench.pull_bench`` (``make bench``) measures, in one run on one machine:

1. wall time of ``WdtPendingSyncIdsOperator`` pulling N ids (1,000,000, count 5000) to a JSON file, and of
   a hand-written reference client (one ``requests.Session``, sign, post, parse, loop) doing the same,
   alternated (the one going first alternates too); median and fastest of each, fastest/fastest ratio;
2. peak RSS growth of the operator's process over its baseline, a fresh process per case: file output at
   100,000 and 1,000,000 ids, XCom output at its guard (100,000);
3. HTTP requests per pull against the floor ceil(N/count)+1, with and without ties in disable_syn_until;
4. the import cost the operator and sensor modules add over ``import airflow.sdk`` (``-X importtime``);
5. what the first ``execute()`` in a fresh process costs (lazy imports, first connection lookup).

``--smoke`` (``make bench-smoke``, CI) runs every part on small sizes in well under a minute. Both exit
non-zero only when something is broken (a wrong or missing id, a crash, a hang); a missed target is
reported, not an error, unless ``--strict`` is given.

The simulator runs in its own process for every timed part, so its CPU does not share the client's GIL.
The orchestrating process never imports Airflow: each measurement runs in a child process
(``--worker KIND``) whose log goes to a file in the run's temporary directory.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import hashlib
import json
import math
import os
import queue
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

REPO_ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "airflow_provider_wdt"
METHOD = "sales.StockSync.getSelfWaitSyncIdListOpen"
WDT_EPOCH = 1325347200  # protocol section 3: seconds since 2012-01-01 00:00 Beijing time
CONN_ID = "wdt_bench"
SEED = 7

# Targets (issue 7).
MAX_WALL_RATIO = 1.10
MAX_FILE_GROWTH_MB = 25.0
MAX_IMPORT_MS = 50.0

# The protocol page's known-answer vectors (section 4): the reference client must sign like the platform.
SIGN_VECTORS = (
    (
        "aa",
        {
            "key": "wdt_test",
            "method": "system.Core.now",
            "salt": "dd",
            "sid": "wdtapi3",
            "timestamp": "100",
            "v": "1.0",
        },
        "[]",
        "b5745bf1f4721a0d16e9a68cb7513032",
    ),
    (
        "693f9fed686bfe13441385da98b436b6",
        {
            "sid": "wdterp30",
            "key": "czhc",
            "salt": "dd488d0802b1e431e4c72cd355847853",
            "method": "wms.stockout.Sales.weighingExt",
            "timestamp": "232623153",
            "v": "1.0",
        },
        '["xc109393939393939","",1.2,0,false]',
        "20f557aaf9190797c581bbceeb6d5a5c",
    ),
)


class BenchBroken(Exception):
    """Something is wrong (not merely slow): the run exits non-zero."""


@dataclass(frozen=True)
class Plan:
    """The sizes of one run."""

    name: str
    ids: int  # wall-time pull
    count: int
    rounds: int  # timed runs per side, alternating
    memory_ids: tuple[int, ...]  # file-output memory cases
    xcom_ids: int  # XCom-output memory case: the guard
    xcom_guard: int | None  # max_xcom_ids (None: the operator's default)
    edge_ids: tuple[int, ...]  # small request-count cases at ``count``
    request_ids: int  # request-count cases with and without ties
    request_counts: tuple[int, ...]
    import_runs: int
    timeout: float  # seconds any single child may take
    memory_warm: bool = True  # also the file cases after a 1-page pull (lazy imports paid)
    memory_reference: bool = True  # the reference client's own growth, for comparison


FULL = Plan(
    name="full",
    ids=1_000_000,
    count=5000,
    rounds=7,
    memory_ids=(100_000, 1_000_000),
    xcom_ids=100_000,
    xcom_guard=None,
    edge_ids=(0, 1, 4999, 5000, 5001, 10_001),
    request_ids=100_000,
    request_counts=(5000, 1000),
    import_runs=7,
    timeout=600.0,
)
SMOKE = Plan(
    name="smoke",
    ids=20_000,
    count=1000,
    rounds=2,
    memory_ids=(20_000,),
    xcom_ids=5_000,
    xcom_guard=5_000,
    edge_ids=(0, 1, 1000, 1001),
    request_ids=5_001,
    request_counts=(1000,),
    import_runs=1,
    timeout=120.0,
    memory_warm=False,
    memory_reference=False,
)


# -- the reference client: protocol sections 1-4, nothing else -----------------------------------------------
def reference_sign(secret: str, params: dict[str, str], body: str) -> str:
    """md5(secret + k1 + v1 + ... + secret) over the params except sign, plus ``body``, keys sorted."""
    items = {key: value for key, value in params.items() if key != "sign"}
    items["body"] = body
    joined = "".join(key + items[key] for key in sorted(items))
    return hashlib.md5((secret + joined + secret).encode("utf-8")).hexdigest()


def check_reference_sign() -> None:
    for secret, params, body, expected in SIGN_VECTORS:
        got = reference_sign(secret, params, body)
        if got != expected:
            raise BenchBroken(f"reference client signs {params['method']} as {got}, expected {expected}")


def reference_pull(url: str, sid: str, appkey: str, appsecret: str, count: int, path: str) -> tuple[int, int]:
    """The smallest client: one session, sign, post, parse, append to a JSON array, until an empty page.

    Returns (ids, requests). Knows nothing about retries, ties or atomic files: it is the floor.
    """
    import requests

    secret, _, salt = appsecret.partition(":")
    session = requests.Session()
    session.trust_env = False  # proxies are not re-read from the environment on every request
    session.headers["Content-Type"] = "application/json"
    position = ids_total = requests_sent = 0
    with session, open(path, "w", encoding="utf-8") as out:
        out.write("[")
        separator = ""
        while True:
            body = f"[{count},{position}]"
            params = {
                "sid": sid,
                "key": appkey,
                "salt": salt,
                "method": METHOD,
                "timestamp": str(int(time.time()) - WDT_EPOCH),
                "v": "1.0",
            }
            params["sign"] = reference_sign(secret, params, body)
            answer = session.post(url, params=params, data=body.encode("utf-8"), timeout=30).json()
            requests_sent += 1
            if answer["status"] != 0:
                raise BenchBroken(f"reference client: status {answer['status']}: {answer.get('message')}")
            data = answer["data"]
            ids = data["id_list"]
            if not ids:
                break
            out.write(separator + ",".join(map(str, ids)))
            separator = ","
            ids_total += len(ids)
            position = data["position"]
        out.write("]\n")
    return ids_total, requests_sent


# -- helpers shared by the workers ---------------------------------------------------------------------------
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


def _credentials() -> tuple[str, str, str]:
    from airflow_provider_wdt.simulator import DEFAULT_APPKEY, DEFAULT_APPSECRET, DEFAULT_SID

    return DEFAULT_SID, DEFAULT_APPKEY, DEFAULT_APPSECRET


def _connection_json(url: str) -> str:
    sid, appkey, appsecret = _credentials()
    return json.dumps(
        {"conn_type": "wdt", "host": url, "login": sid, "password": appsecret, "extra": {"appkey": appkey}}
    )


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
    sid, appkey, appsecret = _credentials()
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
        sid, appkey, appsecret = _credentials()
        delivered, _ = reference_pull(url, sid, appkey, appsecret, count, path)
    peak = _proc_status_kb("VmHWM") or _maxrss_kb()
    del result
    if delivered != n:
        raise BenchBroken(f"memory case {mode} delivered {delivered} ids, expected {n}")
    return {"rss_before_kb": rss_before, "peak_kb": peak, "peak_reset": reset}


def worker_requests(p: dict[str, Any]) -> dict[str, Any]:
    """Requests per pull against in-process simulators (request counts do not depend on the GIL)."""
    from airflow_provider_wdt.simulator import WdtSimulator

    sid, appkey, appsecret = _credentials()
    tmp = p["tmp"]
    rows: list[dict[str, Any]] = []

    def measure(sim: WdtSimulator, n: int, seeding: str, counts_: list[int]) -> None:
        os.environ["AIRFLOW_CONN_" + CONN_ID.upper()] = _connection_json(sim.url)
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

    sid, appkey, appsecret = _credentials()
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
        os.environ["AIRFLOW_CONN_" + CONN_ID.upper()] = _connection_json(params["url"])
    result = WORKERS[kind](params)
    with open(result_path, "w", encoding="utf-8") as out:
        json.dump(result, out)
    return 0


# -- child processes -----------------------------------------------------------------------------------------
class Simulator:
    """``python -m airflow_provider_wdt.simulator`` in its own process; stopped with SIGTERM (then KILL)."""

    def __init__(self, pending: int, env: dict[str, str], log_dir: Path, seed: int = SEED) -> None:
        self.pending = pending
        log_path = log_dir / f"simulator-{pending}-{time.monotonic_ns()}.log"
        self._log = open(log_path, "w", encoding="utf-8")  # noqa: SIM115 - closed in stop()
        self._lines: queue.Queue[str] = queue.Queue()
        command = [sys.executable, "-m", f"{PACKAGE}.simulator", "--port", "0"]
        command += ["--pending", str(pending), "--seed", str(seed)]
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=self._log, text=True
        )
        self._url: str | None = None
        self.seed_seconds = 0.0
        stdout = self.process.stdout
        assert stdout is not None
        threading.Thread(target=self._read, args=(stdout,), daemon=True).start()

    def _read(self, stdout: IO[str]) -> None:
        for line in stdout:
            self._lines.put(line)

    def url(self, timeout: float) -> str:
        """Waits until the simulator has seeded its records and listens."""
        deadline = time.perf_counter() + timeout
        while self._url is None:
            try:
                line = self._lines.get(timeout=0.5)
            except queue.Empty:
                if self.process.poll() is not None:
                    raise BenchBroken(
                        f"simulator ({self.pending} pending) exited with {self.process.returncode}; "
                        f"see {self._log.name}"
                    ) from None
                if time.perf_counter() > deadline:
                    raise BenchBroken(
                        f"simulator ({self.pending} pending) not up after {timeout:.0f} s"
                    ) from None
                continue
            if "listening on" not in line:
                raise BenchBroken(f"simulator said {line!r} instead of its URL")
            self._url = line.strip().rsplit(" ", 1)[1]
            self.seed_seconds = time.perf_counter() - self.started
        return self._url

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


@dataclass
class Worker:
    kind: str
    process: subprocess.Popen[bytes]
    result_path: Path
    log_path: Path
    timeout: float
    started: float = field(default_factory=time.perf_counter)


class Runner:
    """Starts workers and simulators with a private AIRFLOW_HOME; everything it starts, it stops."""

    def __init__(self, tmp: Path, plan: Plan, stack: ExitStack) -> None:
        self.tmp = tmp
        self.plan = plan
        self.stack = stack
        home = tmp / "airflow-home"
        home.mkdir()
        self.env = {
            **os.environ,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        }
        self._workers = 0

    def simulator(self, pending: int) -> Simulator:
        sim = Simulator(pending, self.env, self.tmp)
        self.stack.callback(sim.stop)
        return sim

    def start(self, kind: str, **params: Any) -> Worker:
        self._workers += 1
        result_path = self.tmp / f"{kind}-{self._workers}.result.json"
        log_path = self.tmp / f"{kind}-{self._workers}.log"
        command = [sys.executable, "-m", "bench.pull_bench", "--worker", kind]
        command += ["--params", json.dumps({"tmp": str(self.tmp), **params}), "--result", str(result_path)]
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                command, cwd=REPO_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        worker = Worker(kind, process, result_path, log_path, self.plan.timeout)
        self.stack.callback(_kill, process)
        return worker

    def finish(self, worker: Worker) -> dict[str, Any]:
        try:
            code = worker.process.wait(max(1.0, worker.timeout - (time.perf_counter() - worker.started)))
        except subprocess.TimeoutExpired:
            _kill(worker.process)
            raise BenchBroken(
                f"worker {worker.kind} did not finish in {worker.timeout:.0f} s; "
                f"log:\n{_tail(worker.log_path)}"
            ) from None
        if code != 0 or not worker.result_path.exists():
            raise BenchBroken(f"worker {worker.kind} failed (exit {code}); log:\n{_tail(worker.log_path)}")
        result: dict[str, Any] = json.loads(worker.result_path.read_text(encoding="utf-8"))
        return result

    def run(self, kind: str, **params: Any) -> dict[str, Any]:
        return self.finish(self.start(kind, **params))


def _kill(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
        process.wait()


def _tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join("    " + line for line in text[-lines:])


# -- import cost ---------------------------------------------------------------------------------------------
IMPORT_CODE = f"import airflow.sdk; import {PACKAGE}.operators.wdt; import {PACKAGE}.sensors.wdt"


@dataclass(frozen=True)
class ImportEntry:
    self_us: int
    cumulative_us: int
    level: int
    name: str


def parse_importtime(stderr: str) -> list[ImportEntry]:
    """``import time: self | cumulative | <2 spaces per level>name`` lines, in the order Python wrote them."""
    entries = []
    for line in stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        parts = line.removeprefix("import time:").split("|")
        if len(parts) != 3 or not parts[0].strip().isdigit():
            continue  # the header line
        name = parts[2]
        level = (len(name) - len(name.lstrip(" ")) - 1) // 2
        entries.append(ImportEntry(int(parts[0]), int(parts[1]), level, name.strip()))
    return entries


@dataclass
class ImportNode:
    entry: ImportEntry
    children: list[ImportNode]


def import_tree(entries: list[ImportEntry]) -> list[ImportNode]:
    """-X importtime writes a module after the modules it imported (one level deeper): rebuild the tree."""
    waiting: dict[int, list[ImportNode]] = {}
    for entry in entries:
        node = ImportNode(entry, waiting.pop(entry.level + 1, []))
        waiting.setdefault(entry.level, []).append(node)
    return waiting.get(min(waiting, default=0), [])


def walk_tree(
    nodes: list[ImportNode], min_us: int, max_depth: int, depth: int = 0
) -> Iterator[tuple[ImportEntry, int]]:
    for node in sorted(nodes, key=lambda n: n.entry.cumulative_us, reverse=True):
        if node.entry.cumulative_us >= min_us:
            yield node.entry, depth
            if depth + 1 < max_depth:
                yield from walk_tree(node.children, min_us, max_depth, depth + 1)


def import_cost(env: dict[str, str], package_root: Path, cwd: Path) -> tuple[float, list[ImportEntry]]:
    """Sum of the top-level cumulative times after ``airflow.sdk``'s own top-level entry, in ms.

    Run outside the repository (``-c`` puts the working directory first on sys.path); the package must be
    the one under ``package_root``.
    """
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"{IMPORT_CODE}; print({PACKAGE}.__file__)"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        raise BenchBroken(f"importing the operator and sensor modules failed:\n{done.stderr[-3000:]}")
    if not Path(done.stdout.strip()).is_relative_to(package_root):
        raise BenchBroken(f"import-cost run imported {done.stdout.strip()}, not the copy in {package_root}")
    entries = parse_importtime(done.stderr)
    sdk = [i for i, entry in enumerate(entries) if entry.level == 0 and entry.name == "airflow.sdk"]
    if not sdk:
        raise BenchBroken("-X importtime shows no top-level airflow.sdk entry")
    after = entries[sdk[-1] + 1 :]
    return sum(entry.cumulative_us for entry in after if entry.level == 0) / 1000, after


def compiled_copy(tmp: Path) -> Path:
    """The package copied with its bytecode compiled, as an installed wheel has it (read-only pyc use)."""
    import compileall

    root = tmp / "compiled"
    shutil.copytree(
        REPO_ROOT / PACKAGE, root / PACKAGE, ignore=shutil.ignore_patterns("__pycache__", "simulator")
    )
    if not compileall.compile_dir(str(root / PACKAGE), quiet=1):
        raise BenchBroken("compiling a copy of the package failed")
    return root


# -- report --------------------------------------------------------------------------------------------------
@dataclass
class Verdicts:
    lines: list[str] = field(default_factory=list)
    missed: int = 0

    def add(self, what: str, ok: bool, detail: str) -> None:
        self.missed += not ok
        self.lines.append(f"  {'MET   ' if ok else 'MISSED'}  {what}: {detail}")


def heading(text: str) -> None:
    print(f"\n== {text} ==", flush=True)


def machine_line() -> str:
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{os.cpu_count()} CPUs ({model}), load average {load:.2f}, Python {sys.version.split()[0]}, "
        f"{sys.platform}"
    )


def package_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def report_wall(result: dict[str, Any], plan: Plan, verdicts: Verdicts) -> dict[str, Any]:
    heading(
        f"1. Wall time: {plan.ids:,} ids, count {plan.count}, JSON file, simulator in its own process, "
        f"{plan.rounds} alternating rounds"
    )
    print(f"  {'run':<9} {'side':<10} {'wall s':>8} {'ids/s':>10} {'client CPU s':>13} {'requests':>9}")
    for run in result["runs"]:
        rate = run["ids"] / run["wall"]
        print(
            f"  {run['label']:<9} {run['side']:<10} {run['wall']:8.3f} {rate:10,.0f} {run['cpu']:13.3f} "
            f"{run['requests']:9d}"
        )
    summary: dict[str, Any] = {}
    for side in ("operator", "reference"):
        timed = [r for r in result["runs"] if r["side"] == side and r["label"] != "warm-up"]
        walls, cpus = [r["wall"] for r in timed], [r["cpu"] for r in timed]
        summary[side] = (statistics.median(walls), min(walls), min(cpus))
        print(
            f"  {side:<10} wall median {summary[side][0]:.3f} s, fastest {summary[side][1]:.3f} s; "
            f"client CPU least {summary[side][2]:.3f} s"
        )
    ratio = summary["operator"][1] / summary["reference"][1]
    median_ratio = summary["operator"][0] / summary["reference"][0]
    cpu_ratio = summary["operator"][2] / summary["reference"][2]
    print(
        f"  ratio operator/reference: wall fastest/fastest {ratio:.3f}, median/median {median_ratio:.3f}; "
        f"client CPU least/least {cpu_ratio:.3f}"
    )
    print(f"  outputs identical: {result['same_output']} ({result['bytes']:,} bytes)")
    verdicts.add(
        f"wall ratio <= {MAX_WALL_RATIO:.2f}", ratio <= MAX_WALL_RATIO, f"{ratio:.3f} fastest/fastest"
    )
    op_requests = [r["requests"] for r in result["runs"] if r["side"] == "operator"]
    ref_requests = [r["requests"] for r in result["runs"] if r["side"] == "reference"]
    return {"operator_requests": max(op_requests), "reference_requests": max(ref_requests)}


def report_memory(rows: list[tuple[str, int, dict[str, Any]]], verdicts: Verdicts) -> None:
    heading("2. Peak RSS over the RSS just before execute(), a fresh process per case")
    print(f"  {'case':<44} {'ids':>10} {'before MB':>10} {'peak MB':>9} {'growth MB':>10}")
    worst = 0.0
    for label, n, result in rows:
        before, peak = result["rss_before_kb"] / 1024, result["peak_kb"] / 1024
        growth = peak - before
        print(f"  {label:<44} {n:>10,} {before:10.1f} {peak:9.1f} {growth:10.1f}")
        if label.startswith("operator, file"):
            worst = max(worst, growth)
        if not result["peak_reset"]:
            print("    (peak not resettable here: the peak may include start-up, growth is an upper bound)")
    verdicts.add(
        f"file-output growth <= {MAX_FILE_GROWTH_MB:.0f} MB",
        worst <= MAX_FILE_GROWTH_MB,
        f"worst {worst:.1f} MB",
    )


def report_requests(
    rows: list[dict[str, Any]], wall: dict[str, Any] | None, plan: Plan, verdicts: Verdicts
) -> None:
    heading("3. HTTP requests per pull (floor ceil(N/count)+1)")
    if wall is not None:
        rows = [
            *rows,
            {
                "ids": plan.ids,
                "count": plan.count,
                "seeding": "ties",
                "tie_mode": "after",
                "requests": wall["operator_requests"],
                "reference_requests": wall["reference_requests"],
            },
        ]
    print(
        f"  {'ids':>10} {'count':>6} {'seeding':<8} {'tie mode':<8} {'operator':>9} {'reference':>10} "
        f"{'floor':>6}  note"
    )
    over_floor_unexplained = []
    tie_free_over = []
    for row in rows:
        floor = math.ceil(row["ids"] / row["count"]) + 1
        reference = row["reference_requests"]
        note = ""
        if row["requests"] > floor:
            if reference is not None and row["requests"] == reference:
                note = "= the reference: the simulator's pages are shorter (ties), nobody can do fewer"
            elif row["tie_mode"] == "from":
                note = "'from' repeats each page's last group on the next page"
            else:
                over_floor_unexplained.append(row)
                note = "OVER, unexplained"
            if row["seeding"] == "no ties" and row["tie_mode"] == "after":
                tie_free_over.append(row)
        elif reference is not None and row["requests"] > reference:
            over_floor_unexplained.append(row)
            note = "more than the reference"
        ref_text = "-" if reference is None else str(reference)
        print(
            f"  {row['ids']:>10,} {row['count']:>6} {row['seeding']:<8} {row['tie_mode']:<8} "
            f"{row['requests']:>9} {ref_text:>10} {floor:>6}  {note}"
        )
    ok = not over_floor_unexplained and not tie_free_over
    verdicts.add(
        "requests <= ceil(N/count)+1",
        ok,
        "met without ties; with ties every excess equals the reference's (pages end before a tie group)"
        if ok
        else f"{len(over_floor_unexplained) + len(tie_free_over)} case(s) above the floor unexplained",
    )


def report_imports(runs: dict[str, list[tuple[float, list[ImportEntry]]]], verdicts: Verdicts) -> None:
    heading("4. Import cost of operators.wdt + sensors.wdt over `import airflow.sdk` (python -X importtime)")
    print(f"  {'variant':<58} {'runs':>4} {'min ms':>8} {'median ms':>10}")
    for variant, results in runs.items():
        totals = [total for total, _ in results]
        print(f"  {variant:<58} {len(totals):>4} {min(totals):8.1f} {statistics.median(totals):10.1f}")
    variant, results = next(iter(runs.items()))
    fastest = min(results, key=lambda r: r[0])[1]
    print(f"  where it goes, fastest run of '{variant}' (cumulative ms, own ms; >= 2 ms, 4 levels):")
    for entry, depth in walk_tree(import_tree(fastest), min_us=2000, max_depth=4):
        name = "  " * depth + entry.name
        print(f"    {name:<64} {entry.cumulative_us / 1000:7.1f} {entry.self_us / 1000:7.1f}")
    minima = {name: min(total for total, _ in results) for name, results in runs.items()}
    target = minima[variant]  # the first variant: what an installed provider costs
    verdicts.add(
        f"import cost < {MAX_IMPORT_MS:.0f} ms",
        target < MAX_IMPORT_MS,
        "; ".join(f"{name.split(' (')[0]}: min {ms:.1f} ms" for name, ms in minima.items()),
    )


def report_coldstart(timings: dict[str, float]) -> None:
    heading("5. The first execute() in a fresh process (a task's first call), ms")
    for name, value in timings.items():
        print(f"  {name:<50} {value:9.1f}")


# -- main ----------------------------------------------------------------------------------------------------
SECTIONS = ("wall", "memory", "requests", "imports")


def run(plan: Plan, sections: set[str], strict: bool, profile: bool) -> int:
    check_reference_sign()
    verdicts = Verdicts()
    started = time.perf_counter()
    heading(f"WDT pending-ids benchmark ({plan.name}: {', '.join(s for s in SECTIONS if s in sections)})")
    print(f"  machine: {machine_line()}")
    print(f"  Airflow {package_version('apache-airflow')}, requests {package_version('requests')}")
    print(f"  command: {' '.join(_command_line())}", flush=True)
    with ExitStack() as stack:
        tmp = Path(tempfile.mkdtemp(prefix="wdt-bench-"))
        stack.callback(shutil.rmtree, tmp, True)
        runner = Runner(tmp, plan, stack)
        print(f"  temporary files in {tmp}", flush=True)

        # Seeding a simulator costs CPU: all start now; memory and request counts (not timing) run meanwhile,
        # wall times only once nothing else runs.
        need_big = bool(sections & {"wall"}) or ("memory" in sections and plan.ids in plan.memory_ids)
        big = runner.simulator(plan.ids) if need_big else None
        small_sizes = sorted({*plan.memory_ids, plan.xcom_ids} - {plan.ids}) if "memory" in sections else []
        smalls = {n: runner.simulator(n) for n in small_sizes}

        def url_for(n: int) -> str:
            sim = big if n == plan.ids else smalls[n]
            assert sim is not None
            return sim.url(plan.timeout)

        requests_worker = None
        if "requests" in sections:
            requests_worker = runner.start(
                "requests",
                count=plan.count,
                edge_ids=list(plan.edge_ids),
                request_ids=plan.request_ids,
                request_counts=list(plan.request_counts),
            )
        memory_workers: list[tuple[str, int, Worker]] = []

        def memory(label: str, n: int, mode: str, warm: bool) -> None:
            worker = runner.start(
                "memory", url=url_for(n), ids=n, count=plan.count, mode=mode, warm=warm, guard=plan.xcom_guard
            )
            memory_workers.append((label, n, worker))

        if "memory" in sections:
            for n in sorted({*plan.memory_ids, plan.xcom_ids} - {plan.ids}):
                url_for(n)  # the small ones first: their cases run while the big one seeds
            guard = plan.xcom_guard or plan.xcom_ids
            memory(f"operator, XCom at the guard ({guard:,}), cold process", plan.xcom_ids, "xcom", False)
            for n in plan.memory_ids:
                memory("operator, file (json), cold process", n, "file", False)
                if plan.memory_warm:
                    memory("operator, file (json), after a 1-page pull", n, "file", True)
            if plan.memory_reference:
                memory("reference client, file (json)", max(plan.memory_ids), "reference", False)
        memory_cases = [(label, n, runner.finish(worker)) for label, n, worker in memory_workers]
        requests_rows = runner.finish(requests_worker)["rows"] if requests_worker else []
        for sim in smalls.values():
            sim.stop()

        wall: dict[str, Any] | None = None
        wall_requests: dict[str, Any] | None = None
        if "wall" in sections and big is not None:
            url = big.url(plan.timeout)
            print(
                f"  simulator with {plan.ids:,} ids up after {big.seed_seconds:.1f} s (seeding)", flush=True
            )
            wall = runner.run("wall", url=url, ids=plan.ids, count=plan.count, rounds=plan.rounds)
            wall_requests = report_wall(wall, plan, verdicts)
            if profile:
                heading("profile of one operator pull (cProfile, own time)")
                print(runner.run("profile", url=url, count=plan.count)["text"])
        if big is not None:
            big.stop()

        if memory_cases:
            report_memory(memory_cases, verdicts)
        if "requests" in sections:
            report_requests(requests_rows, wall_requests, plan, verdicts)
        if "imports" in sections:
            report_imports(measure_imports(tmp, runner.env, plan.import_runs), verdicts)
        if wall:
            report_coldstart(wall["cold_start_ms"])

    heading("targets")
    print("\n".join(verdicts.lines))
    print(f"\n  {plan.name} run took {time.perf_counter() - started:.0f} s", flush=True)
    return 1 if strict and verdicts.missed else 0


def measure_imports(
    tmp: Path, env: dict[str, str], runs: int
) -> dict[str, list[tuple[float, list[ImportEntry]]]]:
    base = {k: v for k, v in env.items() if k != "PYTHONPATH"}
    compiled = compiled_copy(tmp)
    as_is = f"this environment as is (PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE')})"
    variants = {
        "bytecode cached (as installed from a wheel)": compiled,
        as_is: REPO_ROOT,
    }
    results: dict[str, list[tuple[float, list[ImportEntry]]]] = {name: [] for name in variants}
    for _ in range(runs):  # interleaved, so a change in load hits both variants alike
        for name, root in variants.items():
            results[name].append(import_cost({**base, "PYTHONPATH": str(root)}, root, tmp))
    return results


def _command_line() -> list[str]:
    return [Path(sys.executable).name, "-m", "bench.pull_bench", *sys.argv[1:]]


@contextmanager
def _interrupts_are_errors() -> Iterator[None]:
    """SIGTERM (CI cancelling) unwinds like Ctrl-C, so every child is stopped."""
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pull_bench", description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="small sizes, for CI (< 60 s)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of one operator pull")
    parser.add_argument("--only", help=f"comma-separated sections to run, of: {', '.join(SECTIONS)}")
    parser.add_argument(
        "--ids", type=int, help="ids in the wall-time pull (default: 1,000,000; smoke 20,000)"
    )
    parser.add_argument("--rounds", type=int, help="timed runs per side in the wall-time part (default: 7)")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--params", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker_main(args.worker, args.params, args.result)
    plan = SMOKE if args.smoke else FULL
    if args.ids is not None:
        plan = dataclasses.replace(plan, ids=args.ids)
    if args.rounds is not None:
        plan = dataclasses.replace(plan, rounds=max(1, args.rounds))
    sections = set(SECTIONS) if not args.only else {part.strip() for part in args.only.split(",")}
    if not sections <= set(SECTIONS):
        parser.error(f"--only takes sections of {', '.join(SECTIONS)}")
    try:
        with _interrupts_are_errors():
            return run(plan, sections, args.strict, args.profile)
    except BenchBroken as exc:
        print(f"\nBENCHMARK BROKEN: {exc}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
