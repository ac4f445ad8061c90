"""The README's support table says what the compatibility tier runs (tests/matrix/lines.py), the pins it
names are the ones in constraints/*.in, and pyproject.toml's ranges agree with both."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.matrix.lines import CONSTRAINTS, LINES, REPO, Line

README = (REPO / "README.md").read_text(encoding="utf-8")
README_ZH = (REPO / "README.zh-CN.md").read_text(encoding="utf-8")


def _row(readme: str, line: Line) -> list[str]:
    rows = [r for r in readme.splitlines() if r.startswith(f"| {line.name} | {line.airflow} |")]
    assert len(rows) == 1, f"one support-table row for Airflow {line.airflow}, found {len(rows)}"
    return [cell.strip() for cell in rows[0].strip("|").split("|")]


@pytest.mark.parametrize("line", LINES, ids=lambda line: line.airflow)
def test_each_line_has_its_row_in_both_readmes(line: Line) -> None:
    for readme in (README, README_ZH):
        cells = _row(readme, line)
        # The Python the tier ran it on comes first.
        assert re.match(rf"{re.escape(line.matrix_python)}\s*[(（]", cells[2]), cells
        assert cells[3] == f"{line.pythons[0]} – {line.pythons[-1]}", cells
    assert _row(README, line)[4] == line.form


def test_the_lines_are_the_constraints_files() -> None:
    inputs = {path.name.removesuffix(".in") for path in CONSTRAINTS.glob("airflow-*.in")}
    compiled = {path.name.removesuffix(".txt") for path in CONSTRAINTS.glob("airflow-*.txt")}
    assert inputs == compiled == {f"airflow-{line.airflow}" for line in LINES}
    for line in LINES:
        assert f"apache-airflow=={line.airflow}\n" in line.constraints.read_text()


def _pins(path: Path) -> list[str]:
    lines = [x.strip() for x in path.read_text().splitlines()]
    return [x for x in lines if x and not x.startswith("#") and not x.startswith("apache-airflow==")]


@pytest.mark.parametrize("line", LINES, ids=lambda line: line.airflow)
def test_every_pin_is_in_both_readmes_tables_of_breaks(line: Line) -> None:
    for pin in _pins(CONSTRAINTS / f"airflow-{line.airflow}.in"):
        for readme in (README, README_ZH):
            rows = [r for r in readme.splitlines() if r.startswith("|") and f"`{pin}`" in r]
            assert any(line.airflow in r for r in rows), f"{pin} for {line.airflow} missing from a README"


def test_pyproject_ranges_agree_with_the_table() -> None:
    tomllib = pytest.importorskip("tomllib", reason="Python 3.11+ (the Airflow 3 suite runs it)")
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    oldest = min(LINES, key=lambda line: tuple(int(x) for x in line.airflow.split(".")))
    assert f"apache-airflow>={oldest.name}.0" in project["dependencies"]
    pythons = sorted({p for line in LINES for p in line.pythons}, key=lambda v: tuple(map(int, v.split("."))))
    assert project["requires-python"] == f">={pythons[0]}"
    classified = {
        m.group(1)
        for c in project["classifiers"]
        if (m := re.fullmatch(r"Programming Language :: Python :: (3\.\d+)", c))
    }
    assert classified == set(pythons)
