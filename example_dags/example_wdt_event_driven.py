"""The stock sync started by the ERP itself: a run each time the pending sync list changes (Airflow 3.0+).

No schedule and no sensor task: the DAG is scheduled on the asset ``wdt://<sid>/pending-sync``, whose
AssetWatcher runs ``WdtPendingSyncEventTrigger`` in the triggerer. It polls every ``poll_interval``
seconds and queues one run per change: new items, items offered again after syncFail, items whose stock
moved after a sync. Items that simply stay pending start nothing more.

1. ``pull_pending_ids`` - WdtPendingSyncIdsOperator from position 0: the whole list, not the event's
   payload (its few ids are a hint for the log; items may have changed since it was sent).
2. ``sync_stock`` - WdtStockSyncOperator: batchCalcStock, ``push_to_shop()``, syncSuccess/syncFail.

``max_active_runs=1``: a change seen while a run syncs queues the next run instead of a second one
pulling the same list at once.

Settings: ``$WDT_EXAMPLE_SID`` (the seller account, the connection's Login; default: the simulator's),
``$WDT_EXAMPLE_POLL_INTERVAL`` (seconds, default 60), ``$WDT_EXAMPLE_OUTPUT_DIR`` and
``$WDT_EXAMPLE_SHOP_URL`` as in example_wdt_stock_sync. On Airflow 2.11 this file defines no DAG: use
example_wdt_stock_sync's sensor there.
"""

from __future__ import annotations

import os
import tempfile
from datetime import datetime, timezone
from typing import Any

import requests

from airflow_provider_wdt.compat import DAG
from airflow_provider_wdt.operators.wdt import WdtPendingSyncIdsOperator, WdtStockSyncOperator
from airflow_provider_wdt.run_paths import run_scoped

try:
    from airflow_provider_wdt.triggers.wdt import WdtPendingSyncEventTrigger  # noqa: F401
except ImportError:  # Airflow 2.11: no event-driven scheduling
    EVENT_DRIVEN = False
else:
    EVENT_DRIVEN = True

SID = os.environ.get("WDT_EXAMPLE_SID", "wdtsim")
POLL_INTERVAL = float(os.environ.get("WDT_EXAMPLE_POLL_INTERVAL", "60"))
OUTPUT_DIR = os.environ.get("WDT_EXAMPLE_OUTPUT_DIR") or os.path.join(tempfile.gettempdir(), "wdt-examples")
# One folder per run (templates), as in example_wdt_stock_sync.
IDS_FILE = run_scoped(f"{OUTPUT_DIR}/event_driven", "pending_ids.ndjson")
REPORT_FILE = run_scoped(f"{OUTPUT_DIR}/event_driven", "report.ndjson")


def push_to_shop(calc: dict[str, Any]) -> tuple[bool, str]:
    """Set one item's stock on the shop (replace with your platform's API, as in example_wdt_stock_sync).

    As shipped: a POST to the local shop stand-in (``python -m airflow_provider_wdt.simulator.shop``).
    """
    base_url = os.environ.get("WDT_EXAMPLE_SHOP_URL")
    if not base_url:
        raise RuntimeError("push_to_shop() is the part to replace; or set WDT_EXAMPLE_SHOP_URL (stand-in).")
    response = requests.post(
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


if EVENT_DRIVEN:
    from airflow_provider_wdt.assets import pending_sync_asset

    PENDING_SYNC = pending_sync_asset(SID, "wdt_default", poll_interval=POLL_INTERVAL)

    with DAG(
        dag_id="example_wdt_event_driven",
        description="WDT stock sync, started by each change of the ERP's pending sync list",
        schedule=[PENDING_SYNC],
        start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
        catchup=False,
        max_active_runs=1,
        tags=["wdt", "example"],
        doc_md=__doc__,
    ) as dag:
        pull = WdtPendingSyncIdsOperator(
            task_id="pull_pending_ids",
            wdt_conn_id="wdt_default",
            start_position=0,  # the whole list: the event says that something changed, not what to sync
            output_path=IDS_FILE,
            output_format="ndjson",
        )
        sync = WdtStockSyncOperator(
            task_id="sync_stock",
            wdt_conn_id="wdt_default",
            rec_ids=pull.output,
            push_callable=push_to_shop,
            shop_concurrency=4,
            report_path=REPORT_FILE,
        )
        pull >> sync
