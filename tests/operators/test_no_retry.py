"""Errors a retry cannot fix end the task at once, and a failed sync attempt leaves no empty report behind.

On Celery, a sync that lands on another worker than the pull cannot read the ids file; a retry that
happened to land on the pulling worker would succeed, so retrying made the outcome depend on where the
executor sent it. Against the simulator over HTTP, as the other operator tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from airflow_provider_wdt.errors import WdtAuthError, WdtConfigError, WdtServerError
from airflow_provider_wdt.operators.wdt import WdtStockSyncOperator
from airflow_provider_wdt.sync import StockSyncError
from tests.conftest import fails_without_retry, typed
from tests.helpers import RecordingTI

from .helpers import pull, run


def sync(ti: RecordingTI, push: Any = lambda calc: (True, "ok"), **kwargs: Any) -> Any:
    return run(WdtStockSyncOperator(task_id="sync", push_callable=push, **kwargs), ti)  # type: ignore[arg-type]


def test_ids_file_missing_on_this_worker_ends_the_task_and_leaves_nothing(make_sim, ti, tmp_path) -> None:
    sim = make_sim(pending=5)
    ids_file = tmp_path / "stock_sync" / "run-1" / "pending_ids.ndjson"  # written on the other worker
    out = tmp_path / "out"
    out.mkdir()
    with fails_without_retry(WdtConfigError) as info:
        sync(ti, rec_ids=str(ids_file), report_path=str(out / "stock_sync" / "run-1" / "report.ndjson"))
    message = str(info.value)
    assert f"Cannot read the ids file '{ids_file}'" in message
    assert "written on another worker's disk" in message and "storage every worker reads" in message
    assert sim.request_count == 0
    # No empty report is left behind (the folders made for it may stay: other tasks may write there).
    assert [p for p in out.rglob("*") if p.is_file()] == []


def test_a_missing_ids_file_on_object_storage_does_not_blame_another_workers_disk(
    make_sim, ti, memory_bucket
) -> None:
    fs, bucket = memory_bucket
    make_sim(pending=1)
    report = f"memory://{bucket}/run-1/report.ndjson"
    with fails_without_retry(WdtConfigError, match="Cannot read the ids file") as info:
        sync(ti, rec_ids=f"memory://{bucket}/missing.ndjson", report_path=report)
    assert "another worker" not in str(info.value)
    assert not fs.exists(f"/{bucket}/run-1/report.ndjson")  # no empty report uploaded


def test_a_report_with_content_or_made_earlier_is_never_removed(make_sim, ti, tmp_path: Path) -> None:
    make_sim(pending=1)
    missing = str(tmp_path / "missing.ndjson")
    report = tmp_path / "report.ndjson"
    report.write_text('{"rec_id": 1, "outcome": "success"}\n')
    with fails_without_retry(WdtConfigError):
        sync(ti, rec_ids=missing, report_path=str(report))
    assert report.read_text() == '{"rec_id": 1, "outcome": "success"}\n'
    report.write_text("")  # empty, but not this attempt's
    with fails_without_retry(WdtConfigError):
        sync(RecordingTI(), rec_ids=missing, report_path=str(report))
    assert report.exists()


def test_an_attempt_that_reported_items_keeps_its_report(make_sim, ti, tmp_path: Path) -> None:
    sim = make_sim(pending=30, max_retries=0)
    report = tmp_path / "run" / "report.ndjson"
    sim.faults.slow(1 + 10, 0)  # batchCalcStock and ten reports answer normally
    sim.faults.http_error(1, status=503)
    with pytest.raises(StockSyncError) as info:  # retryable: the task's retries apply
        sync(ti, rec_ids=sim.pending_ids(), report_path=str(report))
    assert isinstance(info.value.__cause__, WdtServerError)
    lines = report.read_text().splitlines()
    assert sum('"outcome"' in line for line in lines) == 10  # each also after its intent line


def test_nothing_to_sync_writes_no_report(make_sim, ti, tmp_path: Path) -> None:
    make_sim(pending=0)
    assert sync(ti, rec_ids=[], report_path=str(tmp_path / "run" / "report.ndjson"))["ids"] == 0
    assert not (tmp_path / "run" / "report.ndjson").exists()


def test_auth_error_midway_stops_the_sync_without_retries(make_sim, ti, tmp_path: Path) -> None:
    sim = make_sim(pending=20)
    pushed = 0

    def push_then_revoke(calc: dict[str, Any]) -> tuple[bool, str]:
        nonlocal pushed
        pushed += 1
        if pushed == 6:  # the app's key is revoked on the platform while the sync runs
            sim.seller().appkey = "revoked"
        return True, "ok"

    report = tmp_path / "report.ndjson"
    with fails_without_retry(
        WdtAuthError, match=r"^WdtAuthError: Stock sync stopped: .*Reported 5 items"
    ) as info:
        sync(ti, push_then_revoke, rec_ids=sim.pending_ids(), report_path=str(report))
    assert isinstance(info.value.__cause__, StockSyncError)  # the counts stay in the chain too
    assert info.value.__cause__.summary.succeeded == 5
    assert "app auth fail" in str(typed(info))
    lines = report.read_text().splitlines()
    assert sum('"outcome"' in line for line in lines) == 5  # each also after its intent line


def test_the_pull_ends_without_retries_on_a_wrong_appsecret(make_sim, ti, monkeypatch) -> None:
    from tests.conftest import set_connection
    from tests.helpers import fast_connection

    sim = make_sim(pending=30)
    conn = fast_connection(sim)
    conn["password"] = "wrong_secret:wdtsim_salt"
    set_connection(monkeypatch, "wdt_wrong", conn)
    with fails_without_retry(WdtAuthError, match="验证失败") as info:
        pull(ti, wdt_conn_id="wdt_wrong")
    assert typed(info).status == 1  # type: ignore[union-attr]
    assert "wrong_secret" not in str(info.value)
    assert sim.request_count == 1


@pytest.mark.parametrize("error", [WdtServerError("gave up"), RuntimeError("shop down")])
def test_other_errors_pass_unchanged(error: Exception) -> None:
    from airflow_provider_wdt.no_retry import fail_without_retry

    with pytest.raises(type(error)) as info, fail_without_retry():
        raise error
    assert info.value is error
