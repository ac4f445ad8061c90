"""Shapes of the ``sales.StockSync.*`` family: method names, answers and the ``info`` map to report back.

No Airflow import; used by the hook, the example DAGs and tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_wdt.errors import WdtBadResponseError
from airflow_provider_wdt.paging import PendingSyncPage

GET_PENDING_SYNC_IDS = "sales.StockSync.getSelfWaitSyncIdListOpen"
CALC_STOCK = "sales.StockSync.calcStock"
BATCH_CALC_STOCK = "sales.StockSync.batchCalcStock"
SYNC_SUCCESS = "sales.StockSync.syncSuccess"
SYNC_FAIL = "sales.StockSync.syncFail"
CANCEL_SYNC = "sales.StockSync.cancelSync"
SERVER_TIME = "system.Core.now"

#: Calc-result fields echoed unchanged in syncSuccess/syncFail's ``info`` (stock_change_count above all:
#: it is the version counter that tells the ERP whether the stock changed meanwhile).
ECHOED_CALC_FIELDS = (
    "syn_stock",
    "stock_change_count",
    "stock_syn_rule_id",
    "stock_syn_rule_no",
    "stock_syn_other",
    "stock_syn_warehouses",
    "stock_syn_mask",
    "stock_syn_percent",
    "stock_syn_plus",
    "stock_syn_min",
    "stock_syn_max",
    "is_auto_listing",
    "is_auto_delisting",
)


@dataclass(frozen=True)
class BatchCalcResult:
    """batchCalcStock's answer: ``calculated`` (the platform's success_date) and ``errors`` (error_date)."""

    calculated: list[dict[str, Any]]
    errors: list[dict[str, Any]]


def parse_pending_page(data: Any) -> PendingSyncPage:
    """``{"id_list": [...], "position": N}``; ids and position may arrive as numeric strings."""
    if data is None:
        return PendingSyncPage([], None)
    if not isinstance(data, Mapping):
        raise WdtBadResponseError(
            f"{GET_PENDING_SYNC_IDS}: expected data to be an object, got {type(data).__name__}.",
            method=GET_PENDING_SYNC_IDS,
        )
    try:
        raw_ids = data.get("id_list") or []
        # The platform sends JSON numbers: checking their types is half the cost of converting each one.
        if type(raw_ids) is list and set(map(type, raw_ids)) <= {int}:
            rec_ids = raw_ids
        else:
            rec_ids = [int(rec_id) for rec_id in raw_ids]
        raw_position = data.get("position")
        position = None if raw_position in (None, "") else int(raw_position)
    except (TypeError, ValueError):
        raise WdtBadResponseError(
            f"{GET_PENDING_SYNC_IDS}: id_list or position is not made of integers.",
            method=GET_PENDING_SYNC_IDS,
        ) from None
    return PendingSyncPage(rec_ids, position)


def parse_batch_calc(data: Any) -> BatchCalcResult:
    data = data if isinstance(data, Mapping) else {}
    return BatchCalcResult(
        calculated=list(data.get("success_date") or ()), errors=list(data.get("error_date") or ())
    )


def sync_info(
    calc: Mapping[str, Any],
    *,
    success: bool,
    result: str = "",
    is_manual: int = 0,
    **overrides: Any,
) -> dict[str, Any]:
    """The ``info`` map for syncSuccess/syncFail: the calc fields echoed unchanged plus the outcome."""
    info = {name: calc[name] for name in ECHOED_CALC_FIELDS if name in calc}
    info["is_syn_success"] = 1 if success else 0
    info["is_manual"] = is_manual
    info["syn_result"] = result or ("ok" if success else "failed")
    info.update(overrides)
    return info
