"""Two one-task DAGs, a pull and a sync, that the hand-over test runs in two processes, as on two hosts:
each process's ``wdt_default`` connection has a ledger directory of its own."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow_provider_wdt._compat import DAG
from airflow_provider_wdt.operators.wdt import WdtPendingSyncIdsOperator, WdtStockSyncOperator


def accept(calc: dict[str, Any], **_: Any) -> tuple[bool, str]:
    return True, "ok"


with DAG("wdt_handover_pull", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as pull_dag:
    WdtPendingSyncIdsOperator(task_id="pull", count=10, output_path="{{ dag_run.conf['out'] }}")

with DAG("wdt_handover_sync", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as sync_dag:
    WdtStockSyncOperator(
        task_id="sync", rec_ids="{{ dag_run.conf['ids'] }}", push_callable=accept, batch_size=10
    )
