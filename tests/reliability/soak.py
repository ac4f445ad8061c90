"""The randomized soak: random pulls against randomly faulty simulators, each checked against issue 8's rule.

    python -m tests.reliability.soak --seed 1 --duration 1800 [--json figures.json]

Every iteration draws, from one seeded RNG: a pending list (0..3000 ids), a tie mode, a page size, one
operation (the hook's pull, the operator to XCom / JSON / NDJSON / CSV / memory://, a sensor poke, the
deferred sensor, the trigger, or the stock-sync workflow that calculates and reports every id), a random
fault mix (probability 0..0.35 of any of: HTTP 500/502/503, drops, slow answers past the timeout, HTML,
truncated JSON, both rate-limit messages, database statuses 4/5/1064) and sometimes a server clock
10 or 60 minutes off. It then checks:

* the outcome: every pending id exactly once, in order (or, for the workflow, every id reported and
  nothing left pending), or a typed WdtError naming its cause after bounded attempts, with no output or
  temporary file left behind (the workflow: exactly the unreported ids still pending);
* bounded requests: never more than 4 attempts per page (+1 per clock correction);
* no keep-alive connection left open by the client once the operation returned;
* over the run: open file descriptors, threads and memory stay flat.

The same seed replays the same sequence of scenarios (fault timing can differ with thread scheduling).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tests.helpers import attach_memory_filesystem, fast_connection, isolate_airflow_env

if __name__ == "__main__":  # a fresh interpreter: throw-away Airflow home, no stray connections
    isolate_airflow_env("wdt-soak-home-")
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "ERROR")  # the retry warnings are the noise

from airflow_provider_wdt import errors
from airflow_provider_wdt.simulator import WdtSimulator
from tests.reliability.environment import env_connection, make_simulator
from tests.reliability.faults import MAX_ATTEMPTS, SLOW_SECONDS, SLOW_TIMEOUT, programmed_faults
from tests.reliability.invariants import check_invariant, clean_pages, expected_ids
from tests.reliability.probes import open_fds, rss_mib
from tests.reliability.runners import FULL_PULLS, OP_KINDS, Outcome, TriggerFailed, run_operation

SOAK_OPS = (*OP_KINDS, "workflow")
ALL_FAULT_KINDS = ("http_error", "drop", "slow", "html", "truncated_json", "rate_limit", "db_error")
#: Words that name the cause, per error class, when a pull gives up.
CAUSE_WORDS: dict[str, tuple[str, ...]] = {
    "WdtServerError": ("HTTP 50", "database"),
    "WdtTransportError": ("could not reach", "no answer"),
    "WdtBadResponseError": ("HTML", "not valid JSON"),
    "WdtRateLimitError": ("per-minute", "429"),
    "WdtTimestampError": ("status 7",),
}
CONN_ID = "wdt_soak"


@dataclass
class SoakFigures:
    seed: int
    duration_asked: float
    elapsed: float = 0.0
    iterations: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    by_operation: dict[str, Counter[str]] = field(default_factory=dict)
    ids_delivered: int = 0
    ids_reported_synced: int = 0
    requests: int = 0
    faults_injected: Counter[str] = field(default_factory=Counter)
    skewed_iterations: int = 0
    violations: list[str] = field(default_factory=list)
    max_iteration_seconds: float = 0.0
    fds: list[int] = field(default_factory=list)
    threads: list[int] = field(default_factory=list)
    rss_mib: list[float] = field(default_factory=list)
    python_objects: list[int] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        data = asdict(self)
        data["by_operation"] = {k: dict(v) for k, v in sorted(self.by_operation.items())}
        data["outcomes"] = dict(self.outcomes.most_common())
        data["faults_injected"] = dict(sorted(self.faults_injected.items()))
        data["faults_total"] = sum(self.faults_injected.values())
        data["violations"] = self.violations[:20]
        data["violation_count"] = len(self.violations)
        for name in ("fds", "threads", "rss_mib", "python_objects"):
            series = getattr(self, name)
            data[name] = {"after_warmup": series[0], "end": series[-1], "max": max(series)} if series else {}
        return data


def _server_connections(sim: WdtSimulator) -> int:
    server = sim._server
    if server is None:
        return 0
    with server._lock:
        return len(server._sockets)


def _wait_connections_closed(sim: WdtSimulator, seconds: float) -> int:
    deadline = time.monotonic() + seconds
    while True:
        left = _server_connections(sim)
        if left == 0 or time.monotonic() > deadline:
            return left
        time.sleep(0.01)


def _remove_memory(root: str) -> None:
    from airflow_provider_wdt._compat import object_storage_path

    path = object_storage_path(root)
    if path.fs.exists(path.path):
        path.fs.rm(path.path, recursive=True)


def run_workflow(conn_id: str, count: int) -> Outcome:
    """The integrators' loop: page through the list, batchCalcStock each page, syncSuccess each id."""
    from airflow_provider_wdt.hooks.wdt import WdtHook
    from airflow_provider_wdt.sync.shapes import sync_info

    outcome = Outcome(ids=[])
    hook = WdtHook(conn_id)
    try:
        for page in hook.iter_pending_sync_pages(count):
            batch = hook.batch_calc_stock(page.rec_ids)
            if batch.errors:
                raise AssertionError(f"batchCalcStock refused {batch.errors[:3]}")
            for calc in batch.calculated:
                hook.sync_success(calc["rec_id"], sync_info(calc, success=True, result="soak"))
                assert outcome.ids is not None
                outcome.ids.append(int(calc["rec_id"]))
    except errors.WdtError as exc:
        outcome.error = exc
    finally:
        hook.close()
    return outcome


@dataclass(frozen=True)
class Scenario:
    """One randomized run: what is pending, how it is read, and what goes wrong."""

    op: str
    pending: int
    tie_mode: str
    count: int
    probability: float
    kinds: tuple[str, ...]
    skew: float
    sim_seed: int
    fault_seed: int

    def __str__(self) -> str:
        return (
            f"{self.op} pending={self.pending} {self.tie_mode} count={self.count} p={self.probability} "
            f"{','.join(self.kinds)} skew={self.skew:+g} seeds={self.sim_seed}/{self.fault_seed}"
        )


def draw(rng: random.Random) -> Scenario:
    op = rng.choice(SOAK_OPS)
    pending = rng.choice(
        [0, 1, 9, 10, 11, rng.randint(12, 120), rng.randint(120, 600), rng.randint(600, 3000)]
    )
    if op == "workflow":
        pending = min(pending, 150)  # two calls per id: keeps an iteration to seconds
    return Scenario(
        op=op,
        pending=pending,
        tie_mode=rng.choice(["after", "from"]),
        count=rng.choice([10, 10, 13, 37, 100, 500, 5000]),
        probability=rng.choice([0.0, 0.05, 0.1, 0.2, 0.35]),
        kinds=tuple(rng.sample(ALL_FAULT_KINDS, rng.randint(1, len(ALL_FAULT_KINDS)))),
        skew=rng.choice([0.0] * 8 + [600.0, -600.0, 3600.0]),
        sim_seed=rng.randrange(1 << 30),
        fault_seed=rng.randrange(1 << 30),
    )


@dataclass
class ScenarioResult:
    result: str
    violations: list[str]
    requests: int
    injected: Counter[str]
    delivered: int
    seconds: float


def run_scenario(scenario: Scenario, workdir: Path, memory_root: str) -> ScenarioResult:
    """Run one scenario against a fresh simulator and check everything; never raises for a violation."""
    op = scenario.op
    slow = "slow" in scenario.kinds and scenario.probability > 0
    extra: dict[str, Any] = {"timeout": SLOW_TIMEOUT} if slow else {}
    out_dir = workdir / uuid.uuid4().hex[:8]
    memory = f"{memory_root}/{uuid.uuid4().hex[:8]}"
    violations: list[str] = []
    started = time.monotonic()
    sim = make_simulator(pending=scenario.pending, seed=scenario.sim_seed, tie_mode=scenario.tie_mode)
    with sim:
        sim.clock_offset = scenario.skew
        faults = programmed_faults(sim)
        expected = expected_ids(sim, op if op != "workflow" else "hook")
        full = op in (*FULL_PULLS, "workflow")
        pages = clean_pages(sim, scenario.count) if full else 1
        faults.random(scenario.probability, scenario.kinds, seed=scenario.fault_seed)
        with env_connection(CONN_ID, fast_connection(sim, **extra)):
            if op == "workflow":
                outcome = run_workflow(CONN_ID, scenario.count)
            else:
                outcome = run_operation(
                    op,
                    CONN_ID,
                    count=scenario.count,
                    out_dir=out_dir,
                    memory_root=memory,
                    trigger_seconds=0.4 if scenario.pending == 0 else 6.0,
                    poll_interval=0.02,
                )
        faults.clear()
        try:
            result = _check(sim, op, outcome, expected, out_dir, memory)
        except AssertionError as exc:
            result = "VIOLATION"
            violations.append(f"{scenario}: {exc}")
        requests = faults.requests
        # Bounded: at most 4 attempts per call a clean run makes, +1 for the one clock correction.
        calls = pages if op != "workflow" else pages + 2 * len(expected)
        if op not in ("trigger", "sensor_deferred") and requests > calls * MAX_ATTEMPTS + 1:
            violations.append(f"{scenario}: {requests} requests for {calls} calls")
        left = _wait_connections_closed(sim, SLOW_SECONDS + 1.0 if slow else 0.5)
        if left:
            violations.append(f"{scenario}: {left} keep-alive connections left open by the client")
    if op == "op_memory":
        _remove_memory(memory)  # the in-memory store is the soak's, not the provider's: keep it small
    delivered = len(outcome.ids or ()) if result == "ok" else 0
    return ScenarioResult(
        result, violations, requests, faults.injected, delivered, time.monotonic() - started
    )


def one_iteration(rng: random.Random, figures: SoakFigures, workdir: Path, memory_root: str) -> None:
    scenario = draw(rng)
    done = run_scenario(scenario, workdir, memory_root)
    figures.violations.extend(f"#{figures.iterations} {v}" for v in done.violations)
    figures.iterations += 1
    figures.skewed_iterations += bool(scenario.skew)
    figures.requests += done.requests
    figures.faults_injected.update(done.injected)
    figures.outcomes[done.result] += 1
    figures.by_operation.setdefault(scenario.op, Counter())[done.result] += 1
    if scenario.op == "workflow":
        figures.ids_reported_synced += done.delivered
    else:
        figures.ids_delivered += done.delivered
    figures.max_iteration_seconds = max(figures.max_iteration_seconds, round(done.seconds, 2))


def _check(
    sim: WdtSimulator, op: str, outcome: Outcome, expected: list[int], out_dir: Path, memory: str
) -> str:
    if op == "workflow":
        reported = outcome.ids or []
        assert len(reported) == len(set(reported)), "an id was reported twice"
        assert set(reported) <= set(expected), "reported an id that was not pending"
        left = set(sim.pending_ids())
        assert left == set(expected) - set(reported), "pending list does not match what was reported"
        if outcome.error is None:
            assert not left, f"{len(left)} ids still pending after a successful workflow"
            return "ok"
        return _check_error(outcome.error)
    if op in ("trigger", "sensor_deferred") and not expected:
        # Nothing pending: the wait ends by its timeout, which is the right answer.
        if op == "trigger":
            assert outcome.event is not None and outcome.event.get("status") == "timeout", outcome.event
        else:
            assert type(outcome.error).__name__ == "AirflowSensorTimeout", repr(outcome.error)
        return "timeout (nothing pending)"
    result = check_invariant(outcome, expected, out_dir=out_dir, memory_root=memory)
    if result != "ok":
        assert outcome.error is not None
        _check_error(outcome.error)
    return result


def _check_error(error: BaseException) -> str:
    if isinstance(error, TriggerFailed):
        raise AssertionError(f"trigger ended with {error.event}")
    assert isinstance(error, errors.WdtError), repr(error)
    name = type(error).__name__
    message = str(error)
    assert any(word in message for word in CAUSE_WORDS.get(name, ("",))), f"{name} without cause: {message}"
    if error.retryable:
        assert "gave up after 4 attempts" in message, message
    return name


def _sample(figures: SoakFigures) -> None:
    gc.collect()
    figures.fds.append(open_fds())
    figures.threads.append(threading.active_count())
    figures.rss_mib.append(round(rss_mib(), 1))
    figures.python_objects.append(len(gc.get_objects()))


def run(
    seed: int,
    duration: float,
    *,
    max_iterations: int | None = None,
    workdir: Path | None = None,
    progress: bool = False,
) -> SoakFigures:
    """Soak for ``duration`` seconds (or ``max_iterations``); returns the figures (violations included)."""
    attach_memory_filesystem()
    rng = random.Random(seed)
    figures = SoakFigures(seed=seed, duration_asked=duration)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="wdt-soak-") as tmp:
        base = workdir or Path(tmp)
        next_report = started + 60
        while time.monotonic() - started < duration:
            if max_iterations is not None and figures.iterations >= max_iterations:
                break
            one_iteration(rng, figures, base, f"memory://wdt-soak-{seed}")
            if figures.iterations == 5 or figures.iterations % 25 == 0:  # after warm-up, then regularly
                _sample(figures)
            if progress and time.monotonic() > next_report:
                next_report += 60
                print(
                    f"[{time.monotonic() - started:6.0f} s] {figures.iterations} iterations, "
                    f"{figures.requests} requests, {sum(figures.faults_injected.values())} faults, "
                    f"{len(figures.violations)} violations, rss {rss_mib():.0f} MiB",
                    file=sys.stderr,
                    flush=True,
                )
    _sample(figures)
    figures.elapsed = round(time.monotonic() - started, 1)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Randomized soak of airflow-provider-wdt against the simulator"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    figures = run(args.seed, args.duration, progress=True)
    summary = figures.summary()
    text = json.dumps(summary, ensure_ascii=False, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text, encoding="utf-8")
    return 1 if figures.violations else 0


if __name__ == "__main__":
    sys.exit(main())
