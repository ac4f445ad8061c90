"""The compatibility tier (``make test-matrix``; ``make test-latest`` without constraints).

For each line in ``tests/matrix/lines.py``: the built wheel and that Airflow release go into a fresh venv on
one of the machine's Pythons, with the line's constraints file; the tests then use Airflow's own CLI and
api-server from that venv. The run ends with a table of line x Python x result.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.matrix.lines import LINES, REPO, Line, python_for

#: Set by `make test-latest`: install each line without its constraints file (a canary, not CI).
UNPINNED = bool(os.environ.get("WDT_MATRIX_UNPINNED"))


@dataclass
class LineResult:
    python: str = "?"
    checks: dict[str, str] = field(default_factory=dict)
    #: Installed versions that differ from the constraints file (the suspects when an unpinned line fails).
    drift: list[str] = field(default_factory=list)


RESULTS: dict[str, LineResult] = defaultdict(LineResult)


@dataclass(frozen=True)
class LineVenv:
    line: Line
    python_version: str
    venv: Path

    @property
    def bin(self) -> Path:
        return self.venv / "bin"


def _uv() -> str:
    return str(Path(sys.executable).parent / "uv")


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("matrix-dist")
    subprocess.run([_uv(), "build", "--wheel", "--quiet", "--out-dir", str(out), str(REPO)], check=True)
    (built,) = out.glob("*.whl")
    return built


@pytest.fixture(scope="module", params=LINES, ids=lambda line: f"airflow-{line.name}")
def line_venv(
    request: pytest.FixtureRequest, wheel: Path, tmp_path_factory: pytest.TempPathFactory
) -> LineVenv:
    line: Line = request.param
    result = RESULTS[line.airflow]
    try:
        version, python = python_for(line)
    except LookupError as exc:
        result.checks["install"] = "no Python"
        pytest.fail(str(exc))
    result.python = version
    venv = tmp_path_factory.mktemp(f"airflow-{line.airflow}") / "venv"
    subprocess.run([_uv(), "venv", "--quiet", "--python", python, str(venv)], check=True)
    install = [_uv(), "pip", "install", "--quiet", "--compile-bytecode", "--python", str(venv / "bin/python")]
    if not UNPINNED:
        install += ["-c", str(line.constraints)]
    proc = subprocess.run(
        [*install, str(wheel), f"apache-airflow=={line.airflow}"],
        capture_output=True,
        text=True,
        cwd=venv.parent,
    )
    if proc.returncode != 0:
        result.checks["install"] = "failed"
        pytest.fail(f"installing Airflow {line.airflow} on Python {version} failed:\n{proc.stderr[-3000:]}")
    result.checks["install"] = "ok"
    if UNPINNED:  # only the canary's table shows them
        result.drift = _drift(venv, line)
    return LineVenv(line, version, venv)


def _drift(venv: Path, line: Line) -> list[str]:
    """``name installed (constraints: pinned)`` for each package installed at a version not pinned."""
    pinned: dict[str, set[str]] = defaultdict(set)
    for raw in line.constraints.read_text().splitlines():
        spec = raw.split(";")[0].strip()
        if "==" in spec and not spec.startswith("#"):
            name, version = spec.split("==", 1)
            pinned[_norm(name)].add(version.strip())
    frozen = subprocess.run(
        [_uv(), "pip", "freeze", "--python", str(venv / "bin/python")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    drift = []
    for entry in frozen.splitlines():
        if "==" not in entry:
            continue
        name, version = entry.split("==", 1)
        if _norm(name) in pinned and version not in pinned[_norm(name)]:
            drift.append(f"{name} {version} (constraints: {', '.join(sorted(pinned[_norm(name)]))})")
    return drift


def _norm(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Record each check's outcome under its line, for the table."""
    params = getattr(report, "keywords", {})
    line = next((x.airflow for x in LINES if f"airflow-{x.name}" in params), None)
    if line is None or (report.when != "call" and report.passed):
        return
    check = report.nodeid.split("::")[-1].split("[")[0].removeprefix("test_")
    outcome = "ok" if report.passed else ("skipped" if report.skipped else "FAILED")
    if report.when != "call" and check not in RESULTS[line].checks:
        outcome = "ERROR" if report.failed else outcome
    RESULTS[line].checks[check] = outcome


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not RESULTS:
        return
    mode = "without constraints (make test-latest)" if UNPINNED else "with constraints/ (make test-matrix)"
    write = terminalreporter.write_line
    write("")
    write(f"Compatibility tier, {mode}:")
    write(f"{'Airflow':<9} {'Python':<7} {'result':<7} checks")
    for line in LINES:
        if line.airflow not in RESULTS:
            continue
        result = RESULTS[line.airflow]
        bad = [name for name, outcome in result.checks.items() if outcome not in ("ok", "skipped")]
        verdict = "FAILED" if bad else "ok"
        checks = ", ".join(f"{name} {outcome}" for name, outcome in result.checks.items())
        write(f"{line.airflow:<9} {result.python:<7} {verdict:<7} {checks}")
        if UNPINNED and bad and result.drift:
            write("          newer than the constraints (the suspects): " + "; ".join(result.drift))
