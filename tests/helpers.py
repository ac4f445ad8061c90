"""Helpers shared by the test folders (and the soak). No Airflow import, no pytest import: the soak
(``python -m tests.reliability.soak``) uses them outside pytest. Fixtures built on them live in
tests/conftest.py."""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_provider_wdt.simulator import WdtSimulator

if TYPE_CHECKING:
    import pytest

#: Extras that make the client's retries instant; max_retries stays at its default.
FAST_EXTRA: dict[str, Any] = {"retry_wait": 0, "rate_limit_wait": 0}


def isolate_airflow_env(home_prefix: str) -> None:
    """For a script's fresh interpreter, before Airflow is imported: a throw-away AIRFLOW_HOME (unless one
    is given), no example DAGs, no unit-test mode, and none of the caller's AIRFLOW_CONN_* connections."""
    os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix=home_prefix))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"
    for name in [n for n in os.environ if n.startswith("AIRFLOW_CONN_")]:
        del os.environ[name]


def fast_connection(sim: WdtSimulator, sid: str | None = None, **extra: Any) -> dict[str, Any]:
    """The simulator's connection document (for seller ``sid``) with instant retries, plus ``extra``."""
    conn = sim.connection(sid)
    conn["extra"] = {**conn["extra"], **FAST_EXTRA, **extra}
    return conn


def changed_connection(conn: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A copy of the connection document ``conn`` with ``changes``: ``extra_<key>=value`` sets one extra,
    ``extra={...}`` replaces them all, any other key replaces that field (``None`` included)."""
    conn = {**conn, "extra": dict(conn["extra"])}
    for key, value in changes.items():
        if key.startswith("extra_"):
            conn["extra"][key[len("extra_") :]] = value
        else:
            conn[key] = value
    return conn


def attach_memory_filesystem() -> Any:
    """Make ``memory://`` usable through ObjectStoragePath (not registered by default on 2.11 or 3.x);
    returns the fsspec filesystem behind it. Airflow is imported here, not when this module is."""
    from fsspec.implementations.memory import MemoryFileSystem

    from airflow_provider_wdt._compat import AIRFLOW_V_3

    if AIRFLOW_V_3:
        from airflow.sdk.io import attach
    else:
        from airflow.io.store import attach  # type: ignore[no-redef]
    return attach("memory", fs=MemoryFileSystem()).fs


def free_port() -> int:
    """A port on 127.0.0.1 nobody listens on (bound and released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RecordingTI:
    """The one TaskInstance method the operator calls (xcom_push), recording what it pushes (no DB)."""

    def __init__(self) -> None:
        self.xcoms: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value


def states(dag_run: Any) -> dict[str, str]:
    """task_id (with ``[map_index]`` for mapped ones) -> state, of a finished dag.test() run."""
    result = {}
    for ti in dag_run.get_task_instances():
        key = ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"
        result[key] = str(getattr(ti.state, "value", ti.state))
    return result


def read_ids(path: Path | str, fmt: str = "ndjson", opener: Callable[[str], Any] | None = None) -> list[int]:
    """Parse an output the operator wrote (``fmt``: json, ndjson or csv); strict, so a partial file
    fails loudly. ``opener(url)`` opens a binary handle for object-storage outputs."""
    if opener is None:
        text = Path(path).read_text(encoding="utf-8")
    else:
        with opener(str(path)) as handle:
            text = handle.read().decode("utf-8")
    if fmt == "json":
        value = json.loads(text)
        assert isinstance(value, list) and all(type(v) is int for v in value), text[:80]
        return value
    assert text.endswith("\n") or not text, "output does not end with a newline"
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(text)))
        assert rows[0] == ["rec_id"], rows[:1]
        return [int(row[0]) for row in rows[1:]]
    return [int(line) for line in text.splitlines()]


def expected_sync_summary(ids: int, *, calc_errors: int, refused: int) -> dict[str, int]:
    """What WdtStockSyncOperator returns for a first run over ``ids`` ids: ``calc_errors`` of them could not
    be calculated (so are neither pushed nor reported), ``refused`` were refused by the shop, the rest
    succeeded; nothing was reported before."""
    calculated = ids - calc_errors
    return {
        "ids": ids,
        "calculated": calculated,
        "calc_errors": calc_errors,
        "succeeded": calculated - refused,
        "failed": refused,
        "already_reported": 0,
        "not_reported": calc_errors,
    }


class LogText:
    """Everything logged so far in a test, as one text: Airflow 2.11 logs through stdlib logging
    (``caplog``), Airflow 3 through structlog to stdout (``capfd``). Call it to read; each call returns
    all output since the start, not only what came since the last call."""

    def __init__(self, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> None:
        self._caplog, self._capfd = caplog, capfd
        self._seen: list[str] = []

    def __call__(self) -> str:
        out, err = self._capfd.readouterr()
        self._seen.extend([out, err])
        return self._caplog.text + "".join(self._seen)
