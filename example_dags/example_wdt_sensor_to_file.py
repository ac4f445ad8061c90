"""Wait until something needs syncing, pull the pending ids to a file, read the file downstream.

Shows WdtPendingSyncSensor (deferrable: while it waits, the poll runs in the triggerer and no worker
slot is held), WdtPendingSyncIdsOperator writing newline-delimited ids to a file (streamed page by page
and moved into place atomically, so memory stays bounded by the page size), and an Asset (a Dataset on
Airflow 2.11) announcing each new file: ``example_wdt_ids_file_consumer`` below is scheduled on it and
reads the file the event names.

Every run writes its own file, ``<output dir>/sensor_to_file/<run>/pending_ids.ndjson``, so no task can
read a file an earlier run left behind. The connection is ``wdt_default``. Files go under
``$WDT_EXAMPLE_OUTPUT_DIR`` (default: the system temp folder's ``wdt-examples``); it may also be an
object-storage URL such as ``s3://bucket/wdt`` (then give the pull an ``output_conn_id``). With Celery or
Kubernetes workers it must be storage every worker reads: the path in the XCom is only a pointer.
"""

from __future__ import annotations

import logging
import os
import tempfile
from datetime import datetime, timezone
from typing import Any

# On Airflow 3 alone: `from airflow.sdk import DAG, Asset, ObjectStoragePath, task`.
from airflow_provider_wdt.compat import DAG, asset, object_storage_path, task
from airflow_provider_wdt.operators.wdt import WdtPendingSyncIdsOperator
from airflow_provider_wdt.run_paths import run_scoped
from airflow_provider_wdt.sensors.wdt import WdtPendingSyncSensor

OUTPUT_DIR = os.environ.get("WDT_EXAMPLE_OUTPUT_DIR") or os.path.join(tempfile.gettempdir(), "wdt-examples")
FILES_DIR = f"{OUTPUT_DIR}/sensor_to_file"
IDS_FILE = run_scoped(FILES_DIR, "pending_ids.ndjson")  # a template: the run's own folder, rendered per run
PENDING_IDS = asset(FILES_DIR if "://" in FILES_DIR else f"file://{FILES_DIR}")

log = logging.getLogger(__name__)


def read_ids_file(path: str) -> int:
    """Read the file one line at a time: any number of ids, little memory."""
    count = 0
    with object_storage_path(path).open("r") as file:
        for line in iter(file.readline, ""):  # (Airflow 2.11's file object is not iterable itself)
            if line.strip():
                count += 1  # int(line) is a rec_id: do whatever your job needs with it here
    log.info("%s holds %d pending rec_ids.", path, count)
    return count


@task(outlets=[PENDING_IDS])
def count_ids(path: str, outlet_events: Any = None) -> int:
    """Read this run's file, then announce it: the Asset event's extra names the file."""
    count = read_ids_file(path)
    if outlet_events is not None:
        outlet_events[PENDING_IDS].extra = {"path": path, "id_count": count}
    return count


@task
def read_announced_files(
    triggering_asset_events: Any = None, triggering_dataset_events: Any = None
) -> dict[str, int]:
    """The files named by the events that triggered this run (the context key's name is Airflow 3's;
    2.11 calls it triggering_dataset_events)."""
    events = triggering_asset_events or triggering_dataset_events or {}
    paths = []
    for batch in events.values():
        paths += [event.extra["path"] for event in batch if "path" in (event.extra or {})]
    if not paths:
        log.info("No ids file announced: this run was not triggered by example_wdt_sensor_to_file.")
    return {path: read_ids_file(path) for path in paths}


with DAG(
    dag_id="example_wdt_sensor_to_file",
    description="Wait for pending WDT stock-sync ids, pull them to a file, read it",
    schedule=None,
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,
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
    read_announced_files()
