"""WdtPendingSyncIdsOperator into an XCom and into a file, and a downstream task reading both (dag.test()).

The run's conf says where to write: ``out_dir`` for the operator's file (a templated output_path), ``out``
for the downstream task's record of what it received, so the test checks XComs without reading the
metadata DB (whose API differs between Airflow 2.11 and 3.x).
"""

from __future__ import annotations

import csv
import json
from datetime import datetime
from typing import Any

from airflow_provider_wdt._compat import DAG, task
from airflow_provider_wdt.operators.wdt import WdtPendingSyncIdsOperator

with DAG(
    dag_id="wdt_operator_pull",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["wdt", "test"],
) as dag:
    to_xcom = WdtPendingSyncIdsOperator(task_id="pull_to_xcom", count=10)
    to_file = WdtPendingSyncIdsOperator(
        task_id="pull_to_file",
        count="{{ dag_run.conf.get('count', 5000) }}",
        start_position="{{ dag_run.conf.get('start_position', 0) }}",
        output_path="{{ dag_run.conf['out_dir'] }}/pending/ids.csv",
    )

    @task
    def record(ids: list[int], path: str, **context: Any) -> int:
        ti = context["ti"]
        with open(path, encoding="utf-8", newline="") as handle:
            file_ids = [int(row["rec_id"]) for row in csv.DictReader(handle)]
        seen = {
            "ids": ids,
            "path": path,
            "file_ids": file_ids,
            "position": ti.xcom_pull(task_ids="pull_to_xcom", key="position"),
            "id_count": ti.xcom_pull(task_ids="pull_to_xcom", key="id_count"),
            "file_position": ti.xcom_pull(task_ids="pull_to_file", key="position"),
            "file_id_count": ti.xcom_pull(task_ids="pull_to_file", key="id_count"),
        }
        with open(context["dag_run"].conf["out"], "w", encoding="utf-8") as out:
            json.dump(seen, out)
        return len(ids)

    # XComArgs stand in for the values at parse time; Airflow resolves them when the task runs.
    record(to_xcom.output, to_file.output)  # type: ignore[arg-type]
