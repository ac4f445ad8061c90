"""A pull then a sync for the rate-budget tier (tests/e2e/test_rate_budget.py): both at a
``calls_per_minute`` equal to the simulator's limit, the sync retried by Airflow after each ``kill -9``.
Its report is in ``WDT_E2E_OUTPUT/<run_id>/report.ndjson``, where the test watches it.
"""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from airflow_provider_wdt._compat import DAG
from airflow_provider_wdt.operators.wdt import WdtPendingSyncIdsOperator, WdtStockSyncOperator

OUTPUT = os.environ.get("WDT_E2E_OUTPUT", "/tmp/wdt-e2e-budget")


def push(calc: dict[str, Any], **_: Any) -> tuple[bool, str]:
    time.sleep(0.02)  # a shop taking 20 ms
    return True, "ok"


with DAG(
    dag_id="e2e_wdt_budget",
    schedule=None,
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    tags=["wdt", "e2e"],
) as dag:
    pull = WdtPendingSyncIdsOperator(
        task_id="pull",
        wdt_conn_id="wdt_e2e_budget",
        count=10,
        output_path=OUTPUT + "/{{ run_id }}/ids.ndjson",
    )
    sync = WdtStockSyncOperator(
        task_id="sync",
        wdt_conn_id="wdt_e2e_budget",
        rec_ids=pull.output,
        push_callable=push,
        batch_size=50,
        shop_concurrency=4,
        report_path=OUTPUT + "/{{ run_id }}/report.ndjson",
        retries=3,
        retry_delay=timedelta(seconds=1),
    )
    pull >> sync
