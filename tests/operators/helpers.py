"""Helpers shared by the operator tests: running the operator on a TaskInstance stub, queueing faults."""

from __future__ import annotations

from typing import Any

from airflow_provider_wdt.operators.wdt import WdtPendingSyncIdsOperator
from airflow_provider_wdt.simulator import WdtSimulator
from tests.helpers import RecordingTI

#: Faults the client retries; each in the middle of a pull must change nothing in what it delivers.
TRANSIENT_FAULTS: list[tuple[str, dict[str, Any]]] = [
    ("http_error", {"status": 503}),
    ("drop", {}),
    ("html", {}),
    ("truncated_json", {}),
    ("rate_limit", {}),
    ("db_error", {"status": 1064}),
    ("http_error", {"status": 502}),
]


def run(op: WdtPendingSyncIdsOperator, ti: RecordingTI) -> Any:
    context: Any = {"ti": ti}
    return op.execute(context)


def pull(ti: RecordingTI, **kwargs: Any) -> Any:
    """Build the operator with ``kwargs`` and execute it (against ``wdt_default``)."""
    return run(WdtPendingSyncIdsOperator(task_id="pull", **kwargs), ti)


def interleave_faults(sim: WdtSimulator, faults: list[tuple[str, dict[str, Any]]], every: int = 1) -> None:
    """Queue each fault after ``every`` normal answers, so they land in the middle of the pull."""
    for name, kwargs in faults:
        sim.faults.slow(every, 0)  # a zero-second "slow" is a normal answer that takes a queue slot
        getattr(sim.faults, name)(1, **kwargs)
