"""Helpers for the example-DAG tests: load an example file fresh, the shop stand-in, a run's XComs and assets.

The simulator (``make_sim``) is tests/conftest.py's; states and read_ids are in tests/helpers.py.
"""

from __future__ import annotations

import importlib.util
import inspect
import itertools
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from airflow_provider_wdt.compat import AIRFLOW_V_3
from airflow_provider_wdt.simulator.shop import ShopStandin
from tests.conftest import REPO_ROOT

EXAMPLES_DIR = REPO_ROOT / "example_dags"
_loads = itertools.count()


@pytest.fixture
def output_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """WDT_EXAMPLE_OUTPUT_DIR for the examples (read when a DAG file is loaded)."""
    out = tmp_path / "out"
    monkeypatch.setenv("WDT_EXAMPLE_OUTPUT_DIR", str(out))
    return out


def load_example(name: str) -> ModuleType:
    """Execute ``example_dags/<name>.py`` afresh (module-level settings read the current environment).

    The file stays where it is, inside the DAGs folder, which dag.test() on Airflow 3 requires.
    """
    path = EXAMPLES_DIR / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_wdt_example_{name}_{next(_loads)}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def shop(monkeypatch: pytest.MonkeyPatch) -> Iterator[ShopStandin]:
    """The shop stand-in (refuses rec_ids divisible by 7), with WDT_EXAMPLE_SHOP_URL pointing at it."""
    with ShopStandin() as standin:
        monkeypatch.setenv("WDT_EXAMPLE_SHOP_URL", standin.url)
        yield standin


def run_folder(run_id: str) -> str:
    """What the examples name a run's folder: run_id with ':' and '+' (Windows, object storage) as '-'."""
    folder = run_id.replace(":", "-").replace("+", "-")
    assert run_id.startswith("manual__") and folder != run_id  # dag.test's ids do hold both characters
    return folder


def pulled_xcoms(dag_run: Any, key: str, task_id: str = "pull_ids") -> list[Any]:
    """One XCom of a mapped task per map index, in map-index order."""
    tis = [ti for ti in dag_run.get_task_instances() if ti.task_id == task_id]
    tis.sort(key=lambda ti: ti.map_index)
    return [ti.xcom_pull(task_ids=task_id, key=key, map_indexes=ti.map_index) for ti in tis]


def rerun_task_function(task: Any, dag_run: Any) -> Any:
    """Call a @task's function again for ``dag_run`` the way Airflow does: each XComArg argument resolved
    to the upstream XCom (a list over map indexes for a mapped upstream), a string rendered as a template
    for the run, ``run_id`` passed by name."""
    ti = dag_run.get_task_instance(task.task_id)

    def resolve(arg: Any) -> Any:
        if isinstance(arg, str):
            return task.render_template(arg, {"run_id": dag_run.run_id})
        upstream = arg.operator.task_id
        if any(t.task_id == upstream and t.map_index >= 0 for t in dag_run.get_task_instances()):
            return pulled_xcoms(dag_run, arg.key, upstream)
        return ti.xcom_pull(task_ids=upstream, key=arg.key)

    args = [resolve(arg) for arg in task.op_args]
    kwargs = {name: resolve(arg) for name, arg in task.op_kwargs.items()}
    if "run_id" in inspect.signature(task.python_callable).parameters:
        kwargs["run_id"] = dag_run.run_id
    return task.python_callable(*args, **kwargs)


def register_assets(*dags: Any) -> None:
    """What the DAG processor does before a run: on 2.11 a Dataset event is recorded only for a Dataset
    already in the DB (dag.test does not add it; Airflow 3's dag.test does)."""
    if not AIRFLOW_V_3:
        for dag in dags:
            type(dag).bulk_write_to_db([dag])


def asset_events(dag_run: Any) -> list[Any]:
    """The Asset (Dataset on 2.11) events a run emitted, from the metadata DB."""
    if AIRFLOW_V_3:
        from airflow.models.asset import AssetEvent as Event
    else:
        from airflow.models.dataset import DatasetEvent as Event  # type: ignore[no-redef]
    from airflow.utils.session import create_session

    with create_session() as session:
        events = session.query(Event).filter(Event.source_run_id == dag_run.run_id).all()
        session.expunge_all()
    return events
