"""The complete stock-sync workflow, as integrators of a self-owned shop platform (自有平台) run it.

Every five minutes:

1. ``wait_for_pending`` - WdtPendingSyncSensor: is any goods' stock waiting to be pushed? (deferrable;
   when nothing turns up within four minutes the run is skipped: ``soft_fail``).
2. ``pull_pending_ids`` - WdtPendingSyncIdsOperator: every pending rec_id, each once, streamed to a file
   of this run (the run id in the path, from ``run_scoped``, so no run ever reads another run's ids).
   The folder is declared as an Asset (a Dataset on Airflow 2.11).
3. ``sync_stock`` - WdtStockSyncOperator: reads the file as a stream, 100 ids per batchCalcStock, pushes
   each quantity (``syn_stock``) to the shop with ``push_to_shop()`` in 4 threads, and reports
   syncSuccess (the item leaves the ERP's list) or syncFail (offered again later), echoing the calc fields,
   ``stock_change_count`` unchanged. Each outcome is appended to the run's report file as it happens; a
   retry of the task resumes from it and reports nothing twice, and a new run starts a new report.

``push_to_shop()`` is the part to replace with your shop platform's API. As shipped it posts to the local
stand-in that ``make demo`` starts (``python -m airflow_provider_wdt.simulator.shop``, installed with the
package; URL in ``$WDT_EXAMPLE_SHOP_URL``).

The connection is ``wdt_default``; files go under ``$WDT_EXAMPLE_OUTPUT_DIR`` (default: the system temp
folder's ``wdt-examples``; an object-storage URL works too). Give the task a pool per seller (see the
README) if several DAGs sync the same seller.
"""

from __future__ import annotations

import os
import tempfile
import threading
from datetime import datetime, timedelta, timezone
from typing import Any

import requests

# On Airflow 3 alone: `from airflow.sdk import DAG, Asset` (asset() gives a Dataset on 2.11).
from airflow_provider_wdt.compat import DAG, asset
from airflow_provider_wdt.operators.wdt import WdtPendingSyncIdsOperator, WdtStockSyncOperator
from airflow_provider_wdt.run_paths import run_scoped
from airflow_provider_wdt.sensors.wdt import WdtPendingSyncSensor

OUTPUT_DIR = os.environ.get("WDT_EXAMPLE_OUTPUT_DIR") or os.path.join(tempfile.gettempdir(), "wdt-examples")
SYNC_DIR = f"{OUTPUT_DIR}/stock_sync"
# One folder per DAG run (templates): a rerun never reads an earlier run's ids, a task retry finds its
# own report.
IDS_FILE = run_scoped(SYNC_DIR, "pending_ids.ndjson")
REPORT_FILE = run_scoped(SYNC_DIR, "report.ndjson")
SYNC_FILES = asset(SYNC_DIR if "://" in SYNC_DIR else f"file://{SYNC_DIR}")  # the folder of all runs

_shop_sessions = threading.local()  # one keep-alive session per push thread


# ======================================================================================================
# REPLACE THIS FUNCTION with the call to your own shop platform's stock API.
# ======================================================================================================
def push_to_shop(calc: dict[str, Any]) -> tuple[bool, str]:
    """Set one item's stock on the shop platform; return ``(accepted, message)``.

    ``calc`` is the batchCalcStock result for the item: ``syn_stock`` is the quantity to set;
    ``spec_outer_id``/``outer_id`` (merchant codes), ``goods_id``, ``spec_id`` and ``shop_id`` identify it.

    * Return ``(True, ...)`` only once the shop has really stored the quantity: syncSuccess takes the item
      off the ERP's list for good.
    * Return ``(False, reason)`` when the shop refused this item: it is reported with syncFail and offered
      again later.
    * Raise when the shop cannot be reached at all: the task fails, and items not reported yet stay
      pending for the next run.

    It runs in several threads at once (``shop_concurrency``), so keep per-thread state per thread.
    As shipped: a POST to the local shop stand-in of ``make demo``.
    """
    base_url = os.environ.get("WDT_EXAMPLE_SHOP_URL")
    if not base_url:
        raise RuntimeError(
            "push_to_shop() is the part of example_wdt_stock_sync to replace with your shop platform's API. "
            "To try the example as it is, start the local stand-in (python -m "
            "airflow_provider_wdt.simulator.shop) and set WDT_EXAMPLE_SHOP_URL to the URL it prints."
        )
    shop = getattr(_shop_sessions, "session", None)
    if shop is None:
        shop = _shop_sessions.session = requests.Session()
    response = shop.post(
        f"{base_url.rstrip('/')}/stock",
        json={
            "rec_id": calc["rec_id"],
            "spec_outer_id": calc.get("spec_outer_id"),
            "stock": calc["syn_stock"],
        },
        timeout=10,
    )
    if response.ok:
        return True, "ok"
    if 400 <= response.status_code < 500:
        return False, f"shop refused: HTTP {response.status_code} {response.text[:200]}"
    raise RuntimeError(f"Shop platform answered HTTP {response.status_code}: {response.text[:200]}")


with DAG(
    dag_id="example_wdt_stock_sync",
    description="WDT stock sync: wait, pull pending ids, batchCalcStock, push to the shop, report",
    schedule=timedelta(minutes=5),  # the polling cadence the platform recommends
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
        poke_interval=30,
        timeout=4 * 60,
        soft_fail=True,  # nothing to sync in this window: skip the run instead of failing it
    )
    pull = WdtPendingSyncIdsOperator(
        task_id="pull_pending_ids",
        wdt_conn_id="wdt_default",
        output_path=IDS_FILE,
        output_format="ndjson",
        outlets=[SYNC_FILES],
    )
    sync = WdtStockSyncOperator(
        task_id="sync_stock",
        wdt_conn_id="wdt_default",
        rec_ids=pull.output,  # the ids file's path, at run time
        push_callable=push_to_shop,
        shop_concurrency=4,
        report_path=REPORT_FILE,
        retries=2,  # a retry resumes from the report: nothing is reported twice
        retry_delay=timedelta(minutes=1),
    )
    wait >> pull >> sync
