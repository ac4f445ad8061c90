"""A real dag.test() run: the operator pulls from the simulator; a downstream task reads its XComs, file."""

from __future__ import annotations

import importlib
import json

import pytest

from tests.helpers import states

pytestmark = pytest.mark.db


def test_dag_run_pulls_ids_and_a_downstream_task_reads_them(airflow_db, make_sim, tmp_path) -> None:
    sim = make_sim(pending=123, tie_mode="from")
    sim.faults.slow(2, 0)
    sim.faults.http_error(1, 503)  # retried inside the task, invisible to the run
    out = tmp_path / "seen.json"
    dag = importlib.import_module("tests.dags.operator_pull").dag

    dag_run = dag.test(run_conf={"out": str(out), "out_dir": str(tmp_path / "data"), "count": "20"})

    assert states(dag_run) == {"pull_to_xcom": "success", "pull_to_file": "success", "record": "success"}
    seen = json.loads(out.read_text())
    expected = sim.pending_ids()
    assert seen["ids"] == expected and seen["file_ids"] == expected
    assert seen["path"] == str(tmp_path / "data" / "pending" / "ids.csv")
    assert seen["id_count"] == seen["file_id_count"] == 123
    assert isinstance(seen["position"], int) and seen["position"] == seen["file_position"] > 0
