"""Options and fixtures of the reliability suite.

Options (given with the suite's path, e.g. ``pytest tests/reliability --soak-seconds 120``; the
environment variables work with any invocation):

* ``--soak-seconds`` / ``WDT_SOAK_SECONDS``: how long the randomized soak test runs (default: brief, CI);
* ``--soak-seed`` / ``WDT_SOAK_SEED``: its seed (default 1);
* ``--reliability-report PATH`` / ``WDT_RELIABILITY_REPORT``: write every matrix row (fault, operation,
  outcome, requests made) as JSON to PATH at the end, the material of RELIABILITY.md.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_wdt.simulator import WdtSimulator
from tests.conftest import set_connection
from tests.helpers import fast_connection
from tests.reliability.environment import make_simulator

DEFAULT_SOAK_SECONDS = 6.0
DEFAULT_SOAK_SEED = 1


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("reliability")
    group.addoption("--soak-seconds", type=float, default=None, help="duration of the soak test")
    group.addoption("--soak-seed", type=int, default=None, help="seed of the soak test")
    group.addoption("--reliability-report", default=None, help="write the fault matrix as JSON here")


def _option(config: pytest.Config, name: str, env: str, default: Any, cast: Any) -> Any:
    value = config.getoption(name, default=None)
    if value is None and os.environ.get(env):
        value = cast(os.environ[env])
    return default if value is None else value


@pytest.fixture(scope="session")
def soak_seconds(pytestconfig: pytest.Config) -> float:
    return float(_option(pytestconfig, "--soak-seconds", "WDT_SOAK_SECONDS", DEFAULT_SOAK_SECONDS, float))


@pytest.fixture(scope="session")
def soak_seed(pytestconfig: pytest.Config) -> int:
    return int(_option(pytestconfig, "--soak-seed", "WDT_SOAK_SEED", DEFAULT_SOAK_SEED, int))


_MATRIX: list[dict[str, Any]] = []


@pytest.fixture
def matrix_row() -> Any:
    """``matrix_row(fault=..., operation=..., ...)`` adds a row to the report (when one is asked for)."""
    return lambda **row: _MATRIX.append(row)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    path = _option(session.config, "--reliability-report", "WDT_RELIABILITY_REPORT", None, str)
    if path and _MATRIX:
        Path(path).write_text(json.dumps(_MATRIX, ensure_ascii=False, indent=1), encoding="utf-8")


@pytest.fixture
def memory_fs(memory_bucket: tuple[Any, str]) -> str:
    """tests/conftest.py's ``memory_bucket`` as the URL the reliability runners take (``memory://<bucket>``);
    each run under it makes a folder of its own."""
    return f"memory://{memory_bucket[1]}"


@pytest.fixture
def rsim(monkeypatch: pytest.MonkeyPatch) -> Iterator[WdtSimulator]:
    """A running simulator (distinctive credentials, no ids yet); ``wdt_rel`` points at it, fast retries."""
    with make_simulator(seed=7) as sim:
        set_connection(monkeypatch, "wdt_rel", fast_connection(sim))
        yield sim
