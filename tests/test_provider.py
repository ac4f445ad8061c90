"""Provider registration: the entry point, get_provider_info, the connection form on both UIs."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from importlib.metadata import entry_points

import pytest

from airflow_provider_wdt import __version__
from airflow_provider_wdt._compat import AIRFLOW_V_3
from airflow_provider_wdt.get_provider_info import get_provider_info
from airflow_provider_wdt.hooks.wdt import EXTRA_DEFAULTS, FORM_LABELS, WdtHook


def test_entry_point_points_at_get_provider_info() -> None:
    (ep,) = [
        e for e in entry_points(group="apache_airflow_provider") if e.value.startswith("airflow_provider_wdt")
    ]
    assert ep.load() is get_provider_info


def test_provider_info_is_consistent() -> None:
    info = get_provider_info()
    assert info["package-name"] == "airflow-provider-wdt"
    assert info["versions"] == [__version__]
    (conn_type,) = info["connection-types"]
    assert conn_type["connection-type"] == WdtHook.conn_type == "wdt"
    module, _, cls = conn_type["hook-class-name"].rpartition(".")
    assert getattr(importlib.import_module(module), cls) is WdtHook
    for kind in ("hooks", "operators", "sensors", "triggers"):
        for entry in info[kind]:
            for module in entry["python-modules"]:
                importlib.import_module(module)


def test_airflow2_and_airflow3_forms_agree() -> None:
    conn_type = get_provider_info()["connection-types"][0]
    assert conn_type["ui-field-behaviour"] == WdtHook.get_ui_field_behaviour()
    fields = conn_type["conn-fields"]
    assert set(fields) == set(FORM_LABELS) == {"appkey", *EXTRA_DEFAULTS}
    for name, spec in fields.items():
        assert spec["label"] == FORM_LABELS[name]
        if name in EXTRA_DEFAULTS:
            assert spec["schema"]["default"] == EXTRA_DEFAULTS[name]
    for label in conn_type["ui-field-behaviour"]["relabeling"].values():
        assert label  # every relabelled field has text


@pytest.mark.skipif(AIRFLOW_V_3, reason="the wtforms widgets exist only in the Airflow 2 UI")
def test_airflow2_widgets_match_conn_fields() -> None:
    widgets = WdtHook.get_connection_form_widgets()
    assert set(widgets) == set(get_provider_info()["connection-types"][0]["conn-fields"])
    for name, field in widgets.items():
        assert str(field.args[0]) == FORM_LABELS[name]


def _airflow_cli(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "airflow", *args],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        check=True,
    )
    return result.stdout


def test_airflow_cli_lists_provider_and_hook() -> None:
    providers = json.loads(_airflow_cli("providers", "list", "-o", "json"))
    assert any(p["package_name"] == "airflow-provider-wdt" for p in providers)
    hooks = json.loads(_airflow_cli("providers", "hooks", "-o", "json"))
    assert any(h.get("connection_type") == "wdt" for h in hooks)
