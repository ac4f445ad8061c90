"""Shared machinery of the reliability suite and the soak: fault programs, operations, invariants, secrets.

Everything here talks to a :class:`WdtSimulator` on 127.0.0.1 only. Nothing imports pytest, so the soak
(``python -m tests.reliability.soak``) uses the same operations and checks as the tests.

Vocabulary:

* an *operation* is one user-visible way to read the pending list (the hook's full pull, the operator
  to XCom / to a local file / to object storage, one sensor poke, one trigger run);
* an *outcome* is what it produced: the ids delivered, or the exception / error event, plus the number of
  HTTP requests that reached the simulator;
* the *invariant* (issue 8): a full pull either delivers every pending id exactly once, in the platform's
  order, or fails with a typed error that names the cause; never a short list, never a partial file.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import socket
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_provider_wdt import errors, protocol
from airflow_provider_wdt.simulator import WdtSimulator
from airflow_provider_wdt.simulator.faults import Fault, FaultPlan

# Distinctive credentials, so a leak is unmistakable in any text (and no other test uses them).
SID = "relsid"
APPKEY = "relkey"
SECRET = "RelSecret7f3a9c"
SALT = "RelSalt2b8e41"
APPSECRET = f"{SECRET}:{SALT}"
#: Extras that make retries instant; max_retries stays at the default 3 (4 attempts in all).
FAST_EXTRA: dict[str, Any] = {"retry_wait": 0, "rate_limit_wait": 0}
MAX_ATTEMPTS = 4
PENDING_METHOD = "sales.StockSync.getSelfWaitSyncIdListOpen"
#: Timeout extra and slow-fault delay used together: each slow answer costs exactly one timeout.
SLOW_TIMEOUT = 0.2
SLOW_SECONDS = 1.0


def make_simulator(pending: int = 0, seed: int = 7, tie_mode: str = "after", **kwargs: Any) -> WdtSimulator:
    """A (not yet started) simulator whose default seller has the distinctive credentials above."""
    sim = WdtSimulator(
        sid=SID, appkey=APPKEY, appsecret=APPSECRET, pending=pending, seed=seed, tie_mode=tie_mode, **kwargs
    )
    sim.faults = ProgrammedFaults(sim)
    return sim


def connection(sim: WdtSimulator, *, sid: str | None = None, **extra: Any) -> dict[str, Any]:
    """The simulator's connection document with fast retries plus ``extra``."""
    conn = sim.connection(sid)
    conn["extra"] = {**conn["extra"], **FAST_EXTRA, **extra}
    return conn


def set_env_connection(conn_id: str, conn: dict[str, Any]) -> None:
    os.environ["AIRFLOW_CONN_" + conn_id.upper()] = json.dumps(conn)


def free_port() -> int:
    """A port on 127.0.0.1 nobody listens on (bound and released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- faults ------------------------------------------------------------------------------------------------


class ProgrammedFaults(FaultPlan):
    """The simulator's FaultPlan, plus: a count of requests that arrived, actions run when request
    number k arrives (to start a fault burst, a clock jump or a credential change in the middle of a
    pull), slow random faults that outlast the client's timeout, and a tally of faults injected."""

    def __init__(self, sim: WdtSimulator) -> None:
        super().__init__()
        self.sim = sim
        self._count_lock = threading.Lock()
        self.requests = 0
        self.injected: Counter[str] = Counter()
        self.slow_seconds = SLOW_SECONDS
        self._actions: dict[int, list[Callable[[], object]]] = {}

    def reset_count(self) -> None:
        with self._count_lock:
            self.requests = 0
            self._actions.clear()

    def at(self, request_number: int, action: Callable[[], object]) -> None:
        """Run ``action`` when request ``request_number`` (1-based, counted from now) arrives."""
        with self._count_lock:
            self._actions.setdefault(self.requests + request_number, []).append(action)

    def take(self) -> Fault | None:
        with self._count_lock:
            self.requests += 1
            actions = self._actions.pop(self.requests, [])
        for action in actions:
            action()
        fault = super().take()
        if fault is not None:
            with self._count_lock:
                self.injected[fault_label(fault)] += 1
        return fault

    def _random_fault(self, kind: str) -> Fault:
        if kind == "slow":
            return Fault("slow", seconds=self.slow_seconds)
        return super()._random_fault(kind)


def fault_label(fault: Fault) -> str:
    if fault.kind in ("http_error", "db_error"):
        return f"{fault.kind}:{fault.status}"
    if fault.kind == "rate_limit":
        return f"rate_limit:{fault.rate_kind}{':ascii' if fault.ascii_comma else ''}"
    return fault.kind


@dataclass(frozen=True)
class FaultCase:
    """One fault of the matrix. ``program(sim, n)`` queues ``n`` consecutive faulted answers (or another
    disturbance) on the simulator, to hit the next requests from the moment it runs."""

    name: str
    program: Callable[[WdtSimulator, int], None]
    error: type[errors.WdtError]
    #: Words the error message must contain: it names the cause.
    needles: tuple[str, ...]
    #: Whether the client retries it (False: the first one fails the call).
    retryable: bool = True
    #: Extra connection settings this fault needs (a short timeout for slow answers).
    extra: dict[str, Any] = field(default_factory=dict)
    #: Requests one occurrence costs beyond the answer that finally succeeds (skew: exactly one).
    transient_n: int = MAX_ATTEMPTS - 1


def _skew(offset: float) -> Callable[[WdtSimulator, int], None]:
    def program(sim: WdtSimulator, n: int) -> None:
        sim.clock_offset = offset

    return program


def _skew_jump(sim: WdtSimulator, n: int) -> None:
    """The platform's clock is 10 min ahead, and jumps 10 min behind right after the client corrected."""
    sim.clock_offset = 600.0
    faults = sim.faults
    assert isinstance(faults, ProgrammedFaults)
    faults.at(1, lambda: setattr(sim, "clock_offset", -600.0))


def _revoke(sim: WdtSimulator, n: int) -> None:
    """The appkey is changed on the platform side in the middle of a pull."""
    sim.seller().appkey = "revoked-" + sim.seller().appkey


GAVE_UP = "gave up after 4 attempts"
FAULT_CASES: tuple[FaultCase, ...] = (
    FaultCase("HTTP 500", lambda s, n: s.faults.http_error(n, 500), errors.WdtServerError, ("HTTP 500",)),
    FaultCase("HTTP 502", lambda s, n: s.faults.http_error(n, 502), errors.WdtServerError, ("HTTP 502",)),
    FaultCase("HTTP 503", lambda s, n: s.faults.http_error(n, 503), errors.WdtServerError, ("HTTP 503",)),
    FaultCase(
        "HTTP 429", lambda s, n: s.faults.http_error(n, 429), errors.WdtRateLimitError, ("429", "Too Many")
    ),
    FaultCase(
        "dropped connection",
        lambda s, n: s.faults.drop(n),
        errors.WdtTransportError,
        ("could not reach", "RemoteDisconnected"),
    ),
    FaultCase(
        "slow answer past the timeout",
        lambda s, n: s.faults.slow(n, SLOW_SECONDS),
        errors.WdtTransportError,
        ("no answer", f"within {SLOW_TIMEOUT:g} s", "timeout"),
        extra={"timeout": SLOW_TIMEOUT},
    ),
    FaultCase("HTML page", lambda s, n: s.faults.html(n), errors.WdtBadResponseError, ("HTML",)),
    FaultCase(
        "truncated JSON",
        lambda s, n: s.faults.truncated_json(n),
        errors.WdtBadResponseError,
        ("not valid JSON",),
    ),
    FaultCase(
        "rate limit (calls, full-width comma)",
        lambda s, n: s.faults.rate_limit(n, "calls"),
        errors.WdtRateLimitError,
        ("status 100", "超过每分钟最大调用频率限制", "per-minute"),
    ),
    FaultCase(
        "rate limit (concurrency, ASCII comma)",
        lambda s, n: s.faults.rate_limit(n, "concurrency", ascii_comma=True),
        errors.WdtRateLimitError,
        ("status 100", "超过每分钟最大并发次数限制", "per-minute"),
    ),
    FaultCase(
        "db status 4", lambda s, n: s.faults.db_error(n, 4), errors.WdtServerError, ("status 4", "database")
    ),
    FaultCase(
        "db status 5", lambda s, n: s.faults.db_error(n, 5), errors.WdtServerError, ("status 5", "database")
    ),
    FaultCase(
        "db status 1064",
        lambda s, n: s.faults.db_error(n, 1064),
        errors.WdtServerError,
        ("status 1064", "Unknown Database Error"),
    ),
    FaultCase(
        "server clock +10 min",
        _skew(600.0),
        errors.WdtTimestampError,
        ("status 7",),
        transient_n=1,
    ),
    FaultCase(
        "server clock -10 min",
        _skew(-600.0),
        errors.WdtTimestampError,
        ("status 7",),
        transient_n=1,
    ),
)
#: Faults that must fail the call at once (or after the one skew correction), not be retried.
FATAL_CASES: tuple[FaultCase, ...] = (
    FaultCase(
        "HTTP 404 (not an endpoint)",
        lambda s, n: s.faults.http_error(n, 404),
        errors.WdtEndpointError,
        ("HTTP 404", "/openapi"),
        retryable=False,
    ),
    FaultCase(
        "appkey revoked mid-pull",
        _revoke,
        errors.WdtAuthError,
        ("status 1", "app auth fail", "appkey"),
        retryable=False,
    ),
    FaultCase(
        "clock jumps again after correction",
        _skew_jump,
        errors.WdtTimestampError,
        ("status 7", "clock"),
        retryable=False,
        transient_n=1,
    ),
)


# -- operations --------------------------------------------------------------------------------------------


class RecordingTI:
    """The TaskInstance part the operator uses (xcom_push), recording what it pushes."""

    def __init__(self) -> None:
        self.xcoms: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value


@dataclass
class Outcome:
    """What one operation did. ``ids`` on success; ``error`` an exception (or, for a trigger, a
    RuntimeError carrying the error event) on failure. ``texts`` collects every user-visible string it
    produced (XComs, events, rendered fields, error texts) for the secret scan."""

    ids: list[int] | None = None
    error: BaseException | None = None
    event: dict[str, Any] | None = None
    xcoms: dict[str, Any] = field(default_factory=dict)
    texts: list[str] = field(default_factory=list)
    output: str | None = None


class TriggerFailed(Exception):
    """A trigger ended with an error or timeout event (stands in for the sensor failing on it)."""

    def __init__(self, event: dict[str, Any]) -> None:
        super().__init__(event.get("message"))
        self.event = event


def read_ids(path: Path | str, fmt: str, opener: Callable[[str], Any] | None = None) -> list[int]:
    """Parse an output the operator wrote; strict, so a partial file fails loudly."""
    if opener is None:
        text = Path(path).read_text(encoding="utf-8")
    else:
        with opener(str(path)) as handle:
            text = handle.read().decode("utf-8")
    if fmt == "json":
        value = json.loads(text)
        assert isinstance(value, list)
        return [int(v) for v in value]
    lines = text.splitlines()
    assert text.endswith("\n") or not text, "output does not end with a newline"
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(text)))
        assert rows[0] == ["rec_id"], rows[:1]
        return [int(row[0]) for row in rows[1:]]
    return [int(line) for line in lines]


OP_KINDS = (
    "hook",
    "op_xcom",
    "op_json",
    "op_ndjson",
    "op_csv",
    "op_memory",
    "sensor_poke",
    "sensor_deferred",
    "trigger",
)
FILE_SUFFIX = {"op_json": "json", "op_ndjson": "ndjson", "op_csv": "csv", "op_memory": "json"}
#: Operations that read the whole list (the others read one page from position 0).
FULL_PULLS = ("hook", "op_xcom", "op_json", "op_ndjson", "op_csv", "op_memory")


def run_operation(
    kind: str,
    conn_id: str,
    *,
    count: int = 10,
    out_dir: Path | None = None,
    memory_root: str | None = None,
    trigger_seconds: float = 5.0,
    poll_interval: float = 0.02,
    render: bool = False,
) -> Outcome:
    """Run one operation and return its outcome; never raises for a WdtError (the outcome carries it)."""
    outcome = Outcome()
    try:
        if kind == "hook":
            _run_hook(conn_id, count, outcome)
        elif kind.startswith("op_"):
            _run_operator(kind, conn_id, count, out_dir, memory_root, outcome, render)
        elif kind == "sensor_poke":
            _run_sensor(conn_id, outcome)
        elif kind == "sensor_deferred":
            _run_deferred_sensor(conn_id, outcome, trigger_seconds, poll_interval)
        elif kind == "trigger":
            _run_trigger(conn_id, outcome, trigger_seconds, poll_interval)
        else:
            raise ValueError(kind)
    except Exception as exc:
        outcome.error = exc
        outcome.texts.extend(exception_texts(exc))
    return outcome


def _run_hook(conn_id: str, count: int, outcome: Outcome) -> None:
    from airflow_provider_wdt.hooks.wdt import WdtHook

    hook = WdtHook(conn_id)
    try:
        outcome.ids = list(hook.iter_pending_sync_ids(count=count))
    finally:
        hook.close()


def _run_operator(
    kind: str,
    conn_id: str,
    count: int,
    out_dir: Path | None,
    memory_root: str | None,
    outcome: Outcome,
    render: bool,
) -> None:
    from airflow_provider_wdt.operators.wdt import WdtPendingSyncIdsOperator

    output_path: str | None = None
    fmt = FILE_SUFFIX.get(kind)
    if kind == "op_memory":
        assert memory_root is not None
        output_path = f"{memory_root}/ids.{fmt}"
    elif fmt is not None:
        assert out_dir is not None
        output_path = str(out_dir / f"ids.{fmt}")
    outcome.output = output_path
    op = WdtPendingSyncIdsOperator(
        task_id=f"pull_{kind}",
        wdt_conn_id="{{ params.conn }}" if render else conn_id,
        count=count,
        output_path=output_path,
        params={"conn": conn_id},
    )
    ti = RecordingTI()
    context: dict[str, Any] = {"ti": ti, "params": {"conn": conn_id}}
    if render:
        rendered = render_fields(op, context)
        outcome.texts.extend(f"{k}={v!r}" for k, v in rendered.items())
    result = op.execute(context)  # type: ignore[arg-type]
    outcome.xcoms = {"return_value": result, **ti.xcoms}
    outcome.texts.append(repr(outcome.xcoms))
    if output_path is None:
        assert isinstance(result, list)
        outcome.ids = list(result)
    else:
        assert result == output_path, (result, output_path)
        opener = None
        if kind == "op_memory":
            from airflow_provider_wdt._compat import object_storage_path

            def opener(url: str) -> Any:
                return object_storage_path(url).open("rb")

        assert fmt is not None
        outcome.ids = read_ids(output_path, fmt, opener)
    assert ti.xcoms.get("id_count") == len(outcome.ids), ti.xcoms


def render_fields(op: Any, context: dict[str, Any]) -> dict[str, Any]:
    """Render the operator's template fields as a task run would; returns {field: rendered value}."""
    op.render_template_fields(context)
    return {name: getattr(op, name) for name in op.template_fields}


def _run_sensor(conn_id: str, outcome: Outcome) -> None:
    from airflow_provider_wdt.sensors.wdt import WdtPendingSyncSensor

    sensor = WdtPendingSyncSensor(task_id="wait", wdt_conn_id=conn_id, poke_interval=0.01, timeout=5)
    result = sensor.poke({})  # type: ignore[arg-type]
    outcome.xcoms = {"return_value": result.xcom_value}
    outcome.texts.append(repr(result.xcom_value))
    value: Any = result.xcom_value
    outcome.ids = list(value["rec_ids"]) if result.is_done else []


def _run_deferred_sensor(conn_id: str, outcome: Outcome, seconds: float, poll_interval: float) -> None:
    """The deferrable sensor as Airflow drives it: execute (first poke, then TaskDeferred), the trigger
    until its event, then execute_complete with that event."""
    from airflow_provider_wdt._compat import TaskDeferred
    from airflow_provider_wdt.sensors.wdt import WdtPendingSyncSensor

    sensor = WdtPendingSyncSensor(
        task_id="wait_deferred",
        wdt_conn_id="{{ params.conn }}",
        deferrable=True,
        poke_interval=poll_interval,
        timeout=seconds,
        params={"conn": conn_id},
    )
    context: dict[str, Any] = {"params": {"conn": conn_id}}
    rendered = render_fields(sensor, context)
    outcome.texts.extend(f"{k}={v!r}" for k, v in rendered.items())
    try:
        result = sensor.execute(context)  # type: ignore[arg-type]
    except TaskDeferred as deferred:
        classpath, kwargs = deferred.trigger.serialize()
        outcome.texts.append(f"{classpath} {json.dumps(kwargs)} {deferred.method_name}")
        event = first_event(deferred.trigger, seconds + 30)
        outcome.event = event
        outcome.texts.append(json.dumps(event, ensure_ascii=False))
        result = getattr(sensor, deferred.method_name)(context, event)
    outcome.xcoms = {"return_value": result}
    outcome.texts.append(repr(result))
    outcome.ids = list(result["rec_ids"])


def first_event(trigger: Any, timeout: float) -> dict[str, Any]:
    """Run a trigger on a fresh event loop until its first event; bounded by ``timeout``."""

    async def run() -> dict[str, Any]:
        agen = trigger.run()
        try:
            event = await asyncio.wait_for(agen.__anext__(), timeout)
        finally:
            await agen.aclose()
        return dict(event.payload)

    return asyncio.run(run())


def _run_trigger(conn_id: str, outcome: Outcome, seconds: float, poll_interval: float) -> None:
    from airflow_provider_wdt.triggers.wdt import WdtPendingSyncTrigger

    trigger = WdtPendingSyncTrigger(
        wdt_conn_id=conn_id, poll_interval=poll_interval, end_time=time.time() + seconds
    )
    classpath, kwargs = trigger.serialize()
    outcome.texts.append(f"{classpath} {json.dumps(kwargs)}")  # must be JSON-safe, and secret-free
    event = first_event(trigger, seconds + 30)
    outcome.event = event
    outcome.texts.append(json.dumps(event, ensure_ascii=False))
    if event.get("status") != "success":
        raise TriggerFailed(event)
    outcome.ids = list(event["rec_ids"])


# -- invariants --------------------------------------------------------------------------------------------


def expected_ids(sim: WdtSimulator, kind: str, sid: str | None = None) -> list[int]:
    """The truth, from the simulator's state (no request): all pending ids in order, or the first page."""
    if kind in FULL_PULLS:
        return sim.pending_ids(sid)
    ids, _ = sim.seller(sid).page(10, 0, sim.tie_mode, sim.server_wdt_time())
    return ids


def leftovers(out_dir: Path | None, memory_root: str | None) -> list[str]:
    """Files (temporary ones included) an operation left in its output folder or object prefix."""
    found: list[str] = []
    if out_dir is not None and out_dir.exists():
        found += sorted(str(p.relative_to(out_dir)) for p in out_dir.rglob("*") if p.is_file())
    if memory_root is not None:
        from airflow_provider_wdt._compat import object_storage_path

        root = object_storage_path(memory_root)
        if root.fs.exists(root.path):
            found += sorted(str(p) for p in root.fs.find(root.path))
    return found


def check_invariant(
    outcome: Outcome,
    expected: list[int],
    *,
    out_dir: Path | None = None,
    memory_root: str | None = None,
) -> str:
    """Assert issue 8's rule for one outcome; returns "ok" or the error's class name.

    Success: exactly the expected ids, each once, in order, and (file outputs) exactly one file holding
    them. Failure: a typed WdtError (or a trigger's error/timeout event) with a message, and no output
    file and no temporary file left behind.
    """
    if outcome.error is None:
        assert outcome.ids is not None
        assert len(outcome.ids) == len(set(outcome.ids)), "an id was delivered twice"
        assert outcome.ids == expected, f"delivered {len(outcome.ids)} ids, expected {len(expected)}"
        files = leftovers(out_dir, memory_root)
        if outcome.output is not None:
            assert len(files) == 1 and not files[0].startswith("."), files
        return "ok"
    error = outcome.error
    if isinstance(error, TriggerFailed):
        assert error.event.get("status") in ("error", "timeout"), error.event
        assert error.event.get("message"), error.event
        name = str(error.event.get("error_type"))
    else:
        assert isinstance(error, errors.WdtError), "".join(traceback.format_exception(error))
        assert str(error), "an error without a message"
        name = type(error).__name__
    assert leftovers(out_dir, memory_root) == [], "a failed pull left output behind"
    return name


# -- secrets -----------------------------------------------------------------------------------------------


class SignRecorder:
    """Records every sign value the provider computes (protocol.compute_sign is wrapped)."""

    def __init__(self) -> None:
        self.signs: set[str] = set()
        self._original = protocol.compute_sign

    def __enter__(self) -> SignRecorder:
        original = self._original

        def recording(secret: str, params: Any, body: str) -> str:
            sign = original(secret, params, body)
            self.signs.add(sign)
            return sign

        protocol.compute_sign = recording
        return self

    def __exit__(self, *exc: object) -> None:
        protocol.compute_sign = self._original


def exception_texts(exc: BaseException) -> list[str]:
    """Every text an exception carries: str, repr, attributes, the formatted traceback, and the whole
    chain of __cause__ and __context__, the suppressed context included."""
    texts: list[str] = []
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        texts.append(f"{type(current).__name__}: {current!s} | {current!r}")
        texts.extend(repr(v) for v in vars(current).values() if not isinstance(v, BaseException))
        texts.append("".join(traceback.format_exception(type(current), current, current.__traceback__)))
        for nxt in (current.__cause__, current.__context__):
            if nxt is not None:
                stack.append(nxt)
    return texts


def find_secrets(texts: Iterable[str], signs: Iterable[str] = ()) -> list[str]:
    """The secret values found in ``texts`` (empty when clean). The masker's ``***`` is fine."""
    blob = "\n".join(texts)
    needles = {"secret": SECRET, "salt": SALT, "appsecret": APPSECRET}
    found = [f"{name} ({value})" for name, value in needles.items() if value in blob]
    found += [f"sign {sign}" for sign in signs if sign in blob]
    return found


# -- resources ---------------------------------------------------------------------------------------------


def open_fds() -> int:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:  # not Linux
        return -1


def open_sockets() -> int:
    """TCP sockets this process holds (client and server side)."""
    count = 0
    try:
        for name in os.listdir("/proc/self/fd"):
            try:
                if os.readlink(f"/proc/self/fd/{name}").startswith("socket:"):
                    count += 1
            except OSError:
                continue
    except OSError:
        return -1
    return count


def rss_mib() -> float:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return -1.0


@contextmanager
def env_connection(conn_id: str, conn: dict[str, Any]) -> Iterator[None]:
    """Set AIRFLOW_CONN_<ID> for the block (the soak has no monkeypatch)."""
    name = "AIRFLOW_CONN_" + conn_id.upper()
    old = os.environ.get(name)
    os.environ[name] = json.dumps(conn)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


def attach_memory_filesystem() -> None:
    """Make ``memory://`` usable through ObjectStoragePath (not registered by default on 2.11 or 3.x)."""
    from fsspec.implementations.memory import MemoryFileSystem

    from airflow_provider_wdt._compat import AIRFLOW_V_3

    if AIRFLOW_V_3:
        from airflow.sdk.io import attach
    else:
        from airflow.io.store import attach  # type: ignore[no-redef]
    attach("memory", fs=MemoryFileSystem())
