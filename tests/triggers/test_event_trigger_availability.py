"""The event trigger exists where Airflow has BaseEventTrigger, and says which version it needs elsewhere."""

from __future__ import annotations

import importlib

import pytest

from airflow_provider_wdt.triggers import wdt


def test_importing_the_event_trigger_works_or_names_the_version_needed() -> None:
    base = importlib.import_module("airflow.triggers.base")
    if hasattr(base, "BaseEventTrigger"):  # Airflow 3.0+
        from airflow_provider_wdt.triggers.wdt import WdtPendingSyncEventTrigger

        assert issubclass(WdtPendingSyncEventTrigger, base.BaseEventTrigger)
    else:  # Airflow 2.11: the module and its deferrable-sensor trigger still import
        assert wdt.WdtPendingSyncTrigger.__name__ == "WdtPendingSyncTrigger"
        with pytest.raises(ImportError, match=r"needs Airflow 3\.0 or later .*WdtPendingSyncSensor"):
            from airflow_provider_wdt.triggers.wdt import WdtPendingSyncEventTrigger
        with pytest.raises(ImportError, match=r"pending_sync_asset needs Airflow 3\.0 or later"):
            from airflow_provider_wdt._compat import watched_asset

            watched_asset("wdt://s/pending-sync", "w", object())


def test_other_missing_names_are_attribute_errors() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        wdt.no_such_name  # noqa: B018
