"""Deferrable WdtPendingSyncSensors for the scheduler tier (tests/e2e/test_scheduler.py).

One DAG per connection, so each test owns its seller in the simulator: ``e2e_wdt_sensor`` waits until
ids are added, ``e2e_wdt_sensor_rotated`` waits while the test changes the seller's appsecret on the
platform side. Short poll interval and timeout: the tests wait seconds, not minutes.
"""

from __future__ import annotations

from datetime import datetime, timezone

from airflow_provider_wdt._compat import DAG
from airflow_provider_wdt.sensors.wdt import WdtPendingSyncSensor

POLL_SECONDS = 2

for dag_id, conn_id in (("e2e_wdt_sensor", "wdt_e2e_sensor"), ("e2e_wdt_sensor_rotated", "wdt_e2e_rotated")):
    with DAG(
        dag_id=dag_id,
        schedule=None,
        start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
        catchup=False,
        default_args={"retries": 0},
        tags=["wdt", "e2e"],
    ) as dag:
        WdtPendingSyncSensor(
            task_id="wait_for_pending",
            wdt_conn_id=conn_id,
            deferrable=True,
            poke_interval=POLL_SECONDS,
            timeout=180,
        )
    globals()[dag_id] = dag
