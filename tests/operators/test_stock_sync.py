"""WdtStockSyncOperator over HTTP against the simulator: outcomes, calc errors, resuming, failure, threads."""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_wdt.errors import WdtConfigError
from airflow_provider_wdt.operators.wdt import WdtPendingSyncIdsOperator, WdtStockSyncOperator
from airflow_provider_wdt.sync import StockSyncError
from airflow_provider_wdt.sync import files as sync_files
from tests.conftest import fails_without_retry
from tests.helpers import RecordingTI, expected_sync_summary

from .helpers import run


def refuse_sevens(calc: dict[str, Any], **_: Any) -> tuple[bool, str]:
    return (calc["rec_id"] % 7 != 0, "ok" if calc["rec_id"] % 7 else "shop refused: divisible by 7")


def sync(ti: RecordingTI, push: Any = refuse_sevens, **kwargs: Any) -> Any:
    return run(WdtStockSyncOperator(task_id="sync", push_callable=push, **kwargs), ti)  # type: ignore[arg-type]


def reports_per_item(sim: Any, ids: list[int]) -> dict[int, int]:
    """How many times each item was reported (syncSuccess or syncFail) to the simulated ERP."""
    counts = {}
    for rec_id in ids:
        goods = sim.goods(rec_id)
        counts[rec_id] = goods["sync_success_count"] + goods["sync_fail_count"] + goods["stale_success_count"]
    return counts


def report_lines(path: Path) -> list[dict[str, Any]]:
    """The outcome lines (each report call is also preceded by an intent line)."""
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return [line for line in lines if "outcome" in line]


def test_reports_each_item_and_returns_the_summary(make_sim, ti, tmp_path: Path) -> None:
    sim = make_sim(pending=250)
    ids = sim.pending_ids()
    refused = {rec_id for rec_id in ids if rec_id % 7 == 0}
    disabled = next(rec_id for rec_id in ids if rec_id % 7)
    sim.disable(disabled)  # batchCalcStock reports an error for it: counted, not reported, left pending
    report = tmp_path / "report.ndjson"

    summary = sync(ti, rec_ids=ids, report_path=str(report))

    assert summary == expected_sync_summary(250, calc_errors=1, refused=len(refused))
    assert set(sim.pending_ids()) == refused | {disabled}
    assert sim.goods(disabled)["calc_count"] == 0 and sim.goods(disabled)["sync_status"] == "pending"
    assert sum(r.method == "sales.StockSync.batchCalcStock" for r in sim.request_log) == 3  # 100 per call
    lines = report_lines(report)
    assert sorted(line["rec_id"] for line in lines) == sorted(set(ids) - {disabled})
    assert {line["outcome"] for line in lines if line["rec_id"] in refused} == {"fail"}
    refusals = {line["message"] for line in lines if line["rec_id"] in refused}
    assert refusals == {"shop refused: divisible by 7"}
    assert all(set(line) == {"rec_id", "outcome", "message", "time"} for line in lines)
    # The calc fields go back unchanged: the synced items' versions match, so they left the list.
    for rec_id in set(ids) - refused - {disabled}:
        assert sim.goods(rec_id)["sync_status"] == "synced"


@pytest.mark.parametrize("fmt", ["json", "ndjson", "csv"])
def test_reads_the_pull_operators_file_in_every_format_as_a_stream(
    make_sim, ti, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    sim = make_sim(pending=120)
    ids = sim.pending_ids()
    path = run(
        WdtPendingSyncIdsOperator(task_id="pull", output_path=str(tmp_path / f"ids.{fmt}"), count=50), ti
    )
    monkeypatch.setattr(sync_files, "READ_BLOCK", 5)  # ids split across reads
    seen: list[int] = []

    def push(calc: dict[str, Any]) -> tuple[bool, str]:
        seen.append(calc["rec_id"])
        return True, "ok"

    summary = sync(RecordingTI(), push, rec_ids=path, batch_size=30)
    assert sorted(seen) == sorted(ids) and summary["succeeded"] == 120
    assert sim.pending_ids() == []


def test_a_file_that_is_not_an_ids_file_is_a_config_error(make_sim, ti, tmp_path: Path) -> None:
    make_sim(pending=1)
    bad = tmp_path / "ids.ndjson"
    bad.write_text("100001\nhello\n")
    with fails_without_retry(WdtConfigError, match="holds 'hello', not a rec_id"):
        sync(ti, rec_ids=str(bad))


@pytest.mark.parametrize("shop_concurrency", [1, 4])
def test_a_raising_push_fails_the_task_with_counts_and_a_rerun_reports_nothing_twice(
    make_sim, ti, tmp_path: Path, shop_concurrency: int
) -> None:
    sim = make_sim(pending=300)
    ids = sim.pending_ids()
    report = tmp_path / "run-1" / "report.ndjson"
    pushes = 0
    lock = threading.Lock()

    def flaky_shop(calc: dict[str, Any]) -> tuple[bool, str]:
        nonlocal pushes
        with lock:
            pushes += 1
            if pushes > 40:
                raise ConnectionError("shop.example: connection refused")
        return refuse_sevens(calc)

    with pytest.raises(StockSyncError) as failure:
        sync(ti, flaky_shop, rec_ids=ids, report_path=str(report), shop_concurrency=shop_concurrency)
    first = failure.value.summary
    reported_first = first.succeeded + first.failed
    message = str(failure.value)
    assert "push_callable raised ConnectionError" in message and "connection refused" in message
    assert f"Reported {reported_first} items in this run" in message
    assert f"{300 - reported_first} of 300 ids not reported: they stay pending" in message
    # Only pushes that returned were reported, and every one of them is in the report.
    assert 40 - shop_concurrency < reported_first <= 40
    assert len(report_lines(report)) == reported_first
    assert sum(reports_per_item(sim, ids).values()) == reported_first
    assert first.ids == 300 and first.not_reported == 300 - reported_first

    # The retry (same report_path) skips what was reported and reports the rest, each item once overall.
    summary = sync(RecordingTI(), rec_ids=ids, report_path=str(report), shop_concurrency=shop_concurrency)
    assert summary["already_reported"] == reported_first
    assert summary["succeeded"] + summary["failed"] == 300 - reported_first
    assert set(reports_per_item(sim, ids).values()) == {1}
    assert sorted(line["rec_id"] for line in report_lines(report)) == sorted(ids)


def test_a_line_cut_short_in_the_report_does_not_count_as_reported(make_sim, ti, tmp_path: Path) -> None:
    sim = make_sim(pending=20)
    ids = sim.pending_ids()
    report = tmp_path / "report.ndjson"
    report.write_text(json.dumps({"rec_id": ids[0], "outcome": "success"}) + '\n{"rec_id": ' + str(ids[1]))
    summary = sync(ti, rec_ids=ids, report_path=str(report))
    assert summary["already_reported"] == 1 and summary["succeeded"] + summary["failed"] == 19
    assert sim.goods(ids[1])["sync_success_count"] + sim.goods(ids[1])["sync_fail_count"] == 1
    # The cut line was ended: every item reported since has a whole line, so a rerun reports nothing.
    assert sync(RecordingTI(), rec_ids=ids, report_path=str(report))["already_reported"] == 20
    assert set(reports_per_item(sim, ids[1:]).values()) == {1}  # ids[0]: recorded by the test, not sent


def test_pushes_really_run_concurrently(make_sim, ti) -> None:
    sim = make_sim(pending=64)
    running = peak = 0
    lock = threading.Lock()

    def slow_shop(calc: dict[str, Any]) -> tuple[bool, str]:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        return True, "ok"

    started = time.monotonic()
    summary = sync(ti, slow_shop, rec_ids=sim.pending_ids(), shop_concurrency=8)
    elapsed = time.monotonic() - started
    assert summary["succeeded"] == 64
    assert peak == 8
    assert elapsed < 64 * 0.05 / 2  # serial pushes alone would take 3.2 s


def test_push_kwargs_are_passed_and_a_wrong_return_value_fails_the_task(make_sim, ti) -> None:
    sim = make_sim(pending=5)
    seen: list[str] = []

    def push(calc: dict[str, Any], *, shop: str) -> Any:
        seen.append(shop)
        return "yes"

    with pytest.raises(StockSyncError, match=r"returned 'yes' for rec_id \d+; it must return \(bool, str\)"):
        sync(ti, push, rec_ids=sim.pending_ids(), push_kwargs={"shop": "s1"})
    assert seen == ["s1"]
    assert len(sim.pending_ids()) == 5


def test_a_wdt_failure_while_reporting_stops_the_sync_with_counts(make_sim, ti) -> None:
    sim = make_sim(pending=30, max_retries=0)
    ids = sim.pending_ids()
    sim.faults.slow(1 + 10, 0)  # batchCalcStock and ten reports answer normally
    sim.faults.http_error(1, status=503)
    with pytest.raises(StockSyncError, match=r"syncSuccess failed for rec_id \d+ .*Reported 10 items"):
        sync(ti, lambda calc: (True, "ok"), rec_ids=ids)
    assert len(sim.pending_ids()) == 20


def test_rec_ids_rendered_as_json_text_and_argument_errors(make_sim, ti) -> None:
    sim = make_sim(pending=3)
    summary = sync(ti, rec_ids=json.dumps(sim.pending_ids()))
    assert summary["ids"] == 3
    with pytest.raises(WdtConfigError, match="batch_size must be a positive integer"):
        WdtStockSyncOperator(task_id="x", rec_ids=[1], push_callable=refuse_sevens, batch_size=0)
    with pytest.raises(WdtConfigError, match="push_callable must be callable"):
        WdtStockSyncOperator(task_id="x", rec_ids=[1], push_callable="push_to_shop")  # type: ignore[arg-type]
    with fails_without_retry(WdtConfigError, match="rec_ids must be integers"):
        sync(ti, rec_ids=[1, "two"])


def test_ids_and_report_on_object_storage_resume_after_a_failure(make_sim, ti, memory_bucket) -> None:
    fs, bucket = memory_bucket
    sim = make_sim(pending=60)
    ids = sim.pending_ids()
    fs.pipe(f"/{bucket}/ids.json", (json.dumps(ids) + "\n").encode())
    report = f"memory://{bucket}/run-1/report.ndjson"
    pushes = 0

    def shop_goes_down(calc: dict[str, Any]) -> tuple[bool, str]:
        nonlocal pushes
        pushes += 1
        if pushes > 15:
            raise TimeoutError("shop timed out")
        return True, "ok"

    with pytest.raises(StockSyncError, match="Reported 15 items"):
        sync(ti, shop_goes_down, rec_ids=f"memory://{bucket}/ids.json", report_path=report)
    # Uploaded when the task failed, although the upload interval had not passed.
    assert len(fs.cat(f"/{bucket}/run-1/report.ndjson").splitlines()) == 30  # 15 intents, 15 outcomes
    summary = sync(RecordingTI(), rec_ids=f"memory://{bucket}/ids.json", report_path=report)
    assert summary["already_reported"] == 15 and summary["succeeded"] + summary["failed"] == 45
    lines = [json.loads(line) for line in fs.cat(f"/{bucket}/run-1/report.ndjson").splitlines()]
    assert sorted(line["rec_id"] for line in lines if "outcome" in line) == sorted(ids)
    assert set(reports_per_item(sim, ids).values()) == {1}


def slow_push(calc: dict[str, Any]) -> tuple[bool, str]:
    time.sleep(0.01)
    return True, "ok"


def test_the_push_threads_share_the_connections_max_concurrency(make_sim, ti) -> None:
    sim = make_sim(pending=80, max_retries=0, max_concurrency=2)  # the connection's extras
    sim.set_rate_limit(max_concurrency=2)  # the platform refuses a third call in flight
    sim.faults.slow(200, 0.02)  # each call holds its slot for 20 ms
    summary = sync(ti, slow_push, rec_ids=sim.pending_ids(), shop_concurrency=8)
    assert summary["succeeded"] == 80
    assert all(record.status == 0 for record in sim.request_log)
    assert sim.seller().limiter.peak_in_flight == 2  # two at a time reached the platform, never three


def test_a_max_concurrency_above_the_platforms_is_refused(make_sim, ti) -> None:
    """The control for the test above: with a higher client limit the platform does refuse."""
    sim = make_sim(pending=80, max_retries=0, max_concurrency=3)
    sim.set_rate_limit(max_concurrency=2)
    sim.faults.slow(200, 0.02)
    with pytest.raises(StockSyncError, match="超过每分钟最大并发次数限制"):
        sync(ti, slow_push, rec_ids=sim.pending_ids(), shop_concurrency=8)


def test_force_sync_calculates_disabled_goods(make_sim, ti) -> None:
    sim = make_sim(pending=10)
    ids = sim.pending_ids()
    sim.disable(ids[0])
    assert sync(ti, rec_ids=ids)["calc_errors"] == 1
    summary = sync(RecordingTI(), rec_ids=[ids[0]], force_sync=True)
    assert summary["calc_errors"] == 0 and summary["calculated"] == 1


def test_progress_is_logged_on_long_runs(make_sim, caplog: pytest.LogCaptureFixture) -> None:
    from airflow_provider_wdt.hooks.wdt import WdtHook
    from airflow_provider_wdt.sync import StockSync
    from airflow_provider_wdt.sync.files import iter_id_chunks

    sim = make_sim(pending=50)
    log = logging.getLogger("test.wdt.sync")
    hook = WdtHook()
    with caplog.at_level(logging.INFO, logger=log.name):
        StockSync(hook, refuse_sevens, log=log, progress_every=0).run(iter_id_chunks(sim.pending_ids(), 10))
    hook.close()
    progress = [r.getMessage() for r in caplog.records if "ids read" in r.getMessage()]
    assert len(progress) == 5 and progress[-1].startswith("WDT stock sync: 50 ids read")
