"""Every example DAG file loads: no import errors, no warnings about the provider, no I/O at parse time."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from airflow_provider_wdt._compat import AIRFLOW_V_3
from tests.examples.conftest import EXAMPLES_DIR, load_example

EXAMPLE_FILES = sorted(path.stem for path in EXAMPLES_DIR.glob("example_*.py"))
EXPECTED_DAGS = {
    "example_wdt_pull_to_xcom": "example_wdt_pull_to_xcom",
    "example_wdt_sensor_to_file": "example_wdt_sensor_to_file",
    "example_wdt_ids_file_consumer": "example_wdt_sensor_to_file",
    "example_wdt_stock_sync": "example_wdt_stock_sync",
    "example_wdt_multi_seller": "example_wdt_multi_seller",
}
# Event-driven scheduling needs Airflow 3.0+ (BaseEventTrigger); on 2.11 the file loads and defines no DAG.
EVENT_DRIVEN = hasattr(importlib.import_module("airflow.triggers.base"), "BaseEventTrigger")
if EVENT_DRIVEN:
    EXPECTED_DAGS["example_wdt_event_driven"] = "example_wdt_event_driven"


_OUR_NAMES = ("airflow_provider_wdt", "example_dags", "example_wdt", "Wdt")


def _ours(message: warnings.WarningMessage) -> bool:
    """A warning raised in, attributed to, or talking about the provider or the examples."""
    text = f"{message.filename} {message.message}"
    return any(part in text for part in _OUR_NAMES)


def test_the_examples_are_all_there() -> None:
    assert set(EXAMPLE_FILES) == set(EXPECTED_DAGS.values()) | {"example_wdt_event_driven"}


@pytest.mark.parametrize("name", EXAMPLE_FILES)
def test_example_imports_without_provider_warnings(
    name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # No connection, no shop, nothing reachable: parsing must not need any of it.
    monkeypatch.setenv("WDT_EXAMPLE_OUTPUT_DIR", str(tmp_path / "out"))
    monkeypatch.delenv("WDT_EXAMPLE_SHOP_URL", raising=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module = load_example(name)
    assert [str(w.message) for w in caught if _ours(w)] == []
    dags = {dag_id for dag_id, file in EXPECTED_DAGS.items() if file == name}
    found = {obj.dag_id for obj in vars(module).values() if type(obj).__name__ == "DAG"}
    assert found == dags
    assert not (tmp_path / "out").exists()  # nothing written at parse time


def test_dagbag_of_the_examples_folder_has_no_import_errors() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if AIRFLOW_V_3:
            from airflow.dag_processing.dagbag import DagBag

            dagbag = DagBag(dag_folder=str(EXAMPLES_DIR))
        else:
            from airflow.models.dagbag import DagBag  # type: ignore[no-redef]

            dagbag = DagBag(dag_folder=str(EXAMPLES_DIR), include_examples=False)  # type: ignore[call-arg]
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == set(EXPECTED_DAGS)
    assert [str(w.message) for w in caught if _ours(w)] == []
    captured = getattr(dagbag, "captured_warnings", {}) or {}
    assert {
        file: msgs for file, msgs in dict(captured).items() if "airflow_provider_wdt" in f"{file} {msgs}"
    } == {}
    assert all(Path(dag.fileloc).name.startswith("example_wdt_") for dag in dagbag.dags.values())
    # run_demo.py and shop_standin.py are not DAG files: .airflowignore keeps the parser off them.
    parsed = [name for name in sys.modules if name.startswith("unusual_prefix_")]
    assert any(name.endswith("_example_wdt_stock_sync") for name in parsed)
    assert not [name for name in parsed if name.endswith(("_run_demo", "_shop_standin", "___init__"))]


def test_file_outputs_are_declared_as_assets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WDT_EXAMPLE_OUTPUT_DIR", str(tmp_path))
    sync = load_example("example_wdt_stock_sync").dag
    sensor_file = load_example("example_wdt_sensor_to_file")
    multi = load_example("example_wdt_multi_seller").dag

    def uris(task: object) -> list[str]:
        return [outlet.uri for outlet in getattr(task, "outlets", [])]

    assert uris(sync.get_task("pull_pending_ids")) == [f"file://{tmp_path}/stock_sync"]
    # Each run writes its own files; the Asset is their folder, each event's extra names the run's file.
    assert uris(sensor_file.dag.get_task("count_ids")) == [f"file://{tmp_path}/sensor_to_file"]
    assert sensor_file.dag.get_task("pull_to_file").output_path.startswith(f"{tmp_path}/sensor_to_file/{{{{")
    assert uris(multi.get_task("write_manifest")) == [f"file://{tmp_path}/sellers"]
    # The consumer DAG is scheduled on the file the sensor DAG writes.
    timetable = sensor_file.consumer_dag.timetable
    condition = getattr(timetable, "asset_condition", None) or timetable.dataset_condition
    assert type(timetable).__name__ in ("AssetTriggeredTimetable", "DatasetTriggeredTimetable")
    assert f"uri='file://{tmp_path}/sensor_to_file'" in repr(condition)


def test_push_to_shop_is_the_marked_replaceable_part() -> None:
    source = (EXAMPLES_DIR / "example_wdt_stock_sync.py").read_text(encoding="utf-8")
    marker = source.index("REPLACE THIS FUNCTION")
    assert source.index("def push_to_shop(") > marker


def test_push_to_shop_without_a_shop_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:

    monkeypatch.delenv("WDT_EXAMPLE_SHOP_URL", raising=False)
    module = load_example("example_wdt_stock_sync")
    with pytest.raises(RuntimeError, match="replace"):
        module.push_to_shop({"rec_id": 1, "syn_stock": 2})


def test_a_fresh_interpreter_loads_every_example_without_provider_warnings(tmp_path: Path) -> None:
    """Warnings at first import (of the provider too) only show in a process that imports it first."""
    script = (
        "import runpy, sys\n"
        "for path in sys.argv[1:]:\n"
        "    runpy.run_path(path)\n"
        "print('loaded', len(sys.argv) - 1)\n"
    )
    env = {**os.environ, "WDT_EXAMPLE_OUTPUT_DIR": str(tmp_path / "out"), "PYTHONWARNINGS": "always"}
    files = [str(EXAMPLES_DIR / f"{name}.py") for name in EXAMPLE_FILES]
    done = subprocess.run(
        [sys.executable, "-c", script, *files], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"loaded {len(files)}"
    ours = [line for line in done.stderr.splitlines() if any(p in line for p in _OUR_NAMES)]
    assert ours == []
