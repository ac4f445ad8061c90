"""A deferrable, soft_fail WdtPendingSyncSensor that nothing ever satisfies: its trigger times out.

The sensor must end SKIPPED (soft_fail) and its downstream task skipped with it.
"""

from __future__ import annotations

from datetime import datetime

from airflow_provider_wdt._compat import DAG, task
from airflow_provider_wdt.sensors.wdt import WdtPendingSyncSensor

with DAG(
    dag_id="wdt_sensor_deferrable_timeout",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["wdt", "test"],
) as dag:
    wait = WdtPendingSyncSensor(
        task_id="wait_for_pending",
        deferrable=True,
        poke_interval=0.2,
        timeout=1,
        soft_fail=True,
    )

    @task
    def after() -> None:
        raise RuntimeError("must not run: the sensor timed out")

    wait >> after()
