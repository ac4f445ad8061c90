"""Wait until something needs syncing, pull the pending ids to a file, read the file downstream.

Shows WdtPendingSyncSensor (deferrable: while it waits, the poll runs in the triggerer and no worker
slot is held), WdtPendingSyncIdsOperator writing newline-delimited ids to a file (streamed page by page
and moved into place atomically, so memory stays bounded by the page size), and that file declared as an
Asset (a Dataset on Airflow 2.11): ``example_wdt_ids_file_consumer`` below is scheduled on it and runs
whenever a new file has been written.

The connection is ``wdt_default``. Files go under ``$WDT_EXAMPLE_OUTPUT_DIR`` (default: the system temp
folder's ``wdt-examples``); it may also be an object-storage URL such as ``s3://bucket/wdt`` (then give
the pull an ``output_conn_id``). With Celery or Kubernetes workers, use storage every worker can reach.
"""

from __future__ import annotations

import logging
import os
import tempfile
from datetime import datetime, timezone

# On Airflow 3 alone: `from airflow.sdk import DAG, Asset, task` (asset() gives a Dataset on 2.11).
from airflow_provider_wdt._compat import DAG, asset, object_storage_path, task
from airflow_provider_wdt.operators.wdt import WdtPendingSyncIdsOperator
from airflow_provider_wdt.sensors.wdt import WdtPendingSyncSensor

OUTPUT_DIR = os.environ.get("WDT_EXAMPLE_OUTPUT_DIR") or os.path.join(tempfile.gettempdir(), "wdt-examples")
IDS_FILE = f"{OUTPUT_DIR}/sensor_to_file/pending_ids.ndjson"
PENDING_IDS = asset(IDS_FILE if "://" in IDS_FILE else f"file://{IDS_FILE}")

log = logging.getLogger(__name__)


@task
def count_ids(path: str) -> int:
    """Read the file one line at a time: any number of ids, little memory."""
    count = 0
    with object_storage_path(path).open("r") as file:
        for line in iter(file.readline, ""):  # (Airflow 2.11's file object is not iterable itself)
            if line.strip():
                count += 1  # int(line) is a rec_id: do whatever your job needs with it here
    log.info("%s holds %d pending rec_ids.", path, count)
    return count


with DAG(
    dag_id="example_wdt_sensor_to_file",
    description="Wait for pending WDT stock-sync ids, pull them to a file, read it",
    schedule=None,
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,  # one writer of the file at a time
    tags=["wdt", "example"],
    doc_md=__doc__,
) as dag:
    wait = WdtPendingSyncSensor(
        task_id="wait_for_pending",
        wdt_conn_id="wdt_default",
        deferrable=True,
        poke_interval=60,
        timeout=60 * 60,
    )
    pull = WdtPendingSyncIdsOperator(
        task_id="pull_to_file",
        wdt_conn_id="wdt_default",
        output_path=IDS_FILE,
        output_format="ndjson",
        outlets=[PENDING_IDS],
    )
    wait >> pull
    count_ids(pull.output)  # type: ignore[arg-type]  # the XComArg becomes the file's path at run time


with DAG(
    dag_id="example_wdt_ids_file_consumer",
    description="Runs whenever example_wdt_sensor_to_file has written a new ids file",
    schedule=[PENDING_IDS],
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    tags=["wdt", "example"],
    doc_md=__doc__,
) as consumer_dag:
    count_ids(IDS_FILE)
