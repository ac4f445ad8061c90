"""Provider registration: the entry point, get_provider_info, the connection form on both UIs."""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from airflow_provider_wdt import __version__
from airflow_provider_wdt._compat import AIRFLOW_V_3
from airflow_provider_wdt.client import ClientSettings
from airflow_provider_wdt.connection_fields import (
    EXTRA_DEFAULTS,
    EXTRA_FIELDS,
    EXTRA_FIELDS_BY_NAME,
    HOOK_NAME,
    STANDARD_FIELDS,
    conn_fields,
    markdown_table,
    ui_field_behaviour,
)
from airflow_provider_wdt.get_provider_info import get_provider_info
from airflow_provider_wdt.hooks.wdt import WdtHook


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


def test_provider_info_form_is_the_one_field_definition() -> None:
    conn_type = get_provider_info()["connection-types"][0]
    behaviour = conn_type["ui-field-behaviour"]
    # Same content; Airflow 2.11 validates the hook's dict against a schema that wants underscores.
    assert WdtHook.get_ui_field_behaviour() == {
        "hidden_fields": behaviour["hidden-fields"],
        "relabeling": behaviour["relabeling"],
        "placeholders": behaviour["placeholders"],
    }
    assert conn_type["ui-field-behaviour"]["relabeling"] == {f.name: f.label for f in STANDARD_FIELDS}
    fields = conn_type["conn-fields"]
    assert list(fields) == [f.name for f in EXTRA_FIELDS]
    for field in EXTRA_FIELDS:
        spec = fields[field.name]
        assert spec["label"] == field.label
        assert spec["description"] == field.form_description
        assert spec["schema"].get("default") == field.default
        # Airflow 3's form requires a field whose type does not admit null: no extra is required.
        assert "null" in spec["schema"]["type"]


def test_every_extra_with_a_default_reaches_the_client_settings() -> None:
    settings = {f.name: f.default for f in dataclasses.fields(ClientSettings)}
    assert settings == EXTRA_DEFAULTS
    assert set(EXTRA_DEFAULTS) == {f.name for f in EXTRA_FIELDS}


def test_app_key_is_the_relabelled_schema_field_beside_the_other_credentials() -> None:
    """Not an extra: Airflow 3 folds extras into a collapsed section, where a required one kept Save
    greyed out with no visible reason."""
    behaviour = ui_field_behaviour()
    assert behaviour["hidden-fields"] == []  # Schema shown; Port too (Airflow 3's Test needs a stored one)
    assert behaviour["relabeling"]["schema"] == "App key (接口账号 appkey)"
    assert behaviour["placeholders"]["schema"] == "appkey assigned by WDT"
    assert "appkey" not in conn_fields() and "appkey" not in EXTRA_FIELDS_BY_NAME


@pytest.mark.parametrize(("readme", "lang"), [("README.md", "en"), ("README.zh-CN.md", "zh")])
def test_readme_connection_table_is_generated_from_the_definition(readme: str, lang: str) -> None:
    text = (Path(__file__).parent.parent / readme).read_text(encoding="utf-8")
    assert markdown_table(lang) in text, (
        f"{readme}'s connection table is out of date: paste the output of "
        f"`python -m airflow_provider_wdt.connection_fields{' --zh' if lang == 'zh' else ''}`"
    )


def test_every_field_has_a_chinese_description() -> None:
    texts = {f.name: f.description_zh for f in STANDARD_FIELDS} | {
        f.name: f.description_zh for f in EXTRA_FIELDS
    }
    for name, text in texts.items():
        assert any("\u4e00" <= char <= "\u9fff" for char in text), name
    zh = markdown_table("zh")
    assert all(f.description not in zh for f in EXTRA_FIELDS)  # no English description left in it


@pytest.mark.skipif(AIRFLOW_V_3, reason="the wtforms widgets exist only in the Airflow 2 UI")
def test_airflow2_widgets_use_only_field_classes_211_accepts() -> None:
    from wtforms import BooleanField, IntegerField, PasswordField, StringField

    widgets = WdtHook.get_connection_form_widgets()
    assert list(widgets) == [f.name for f in EXTRA_FIELDS]
    for name, widget in widgets.items():
        field = EXTRA_FIELDS_BY_NAME[name]
        # 2.11's providers manager drops the whole hook for any other class (FloatField did that).
        assert widget.field_class in (IntegerField, PasswordField, StringField, BooleanField), name
        assert str(widget.args[0]) == field.label
        assert str(widget.kwargs["description"]) == field.form_description
        assert widget.kwargs["default"] == field.default


@pytest.mark.skipif(AIRFLOW_V_3, reason="the wtforms widgets exist only in the Airflow 2 UI")
@pytest.mark.parametrize(("name", "value", "valid"), [("timeout", "2.5", True), ("timeout", "0", False)])
def test_airflow2_decimal_fields_are_checked_by_the_hooks_parser(name: str, value: str, valid: bool) -> None:
    from werkzeug.datastructures import MultiDict
    from wtforms import Form

    widget = WdtHook.get_connection_form_widgets()[name]
    form_class = type("F", (Form,), {name: widget})
    form = form_class(formdata=MultiDict({name: value}))  # as the browser posts it
    assert form.validate() is valid, form.errors


def _airflow_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "airflow", *args],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        check=True,
    )


def test_airflow_cli_lists_provider_and_hook() -> None:
    providers = json.loads(_airflow_cli("providers", "list", "-o", "json").stdout)
    assert any(p["package_name"] == "airflow-provider-wdt" for p in providers)
    result = _airflow_cli("providers", "hooks", "-o", "json")
    (row,) = [h for h in json.loads(result.stdout) if h.get("connection_type") == "wdt"]
    # A hook that fails to load still gets a row, with "Error when importing hook!" in it.
    assert row["class"] == "airflow_provider_wdt.hooks.wdt.WdtHook", row
    assert row["hook_name"] == HOOK_NAME
    assert "airflow_provider_wdt" not in result.stderr and "WdtHook" not in result.stderr


def test_providers_manager_loads_the_form_on_this_airflow_line() -> None:
    """What the webserver / api-server reads: a dropped hook or a refused behaviour shows up here."""
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    hook = manager.hooks["wdt"]
    assert hook is not None and hook.hook_class_name == "airflow_provider_wdt.hooks.wdt.WdtHook"
    behaviour = manager.field_behaviours["wdt"]
    assert behaviour["relabeling"] == {f.name: f.label for f in STANDARD_FIELDS}
    assert behaviour["hidden_fields"] == []
    widgets = {key for key in manager.connection_form_widgets if key.startswith("extra__wdt__")}
    assert widgets == {f"extra__wdt__{f.name}" for f in EXTRA_FIELDS}
