"""Every import that differs between Airflow 2.11 and 3.x, in one place.

Heavy or rarely needed pieces (object storage, assets) are behind functions so that importing an
operator at DAG-parse time stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow import __version__ as AIRFLOW_VERSION

AIRFLOW_V_3 = int(AIRFLOW_VERSION.split(".", 1)[0]) >= 3

if TYPE_CHECKING or AIRFLOW_V_3:
    from airflow.sdk import DAG, BaseHook, BaseOperator, BaseSensorOperator, PokeReturnValue
    from airflow.sdk.configuration import conf
    from airflow.sdk.definitions.context import Context
    from airflow.sdk.exceptions import (
        AirflowException,
        AirflowSensorTimeout,
        AirflowSkipException,
        TaskDeferred,
    )
else:  # Airflow 2.11
    from airflow.configuration import conf
    from airflow.exceptions import AirflowException, AirflowSensorTimeout, AirflowSkipException, TaskDeferred
    from airflow.hooks.base import BaseHook
    from airflow.models import BaseOperator
    from airflow.models.dag import DAG
    from airflow.sensors.base import BaseSensorOperator, PokeReturnValue
    from airflow.utils.context import Context

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath, task
    from airflow.triggers.base import BaseEventTrigger, BaseTrigger, TriggerEvent

#: Why event-driven scheduling is missing, for the ImportError that Airflow 2.11 users see.
EVENT_SCHEDULING_NEEDS = (
    "needs Airflow 3.0 or later (BaseEventTrigger, AssetWatcher: event-driven scheduling); this is "
    f"Airflow {AIRFLOW_VERSION}. On Airflow 2.11 wait with WdtPendingSyncSensor instead."
)


def __getattr__(name: str) -> Any:
    """``task``, ``BaseTrigger``, ``BaseEventTrigger`` and ``TriggerEvent`` on first use: importing an
    operator at DAG-parse time must not pay for the @task machinery (the standard provider's
    PythonOperator) or the triggerer's base."""
    if name == "task":
        if TYPE_CHECKING or AIRFLOW_V_3:
            from airflow.sdk import task as value
        else:
            from airflow.decorators import task as value
    elif name in ("BaseTrigger", "TriggerEvent", "BaseEventTrigger"):
        # Same module on both versions (the triggerer's classes did not move to the task SDK).
        from airflow.triggers import base

        if not hasattr(base, name):  # BaseEventTrigger: Airflow 2.11 has none
            raise ImportError(f"WdtPendingSyncEventTrigger {EVENT_SCHEDULING_NEEDS}")
        value = getattr(base, name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def mask_secret(value: str) -> None:
    """Register a value with Airflow's secrets masker (task logs, rendered fields, XCom views)."""
    if AIRFLOW_V_3:
        from airflow.sdk.log import mask_secret as _mask
    else:
        from airflow.utils.log.secrets_masker import mask_secret as _mask  # type: ignore[no-redef]
    _mask(value)


def object_storage_path(url: str, conn_id: str | None = None) -> ObjectStoragePath:
    """A path for a local file, ``file://`` or any object-storage URL Airflow understands."""
    if AIRFLOW_V_3:
        from airflow.sdk import ObjectStoragePath as _Path
    else:
        from airflow.io.path import ObjectStoragePath as _Path  # type: ignore[no-redef]
    return _Path(url, conn_id=conn_id) if conn_id else _Path(url)


def asset(uri: str) -> Any:
    """An Asset (Airflow 3) or Dataset (Airflow 2.11) for ``outlets``, so DAGs can be scheduled on it."""
    if AIRFLOW_V_3:
        from airflow.sdk import Asset

        return Asset(uri)
    from airflow.datasets import Dataset

    return Dataset(uri)


def watched_asset(uri: str, watcher_name: str, trigger: Any) -> Any:
    """An Asset whose AssetWatcher runs ``trigger`` in the triggerer (Airflow 3.0+)."""
    try:
        from airflow.sdk import Asset, AssetWatcher
    except ImportError as exc:  # Airflow 2.11
        raise ImportError(f"pending_sync_asset {EVENT_SCHEDULING_NEEDS}") from exc
    return Asset(uri, watchers=[AssetWatcher(name=watcher_name, trigger=trigger)])


__all__ = [
    "AIRFLOW_V_3",
    "DAG",
    "EVENT_SCHEDULING_NEEDS",
    "AirflowException",
    "AirflowSensorTimeout",
    "AirflowSkipException",
    "BaseEventTrigger",
    "BaseHook",
    "BaseOperator",
    "BaseSensorOperator",
    "BaseTrigger",
    "Context",
    "PokeReturnValue",
    "TaskDeferred",
    "TriggerEvent",
    "asset",
    "conf",
    "mask_secret",
    "object_storage_path",
    "task",
    "watched_asset",
]
