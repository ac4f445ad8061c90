"""Real dag.test() runs of module-level DAGs (tests/dags/sensor_*.py) with the deferrable sensor.

On Airflow 3.3 dag.test() only runs a DAG defined at module level in a file inside the DAGs folder, and it
runs the trigger inline in this process, so the simulator on 127.0.0.1 serves both the task and the trigger.
"""

from __future__ import annotations

import importlib
import json
import time
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_wdt.simulator import WdtSimulator
from tests.helpers import states
from tests.sensors.conftest import AddLater

pytestmark = pytest.mark.db


def load_dag(name: str) -> Any:
    return importlib.import_module(f"tests.dags.{name}").dag


def test_deferrable_sensor_waits_for_ids_added_later(
    airflow_db: str,
    fast_sim: WdtSimulator,
    add_after_first_poll: AddLater,
    tmp_path: Path,
) -> None:
    out = tmp_path / "seen.json"
    added = add_after_first_poll(3, delay=0.5)

    dag_run = load_dag("sensor_deferrable").test(run_conf={"out": str(out)})

    assert states(dag_run) == {"wait_for_pending": "success", "record": "success"}
    # The downstream task got the sensor's XCom: exactly the ids added while the trigger was polling.
    seen = json.loads(out.read_text())
    assert set(seen) == {"rec_ids", "position", "count"}
    assert sorted(seen["rec_ids"]) == sorted(added)
    assert seen["count"] == 3
    assert isinstance(seen["position"], int)
    log = fast_sim.request_log
    assert {r.method for r in log} == {"sales.StockSync.getSelfWaitSyncIdListOpen"}
    assert len(log) >= 2  # the task's empty first poke, then the trigger's polls
    # It deferred: the first poke's session is closed after the poke, and every later poll came over the
    # trigger's one kept-alive connection. Poking in the task would open a new connection per poke.
    connections = [r.connection_id for r in log]
    assert connections[0] not in connections[1:]
    assert len(set(connections[1:])) == 1


def test_deferrable_sensor_timeout_with_soft_fail_is_skipped(airflow_db: str, fast_sim: WdtSimulator) -> None:
    started = time.monotonic()

    dag_run = load_dag("sensor_deferrable_timeout").test()

    # timeout=1: the trigger's timeout event -> AirflowSensorTimeout -> soft_fail -> skipped, like poke mode.
    assert states(dag_run) == {"wait_for_pending": "skipped", "after": "skipped"}
    assert time.monotonic() - started < 30
    assert fast_sim.request_count >= 2
