"""Several sellers at once: the same pull mapped over a list of connection ids, one file per seller.

Shows dynamic task mapping: ``pull_ids`` becomes one task instance per connection (each its own seller
sid, credentials and rate limit), so the pulls run in parallel on whatever executor the deployment has -
Celery workers, Kubernetes pods - which is how the provider scales past one machine. Each seller's ids go
to ``<output dir>/sellers/<conn_id>/pending_ids.ndjson``; when all are done, ``write_manifest`` lists the
files and their counts in ``manifest.json``, declared as an Asset (Dataset on Airflow 2.11) for
downstream DAGs.

The connection ids come from the DAG param ``conn_ids`` (default ``["wdt_default"]``; trigger with e.g.
``{"conn_ids": ["wdt_shop_a", "wdt_shop_b"]}``). Files go under ``$WDT_EXAMPLE_OUTPUT_DIR`` (default: the
system temp folder's ``wdt-examples``); with several workers use storage all of them reach (``s3://...``).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

# On Airflow 3 alone: `from airflow.sdk import DAG, Asset, task` (asset() gives a Dataset on 2.11).
from airflow_provider_wdt._compat import DAG, asset, object_storage_path, task
from airflow_provider_wdt.operators.wdt import WdtPendingSyncIdsOperator

OUTPUT_DIR = os.environ.get("WDT_EXAMPLE_OUTPUT_DIR") or os.path.join(tempfile.gettempdir(), "wdt-examples")
SELLERS_DIR = f"{OUTPUT_DIR}/sellers"
MANIFEST_FILE = f"{SELLERS_DIR}/manifest.json"
MANIFEST = asset(MANIFEST_FILE if "://" in MANIFEST_FILE else f"file://{MANIFEST_FILE}")

with DAG(
    dag_id="example_wdt_multi_seller",
    description="Pull pending WDT stock-sync ids for several sellers in parallel, one file each",
    schedule=None,
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,
    params={"conn_ids": ["wdt_default"]},
    tags=["wdt", "example"],
    doc_md=__doc__,
) as dag:

    @task
    def seller_pulls(params: dict[str, Any] | None = None) -> list[dict[str, str]]:
        """One set of operator arguments per connection id: which seller, and its own file."""
        conn_ids = (params or {}).get("conn_ids")
        if not isinstance(conn_ids, list) or not conn_ids or not all(isinstance(c, str) for c in conn_ids):
            raise ValueError(f"param conn_ids must be a non-empty list of connection ids, got {conn_ids!r}")
        if len(set(conn_ids)) != len(conn_ids):
            raise ValueError(f"param conn_ids lists a connection twice: {conn_ids!r}")
        return [
            {"wdt_conn_id": conn_id, "output_path": f"{SELLERS_DIR}/{conn_id}/pending_ids.ndjson"}
            for conn_id in conn_ids
        ]

    @task(outlets=[MANIFEST])
    def write_manifest(targets: list[dict[str, str]], paths: Sequence[str]) -> str:
        """After every seller's pull: which file holds whose ids, and how many."""
        sellers = []
        for target, path in zip(targets, paths, strict=True):
            with object_storage_path(path).open("r") as file:
                count = sum(1 for line in iter(file.readline, "") if line.strip())
            sellers.append({"conn_id": target["wdt_conn_id"], "path": path, "id_count": count})
        manifest = object_storage_path(MANIFEST_FILE)
        manifest.parent.mkdir(parents=True, exist_ok=True)
        with manifest.open("w") as out:
            json.dump({"sellers": sellers}, out, indent=2)
        return MANIFEST_FILE

    targets = seller_pulls()
    pulls = WdtPendingSyncIdsOperator.partial(
        task_id="pull_ids",
        output_format="ndjson",
        max_active_tis_per_dag=8,  # at most this many sellers pulled at the same time
    ).expand_kwargs(targets)
    write_manifest(targets, pulls.output)  # type: ignore[arg-type]  # XComArgs: resolved at run time
