"""airflow_provider_wdt.compat, the public version-neutral names for DAG files, are Airflow's own."""

from __future__ import annotations

import subprocess
import sys
from importlib import import_module

from airflow_provider_wdt import _compat, compat


def test_the_public_names_are_airflows_own_on_this_version() -> None:
    # (module, name) of each on this Airflow line
    if compat.AIRFLOW_V_3:
        where = {"DAG": "airflow.sdk", "task": "airflow.sdk", "Asset": "airflow.sdk"}
        where["ObjectStoragePath"] = "airflow.sdk"
    else:
        where = {"DAG": "airflow.models.dag", "task": "airflow.decorators", "Dataset": "airflow.datasets"}
        where["ObjectStoragePath"] = "airflow.io.path"
    DAG, task, Asset, ObjectStoragePath = (getattr(import_module(m), name) for name, m in where.items())

    assert compat.DAG is DAG
    assert compat.task is task
    assert type(compat.asset("file:///tmp/wdt/ids.ndjson")) is Asset
    assert type(compat.object_storage_path("file:///tmp/wdt/ids.ndjson")) is ObjectStoragePath
    assert set(compat.__all__) == {"AIRFLOW_V_3", "DAG", "asset", "object_storage_path", "task"}


def test_it_re_exports_the_single_version_switch() -> None:
    for name in compat.__all__:
        assert getattr(compat, name) is getattr(_compat, name), name


def test_importing_it_does_not_load_the_task_decorator() -> None:
    """Like _compat: a DAG file that uses only DAG does not pay for the @task machinery."""
    probe = (
        "import sys; import airflow_provider_wdt.compat\n"
        "print(any(m in sys.modules for m in ('airflow.sdk.bases.decorator', 'airflow.decorators.base')))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "False"
