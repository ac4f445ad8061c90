"""``make demo`` (example_dags/run_demo.py): its pieces, and one real run with a small pending list."""

from __future__ import annotations

import io
import json
import os
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from airflow_provider_wdt._compat import AIRFLOW_V_3
from airflow_provider_wdt.simulator import WdtSimulator
from airflow_provider_wdt.simulator.shop import ShopStandin
from example_dags import run_demo


def test_airflow_env_isolates_the_demo_from_the_users_airflow(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "CeleryExecutor")
    monkeypatch.setenv("AIRFLOW_CONN_SOMETHING", "x://y")
    monkeypatch.setenv("AIRFLOW_VAR_SOMETHING", "1")
    workdir = run_demo.Workdir(tmp_path)
    env = run_demo.airflow_env(workdir, {"conn_type": "wdt", "host": "http://h"}, "http://shop")

    assert "AIRFLOW__CORE__EXECUTOR" not in env
    assert "AIRFLOW_CONN_SOMETHING" not in env and "AIRFLOW_VAR_SOMETHING" not in env
    assert env["AIRFLOW_HOME"] == str(tmp_path / "airflow-home")
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == str(run_demo.EXAMPLES_DIR)
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == f"sqlite:///{tmp_path}/airflow-home/airflow.db"
    assert json.loads(env["AIRFLOW_CONN_WDT_DEFAULT"])["host"] == "http://h"
    assert env["WDT_EXAMPLE_OUTPUT_DIR"] == str(tmp_path / "output")
    assert env["WDT_EXAMPLE_SHOP_URL"] == "http://shop"
    assert env["PATH"] == os.environ["PATH"]


def test_workdir_reset_only_touches_its_own_entries(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    workdir = run_demo.Workdir(tmp_path)
    (tmp_path / "output" / "old").mkdir(parents=True)
    workdir.log_file.write_text("old log")
    workdir.reset()
    assert (tmp_path / "keep.txt").read_text() == "mine"
    assert list(workdir.output_dir.iterdir()) == [] and workdir.airflow_home.is_dir()
    assert not workdir.log_file.exists()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie waiting for its parent counts as gone.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False


def test_run_command_times_out_and_leaves_no_process(tmp_path: Path) -> None:
    # The child starts a grandchild, prints its pid, and both would sleep for a minute.
    script = (
        "import subprocess, sys, time\n"
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "print(p.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    log = io.StringIO()
    started = time.monotonic()
    rc = run_demo.run_command(
        [sys.executable, "-c", script], dict(os.environ), log, verbose=False, timeout=1.0
    )
    assert rc == 124 and time.monotonic() - started < 15
    grandchild = next(int(line) for line in log.getvalue().splitlines() if line.isdigit())
    deadline = time.monotonic() + 5
    while _alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(grandchild)
    assert "killed after 1 s" in log.getvalue()


def test_run_command_passes_the_exit_status_through(capsys: pytest.CaptureFixture[str]) -> None:
    log = io.StringIO()
    code = "print('hello'); raise SystemExit(3)"
    assert (
        run_demo.run_command([sys.executable, "-c", code], dict(os.environ), log, verbose=True, timeout=30)
        == 3
    )
    assert "hello" in log.getvalue() and "hello" in capsys.readouterr().out


def test_the_demo_needs_something_pending() -> None:
    with pytest.raises(SystemExit):
        run_demo.parse_args(["--pending", "0"])
    assert run_demo.parse_args([]).pending == 3000


def test_collect_and_format_summary(tmp_path: Path) -> None:
    ids_file = tmp_path / "ids.ndjson"
    with WdtSimulator(pending=30, seed=3) as sim, ShopStandin() as shop:
        ids = sim.pending_ids()
        ids_file.write_text("".join(f"{rec_id}\n" for rec_id in ids))
        with requests.Session() as session:
            for rec_id in ids:
                session.post(f"{shop.url}/stock", json={"rec_id": rec_id, "stock": 1})
        summary = run_demo.collect(sim, shop, ids_file, pending_before=30)
    assert summary.ids_pulled == 30 and summary.pushed == 30
    assert summary.refused == sum(rec_id % 7 == 0 for rec_id in ids)
    # Nothing was reported to the simulator, so the numbers do not add up, and the summary says so.
    assert not summary.ok
    text = run_demo.format_summary(summary)
    assert "ids pulled:             30" in text and str(ids_file) in text and "UNEXPECTED" in text


@pytest.mark.db
@pytest.mark.timeout(300)  # three Airflow commands in subprocesses: about 30 s alone, 60 s on a busy machine
@pytest.mark.skipif(not AIRFLOW_V_3, reason="make demo uses the Airflow 3 venv (2.11: see dag.test)")
def test_the_demo_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One real run: db migrate and `airflow dags test` in subprocesses, a small pending list."""
    rc = run_demo.main(["--pending", "300", "--workdir", str(tmp_path / "demo"), "--timeout", "240"])
    out = capsys.readouterr().out
    assert rc == 0, out + (tmp_path / "demo" / "airflow.log").read_text(errors="replace")[-5000:]
    assert "ids pulled:             300" in out
    assert "UNEXPECTED" not in out and "Demo done" in out
    # The run's own folder (its run_id) holds the ids file and the report.
    (run_dir,) = (tmp_path / "demo" / "output" / "stock_sync").iterdir()
    assert f"-> {run_dir / 'pending_ids.ndjson'}" in out
    assert f"report file:            {run_dir / 'report.ndjson'} (300 outcomes)" in out
    assert sum('"outcome"' in line for line in (run_dir / "report.ndjson").read_text().splitlines()) == 300
    assert (
        "task states:            pull_pending_ids=success, sync_stock=success, wait_for_pending=success"
        in out
    )
    assert not [t for t in threading.enumerate() if t.name.startswith(("shop-standin", "wdt-simulator"))]
