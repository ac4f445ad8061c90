"""The rate budget and exactly-once reporting under the real scheduler (Airflow 3: api-server,
scheduler, dag-processor, LocalExecutor): a pull then a sync at the simulator's own limit, the sync's
task process ``kill -9``'d twice and retried by Airflow. The limit's window is shortened to 10 s on both
sides (``rate_window``), so the killed attempts' calls are still in it when the retries start. The
connection also hands its calls over through a Variable (``share_across_hosts``), written from the
tasks' threads through the real execution API."""

from __future__ import annotations

import json
import os
import shutil
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_provider_wdt.simulator import WdtSimulator
from tests.e2e.conftest import require
from tests.e2e.deploy import AIRFLOW3, Deployment, free_port, wait_until
from tests.e2e.test_scheduler import Stack, _components

DAG_ID = "e2e_wdt_budget"
SID = "e2e_budget"
PENDING = 150
LIMIT = 40  # calls per WINDOW, the client's and the simulator's
WINDOW = 10.0


@pytest.fixture(scope="module")
def budget_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    install = require(AIRFLOW3)
    home = tmp_path_factory.mktemp("budget-home")
    sim = WdtSimulator(sid=SID, appkey="e2e_budget_key", pending=PENDING, seed=5)
    sim.rate_window = WINDOW
    sim.set_rate_limit(calls_per_minute=LIMIT, max_concurrency=2)
    with sim:
        conn = sim.connection()
        conn["extra"].update(
            calls_per_minute=LIMIT,
            rate_window=WINDOW,
            max_concurrency=2,
            max_retries=0,  # a refusal fails the task: none may hide behind a retry
            ledger_dir=str(home / "ledger"),
            share_across_hosts=True,  # the hand-over goes through the real execution API too
        )
        api_port = free_port()
        settings, commands = _components(install, api_port)
        deployment = Deployment(
            install,
            home,
            {
                **settings,
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
                "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
                "AIRFLOW_CONN_WDT_E2E_BUDGET": json.dumps(conn),
                "WDT_E2E_OUTPUT": str(home / "output"),
            },
        )
        shutil.copy(Path(__file__).parent / "dags" / f"{DAG_ID}.py", home / "dags")
        try:
            deployment.migrate()
            for command in commands:
                if command[0] == "triggerer":
                    continue  # nothing defers here
                component = deployment.start(command[0], *command)
                if command[0] == "api-server":
                    deployment.wait_http(component, f"http://127.0.0.1:{api_port}/api/v2/monitor/health")
            wait_until(
                "the DAG file to be parsed and serialized",
                lambda: DAG_ID in {r[0] for r in deployment.query("SELECT dag_id FROM serialized_dag")},
                timeout=120,
            )
            yield Stack(deployment, sim, None, [])  # type: ignore[arg-type]
        finally:
            deployment.stop()


def _outcomes(report: Path) -> int:
    if not report.exists():
        return 0
    return sum('"outcome"' in line for line in report.read_text(errors="replace").splitlines())


def _kill_sync_attempt(stack: Stack, run_id: str, report: Path, after: int) -> None:
    """SIGKILL the sync task's process once its report holds ``after`` outcomes."""

    def running_pid() -> int | None:
        stack.check_components()
        rows = stack.deployment.query(
            "SELECT pid, state FROM task_instance WHERE dag_id=? AND run_id=? AND task_id='sync'",
            DAG_ID,
            run_id,
        )
        if rows and rows[0][1] == "running" and rows[0][0] and _outcomes(report) >= after:
            return int(rows[0][0])
        return None

    pid = wait_until(f"the sync to report {after} items", running_pid, timeout=180, interval=0.1)
    os.kill(pid, signal.SIGKILL)


def test_pull_then_sync_killed_twice_reports_every_item_once_without_refusal(budget_stack: Stack) -> None:
    stack, sim = budget_stack, budget_stack.sim
    ids = sim.pending_ids()
    run_id = f"e2e_{uuid.uuid4().hex[:8]}"
    stack.deployment.cli("dags", "trigger", DAG_ID, "--run-id", run_id)
    report = stack.deployment.home / "output" / run_id / "report.ndjson"

    _kill_sync_attempt(stack, run_id, report, after=30)
    _kill_sync_attempt(stack, run_id, report, after=_outcomes(report) + 30)
    assert stack.wait_run(DAG_ID, run_id, timeout=300) == "success"

    (tries,) = stack.deployment.query(
        "SELECT try_number FROM task_instance WHERE dag_id=? AND run_id=? AND task_id='sync'", DAG_ID, run_id
    )
    assert tries[0] == 3  # two killed attempts, then the one that finished
    state = sim.state()["sellers"][SID]
    assert state["refusals"] == 0
    assert state["most_calls_in_any_window"] <= LIMIT
    reported = {rec_id: state["items"][str(rec_id)]["sync_success"] for rec_id in ids}
    assert [rec_id for rec_id, n in reported.items() if n != 1] == []  # each exactly once: 0 lost, 0 twice
    assert sim.pending_ids() == []
    # The last task's hand-over, written from its threads through the supervisor, as its final one.
    rows = stack.deployment.query("SELECT key FROM variable WHERE key LIKE 'wdt_calls_%'")
    assert len(rows) == 1, rows
    handover = json.loads(stack.deployment.cli("variables", "get", rows[0][0]).stdout)
    assert handover["final"] is True and len(handover["calls"]) > 0
