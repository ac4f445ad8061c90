"""The stock sync moved into ``airflow_provider_wdt/sync/``; the old import paths still work."""

from __future__ import annotations

from airflow_provider_wdt import stock_sync, sync_files
from airflow_provider_wdt.sync import StockSync, StockSyncError, SyncSummary, files, loop, shapes


def test_old_paths_give_the_same_objects() -> None:
    assert stock_sync.sync_info is shapes.sync_info
    assert stock_sync.BatchCalcResult is shapes.BatchCalcResult
    assert sync_files.ReportWriter is files.ReportWriter
    assert sync_files.read_report is files.read_report
    assert (StockSync, StockSyncError, SyncSummary) == (loop.StockSync, loop.StockSyncError, loop.SyncSummary)
