"""Two pulls that fail on every attempt, each allowed 2 retries at once: one on a connection with a wrong
appsecret (not retried: AirflowFailException), one on a platform answering 503 (retried)."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow_provider_wdt._compat import DAG
from airflow_provider_wdt.operators.wdt import WdtPendingSyncIdsOperator

with DAG(
    dag_id="wdt_no_retry",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    default_args={"retries": 2, "retry_delay": timedelta(0)},
    tags=["wdt", "test"],
) as dag:
    WdtPendingSyncIdsOperator(task_id="wrong_appsecret", wdt_conn_id="wdt_wrong_appsecret", count=10)
    WdtPendingSyncIdsOperator(task_id="platform_down", wdt_conn_id="wdt_platform_down", count=10)
