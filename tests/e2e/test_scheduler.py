"""Real Airflow deployments run the provider, no ``dag.test()``: on Airflow 3 api-server, scheduler,
dag-processor, triggerer and LocalExecutor; on 2.11 scheduler, triggerer and SequentialExecutor.

The DAGs are ``example_wdt_stock_sync`` (copied as shipped) and the deferrable sensors of
``tests/e2e/dags/``; the platform is the simulator in this process.
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from airflow_provider_wdt.simulator import WdtSimulator
from airflow_provider_wdt.simulator.shop import ShopStandin
from tests.e2e.conftest import require
from tests.e2e.deploy import (
    AIRFLOW2,
    AIRFLOW3,
    REPO_ROOT,
    AirflowInstall,
    Deployment,
    free_port,
    wait_until,
)

STOCK_SYNC = "example_wdt_stock_sync"
SENSOR = "e2e_wdt_sensor"
SENSOR_ROTATED = "e2e_wdt_sensor_rotated"
PENDING = 300
PENDING_IDS = "sales.StockSync.getSelfWaitSyncIdListOpen"


@dataclass
class Stack:
    deployment: Deployment
    sim: WdtSimulator
    shop: ShopStandin
    secrets: list[str]  # every secret half and salt the connections carry

    def trigger(self, dag_id: str) -> str:
        run_id = f"e2e_{uuid.uuid4().hex[:8]}"
        self.deployment.cli("dags", "trigger", dag_id, "--run-id", run_id)
        return run_id

    def run_state(self, dag_id: str, run_id: str) -> str | None:
        rows = self.deployment.query("SELECT state FROM dag_run WHERE dag_id=? AND run_id=?", dag_id, run_id)
        return rows[0][0] if rows else None

    def task_state(self, dag_id: str, run_id: str, task_id: str) -> str | None:
        rows = self.deployment.query(
            "SELECT state FROM task_instance WHERE dag_id=? AND run_id=? AND task_id=?",
            dag_id,
            run_id,
            task_id,
        )
        return rows[0][0] if rows else None

    def wait_run(self, dag_id: str, run_id: str, timeout: float) -> str:
        def finished() -> str | None:
            self.check_components()
            state = self.run_state(dag_id, run_id)
            return state if state in ("success", "failed") else None

        return wait_until(f"{dag_id} run {run_id} to finish", finished, timeout)

    def wait_task(self, dag_id: str, run_id: str, task_id: str, state: str, timeout: float) -> None:
        def reached() -> bool:
            self.check_components()
            return self.task_state(dag_id, run_id, task_id) == state

        wait_until(f"{dag_id}.{task_id} to be {state}", reached, timeout, interval=0.2)

    def xcom(self, dag_id: str, run_id: str, task_id: str) -> object:
        (row,) = self.deployment.query(
            "SELECT value FROM xcom WHERE dag_id=? AND run_id=? AND task_id=? AND key='return_value'",
            dag_id,
            run_id,
            task_id,
        )
        return json.loads(row[0])

    def task_logs(self, dag_id: str, run_id: str, task_id: str, name_part: str = "") -> list[Path]:
        folder = (
            self.deployment.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
        )
        return sorted(p for p in folder.rglob("*") if p.is_file() and name_part in p.name)

    def task_log(self, dag_id: str, run_id: str, task_id: str) -> str:
        return "".join(p.read_text(errors="replace") for p in self.task_logs(dag_id, run_id, task_id))

    def check_components(self) -> None:
        for component in self.deployment.components:
            component.check_alive()


def _seller_conn(sim: WdtSimulator, sid: str) -> str:
    return json.dumps(sim.connection(sid))


def _new_appsecret() -> str:
    return f"e2e-secret-{uuid.uuid4().hex}:e2e-salt-{uuid.uuid4().hex}"


def _components(install: AirflowInstall, api_port: int) -> tuple[dict[str, str], list[list[str]]]:
    """Settings and commands of a deployment: Airflow 3 with LocalExecutor (its workers talk to the
    api-server's execution API), Airflow 2.11 with SequentialExecutor (2.11 refuses LocalExecutor on
    sqlite) and the scheduler parsing the DAGs itself."""
    if install is AIRFLOW2:
        return {"AIRFLOW__CORE__EXECUTOR": "SequentialExecutor"}, [
            ["scheduler", "--skip-serve-logs"],
            ["triggerer", "--skip-serve-logs"],
        ]
    settings = {
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__API__WORKERS": "1",
    }
    return settings, [
        ["api-server", "--host", "127.0.0.1", "--port", str(api_port)],
        ["scheduler", "--skip-serve-logs"],
        ["dag-processor"],
        ["triggerer", "--skip-serve-logs"],
    ]


@pytest.fixture(scope="module", params=[AIRFLOW3, AIRFLOW2], ids=lambda i: i.name)
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    install: AirflowInstall = require(request.param)
    home = tmp_path_factory.mktemp(f"{install.name}-scheduler-home")
    default_secret, sensor_secret, rotated_secret = _new_appsecret(), _new_appsecret(), _new_appsecret()
    sim = WdtSimulator(appsecret=default_secret, pending=PENDING, seed=11)
    sim.add_seller("e2e_sensor", "e2e_sensor_key", sensor_secret)
    sim.add_seller("e2e_rotated", "e2e_rotated_key", rotated_secret)
    with sim, ShopStandin() as shop:
        api_port = free_port()
        settings, commands = _components(install, api_port)
        deployment = Deployment(
            install,
            home,
            {
                **settings,
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
                # Only the runs a test triggers: the stock-sync DAG's 5-minute schedule stays out of the way.
                "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
                "AIRFLOW_CONN_WDT_DEFAULT": _seller_conn(sim, sim.default_sid),
                "AIRFLOW_CONN_WDT_E2E_SENSOR": _seller_conn(sim, "e2e_sensor"),
                "AIRFLOW_CONN_WDT_E2E_ROTATED": _seller_conn(sim, "e2e_rotated"),
                "WDT_EXAMPLE_SHOP_URL": shop.url,
                "WDT_EXAMPLE_OUTPUT_DIR": str(home / "output"),
            },
        )
        dags = home / "dags"
        shutil.copy(REPO_ROOT / "example_dags" / f"{STOCK_SYNC}.py", dags)  # as shipped
        shutil.copy(Path(__file__).parent / "dags" / "e2e_wdt_sensor.py", dags)
        secrets = [half for s in (default_secret, sensor_secret, rotated_secret) for half in s.split(":")]
        try:
            deployment.migrate()
            for command in commands:
                component = deployment.start(command[0], *command)
                if command[0] == "api-server":
                    deployment.wait_http(component, f"http://127.0.0.1:{api_port}/api/v2/monitor/health")
            wanted = {STOCK_SYNC, SENSOR, SENSOR_ROTATED}
            wait_until(
                "the DAG files to be parsed and serialized",
                lambda: wanted <= {r[0] for r in deployment.query("SELECT dag_id FROM serialized_dag")},
                timeout=120,
            )
            yield Stack(deployment, sim, shop, secrets)
        finally:
            deployment.stop()


def test_stock_sync_example_succeeds_and_simulator_agrees(stack: Stack) -> None:
    sim, shop = stack.sim, stack.shop
    pending_before = set(sim.pending_ids())
    assert len(pending_before) == PENDING
    run_id = stack.trigger(STOCK_SYNC)
    assert stack.wait_run(STOCK_SYNC, run_id, timeout=240) == "success"
    summary = stack.xcom(STOCK_SYNC, run_id, "sync_stock")
    assert isinstance(summary, dict)
    refused = shop.rejected
    assert summary["ids"] == summary["calculated"] == PENDING
    assert summary["calc_errors"] == summary["already_reported"] == summary["not_reported"] == 0
    assert summary["succeeded"] == len(shop.accepted) == PENDING - len(refused)
    assert summary["failed"] == len(refused) > 0
    assert summary["succeeded"] + summary["failed"] == PENDING
    # The platform's side: what syncSuccess took off the list is gone, what syncFail reported stays.
    assert set(sim.pending_ids()) == refused
    assert set(shop.accepted) == pending_before - refused
    for rec_id in list(refused)[:5]:
        assert sim.goods(rec_id)["sync_status"] == "failed"


def test_deferrable_sensor_polls_from_the_triggerer_and_resumes(stack: Stack) -> None:
    sim = stack.sim
    run_id = stack.trigger(SENSOR)
    stack.wait_task(SENSOR, run_id, "wait_for_pending", "deferred", timeout=90)

    def polls() -> int:
        return sum(1 for r in sim.request_log if r.sid == "e2e_sensor" and r.method == PENDING_IDS)

    seen = polls()  # the worker's first poke, maybe a trigger poll already
    wait_until("the triggerer to poll twice more", lambda: polls() >= seen + 2, timeout=30)
    assert stack.task_state(SENSOR, run_id, "wait_for_pending") == "deferred"  # still waiting, no worker
    # The triggerer writes what the trigger logs next to the task's log (attempt=1.log.trigger.<id>.log).
    trigger_logs = stack.task_logs(SENSOR, run_id, "wait_for_pending", ".trigger.")
    assert trigger_logs, "no trigger log file next to the task's log"

    added = sim.add_pending(3, sid="e2e_sensor")
    assert stack.wait_run(SENSOR, run_id, timeout=60) == "success"
    xcom = stack.xcom(SENSOR, run_id, "wait_for_pending")
    assert isinstance(xcom, dict)
    assert sorted(xcom["rec_ids"]) == sorted(added)
    assert xcom["count"] == 3


def test_wrong_appsecret_fails_the_deferred_task_within_seconds(stack: Stack) -> None:
    sim = stack.sim
    run_id = stack.trigger(SENSOR_ROTATED)
    stack.wait_task(SENSOR_ROTATED, run_id, "wait_for_pending", "deferred", timeout=90)
    # The platform now holds another appsecret (as after a rotation): the connection's one is wrong.
    seller = sim.seller("e2e_rotated")
    rotated = _new_appsecret()
    stack.secrets.extend(rotated.split(":"))
    seller.appsecret = rotated
    seller.secret, seller.salt = rotated.split(":")
    started = time.monotonic()
    assert stack.wait_run(SENSOR_ROTATED, run_id, timeout=60) == "failed"
    elapsed = time.monotonic() - started
    assert stack.task_state(SENSOR_ROTATED, run_id, "wait_for_pending") == "failed"
    assert elapsed < 20, f"the deferred task took {elapsed:.0f} s to fail"
    # The worker that resumes the task writes its log file a moment after the state is set.
    wait_until(
        "WdtAuthError in the task's log",
        lambda: "WdtAuthError" in stack.task_log(SENSOR_ROTATED, run_id, "wait_for_pending"),
        timeout=20,
    )


def test_no_secret_or_salt_in_any_log_file(stack: Stack) -> None:
    # Last in this module: it reads every log the runs above wrote (task, trigger, components, CLI).
    assert len(stack.deployment.log_files()) > 5
    assert stack.deployment.grep_logs(*stack.secrets) == []
