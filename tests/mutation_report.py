"""Summarise a `make mutants` run: the score per module and the surviving mutants by function.

Reads mutmut's result files under ``mutants/`` (exit code 0: the tests passed with the mutant in place,
so it survived; 33: no test covers that function; anything else: killed or timed out).
Run: ``.venv/bin/python -m tests.mutation_report``.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

SURVIVED, NOT_COVERED = 0, 33


def main(root: Path = Path("mutants")) -> None:
    totals: Counter[str] = Counter()
    survivors: dict[str, Counter[str]] = defaultdict(Counter)
    for meta in sorted(root.rglob("*.py.meta")):
        module = str(meta.relative_to(root)).removesuffix(".meta")
        for key, code in json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"].items():
            if code is None:
                continue
            outcome = {SURVIVED: "survived", NOT_COVERED: "not covered"}.get(code, "killed")
            totals[f"{module} {outcome}"] += 1
            if outcome != "killed":
                function = key.rsplit("__mutmut_", 1)[0].rsplit(".", 1)[-1].replace("\u01c1", ".")
                survivors[module][function.removeprefix("x.").removeprefix("x_")] += 1
    modules = sorted({line.rsplit(" ", 1)[0].rsplit(" ", 1)[0] for line in totals})
    all_killed = all_run = 0
    print("| module | mutants | killed | survived | not covered | score |\n| --- | --- | --- | --- | --- | --- |")
    for module in modules:
        killed, survived = totals[f"{module} killed"], totals[f"{module} survived"]
        uncovered = totals[f"{module} not covered"]
        run = killed + survived + uncovered
        all_killed, all_run = all_killed + killed, all_run + run
        print(f"| {module} | {run} | {killed} | {survived} | {uncovered} | {killed / max(run, 1):.0%} |")
    print(f"| all | {all_run} | {all_killed} | | | {all_killed / max(all_run, 1):.0%} |\n")
    for module, functions in survivors.items():
        listed = ", ".join(f"{name} ({n})" for name, n in functions.most_common())
        print(f"- {module}: {listed}")


if __name__ == "__main__":
    main()
