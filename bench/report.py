"""The printed report: one section per measured part, and the verdicts against the targets."""

from __future__ import annotations

import math
import os
import statistics
import sys
from dataclasses import dataclass, field
from typing import Any

from bench.common import Plan
from bench.imports import ImportEntry, import_tree, walk_tree

# Targets (issue 7).
MAX_WALL_RATIO = 1.10
MAX_FILE_GROWTH_MB = 25.0
MAX_IMPORT_MS = 50.0


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
