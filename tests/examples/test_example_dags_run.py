"""Each example DAG end to end under dag.test() against the simulator, checked on the simulator's state."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_wdt.simulator import WdtSimulator
from airflow_provider_wdt.simulator.shop import ShopStandin
from tests.conftest import set_connection
from tests.examples.conftest import (
    asset_events,
    load_example,
    pulled_xcoms,
    register_assets,
    rerun_task_function,
    run_folder,
)
from tests.examples.test_example_dags_load import EVENT_DRIVEN
from tests.helpers import expected_sync_summary, fast_connection, read_ids, states

pytestmark = pytest.mark.db

PENDING_METHOD = "sales.StockSync.getSelfWaitSyncIdListOpen"


def test_pull_to_xcom(airflow_db, make_sim, output_dir: Path) -> None:
    sim = make_sim(pending=60)
    pending = sim.pending_ids()
    dag_run = load_example("example_wdt_pull_to_xcom").dag.test()

    assert states(dag_run) == {"pull_pending_ids": "success", "summarize": "success"}
    summary = dag_run.get_task_instance("summarize").xcom_pull(task_ids="summarize")
    assert summary["count"] == 60
    assert (summary["min"], summary["max"]) == (min(pending), max(pending))
    assert isinstance(summary["position"], int) and summary["position"] > 0
    # Only reads: the pending list is untouched.
    assert {r.method for r in sim.request_log} == {PENDING_METHOD}
    assert sim.pending_ids() == pending


def test_sensor_to_file(airflow_db, make_sim, output_dir: Path) -> None:
    sim = make_sim(pending=120)
    module = load_example("example_wdt_sensor_to_file")
    register_assets(module.dag, module.consumer_dag)
    dag_run = module.dag.test()

    assert states(dag_run) == {
        "wait_for_pending": "success",
        "pull_to_file": "success",
        "count_ids": "success",
    }
    path = dag_run.get_task_instance("pull_to_file").xcom_pull(task_ids="pull_to_file")
    assert path == f"{output_dir}/sensor_to_file/{run_folder(dag_run.run_id)}/pending_ids.ndjson"
    assert read_ids(Path(path)) == sim.pending_ids()  # each once, in the order served
    assert dag_run.get_task_instance("count_ids").xcom_pull(task_ids="count_ids") == 120
    # The Asset event names this run's file; the consumer DAG reads the file that event names.
    (event,) = asset_events(dag_run)
    assert event.extra == {"path": path, "id_count": 120}
    read_announced = module.consumer_dag.get_task("read_announced_files").python_callable
    assert read_announced(triggering_asset_events={module.PENDING_IDS: [event]}) == {path: 120}
    assert read_announced(triggering_dataset_events={module.PENDING_IDS.uri: [event]}) == {path: 120}
    assert read_announced() == {}  # a manual run of the consumer: nothing announced, nothing read


def test_stock_sync_drains_the_pending_list_except_refused_items(
    airflow_db, make_sim, shop: ShopStandin, output_dir: Path
) -> None:
    sim = make_sim(pending=250)
    ids = sim.pending_ids()
    refused = {rec_id for rec_id in ids if rec_id % 7 == 0}
    disabled = next(rec_id for rec_id in ids if rec_id % 7)  # calc error: neither pushed nor reported
    sim.disable(disabled)
    # The stock of one item moves while it is being pushed: its syncSuccess then carries the old
    # stock_change_count, so the ERP must keep it pending (proves the counter is echoed unchanged).
    moved = next(rec_id for rec_id in ids if rec_id % 7 and rec_id != disabled)
    plain_reject = shop.reject

    def reject(rec_id: int) -> bool:
        if rec_id == moved:
            sim.change_stock(moved, 5)
        return plain_reject(rec_id)

    shop.reject = reject
    before = {rec_id: sim.goods(rec_id) for rec_id in ids}

    dag_run = load_example("example_wdt_stock_sync").dag.test()

    assert states(dag_run) == {
        "wait_for_pending": "success",
        "pull_pending_ids": "success",
        "sync_stock": "success",
    }
    # The run's files are in a folder of their own (named after the run_id, ':' and '+' replaced).
    (run_dir,) = (output_dir / "stock_sync").iterdir()
    assert run_dir.name == run_folder(dag_run.run_id)
    assert read_ids(run_dir / "pending_ids.ndjson") == ids
    report = [json.loads(line) for line in (run_dir / "report.ndjson").read_text().splitlines()]
    outcomes = sorted(line["rec_id"] for line in report if "outcome" in line)
    assert outcomes == sorted(set(ids) - {disabled})
    totals = dag_run.get_task_instance("sync_stock").xcom_pull(task_ids="sync_stock")
    assert totals == expected_sync_summary(250, calc_errors=1, refused=len(refused))
    # The pending list drained except the refused items, the disabled one and the one whose stock moved.
    assert set(sim.pending_ids()) == refused | {disabled, moved}
    # batchCalcStock in chunks of 100.
    assert sum(r.method == "sales.StockSync.batchCalcStock" for r in sim.request_log) == math.ceil(250 / 100)

    assert set(shop.accepted) == set(ids) - refused - {disabled}
    assert shop.rejected == refused
    for rec_id in ids:
        goods = sim.goods(rec_id)
        if rec_id == disabled:
            assert goods["sync_status"] == "pending" and goods["calc_count"] == 0
        elif rec_id in refused:
            assert goods["sync_status"] == "failed" and goods["sync_fail_count"] == 1
        elif rec_id == moved:
            assert goods["stale_success_count"] == 1 and goods["sync_status"] == "pending"
        else:
            assert goods["sync_status"] == "synced" and goods["stale_success_count"] == 0
            # What the shop stored is the calculated quantity, and the ERP got the same figure back.
            assert shop.accepted[rec_id] == goods["last_syn_stock"]
            assert goods["stock_change_count"] == before[rec_id]["stock_change_count"]


SELLERS = {"wdt_seller_a": ("shop_a", 45), "wdt_seller_b": ("shop_b", 70), "wdt_seller_c": ("shop_c", 0)}


def add_sellers(sim: WdtSimulator, monkeypatch: pytest.MonkeyPatch) -> None:
    for conn_id, (sid, pending) in SELLERS.items():
        sim.add_seller(
            sid, f"{sid}_key", f"{sid}_secret:{sid}_salt", pending=pending, seed=len(sid) + pending
        )
        set_connection(monkeypatch, conn_id, fast_connection(sim, sid))


def manifest_of(dag_run: Any) -> dict[str, Any]:
    path = dag_run.get_task_instance("write_manifest").xcom_pull(task_ids="write_manifest")
    return json.loads(Path(path).read_text(encoding="utf-8"))


def test_multi_seller_writes_each_sellers_ids_to_its_own_file(
    airflow_db, make_sim, monkeypatch: pytest.MonkeyPatch, output_dir: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    sim = make_sim(pending=30)  # wdt_default's seller: must not be touched
    add_sellers(sim, monkeypatch)

    dag = load_example("example_wdt_multi_seller").dag
    register_assets(dag)
    dag_run = dag.test(run_conf={"conn_ids": list(SELLERS)})

    assert states(dag_run) == {
        "seller_pulls": "success",
        "pull_ids[0]": "success",
        "pull_ids[1]": "success",
        "pull_ids[2]": "success",
        "write_manifest": "success",
    }
    run_dir = output_dir / "sellers" / run_folder(dag_run.run_id)
    manifest = manifest_of(dag_run)
    assert manifest["run_id"] == dag_run.run_id
    assert [s["conn_id"] for s in manifest["sellers"]] == list(SELLERS)
    positions = pulled_xcoms(dag_run, "position")
    for index, (conn_id, (sid, pending)) in enumerate(SELLERS.items()):
        entry = manifest["sellers"][index]
        path = run_dir / conn_id / "pending_ids.ndjson"
        assert entry == {
            "conn_id": conn_id,
            "path": str(path),
            "id_count": pending,
            "position": positions[index],
        }
        assert read_ids(path) == sim.pending_ids(sid)  # exactly this seller's ids, each once
    assert {r.sid for r in sim.request_log} == {"shop_a", "shop_b", "shop_c"}
    (event,) = asset_events(dag_run)
    assert event.extra == {"manifest": str(run_dir / "manifest.json"), "run_id": dag_run.run_id}
    # Reading the mapped pulls' XComs stays within the items there are (Airflow 3 logs each miss as
    # "XCom not found" on the console).
    out, err = capfd.readouterr()
    assert "write_manifest" in out + err  # the task's log is on the console, where a miss would show
    assert [line for line in (out + err).splitlines() if "not found" in line] == []


def test_multi_seller_rerun_cannot_report_an_earlier_runs_counts(
    airflow_db, make_sim, monkeypatch: pytest.MonkeyPatch, output_dir: Path, tmp_path: Path
) -> None:
    """Two workers without a shared disk: the one running write_manifest still holds run 1's files."""
    sim = make_sim()
    add_sellers(sim, monkeypatch)
    dag = load_example("example_wdt_multi_seller").dag
    conf = {"conn_ids": list(SELLERS)}
    first = dag.test(run_conf=conf)
    other_worker = tmp_path / "other-worker"
    shutil.copytree(output_dir, other_worker)  # that worker's disk: run 1's output, nothing newer
    new = {sid: len(sim.add_pending(extra, sid)) for sid, extra in (("shop_a", 100), ("shop_c", 7))}
    second = dag.test(run_conf=conf)
    expected = {conn_id: pending + new.get(sid, 0) for conn_id, (sid, pending) in SELLERS.items()}

    def counts(manifest: dict[str, Any]) -> dict[str, int]:
        return {seller["conn_id"]: seller["id_count"] for seller in manifest["sellers"]}

    assert counts(manifest_of(second)) == expected  # on the disk the pulls wrote to

    # write_manifest of run 2 again, on the other worker: the same task function, run 2's XComs.
    shutil.rmtree(output_dir)
    shutil.copytree(other_worker, output_dir)
    manifest_path = rerun_task_function(dag.get_task("write_manifest"), second)

    manifest = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
    assert counts(manifest) == expected
    assert counts(manifest_of(first)) != expected  # (run 1's files, still on that disk, say otherwise)
    # Run 2's paths are its own: none of them names a file of run 1.
    assert not {s["path"] for s in manifest["sellers"]} & {s["path"] for s in manifest_of(first)["sellers"]}


def test_multi_seller_refuses_a_bad_conn_ids_param(output_dir: Path) -> None:
    seller_pulls = load_example("example_wdt_multi_seller").dag.get_task("seller_pulls").python_callable
    folder = f"{output_dir}/sellers/manual__2026-12-02T09-51-25.123456-00-00"  # as rendered for the run
    for bad in ("wdt_default", [], ["a", "a"], [1]):
        with pytest.raises(ValueError, match="conn_ids"):
            seller_pulls(folder, params={"conn_ids": bad})
    assert seller_pulls(folder, params={"conn_ids": ["a"]}) == [
        {"wdt_conn_id": "a", "output_path": f"{folder}/a/pending_ids.ndjson"}
    ]


@pytest.mark.skipif(not EVENT_DRIVEN, reason="event-driven scheduling needs Airflow 3.0+")
def test_event_driven_pulls_the_whole_list_not_the_payload(
    airflow_db, make_sim, shop: ShopStandin, output_dir: Path
) -> None:
    sim = make_sim(pending=40)
    ids = sim.pending_ids()
    refused = {rec_id for rec_id in ids if rec_id % 7 == 0}
    module = load_example("example_wdt_event_driven")
    assert module.dag.max_active_runs == 1
    [watcher] = module.PENDING_SYNC.watchers
    assert module.PENDING_SYNC.uri == "wdt://wdtsim/pending-sync"
    assert watcher.trigger.serialize()[1]["wdt_conn_id"] == "wdt_default"

    dag_run = module.dag.test()  # what an event starts; the trigger itself is tested in tests/triggers

    assert states(dag_run) == {"pull_pending_ids": "success", "sync_stock": "success"}
    (run_dir,) = (output_dir / "event_driven").iterdir()
    assert run_dir.name == run_folder(dag_run.run_id)
    assert read_ids(run_dir / "pending_ids.ndjson") == ids  # from position 0: every pending id
    assert set(shop.accepted) == set(ids) - refused
    assert set(sim.pending_ids()) == refused  # offered again later: the next change, the next run
