"""The old import path of :mod:`airflow_provider_wdt.sync.shapes`, kept working for existing code."""

from airflow_provider_wdt.sync.shapes import (
    BATCH_CALC_STOCK,
    CALC_STOCK,
    CANCEL_SYNC,
    ECHOED_CALC_FIELDS,
    GET_PENDING_SYNC_IDS,
    SERVER_TIME,
    SYNC_FAIL,
    SYNC_SUCCESS,
    BatchCalcResult,
    parse_batch_calc,
    parse_pending_page,
    sync_info,
)

__all__ = [
    "BATCH_CALC_STOCK",
    "CALC_STOCK",
    "CANCEL_SYNC",
    "ECHOED_CALC_FIELDS",
    "GET_PENDING_SYNC_IDS",
    "SERVER_TIME",
    "SYNC_FAIL",
    "SYNC_SUCCESS",
    "BatchCalcResult",
    "parse_batch_calc",
    "parse_pending_page",
    "sync_info",
]
