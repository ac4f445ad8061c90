"""The stock sync, in one place: what runs after the pull, from the platform's answers to the report file.

- :mod:`.shapes`: the ``sales.StockSync.*`` family: method names, answers, the ``info`` map to report.
- :mod:`.files`: the ids to sync (read as a stream) and the resumable report (intents and outcomes).
- :mod:`.loop`: the loop itself (batchCalcStock, push, syncSuccess/syncFail) and the settling of a resume.

The operator is ``operators/stock_sync.py`` (``WdtStockSyncOperator``), with the other operators. The
seller's rate budget that every call goes through, the sync's included, is the client's: ``ratelimit.py``
(one process), ``ledger.py`` (the processes of a host) and ``handover.py`` (hosts one after the other).
No Airflow import. The loop's names are loaded on first use, so the hook importing ``shapes`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .loop import (
        PROGRESS_EVERY,
        SETTLED_MESSAGE,
        PushCallable,
        Settled,
        StockSync,
        StockSyncError,
        SyncHook,
        SyncSummary,
        settle,
    )

__all__ = [
    "PROGRESS_EVERY",
    "SETTLED_MESSAGE",
    "PushCallable",
    "Settled",
    "StockSync",
    "StockSyncError",
    "SyncHook",
    "SyncSummary",
    "settle",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import loop

        return getattr(loop, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
