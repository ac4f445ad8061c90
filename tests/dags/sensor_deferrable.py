"""A deferrable WdtPendingSyncSensor and a downstream task that reads its XCom (run by dag.test()).

The downstream task writes what it received to the file named by the run's ``conf["out"]``, so the test
can check the XCom without reaching into the metadata DB (which differs between Airflow 2.11 and 3.x).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from airflow_provider_wdt._compat import DAG, task
from airflow_provider_wdt.sensors.wdt import WdtPendingSyncSensor

with DAG(
    dag_id="wdt_sensor_deferrable",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["wdt", "test"],
) as dag:
    wait = WdtPendingSyncSensor(
        task_id="wait_for_pending",
        deferrable=True,
        poke_interval=0.2,
        timeout=60,
    )

    @task
    def record(seen: dict[str, Any], **context: Any) -> int:
        with open(context["dag_run"].conf["out"], "w", encoding="utf-8") as out:
            json.dump(seen, out)
        return int(seen["count"])

    record(wait.output)  # type: ignore[arg-type]  # the XComArg resolves to the sensor's dict
