"""Exactly-once reporting through ``kill -9``: a sync process killed with report calls in flight, then a
resumed run; the simulated ERP's own counts say how often each item was reported."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from airflow_provider_wdt.simulator import WdtSimulator
from airflow_provider_wdt.sync.files import read_report_state
from tests.conftest import REPO_ROOT
from tests.helpers import fast_connection

ITEMS = 300


def start_sync(sim: WdtSimulator, ids_file: Path, report: Path, ledger: Path) -> subprocess.Popen[str]:
    conn = fast_connection(sim, max_concurrency=4, ledger_dir=str(ledger))
    command = [
        sys.executable,
        "-m",
        "tests.operators.sync_process",
        json.dumps(conn),
        str(ids_file),
        str(report),
    ]
    return subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def in_flight(report: Path, at_least_done: int) -> bool:
    """Some items reported already and at least one report call sent but not answered."""
    if not report.exists():
        return False
    state = read_report_state(str(report))
    return len(state.done) >= at_least_done and bool(state.unsettled)


def test_kill_9_mid_run_then_resume_reports_every_item_exactly_once(tmp_path: Path) -> None:
    with WdtSimulator(pending=ITEMS, latency_ms=40) as sim:  # report calls spend 40 ms in flight
        ids = sim.pending_ids()
        ids_file = tmp_path / "ids.json"
        ids_file.write_text(json.dumps(ids))
        report = tmp_path / "report.ndjson"
        ledger = tmp_path / "ledger"

        victim = start_sync(sim, ids_file, report, ledger)
        deadline = time.monotonic() + 60
        # Killed while report calls are in flight (an intent line without its outcome), not merely after
        # some count: the sync reports in batches, and a count that ends a batch finds nothing in flight.
        while not in_flight(report, at_least_done=ITEMS // 6):
            assert victim.poll() is None, (
                "finished with no report call ever seen in flight",
                victim.communicate(),
            )
            assert time.monotonic() < deadline, (
                "no report call seen in flight: is an intent line written first?"
            )
            time.sleep(0.002)
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
        state = read_report_state(str(report))
        assert state.unsettled, "killed with no report call in flight: the test proved nothing"
        assert 0 < len(state.done) < ITEMS

        resumed = start_sync(sim, ids_file, report, ledger)
        _, err = resumed.communicate(timeout=120)
        assert resumed.returncode == 0, err[-3000:]

        counts = {rec_id: sim.goods(rec_id)["sync_success_count"] for rec_id in ids}
        assert [rec_id for rec_id, n in counts.items() if n > 1] == []  # no duplicate
        assert [rec_id for rec_id, n in counts.items() if n == 0] == []  # none lost
        assert sim.pending_ids() == []
        final = read_report_state(str(report))
        assert final.done == set(ids) and final.unsettled == {}


@pytest.mark.parametrize("landed", [True, False])
def test_settle_asks_the_pending_list_about_each_unsettled_item(landed: bool, tmp_path: Path) -> None:
    """An intent without outcome: recorded as reported when the platform no longer lists the item, left to
    report again when it does."""
    from airflow_provider_wdt.sync import settle
    from airflow_provider_wdt.sync.files import ReportWriter

    class Hook:
        def iter_pending_sync_ids(self) -> list[int]:
            return [] if landed else [7]

    class Log:
        def info(self, *args: object) -> None: ...

        def warning(self, *args: object) -> None: ...

    path = tmp_path / "report.ndjson"
    writer = ReportWriter(str(path))
    writer.record(5, "success", "ok")
    writer.intend(7, "success")
    writer.close()
    writer = ReportWriter(str(path))
    settled = settle(Hook(), read_report_state(str(path)), writer, Log())  # type: ignore[arg-type]
    writer.close()
    assert settled.already == ({5, 7} if landed else {5})
    assert read_report_state(str(path)).unsettled == ({} if landed else {7: "success"})


def test_a_report_on_object_storage_that_lost_its_last_lines_reports_nothing_twice(
    make_sim, memory_bucket
) -> None:
    """A worker killed outright loses the lines written since the last upload (every 30 s): here the
    report keeps only its first 20 lines of a finished run; the resumed run must not report again."""
    from tests.helpers import RecordingTI

    from .test_stock_sync import reports_per_item, sync

    fs, bucket = memory_bucket
    sim = make_sim(pending=60)
    ids = sim.pending_ids()
    report = f"memory://{bucket}/run-1/report.ndjson"
    sync(RecordingTI(), rec_ids=ids, report_path=report)  # every 7th refused (syncFail), the rest taken
    lines = fs.cat(f"/{bucket}/run-1/report.ndjson").decode().splitlines(keepends=True)
    fs.pipe(f"/{bucket}/run-1/report.ndjson", "".join(lines[:20]).encode())

    summary = sync(RecordingTI(), rec_ids=ids, report_path=report)

    assert summary["succeeded"] + summary["failed"] == 0 and summary["already_reported"] == 60
    assert set(reports_per_item(sim, ids).values()) == {1}
