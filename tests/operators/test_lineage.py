"""OpenLineage datasets of the operators, read through the openlineage provider's own extractor.

Skipped when the optional provider (extra ``openlineage``) is not installed; nothing in the provider
imports it otherwise (see test_lineage_is_optional).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_wdt.operators.wdt import WdtPendingSyncIdsOperator, WdtStockSyncOperator
from airflow_provider_wdt.simulator import WdtSimulator

PENDING_LIST = "sales.StockSync.getSelfWaitSyncIdListOpen"


def lineage(operator: Any) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(inputs, outputs) as (namespace, name), the way the OpenLineage listener gets them on success."""
    pytest.importorskip("airflow.providers.openlineage", reason="the openlineage provider is not installed")
    from airflow.providers.openlineage.extractors.manager import ExtractorManager

    extractor_class = ExtractorManager().get_extractor_class(operator)
    assert extractor_class is not None, "the provider does not see the lineage method"
    found = extractor_class(operator).extract_on_complete(None)
    assert found is not None

    def pairs(datasets: list[Any]) -> list[tuple[str, str]]:
        return [(d.namespace, d.name) for d in datasets]

    return pairs(found.inputs), pairs(found.outputs)


def push(calc: dict[str, Any]) -> tuple[bool, str]:
    return True, "ok"


def test_pull_to_a_file_reads_the_pending_list_and_writes_the_file(
    simulator: WdtSimulator, tmp_path: Path
) -> None:
    path = tmp_path / "ids.ndjson"
    op = WdtPendingSyncIdsOperator(task_id="pull", output_path=str(path))
    assert lineage(op) == ([(f"wdt://{simulator.default_sid}", PENDING_LIST)], [("file", str(path))])


def test_pull_to_xcom_has_no_output_and_object_storage_is_bucket_and_key(simulator: WdtSimulator) -> None:
    assert lineage(WdtPendingSyncIdsOperator(task_id="pull"))[1] == []
    op = WdtPendingSyncIdsOperator(task_id="pull", output_path="s3://bucket/wdt/ids.ndjson")
    assert lineage(op)[1] == [("s3://bucket", "wdt/ids.ndjson")]


def test_stock_sync_reads_the_list_and_the_ids_file_and_writes_the_report(
    simulator: WdtSimulator, tmp_path: Path
) -> None:
    ids, report = tmp_path / "ids.ndjson", tmp_path / "report.ndjson"
    op = WdtStockSyncOperator(task_id="sync", rec_ids=str(ids), push_callable=push, report_path=str(report))
    inputs, outputs = lineage(op)
    assert inputs == [(f"wdt://{simulator.default_sid}", PENDING_LIST), ("file", str(ids))]
    assert outputs == [("file", str(report))]
    listed = WdtStockSyncOperator(task_id="sync", rec_ids=[1, 2], push_callable=push)
    assert lineage(listed) == ([(f"wdt://{simulator.default_sid}", PENDING_LIST)], [])


def test_a_missing_connection_names_the_list_by_connection_id() -> None:
    op = WdtPendingSyncIdsOperator(task_id="pull", wdt_conn_id="wdt_nowhere")
    assert lineage(op)[0] == [("wdt://wdt_nowhere", PENDING_LIST)]


def test_lineage_is_optional() -> None:
    """Importing and parsing with the operators never loads the openlineage provider."""
    probe = (
        "import sys\n"
        "import airflow_provider_wdt.operators.wdt, airflow_provider_wdt.operators.stock_sync\n"
        "print([m for m in ('airflow_provider_wdt.lineage', 'openlineage.client',"
        " 'airflow.providers.openlineage.extractors') if m in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "[]", done.stderr
