"""Never a partial file: outputs under failures in the middle of a pull, in every format and on object
storage; an existing output keeps its old content; Airflow's task timeout (an alarm signal raising a
BaseException anywhere, inside a socket read too) and a hard kill leave no partial target."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_wdt import errors
from airflow_provider_wdt._compat import object_storage_path
from airflow_provider_wdt.operators.wdt import WdtPendingSyncIdsOperator
from airflow_provider_wdt.simulator import WdtSimulator
from tests.conftest import REPO_ROOT
from tests.helpers import RecordingTI, fast_connection
from tests.reliability.faults import programmed_faults
from tests.reliability.invariants import leftovers
from tests.reliability.runners import FILE_SUFFIX, run_operation

pytestmark = pytest.mark.reliability

OLD = b"old content, still valid\n"


class TaskTimeout(BaseException):
    """Stands in for AirflowTaskTimeout: a BaseException, raised wherever the task happens to be."""


@pytest.mark.parametrize("kind", ["op_json", "op_ndjson", "op_csv", "op_memory"])
def test_failed_pull_keeps_the_old_output(
    rsim: WdtSimulator, tmp_path: Path, memory_fs: str, kind: str
) -> None:
    rsim.add_pending(80)
    fmt = FILE_SUFFIX[kind]
    target: Any
    root: str | None
    if kind == "op_memory":
        root = f"{memory_fs}/{uuid.uuid4().hex[:8]}"
        target = object_storage_path(f"{root}/ids.{fmt}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(OLD)
    else:
        root = None
        target = tmp_path / "out" / f"ids.{fmt}"
        target.parent.mkdir()
        target.write_bytes(OLD)
    programmed_faults(rsim).at(4, lambda: rsim.faults.http_error(1, 404))
    outcome = run_operation(
        kind, "wdt_rel", count=10, out_dir=tmp_path / "out", memory_root=root, trigger_seconds=1
    )
    assert isinstance(outcome.error, errors.WdtEndpointError)
    assert target.read_bytes() == OLD
    found = leftovers(tmp_path / "out" if root is None else None, root)
    assert found == [f"ids.{fmt}"] or (root is not None and len(found) == 1), found
    # and the next, successful run replaces it whole
    ok = run_operation(kind, "wdt_rel", count=10, out_dir=tmp_path / "out", memory_root=root)
    assert ok.error is None and ok.ids == rsim.pending_ids()


def test_task_timeout_between_pages_leaves_nothing(rsim: WdtSimulator, tmp_path: Path, monkeypatch) -> None:
    from airflow_provider_wdt.hooks.wdt import WdtHook

    rsim.add_pending(80)
    original = WdtHook.call
    calls = {"n": 0}

    # WdtHook.call is where every page request starts: the 4th page's raises before it is sent.
    def flaky(self: WdtHook, method: str, *args: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 4:
            raise TaskTimeout("execution_timeout")
        return original(self, method, *args)

    monkeypatch.setattr(WdtHook, "call", flaky)
    op = WdtPendingSyncIdsOperator(
        task_id="t", wdt_conn_id="wdt_rel", count=10, output_path=str(tmp_path / "ids.json")
    )
    ti = RecordingTI()
    with pytest.raises(TaskTimeout):
        op.execute({"ti": ti})  # type: ignore[arg-type, typeddict-item]
    assert list(tmp_path.iterdir()) == [] and ti.xcoms == {}


def test_alarm_inside_a_socket_read_leaves_nothing(rsim: WdtSimulator, tmp_path: Path) -> None:
    """Airflow's execution_timeout is SIGALRM raising in the main thread: here it fires while the
    client waits for a slow answer in the middle of the pull."""
    rsim.add_pending(80)
    programmed_faults(rsim).at(4, lambda: rsim.faults.slow(1, 3.0))

    def on_alarm(signum: int, frame: Any) -> None:
        raise TaskTimeout("execution_timeout")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    op = WdtPendingSyncIdsOperator(
        task_id="t", wdt_conn_id="wdt_rel", count=10, output_path=str(tmp_path / "ids.csv")
    )
    try:
        faults = programmed_faults(rsim)

        def arm_when_slow() -> None:
            signal.setitimer(signal.ITIMER_REAL, 0.3)

        faults.at(4, arm_when_slow)
        started = time.monotonic()
        with pytest.raises(TaskTimeout):
            op.execute({"ti": RecordingTI()})  # type: ignore[arg-type, typeddict-item]
        assert time.monotonic() - started < 2.5  # it really interrupted the 3 s wait
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert list(tmp_path.iterdir()) == []


KILL_SCRIPT = """
import json, os, sys
from airflow_provider_wdt.operators.wdt import WdtPendingSyncIdsOperator
op = WdtPendingSyncIdsOperator(task_id="t", wdt_conn_id="wdt_kill", count=10, output_path=sys.argv[1])
print("start", flush=True)
op.execute({})
print("done", flush=True)
"""


def test_hard_kill_mid_pull_never_leaves_a_partial_target(rsim: WdtSimulator, tmp_path: Path) -> None:
    """SIGKILL cannot be cleaned up after: the hidden temporary file may stay, the target never appears
    half-written (readers and the next run see no file or the old whole one)."""
    rsim.add_pending(200)
    faults = programmed_faults(rsim)
    faults.at(5, lambda: rsim.faults.slow(1, 30.0))  # the pull hangs in the middle; we kill it then
    target = tmp_path / "ids.ndjson"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")}
    env["AIRFLOW_CONN_WDT_KILL"] = json.dumps(fast_connection(rsim))
    env["PYTHONPATH"] = str(REPO_ROOT)
    proc = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT, str(target)],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while faults.requests < 5 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        assert faults.requests >= 5, "the subprocess never reached the middle of the pull"
        proc.kill()
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()
    assert not target.exists()
    leftovers = [p.name for p in tmp_path.iterdir()]
    assert all(name.startswith(".ids.ndjson.") and name.endswith(".tmp") for name in leftovers), leftovers
