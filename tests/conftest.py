"""Shared test set-up: a throw-away AIRFLOW_HOME, the simulator, and the metadata DB for dag.test() runs.

The environment is set before anything imports Airflow, so no test touches ~/airflow and a missing
connection never falls through to a real database (Airflow 2.11 would create one silently).
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
_HOME = tempfile.mkdtemp(prefix="wdt-airflow-home-")
os.environ["AIRFLOW_HOME"] = _HOME
# dag.test() on Airflow 3 needs the DAG's file inside the DAGs folder: tests/dags and example_dags both are.
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO_ROOT)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
# .airflowignore at the root keeps that walk to the DAG folders; its patterns are globs on both versions.
os.environ["AIRFLOW__CORE__DAG_IGNORE_FILE_SYNTAX"] = "glob"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_HOME}/airflow.db"
os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "INFO")
for _name in [n for n in os.environ if n.startswith("AIRFLOW_CONN_")]:
    del os.environ[_name]

import pytest  # noqa: E402

from airflow_provider_wdt.simulator import WdtSimulator  # noqa: E402
from tests.helpers import LogText, attach_memory_filesystem, fast_connection  # noqa: E402


@pytest.fixture(autouse=True)
def _own_call_ledger(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test's in-process clients get a call ledger of their own: simulators reuse ports, so two tests
    (or two people's test runs) would otherwise share one seller's budget. Processes a test starts use
    the default directory unless their connection sets ``ledger_dir``."""
    from airflow_provider_wdt import ledger

    directory = str(tmp_path_factory.mktemp("wdt-ledger"))
    monkeypatch.setattr(ledger, "default_dir", lambda: directory)


@contextmanager
def fails_without_retry(cls: type[BaseException], match: str | None = None) -> Iterator[Any]:
    """The task ends without retries: ``AirflowFailException`` whose cause (or the cause's cause, for a
    stock sync stopped by it) is a ``cls`` error; ``match`` is searched in its message. Yields pytest's
    ExceptionInfo; ``typed(info)`` is the typed error."""
    from airflow_provider_wdt._compat import AirflowFailException

    with pytest.raises(AirflowFailException) as info:
        yield info
    assert isinstance(typed(info), cls), f"cause chain of {info.value!r} has no {cls.__name__}"
    assert "Not retried" in str(info.value)
    if match is not None:
        assert re.search(match, str(info.value)), f"{match!r} not in {info.value}"


def typed(info: Any) -> BaseException | None:
    """The typed WDT error behind an AirflowFailException (see fails_without_retry)."""
    cause = info.value.__cause__
    from airflow_provider_wdt.no_retry import NOT_RETRYABLE

    return cause if isinstance(cause, NOT_RETRYABLE) else getattr(cause, "__cause__", None)


def conn_env_name(conn_id: str) -> str:
    return "AIRFLOW_CONN_" + conn_id.upper()


@pytest.fixture
def simulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[WdtSimulator]:
    """A running simulator (empty, default seller) with ``wdt_default`` pointing at it."""
    with WdtSimulator(seed=7) as sim:
        monkeypatch.setenv(conn_env_name("wdt_default"), json.dumps(sim.connection()))
        yield sim


def set_connection(monkeypatch: pytest.MonkeyPatch, conn_id: str, conn: dict) -> None:
    """Make ``conn_id`` resolve to ``conn`` (an AIRFLOW_CONN_* JSON document) in this test."""
    monkeypatch.setenv(conn_env_name(conn_id), json.dumps(conn))


@pytest.fixture
def make_sim(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., WdtSimulator]]:
    """``make_sim(pending=N, tie_mode=..., seed=..., **extra)``: a running simulator that ``wdt_default``
    points at, with instant retries plus the connection extras ``extra``; stopped after the test."""
    with ExitStack() as stack:

        def make(pending: int = 0, tie_mode: str = "after", seed: int = 7, **extra: Any) -> WdtSimulator:
            sim = stack.enter_context(WdtSimulator(pending=pending, seed=seed, tie_mode=tie_mode))
            set_connection(monkeypatch, "wdt_default", fast_connection(sim, **extra))
            return sim

        yield make


@pytest.fixture
def capture_logs(caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> LogText:
    """``capture_logs()``: everything logged so far in the test, INFO and up (see tests.helpers.LogText)."""
    caplog.set_level(logging.INFO)
    return LogText(caplog, capfd)


@pytest.fixture
def memory_bucket() -> Iterator[tuple[Any, str]]:
    """Airflow's object storage on fsspec's in-memory filesystem: (fs, a bucket unique to the test, to
    write to as ``memory://<bucket>/...``); the bucket is removed after the test."""
    fs = attach_memory_filesystem()
    bucket = f"wdt-{uuid.uuid4().hex[:8]}"
    yield fs, bucket
    if fs.exists(f"/{bucket}"):
        fs.rm(f"/{bucket}", recursive=True)


@pytest.fixture(scope="session")
def airflow_db() -> str:
    """A migrated sqlite metadata DB in the throw-away AIRFLOW_HOME (dag.test() needs one)."""
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=os.environ.copy(),
    )
    return os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
