"""Import cost of the operator and sensor modules over ``import airflow.sdk`` (``python -X importtime``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.common import PACKAGE, REPO_ROOT, BenchBroken

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
