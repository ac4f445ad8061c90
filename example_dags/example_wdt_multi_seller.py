"""Several sellers at once: the same pull mapped over a list of connection ids, one file per seller.

Shows dynamic task mapping: ``pull_ids`` becomes one task instance per connection (each its own seller
sid, credentials and rate limit), so the pulls run in parallel on whatever executor the deployment has -
Celery workers, Kubernetes pods - which is how the provider scales past one machine.

Every run writes into its own folder, ``<output dir>/sellers/<run>/<conn_id>/pending_ids.ndjson``, so a
worker can never pick up a file an earlier run left behind. ``write_manifest`` builds ``manifest.json``
(next to the sellers' folders) from the pulls' own ``id_count`` and ``position`` XComs, not by reading
the files back: the counts are what each pull delivered, whichever worker ran it. The sellers' folder is
an Asset (a Dataset on Airflow 2.11); each run's event names its manifest in ``extra``.

The connection ids come from the DAG param ``conn_ids`` (default ``["wdt_default"]``; trigger with e.g.
``{"conn_ids": ["wdt_shop_a", "wdt_shop_b"]}``). Files go under ``$WDT_EXAMPLE_OUTPUT_DIR`` (default: the
system temp folder's ``wdt-examples``); with several workers it must be storage all of them read and write
(``s3://...``): a path in an XCom is only a pointer.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

# On Airflow 3 alone: `from airflow.sdk import DAG, Asset, ObjectStoragePath, task`.
from airflow_provider_wdt.compat import DAG, asset, object_storage_path, task
from airflow_provider_wdt.operators.wdt import XCOM_ID_COUNT, XCOM_POSITION, WdtPendingSyncIdsOperator
from airflow_provider_wdt.run_paths import run_scoped

OUTPUT_DIR = os.environ.get("WDT_EXAMPLE_OUTPUT_DIR") or os.path.join(tempfile.gettempdir(), "wdt-examples")
SELLERS_DIR = f"{OUTPUT_DIR}/sellers"
SELLERS = asset(SELLERS_DIR if "://" in SELLERS_DIR else f"file://{SELLERS_DIR}")
# The run's own folder, a template: Airflow renders it in the tasks' arguments below.
RUN_DIR = run_scoped(SELLERS_DIR)


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
    def seller_pulls(folder: str, params: dict[str, Any] | None = None) -> list[dict[str, str]]:
        """One set of operator arguments per connection id: which seller, and its own file in this run's
        ``folder``."""
        conn_ids = (params or {}).get("conn_ids")
        if not isinstance(conn_ids, list) or not conn_ids or not all(isinstance(c, str) for c in conn_ids):
            raise ValueError(f"param conn_ids must be a non-empty list of connection ids, got {conn_ids!r}")
        if len(set(conn_ids)) != len(conn_ids):
            raise ValueError(f"param conn_ids lists a connection twice: {conn_ids!r}")
        return [
            {"wdt_conn_id": conn_id, "output_path": f"{folder}/{conn_id}/pending_ids.ndjson"}
            for conn_id in conn_ids
        ]

    @task(outlets=[SELLERS])
    def write_manifest(
        targets: list[dict[str, str]],
        paths: Sequence[str],
        id_counts: Sequence[int],
        positions: Sequence[int],
        folder: str,
        run_id: str | None = None,
        outlet_events: Any = None,
    ) -> str:
        """After every seller's pull: which file holds whose ids, how many, and where to resume."""
        # The mapped pulls' XComs arrive as lazy sequences. One slice reads exactly the items there are;
        # iterating them (zip included) asks for one item past the end, which Airflow 3 logs as an error.
        all_paths, all_counts, all_positions = list(paths[:]), list(id_counts[:]), list(positions[:])
        if not len(all_paths) == len(all_counts) == len(all_positions) == len(targets):
            raise RuntimeError(f"{len(targets)} sellers but XComs from {len(all_paths)} pulls")
        sellers = [
            {"conn_id": target["wdt_conn_id"], "path": path, "id_count": count, "position": position}
            for target, path, count, position in zip(
                targets, all_paths, all_counts, all_positions, strict=True
            )
        ]
        manifest_path = f"{folder}/manifest.json"
        manifest = object_storage_path(manifest_path)
        manifest.parent.mkdir(parents=True, exist_ok=True)
        with manifest.open("w") as out:
            json.dump({"run_id": run_id, "sellers": sellers}, out, indent=2)
        if outlet_events is not None:  # tells DAGs scheduled on SELLERS where this run's manifest is
            outlet_events[SELLERS].extra = {"manifest": manifest_path, "run_id": run_id}
        return manifest_path

    targets = seller_pulls(RUN_DIR)
    pulls = WdtPendingSyncIdsOperator.partial(
        task_id="pull_ids",
        output_format="ndjson",
        max_active_tis_per_dag=8,  # at most this many sellers pulled at the same time
    ).expand_kwargs(targets)
    # XComArgs: Airflow passes the values (one per mapped pull) when the task runs.
    id_counts, positions = pulls.output[XCOM_ID_COUNT], pulls.output[XCOM_POSITION]  # type: ignore[index]
    write_manifest(targets, pulls.output, id_counts, positions, RUN_DIR)  # type: ignore[arg-type]
