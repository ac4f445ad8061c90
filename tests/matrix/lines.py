"""The Airflow lines this provider supports, and how the compatibility tier runs each one.

One home for these facts: the tier reads them, and ``tests/test_support_table.py`` holds the README's
support table to them. Each line's exact versions live in ``constraints/airflow-<version>.in`` (its
Airflow pin and the pins that avoid known upstream breaks) and the ``.txt`` compiled from it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONSTRAINTS = REPO / "constraints"


@dataclass(frozen=True)
class Line:
    airflow: str  # the release tested, the newest of its line
    pythons: tuple[str, ...]  # what the release supports (its Requires-Python), oldest first
    matrix_python: str  # the one the tier runs it on: together the lines cover 3.10 to 3.13
    #: What its connection form shows for the wdt type (the tier checks it; the README's table says it).
    form: str

    @property
    def name(self) -> str:
        return ".".join(self.airflow.split(".")[:2])

    @property
    def is_airflow3(self) -> bool:
        return not self.airflow.startswith("2.")

    @property
    def constraints(self) -> Path:
        return CONSTRAINTS / f"airflow-{self.airflow}.txt"


FORM_FIELDS = "every field with labels and descriptions (`conn-fields` in the provider info)"
FORM_WIDGETS = "every field, from the hook's 2.x-style widgets"
FORM_TYPE_ONLY = (
    "the wdt type with Airflow's standard fields under their usual names: App key in Schema, seller "
    "account in Login, appsecret in Password, the other settings in the Extra JSON (3.0 builds labels "
    "and extra fields only when `flask_appbuilder` is installed)"
)
FORM_FAB = "every field (Flask AppBuilder webserver, from the hook's form methods)"

LINES = (
    Line("2.11.2", ("3.10", "3.11", "3.12"), "3.12", FORM_FAB),
    Line("3.0.6", ("3.10", "3.11", "3.12"), "3.10", FORM_TYPE_ONLY),
    Line("3.1.8", ("3.10", "3.11", "3.12", "3.13"), "3.11", FORM_WIDGETS),
    Line("3.2.2", ("3.10", "3.11", "3.12", "3.13"), "3.13", FORM_FIELDS),
    Line("3.3.2", ("3.10", "3.11", "3.12", "3.13"), "3.13", FORM_FIELDS),
)


def find_python(version: str) -> str | None:
    """An interpreter of ``version`` (e.g. "3.12") on PATH or under pyenv, or None."""
    candidates = [shutil.which(f"python{version}")]
    pyenv_root = os.environ.get("PYENV_ROOT") or _pyenv_root()
    if pyenv_root:
        candidates += sorted(
            str(p) for p in Path(pyenv_root, "versions").glob(f"{version}*/bin/python{version}")
        )
    for candidate in candidates:
        if candidate and subprocess.run([candidate, "-c", ""], capture_output=True).returncode == 0:
            return candidate
    return None


def _pyenv_root() -> str | None:
    pyenv = shutil.which("pyenv")
    if not pyenv:
        return None
    root = subprocess.run([pyenv, "root"], capture_output=True, text=True).stdout.strip()
    return root or None


def python_for(line: Line) -> tuple[str, str]:
    """(version, interpreter) for ``line``: its matrix Python, else any it supports that the machine has."""
    for version in (line.matrix_python, *line.pythons):
        found = find_python(version)
        if found:
            return version, found
    raise LookupError(f"Airflow {line.airflow} needs one of Python {', '.join(line.pythons)}; none found")
