"""OpenLineage datasets of the operators, for the optional ``apache-airflow-providers-openlineage``.

The operators' ``get_openlineage_facets_on_complete`` import this module only when the OpenLineage
listener asks, and this module imports the provider only inside its functions: without the provider
nothing here is ever loaded.

Naming: the pending sync list of seller ``<sid>`` is namespace ``wdt://<sid>``, name
``sales.StockSync.getSelfWaitSyncIdListOpen``; files follow OpenLineage's naming (``file`` and the
absolute path for a local file, ``scheme://bucket`` and the object key for object storage).
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_wdt.stock_sync import GET_PENDING_SYNC_IDS


def _dataset(namespace: str, name: str) -> Any:
    from airflow.providers.common.compat.openlineage.facet import Dataset

    return Dataset(namespace=namespace, name=name)


def pending_list_dataset(wdt_conn_id: str) -> Any:
    """The seller's pending sync list; the seller is the connection's Login (sid)."""
    from airflow_provider_wdt.hooks.wdt import WdtHook

    try:
        sid = WdtHook.get_connection(wdt_conn_id).login or wdt_conn_id
    except Exception:  # lineage must never fail the task: fall back on the connection id
        sid = wdt_conn_id
    return _dataset(f"wdt://{sid}", GET_PENDING_SYNC_IDS)


def file_dataset(path: str) -> Any:
    """A file written or read by an operator: a local path or an object-storage URL."""
    parts = urlsplit(path)
    if parts.scheme in ("", "file"):
        return _dataset("file", os.path.abspath(parts.path if parts.scheme else path))
    return _dataset(f"{parts.scheme}://{parts.netloc}", parts.path.lstrip("/"))  # bucket, object key


def operator_lineage(inputs: list[Any], outputs: list[Any]) -> Any:
    from airflow.providers.openlineage.extractors import OperatorLineage

    return OperatorLineage(inputs=inputs, outputs=outputs)


def pending_ids_lineage(wdt_conn_id: str, output_path: str | None) -> Any:
    """WdtPendingSyncIdsOperator: the pending list in; the ids file out (nothing when ids go to XCom)."""
    outputs = [file_dataset(output_path)] if output_path else []
    return operator_lineage([pending_list_dataset(wdt_conn_id)], outputs)


def stock_sync_lineage(wdt_conn_id: str, ids_path: str | None, report_path: str | None) -> Any:
    """WdtStockSyncOperator: the pending list (and the ids file it read) in; the report file out."""
    inputs = [pending_list_dataset(wdt_conn_id)]
    if ids_path:
        inputs.append(file_dataset(ids_path))
    outputs = [file_dataset(report_path)] if report_path else []
    return operator_lineage(inputs, outputs)
