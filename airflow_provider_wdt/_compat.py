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

try:  # the task SDK's; the old path still imports on Airflow 3 but warns
    from airflow.sdk.exceptions import AirflowFailException
except ImportError:  # Airflow 2.11
    from airflow.exceptions import AirflowFailException  # type: ignore[no-redef]

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath, task
    from airflow.triggers.base import BaseTrigger, TriggerEvent


def __getattr__(name: str) -> Any:
    """``task``, ``BaseTrigger`` and ``TriggerEvent`` on first use: importing an operator at DAG-parse time
    must not pay for the @task machinery (the standard provider's PythonOperator) or the triggerer's base."""
    if name == "task":
        if TYPE_CHECKING or AIRFLOW_V_3:
            from airflow.sdk import task as value
        else:
            from airflow.decorators import task as value
    elif name in ("BaseTrigger", "TriggerEvent"):
        # Same module on both versions (the triggerer's classes did not move to the task SDK).
        from airflow.triggers import base

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


__all__ = [
    "AIRFLOW_V_3",
    "DAG",
    "AirflowException",
    "AirflowFailException",
    "AirflowSensorTimeout",
    "AirflowSkipException",
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
]
