"""Stock sync at production scale over a simulated 30 ms round trip (issue 12).

``python -m bench.sync_bench`` (part of ``make bench``) measures, with the simulator in its own process
(``--latency-ms 30 --connect-latency-ms 30``) and the shop stand-in in another (20 ms per push):

1. a full pull of pending ids: ``WdtPendingSyncIdsOperator`` against the minimal keep-alive client;
2. ``WdtStockSyncOperator`` items per minute at ``max_concurrency`` 1 and 4 and ``shop_concurrency``
   1 and 8 (20,000 items at 4/8; the slow combinations on fewer items, enough for a steady rate);
3. ``calls_per_minute`` set below what the link allows, with the simulator enforcing the same limit: the
   call rate reached over whole windows, the most calls in any window, and refusals;
4. the sync's peak RSS growth at two sizes of N (target: flat);
5. the rate budget (issue 20): a first sync of N items preceded by its pull, each in its own process
   sharing the seller's call ledger, at a ``calls_per_minute`` the simulator enforces too; the sync is
   ``kill -9``'d halfway and resumed. Calls per window against the limit, refusals, items reported
   twice or never, from the simulator's own state (``GET /_simulator/state``).

``--smoke`` (``make bench-smoke``, CI) runs every part at a tiny size (the window shortened to 2 s).
Exit status 1 only when something is broken (a refusal, a wrong count, a crash), or with ``--strict``
when a target is missed.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
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
    budget_items: int
    budget_limit: int  # calls per budget_window
    budget_window: float
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
    budget_items=20_000,
    budget_limit=4_800,
    budget_window=60.0,
    timeout=900.0,
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
    budget_items=300,
    budget_limit=60,
    budget_window=2.0,
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


SECTIONS = ("pull", "sync", "rate", "memory", "budget")


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
        if "budget" in sections:
            _budget(plan, runner, shop.url, latency, tmp, verdicts)
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


def _outcomes(report: Path) -> int:
    if not report.exists():
        return 0
    with report.open(encoding="utf-8", errors="replace") as lines:
        return sum('"outcome"' in line for line in lines)


def _budget(
    plan: SyncPlan, runner: Runner, shop_url: str, latency: tuple[str, ...], tmp: Path, verdicts: Verdicts
) -> None:
    items, limit, window = plan.budget_items, plan.budget_limit, plan.budget_window
    heading(
        f"5. Rate budget: pull then first sync of {items:,} items, calls_per_minute={limit} per {window:g} s "
        f"(simulator too), max_concurrency 4, shop_concurrency 8, one kill -9 halfway and a resume"
    )
    limits = ("--calls-per-minute", str(limit), "--rate-window", str(window))
    sim = runner.simulator(items, *latency, *limits)
    try:
        url = sim.url(plan.timeout)
        common: dict[str, Any] = {
            "module": MODULE,
            "url": url,
            "shop_url": shop_url,
            "ids": items,
            "max_concurrency": 4,
            "calls_per_minute": limit,
            "rate_window": window,
            "ledger_dir": str(tmp / "ledger"),
        }
        started = time.perf_counter()
        pulled = runner.run("pull", **common)
        report = tmp / "budget-report.ndjson"
        sync_params = {**common, "path": pulled["path"], "report": str(report), "shop_concurrency": 8}
        victim = runner.start("sync_file", **sync_params)
        deadline = time.perf_counter() + plan.timeout
        while _outcomes(report) < items // 2:
            if victim.process.poll() is not None or time.perf_counter() > deadline:
                raise BenchBroken(f"the sync to kill ended or stalled before reporting {items // 2} items")
            time.sleep(0.05)
        victim.process.kill()  # SIGKILL: nothing runs after it, as with kill -9
        victim.process.wait()
        killed_at = _outcomes(report)
        resumed = runner.run("sync_file", **sync_params)
        wall = time.perf_counter() - started
        state = _state(url)
    finally:
        sim.stop()
    seller = next(iter(state["sellers"].values()))
    reported = [item["reported"] for item in seller["items"].values()]
    twice, never = sum(n > 1 for n in reported), sum(n == 0 for n in reported)
    per_window = seller["calls_per_window"]
    full = per_window[:-1]  # the last window is cut short by the end of the run
    mean = sum(full) / len(full) / limit if full else 0.0
    # The median full window: the rate while a sync runs, apart from the windows holding the starts of
    # the three processes (a few seconds each, most of a shortened smoke window).
    reached = sorted(full)[len(full) // 2] / limit if full else 0.0
    print(
        f"  {seller['requests']:,} requests in {wall:.1f} s (pull {pulled['wall']:.1f} s); killed after "
        f"{killed_at:,} outcomes; the resume: {resumed['summary']}"
    )
    print(f"  admitted calls per {window:g} s window: {per_window}")
    print(
        f"  full windows: median {reached:.1%} of the limit, mean {mean:.1%}; the busiest held "
        f"{seller['most_calls_in_any_window']} (limit {limit}); refusals: {seller['refusals']}"
    )
    print(f"  items reported twice: {twice}; never reported: {never} (of {len(reported):,})")
    if window < 10:
        print(f"  (a {window:g} s window is shorter than a process start: the rate figure is for 60 s)")
    verdicts.add("budget: 0 refusals", seller["refusals"] == 0, str(seller["refusals"]))
    verdicts.add("budget: 0 reported twice, 0 lost after kill -9", twice == never == 0, f"{twice}/{never}")
    verdicts.add(
        f"budget: median full window at >= {MIN_RATE_SHARE:.0%} of the limit",
        reached >= MIN_RATE_SHARE,
        f"{reached:.1%}",
    )
    if seller["refusals"] or twice or never:
        raise BenchBroken("the rate budget or exactly-once reporting did not hold (see above)")


def _state(url: str) -> dict[str, Any]:
    state_url = url.rsplit("/openapi", 1)[0] + "/_simulator/state"
    with urllib.request.urlopen(state_url, timeout=60) as answer:
        return dict(json.loads(answer.read()))


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(MODULE, __doc__ or "", SECTIONS, WORKERS, "tiny sizes, for CI")
    args = parser.parse_args(argv)
    if args.worker:
        return worker_main(args.worker, args.params, args.result)
    sections = chosen_sections(parser, args.only, SECTIONS)
    return run_to_exit_code(lambda: run(SMOKE if args.smoke else FULL, args.strict, sections))


if __name__ == "__main__":
    sys.exit(main())
