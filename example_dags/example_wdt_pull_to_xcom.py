"""Pull every pending rec_id into an XCom and use the list in a downstream task.

Shows WdtPendingSyncIdsOperator with no ``output_path``: the ids (each once, in the order the platform
serves them) are the task's return value, and the ``position`` to resume from is an XCom of its own.
Right for up to some ten thousand ids; XComs live in the metadata DB, so for more write them to a file
(see ``example_wdt_sensor_to_file``). The connection is ``wdt_default``.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

# On Airflow 3 alone: `from airflow.sdk import DAG, task` (compat picks the 2.11 imports there).
from airflow_provider_wdt.compat import DAG, task
from airflow_provider_wdt.operators.wdt import XCOM_POSITION, WdtPendingSyncIdsOperator

log = logging.getLogger(__name__)

with DAG(
    dag_id="example_wdt_pull_to_xcom",
    description="Pull all pending WDT stock-sync ids into an XCom",
    schedule=None,
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    tags=["wdt", "example"],
    doc_md=__doc__,
) as dag:
    pull = WdtPendingSyncIdsOperator(
        task_id="pull_pending_ids",
        wdt_conn_id="wdt_default",
        count=5000,  # ids per page, 10..5000
        max_xcom_ids=20_000,  # fail early, pointing to output_path, instead of flooding the metadata DB
    )

    @task
    def summarize(rec_ids: list[int], position: int) -> dict[str, int]:
        """Anything downstream can take the list; here: how many, which range, where to resume."""
        if not rec_ids:
            log.info("Nothing waiting for stock sync.")
            return {"count": 0, "position": position}
        log.info(
            "%d rec_ids waiting for stock sync (first %s, ids %d..%d); next pull can start at %d.",
            len(rec_ids),
            rec_ids[:5],
            min(rec_ids),
            max(rec_ids),
            position,
        )
        return {"count": len(rec_ids), "min": min(rec_ids), "max": max(rec_ids), "position": position}

    # The XComArgs stand for the values; Airflow passes the real ones when the task runs.
    summarize(pull.output, pull.output[XCOM_POSITION])  # type: ignore[arg-type, index]
