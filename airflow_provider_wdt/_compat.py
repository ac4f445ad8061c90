"""Every import that differs between Airflow lines (2.11, 3.0, 3.1, 3.2, 3.3), in one place.

Names are detected, never inferred from a version number: each one is taken from the newest home that
has it, else from the older one. The task SDK grew in steps (measured): 3.0 has no ``airflow.sdk.BaseHook``,
3.0 and 3.1 have no ``airflow.sdk.configuration`` and lack most of ``airflow.sdk.exceptions``, which 3.2
completes; 2.11 has no ``airflow.sdk`` at all. The older homes still work on those lines.

Heavy or rarely needed pieces (object storage, assets, @task, the triggerer's base) are behind functions or
a module ``__getattr__`` so that importing an operator at DAG-parse time stays cheap.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any


def _first(name: str, *modules: str) -> Any:
    """``name`` from the first of ``modules`` that has it (a missing module counts as not having it)."""
    for module in modules:
        try:
            found = importlib.import_module(module)
        except ImportError:
            continue
        if hasattr(found, name):
            return getattr(found, name)
    raise ImportError(f"none of {', '.join(modules)} has {name!r}: this Airflow version is not supported")


# The task SDK (Airflow 3): present or not, detected.
AIRFLOW_V_3 = importlib.util.find_spec("airflow.sdk") is not None

if TYPE_CHECKING:  # what the type checker sees: the newest line's homes
    from airflow.sdk import (
        DAG,
        BaseHook,
        BaseOperator,
        BaseSensorOperator,
        ObjectStoragePath,
        PokeReturnValue,
    )
    from airflow.sdk import Variable as Variable
    from airflow.sdk import task as task
    from airflow.sdk.configuration import conf
    from airflow.sdk.definitions.context import Context
    from airflow.sdk.exceptions import (
        AirflowException,
        AirflowFailException,
        AirflowSensorTimeout,
        AirflowSkipException,
        TaskDeferred,
    )
    from airflow.triggers.base import BaseEventTrigger, BaseTrigger, TriggerEvent
else:
    # Newest home first. airflow.sdk.* for Airflow 3; then the 2.x homes, which 3.0 and 3.1 still need.
    BaseHook = _first("BaseHook", "airflow.sdk", "airflow.hooks.base")
    BaseOperator = _first("BaseOperator", "airflow.sdk", "airflow.models.baseoperator")
    BaseSensorOperator = _first("BaseSensorOperator", "airflow.sdk", "airflow.sensors.base")
    PokeReturnValue = _first("PokeReturnValue", "airflow.sdk", "airflow.sensors.base")
    DAG = _first("DAG", "airflow.sdk", "airflow.models.dag")
    Context = _first("Context", "airflow.sdk.definitions.context", "airflow.utils.context")
    conf = _first("conf", "airflow.sdk.configuration", "airflow.configuration")
    AirflowException = _first("AirflowException", "airflow.sdk.exceptions", "airflow.exceptions")
    AirflowFailException = _first("AirflowFailException", "airflow.sdk.exceptions", "airflow.exceptions")
    AirflowSensorTimeout = _first("AirflowSensorTimeout", "airflow.sdk.exceptions", "airflow.exceptions")
    AirflowSkipException = _first("AirflowSkipException", "airflow.sdk.exceptions", "airflow.exceptions")
    TaskDeferred = _first("TaskDeferred", "airflow.sdk.exceptions", "airflow.exceptions")

# Loaded on first use (module __getattr__ below): name -> its homes, newest first.
_LAZY: dict[str, tuple[str, ...]] = {
    # The @task machinery (the standard provider's PythonOperator) is not cheap to import.
    "task": ("airflow.sdk", "airflow.decorators"),
    # The triggerer's classes did not move to the task SDK.
    "BaseTrigger": ("airflow.triggers.base",),
    "TriggerEvent": ("airflow.triggers.base",),
    # Only the hand-over of calls between hosts needs it.
    "Variable": ("airflow.sdk", "airflow.models"),
    # Airflow 3.0+: triggers for AssetWatchers (event-driven scheduling); 2.11 has none.
    "BaseEventTrigger": ("airflow.triggers.base",),
}

#: Why event-driven scheduling is missing, for the ImportError that Airflow 2.11 users see.
EVENT_SCHEDULING_NEEDS = (
    "needs Airflow 3.0 or later (BaseEventTrigger, AssetWatcher: event-driven scheduling). "
    "On Airflow 2.11 wait with WdtPendingSyncSensor instead."
)


def __getattr__(name: str) -> Any:
    """Names in ``_LAZY`` on first use: importing an operator at DAG-parse time must not pay for them."""
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        value = _first(name, *_LAZY[name])
    except ImportError as exc:
        if name == "BaseEventTrigger":
            raise ImportError(f"WdtPendingSyncEventTrigger {EVENT_SCHEDULING_NEEDS}") from exc
        raise
    globals()[name] = value
    return value


def mask_secret(value: str) -> None:
    """Register a value with Airflow's secrets masker (task logs, rendered fields, XCom views)."""
    _first("mask_secret", "airflow.sdk.log", "airflow.utils.log.secrets_masker")(value)


def object_storage_path(url: str, conn_id: str | None = None) -> ObjectStoragePath:
    """A path for a local file, ``file://`` or any object-storage URL Airflow understands."""
    path_class = _first("ObjectStoragePath", "airflow.sdk", "airflow.io.path")
    return path_class(url, conn_id=conn_id) if conn_id else path_class(url)


def asset(uri: str) -> Any:
    """An Asset (Airflow 3) or Dataset (Airflow 2.11) for ``outlets``, so DAGs can be scheduled on it."""
    try:
        asset_class = _first("Asset", "airflow.sdk")
    except ImportError:
        asset_class = _first("Dataset", "airflow.datasets")
    return asset_class(uri)


def watched_asset(uri: str, watcher_name: str, trigger: Any) -> Any:
    """An Asset whose AssetWatcher runs ``trigger`` in the triggerer (Airflow 3.0+)."""
    try:
        asset_class = _first("Asset", "airflow.sdk")
        watcher_class = _first("AssetWatcher", "airflow.sdk")
    except ImportError as exc:  # Airflow 2.11
        raise ImportError(f"pending_sync_asset {EVENT_SCHEDULING_NEEDS}") from exc
    return asset_class(uri, watchers=[watcher_class(name=watcher_name, trigger=trigger)])


__all__ = [
    "AIRFLOW_V_3",
    "DAG",
    "EVENT_SCHEDULING_NEEDS",
    "AirflowException",
    "AirflowFailException",
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
    "Variable",
    "asset",
    "conf",
    "mask_secret",
    "object_storage_path",
    "task",
    "watched_asset",
]
