"""The old import path of :mod:`airflow_provider_wdt.sync.files`, kept working for existing code."""

from airflow_provider_wdt.sync.files import (
    OUTCOME_FAIL,
    OUTCOME_SUCCESS,
    READ_BLOCK,
    UPLOAD_EVERY,
    ReportState,
    ReportWriter,
    iter_id_chunks,
    read_report,
    read_report_state,
)

__all__ = [
    "OUTCOME_FAIL",
    "OUTCOME_SUCCESS",
    "READ_BLOCK",
    "UPLOAD_EVERY",
    "ReportState",
    "ReportWriter",
    "iter_id_chunks",
    "read_report",
    "read_report_state",
]
