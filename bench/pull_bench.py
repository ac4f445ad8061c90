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

This module is the CLI and the order of the parts; the rest of ``bench/``: ``common`` (names, sizes),
``reference`` (the reference client), ``workers`` (the child-process measurements), ``procs`` (starting and
stopping children), ``imports`` (import cost), ``report`` (printing and targets).
"""

from __future__ import annotations

import dataclasses
import shutil
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench.cli import bench_parser, chosen_sections, run_to_exit_code
from bench.common import FULL, SMOKE, Plan
from bench.imports import measure_imports
from bench.procs import Runner, Worker
from bench.reference import check_reference_sign
from bench.report import (
    Verdicts,
    heading,
    machine_line,
    package_version,
    report_coldstart,
    report_imports,
    report_memory,
    report_requests,
    report_wall,
)
from bench.workers import WORKERS, worker_main

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


def _command_line() -> list[str]:
    return [Path(sys.executable).name, "-m", "bench.pull_bench", *sys.argv[1:]]


def main(argv: list[str] | None = None) -> int:
    smoke = "small sizes, for CI (< 60 s)"
    parser = bench_parser("bench.pull_bench", __doc__ or "", SECTIONS, WORKERS, smoke)
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of one operator pull")
    parser.add_argument(
        "--ids", type=int, help="ids in the wall-time pull (default: 1,000,000; smoke 20,000)"
    )
    parser.add_argument("--rounds", type=int, help="timed runs per side in the wall-time part (default: 7)")
    args = parser.parse_args(argv)
    if args.worker:
        return worker_main(args.worker, args.params, args.result)
    plan = SMOKE if args.smoke else FULL
    if args.ids is not None:
        plan = dataclasses.replace(plan, ids=args.ids)
    if args.rounds is not None:
        plan = dataclasses.replace(plan, rounds=max(1, args.rounds))
    sections = chosen_sections(parser, args.only, SECTIONS)
    return run_to_exit_code(lambda: run(plan, sections, args.strict, args.profile))


if __name__ == "__main__":
    sys.exit(main())
