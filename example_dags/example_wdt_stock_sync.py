"""The complete stock-sync workflow, as integrators of a self-owned shop platform (自有平台) run it.

Every five minutes:

1. ``wait_for_pending`` - WdtPendingSyncSensor: is any goods' stock waiting to be pushed? (deferrable;
   when nothing turns up within four minutes the run is skipped: ``soft_fail``).
2. ``pull_pending_ids`` - WdtPendingSyncIdsOperator: every pending rec_id, each once, streamed to a file
   (declared as an Asset, a Dataset on Airflow 2.11).
3. ``sync_stock`` - reads the file in chunks of 100 ids; for each chunk one batchCalcStock gives the
   quantity (``syn_stock``) per item; each quantity is pushed to the shop by ``push_to_shop()``, and the
   outcome reported with syncSuccess (the item leaves the ERP's list) or syncFail (it is offered again
   later), echoing the calc fields, ``stock_change_count`` unchanged: if the stock changed meanwhile, the
   ERP sees the old version and keeps the item pending.

``push_to_shop()`` is the part to replace with your shop platform's API. As shipped it posts to the local
stand-in that ``make demo`` starts (``example_dags/shop_standin.py``, URL in ``$WDT_EXAMPLE_SHOP_URL``).

The connection is ``wdt_default``; files go under ``$WDT_EXAMPLE_OUTPUT_DIR`` (default: the system temp
folder's ``wdt-examples``; an object-storage URL works too). No retries: the next run starts over from the
ERP's list, and an item reported neither way simply stays pending.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import requests

# On Airflow 3 alone: `from airflow.sdk import DAG, Asset, task` (asset() gives a Dataset on 2.11).
from airflow_provider_wdt._compat import DAG, asset, object_storage_path, task
from airflow_provider_wdt.operators.wdt import WdtPendingSyncIdsOperator
from airflow_provider_wdt.sensors.wdt import WdtPendingSyncSensor

OUTPUT_DIR = os.environ.get("WDT_EXAMPLE_OUTPUT_DIR") or os.path.join(tempfile.gettempdir(), "wdt-examples")
IDS_FILE = f"{OUTPUT_DIR}/stock_sync/pending_ids.ndjson"
PENDING_IDS = asset(IDS_FILE if "://" in IDS_FILE else f"file://{IDS_FILE}")
CALC_CHUNK = 100  # rec_ids per batchCalcStock call

log = logging.getLogger(__name__)


# ======================================================================================================
# REPLACE THIS FUNCTION with the call to your own shop platform's stock API.
# ======================================================================================================
def push_to_shop(shop: requests.Session, calc: dict[str, Any]) -> tuple[bool, str]:
    """Set one item's stock on the shop platform; return ``(accepted, message)``.

    ``calc`` is the batchCalcStock result for the item: ``syn_stock`` is the quantity to set;
    ``spec_outer_id``/``outer_id`` (merchant codes), ``goods_id``, ``spec_id`` and ``shop_id`` identify it.

    * Return ``(True, ...)`` only once the shop has really stored the quantity: syncSuccess takes the item
      off the ERP's list for good.
    * Return ``(False, reason)`` when the shop refused this item: it is reported with syncFail and offered
      again later.
    * Raise when the shop cannot be reached at all: the task fails, and items not reported yet stay
      pending for the next run.

    As shipped: a POST to the local shop stand-in of ``make demo``.
    """
    base_url = os.environ.get("WDT_EXAMPLE_SHOP_URL")
    if not base_url:
        raise RuntimeError(
            "push_to_shop() is the part of example_wdt_stock_sync to replace with your shop platform's API. "
            "To try the example as it is, start the local stand-in (python -m example_dags.shop_standin) "
            "and set WDT_EXAMPLE_SHOP_URL to the URL it prints."
        )
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


def read_id_chunks(path: str, size: int) -> Iterator[list[int]]:
    """The rec_ids of a newline-delimited file, ``size`` at a time (the file is never read whole)."""
    chunk: list[int] = []
    with object_storage_path(path).open("r") as file:
        for line in iter(file.readline, ""):  # (Airflow 2.11's file object is not iterable itself)
            if line.strip():
                chunk.append(int(line))
                if len(chunk) == size:
                    yield chunk
                    chunk = []
    if chunk:
        yield chunk


@task
def sync_stock(ids_path: str) -> dict[str, int]:
    """batchCalcStock per chunk, push each quantity to the shop, report syncSuccess/syncFail."""
    from airflow_provider_wdt.hooks.wdt import WdtHook
    from airflow_provider_wdt.stock_sync import sync_info

    totals = dict.fromkeys(("ids", "calculated", "calc_errors", "pushed", "succeeded", "failed"), 0)
    hook = WdtHook("wdt_default")
    try:
        with requests.Session() as shop:
            for chunk in read_id_chunks(ids_path, CALC_CHUNK):
                totals["ids"] += len(chunk)
                result = hook.batch_calc_stock(chunk)
                totals["calculated"] += len(result.calculated)
                totals["calc_errors"] += len(result.errors)
                for error in result.errors:  # e.g. sync switched off for the item: it stays pending
                    log.warning("No quantity for rec_id %s: %s", error.get("rec_id"), error.get("err_msg"))
                for calc in result.calculated:
                    accepted, message = push_to_shop(shop, calc)
                    totals["pushed"] += 1
                    # The calc fields go back unchanged (stock_change_count above all), plus the outcome.
                    info = sync_info(calc, success=accepted, result=message)
                    if accepted:
                        hook.sync_success(int(calc["rec_id"]), info)
                        totals["succeeded"] += 1
                    else:
                        hook.sync_fail(int(calc["rec_id"]), info)
                        totals["failed"] += 1
    finally:
        hook.close()
    log.info(
        "Stock sync: %(ids)d ids, %(calculated)d quantities calculated (%(calc_errors)d errors), "
        "%(pushed)d pushed to the shop: %(succeeded)d syncSuccess, %(failed)d syncFail.",
        totals,
    )
    return totals


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
        outlets=[PENDING_IDS],
    )
    wait >> pull
    sync_stock(pull.output)  # type: ignore[arg-type]  # the XComArg becomes the file's path at run time
