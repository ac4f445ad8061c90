"""Run-scoped paths for DAG files: every DAG run reads and writes a folder of its own.

    from airflow_provider_wdt.run_paths import run_scoped

    IDS_FILE = run_scoped("s3://bucket/wdt/stock_sync", "pending_ids.ndjson")
    # "s3://bucket/wdt/stock_sync/{{ run_id | replace(':', '-') | replace('+', '-') }}/pending_ids.ndjson"

The result is a template: give it to a templated argument (an operator's ``output_path`` or
``report_path``, an argument of a ``@task``) and Airflow renders it for each run. With the run in the path
no task can read a file an earlier run left behind, and a task retry finds its own run's files.

Run ids look like ``scheduled__2026-12-08T02:34:02.483449+00:00``: ``:`` is not allowed in Windows paths
and trips Hadoop-style storage URLs, and ``+`` is read as a space by some object-storage tools, so both
become ``-``. No Airflow import: this is text.
"""

from __future__ import annotations

#: The run's folder name, as a template: the run id with ``:`` and ``+`` replaced by ``-``.
RUN_FOLDER = "{{ run_id | replace(':', '-') | replace('+', '-') }}"


def run_scoped(base: str, *names: str) -> str:
    """``base/<run folder>/names...`` as a template rendered per DAG run.

    :param base: the folder (local path or object-storage URL) holding one folder per run.
    :param names: path parts inside the run's folder, e.g. a seller's folder and a file name.
    """
    return "/".join((base.rstrip("/"), RUN_FOLDER, *names))
