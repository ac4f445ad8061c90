"""``python -m tests.operators.sync_process CONN_JSON IDS_FILE REPORT_PATH``: one WdtStockSyncOperator run
in a process of its own, so a test can ``kill -9`` it mid-run and resume with another."""

from __future__ import annotations

import os
import sys
from typing import Any

from tests.helpers import RecordingTI, isolate_airflow_env


def accept(calc: dict[str, Any], **_: Any) -> tuple[bool, str]:
    return True, "ok"


def main(conn_json: str, ids_file: str, report_path: str) -> int:
    isolate_airflow_env("wdt-sync-process-")
    os.environ["AIRFLOW_CONN_WDT_DEFAULT"] = conn_json
    from airflow_provider_wdt.operators.wdt import WdtStockSyncOperator

    op = WdtStockSyncOperator(
        task_id="sync",
        rec_ids=ids_file,
        push_callable=accept,
        batch_size=50,
        shop_concurrency=8,
        report_path=report_path,
    )
    context: Any = {"ti": RecordingTI()}
    print(op.execute(context), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
