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
    totals: dict[str, Counter[str]] = defaultdict(Counter)
    survivors: dict[str, Counter[str]] = defaultdict(Counter)
    for meta in sorted(root.rglob("*.py.meta")):
        module = str(meta.relative_to(root)).removesuffix(".meta")
        for key, code in json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"].items():
            if code is None:
                continue
            outcome = {SURVIVED: "survived", NOT_COVERED: "not covered"}.get(code, "killed")
            totals[module][outcome] += 1
            if outcome != "killed":
                function = key.rsplit("__mutmut_", 1)[0].rsplit(".", 1)[-1].replace("\u01c1", ".")
                survivors[module][function.removeprefix("x.").removeprefix("x_")] += 1
    print("| module | mutants | killed | survived | not covered | score |")
    print("| --- | --- | --- | --- | --- | --- |")
    for module, counts in sorted(totals.items()):
        run = sum(counts.values())
        print(
            f"| {module} | {run} | {counts['killed']} | {counts['survived']} | {counts['not covered']} "
            f"| {counts['killed'] / run:.0%} |"
        )
    killed, run = sum(c["killed"] for c in totals.values()), sum(sum(c.values()) for c in totals.values())
    print(f"| all | {run} | {killed} | | | {killed / max(run, 1):.0%} |\n")
    for module, functions in sorted(survivors.items()):
        print(f"- {module}: " + ", ".join(f"{name} ({n})" for name, n in functions.most_common()))


if __name__ == "__main__":
    main()
