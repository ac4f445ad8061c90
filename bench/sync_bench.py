"""Stock sync at production scale over a simulated 30 ms round trip (issue 12).

``python -m bench.sync_bench`` (part of ``make bench``) measures, with the simulator in its own process
(``--latency-ms 30 --connect-latency-ms 30``) and the shop stand-in in another (20 ms per push):

1. a full pull of pending ids: ``WdtPendingSyncIdsOperator`` against the minimal keep-alive client;
2. ``WdtStockSyncOperator`` items per minute at ``max_concurrency`` 1 and 4 and ``shop_concurrency``
   1 and 8 (20,000 items at 4/8; the slow combinations on fewer items, enough for a steady rate);
3. ``calls_per_minute`` set below what the link allows, with the simulator enforcing the same limit: the
   call rate reached over whole windows, the most calls in any window, and refusals;
4. the sync's peak RSS growth at two sizes of N (target: flat).

``--smoke`` (``make bench-smoke``, CI) runs every part at a tiny size (the window shortened to 2 s).
Exit status 1 only when something is broken (a refusal, a wrong count, a crash), or with ``--strict``
when a target is missed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.cli import bench_parser, chosen_sections, run_to_exit_code
from bench.common import REPO_ROOT, BenchBroken, Plan
from bench.procs import Runner, stop_process
from bench.report import Verdicts, heading, machine_line, package_version
from bench.sync_workers import WORKERS, worker_main

MODULE = "bench.sync_bench"
LATENCY_MS = 30
SHOP_MS = 20
MIN_RATE_SHARE = 0.95
MAX_MEMORY_SPREAD_MB = 5.0


@dataclass(frozen=True)
class SyncPlan:
    name: str
    pull_ids: int
    pull_count: int
    pull_rounds: int
    matrix: tuple[tuple[int, int, int], ...]  # (max_concurrency, shop_concurrency, items)
    rate_limit: int  # calls per window
    rate_window: float  # seconds
    rate_windows: int  # whole windows measured
    memory_ids: tuple[int, int]
    timeout: float


FULL = SyncPlan(
    name="full",
    pull_ids=200_000,
    pull_count=5000,
    pull_rounds=3,
    matrix=((1, 1, 400), (4, 1, 400), (1, 8, 1000), (4, 8, 20_000)),
    rate_limit=600,
    rate_window=60.0,
    rate_windows=2,
    memory_ids=(2_000, 20_000),
    timeout=600.0,
)
SMOKE = SyncPlan(
    name="smoke",
    pull_ids=5_000,
    pull_count=1000,
    pull_rounds=1,
    matrix=((1, 1, 30), (4, 8, 300)),
    rate_limit=40,
    rate_window=2.0,
    rate_windows=2,
    memory_ids=(200, 1_000),
    timeout=180.0,
)


class Shop:
    """``python -m airflow_provider_wdt.simulator.shop --port 0 --delay-ms 20`` in its own process."""

    def __init__(self, env: dict[str, str], delay_ms: float) -> None:
        command = [
            sys.executable,
            "-m",
            "airflow_provider_wdt.simulator.shop",
            "--port",
            "0",
            "--delay-ms",
            str(delay_ms),
        ]
        self.process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+)", line)
        if not match:
            self.stop()
            raise BenchBroken(f"shop stand-in said {line!r} instead of its URL")
        self.url = match.group(1)

    def stop(self) -> None:
        stop_process(self.process)


def _runner_plan(plan: SyncPlan) -> Plan:
    """The pull benchmark's Plan type, which Runner needs for its timeouts."""
    from bench.common import SMOKE as PULL_SMOKE

    return Plan(**{**PULL_SMOKE.__dict__, "name": plan.name, "timeout": plan.timeout})


SECTIONS = ("pull", "sync", "rate", "memory")


def run(plan: SyncPlan, strict: bool, sections: set[str]) -> int:
    verdicts = Verdicts()
    started = time.perf_counter()
    heading(f"WDT stock-sync benchmark ({plan.name}), simulated round trip {LATENCY_MS} ms")
    print(f"  machine: {machine_line()}")
    print(f"  Airflow {package_version('apache-airflow')}, requests {package_version('requests')}")
    print(f"  command: {Path(sys.executable).name} -m {MODULE} {' '.join(sys.argv[1:])}".rstrip(), flush=True)
    latency = ("--latency-ms", str(LATENCY_MS), "--connect-latency-ms", str(LATENCY_MS))
    with ExitStack() as stack:
        tmp = Path(tempfile.mkdtemp(prefix="wdt-sync-bench-"))
        stack.callback(shutil.rmtree, tmp, True)
        runner = Runner(tmp, _runner_plan(plan), stack)
        shop = Shop(runner.env, SHOP_MS)
        stack.callback(shop.stop)

        def sync(kind: str, pending: int, sim_args: tuple[str, ...], **params: Any) -> dict[str, Any]:
            sim = runner.simulator(pending, *sim_args)
            try:
                url = sim.url(plan.timeout)
                return runner.run(kind, module=MODULE, url=url, shop_url=shop.url, ids=pending, **params)
            finally:
                sim.stop()

        if "pull" in sections:
            _pull(plan, runner, latency, verdicts)
        if "sync" in sections:
            _matrix(plan, sync, latency)
        if "rate" in sections:
            _rate(plan, sync, latency, verdicts)
        if "memory" in sections:
            _memory(plan, sync, verdicts)
    heading("targets")
    print("\n".join(verdicts.lines))
    print(f"\n  {plan.name} run took {time.perf_counter() - started:.0f} s", flush=True)
    return 1 if strict and verdicts.missed else 0


def _pull(plan: SyncPlan, runner: Runner, latency: tuple[str, ...], verdicts: Verdicts) -> None:
    heading(
        f"1. Full pull over {LATENCY_MS} ms: {plan.pull_ids:,} ids, count {plan.pull_count}, operator vs the "
        f"minimal keep-alive client, {plan.pull_rounds} alternating rounds"
    )
    sim = runner.simulator(plan.pull_ids, *latency)
    try:
        result = runner.run(
            "wall",
            url=sim.url(plan.timeout),
            ids=plan.pull_ids,
            count=plan.pull_count,
            rounds=plan.pull_rounds,
        )
    finally:
        sim.stop()
    best: dict[str, float] = {}
    for side in ("operator", "reference"):
        walls = [r["wall"] for r in result["runs"] if r["side"] == side and r["label"] != "warm-up"]
        requests = max(r["requests"] for r in result["runs"] if r["side"] == side)
        best[side] = min(walls)
        print(
            f"  {side:<10} fastest {min(walls):.3f} s, slowest {max(walls):.3f} s, {requests} requests, "
            f"{plan.pull_ids / min(walls):,.0f} ids/s"
        )
    ratio = best["operator"] / best["reference"]
    same = result["same_output"]
    print(f"  ratio operator/reference (fastest/fastest): {ratio:.3f}; outputs identical: {same}")
    verdicts.add("pull over 30 ms within 5% of the minimal client", ratio <= 1.05, f"{ratio:.3f}")


def _matrix(plan: SyncPlan, sync: Any, latency: tuple[str, ...]) -> None:
    heading(f"2. Sync items per minute: {LATENCY_MS} ms round trip, shop {SHOP_MS} ms per push")
    print(
        f"  {'max_concurrency':>15} {'shop_concurrency':>16} {'items':>7} {'wall s':>8} {'items/min':>10} "
        f"{'WDT calls':>10}"
    )
    for max_concurrency, shop_concurrency, items in plan.matrix:
        result = sync(
            "sync", items, latency, max_concurrency=max_concurrency, shop_concurrency=shop_concurrency
        )
        rate = items / result["wall"] * 60
        print(
            f"  {max_concurrency:>15} {shop_concurrency:>16} {items:>7,} {result['wall']:8.1f} {rate:10,.0f} "
            f"{len(result['calls']):>10,}",
            flush=True,
        )


def _rate(plan: SyncPlan, sync: Any, latency: tuple[str, ...], verdicts: Verdicts) -> None:
    limit, window = plan.rate_limit, plan.rate_window
    shortened = "" if window == 60 else f", the window shortened to {window:g} s"
    heading(
        f"3. calls_per_minute={limit}{shortened}, the simulator enforcing the same limit; "
        f"max_concurrency 4, shop_concurrency 8, {LATENCY_MS} ms round trip"
    )
    items = plan.rate_windows * limit + 20  # the run goes on past the measured windows
    sim_args = (*latency, "--calls-per-minute", str(limit), "--rate-window", str(window))
    result = sync(
        "sync", items, sim_args, max_concurrency=4, shop_concurrency=8, calls_per_minute=limit, window=window
    )
    calls = sorted(result["calls"])
    t0 = calls[0]
    measured = sum(1 for t in calls if t < t0 + plan.rate_windows * window)
    reached = measured / plan.rate_windows
    busiest, j = 0, 0
    for i, t in enumerate(calls):
        while calls[j] <= t - window:
            j += 1
        busiest = max(busiest, i - j + 1)
    print(
        f"  {len(calls)} WDT calls in {result['wall']:.1f} s for {items} items; 0 refused "
        "(max_retries 0: a refusal would fail the run)"
    )
    print(f"  calls in the first {plan.rate_windows} whole windows: {measured} = {reached:.1f} per window")
    print(f"  most calls started in any {window:g} s: {busiest} (limit {limit})")
    share = reached / limit
    verdicts.add(
        f"rate reached >= {MIN_RATE_SHARE:.0%} of the limit", share >= MIN_RATE_SHARE, f"{share:.1%}"
    )
    verdicts.add("never more than the limit in a window, 0 refusals", busiest <= limit, f"{busiest}/{limit}")


def _memory(plan: SyncPlan, sync: Any, verdicts: Verdicts) -> None:
    heading("4. Peak RSS growth of a sync over its RSS before execute() (ids from a file; no latency)")
    growth: list[float] = []
    for n in plan.memory_ids:
        result = sync("sync_memory", n, (), max_concurrency=4, shop_concurrency=8)
        before, peak = result["rss_before_kb"] / 1024, result["peak_kb"] / 1024
        growth.append(peak - before)
        print(
            f"  {n:>8,} ids: before {before:.1f} MB, peak {peak:.1f} MB, growth {peak - before:.1f} MB",
            flush=True,
        )
    spread = growth[1] - growth[0]
    verdicts.add(
        f"memory flat in N (growth at {plan.memory_ids[1]:,} <= at {plan.memory_ids[0]:,} + "
        f"{MAX_MEMORY_SPREAD_MB:.0f} MB)",
        spread <= MAX_MEMORY_SPREAD_MB,
        f"{growth[0]:.1f} -> {growth[1]:.1f} MB",
    )


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(MODULE, __doc__ or "", SECTIONS, WORKERS, "tiny sizes, for CI")
    args = parser.parse_args(argv)
    if args.worker:
        return worker_main(args.worker, args.params, args.result)
    sections = chosen_sections(parser, args.only, SECTIONS)
    return run_to_exit_code(lambda: run(SMOKE if args.smoke else FULL, args.strict, sections))


if __name__ == "__main__":
    sys.exit(main())
