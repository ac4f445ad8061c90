"""Version-neutral names for DAG files that run on Airflow 2.11 and 3.x alike (public, documented).

    from airflow_provider_wdt.compat import DAG, asset, object_storage_path, task

What each name is:

* ``DAG``: ``airflow.sdk.DAG`` on Airflow 3, ``airflow.models.dag.DAG`` on 2.11;
* ``task``: ``airflow.sdk.task``, or ``airflow.decorators.task``;
* ``asset(uri)``: ``airflow.sdk.Asset(uri)``, or ``airflow.datasets.Dataset(uri)``;
* ``object_storage_path(url, conn_id=None)``: ``airflow.sdk.ObjectStoragePath``, or
  ``airflow.io.path.ObjectStoragePath``;
* ``AIRFLOW_V_3``: True on Airflow 3.

On Airflow 3 alone a DAG file needs none of this: import from ``airflow.sdk`` directly. The provider's
own version switch is ``airflow_provider_wdt._compat`` (private, may change); this module re-exports
from it only what DAG authors use, and keeps these names stable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_wdt._compat import AIRFLOW_V_3, DAG, asset, object_storage_path

if TYPE_CHECKING:
    from airflow_provider_wdt._compat import task


def __getattr__(name: str) -> Any:
    """``task`` on first use, as in ``_compat`` (the @task machinery is not cheap to import)."""
    if name == "task":
        from airflow_provider_wdt import _compat

        value = _compat.task
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["AIRFLOW_V_3", "DAG", "asset", "object_storage_path", "task"]
