"""The request log and connection counters: what the HTTP server reports, kept for tests to read."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .gateway import Reply


@dataclass(frozen=True)
class RequestRecord:
    """One handled HTTP request. ``status`` is the qjb status, None when the answer was not qjb JSON
    (HTTP error, HTML, truncated body, dropped connection); ``http_status`` is 0 for a dropped one."""

    method: str | None
    sid: str | None
    status: int | None
    http_status: int
    connection_id: int
    #: The request's query parameters as sent (tests assert on paging and the like).
    query: dict[str, str] = field(default_factory=dict)
    #: When it was answered (time.monotonic()).
    time: float = field(default=0.0, compare=False)


class RequestStats:
    """Implements ``server.ServerEvents``; connection threads report concurrently, hence the lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._log: list[RequestRecord] = []
        self._connections = 0
        self._connection_ids = 0  # not reset: ids stay unique across reset()

    # -- events from the server -----------------------------------------------------------------------

    def connection_accepted(self) -> int:
        with self._lock:
            self._connections += 1
            self._connection_ids += 1
            return self._connection_ids

    def request_handled(
        self, method: str | None, sid: str | None, reply: Reply, connection_id: int, query: dict[str, str]
    ) -> None:
        record = RequestRecord(
            method, sid, reply.status, reply.http_status, connection_id, query, time.monotonic()
        )
        with self._lock:
            self._log.append(record)

    # -- for the tests --------------------------------------------------------------------------------

    @property
    def records(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._log)

    @property
    def count(self) -> int:
        with self._lock:
            return len(self._log)

    @property
    def connections(self) -> int:
        with self._lock:
            return self._connections

    def reset(self) -> None:
        with self._lock:
            self._log.clear()
            self._connections = 0


#: The qjb status of a rate-limit refusal.
REFUSED = 100


def call_counts(records: list[RequestRecord], sid: str, window: float) -> dict[str, Any]:
    """One seller's calls as the platform counted them: refusals, admitted calls per consecutive window
    from the first, and the most admitted in any sliding window (the figure a limit is about)."""
    mine = [r for r in records if r.sid == sid]
    admitted = sorted(r.time for r in mine if r.status is not None and r.status != REFUSED)
    per_window: list[int] = []
    busiest, j = 0, 0
    for i, t in enumerate(admitted):
        index = int((t - admitted[0]) // window)
        per_window.extend([0] * (index + 1 - len(per_window)))
        per_window[index] += 1
        while admitted[j] <= t - window:
            j += 1
        busiest = max(busiest, i - j + 1)
    return {
        "requests": len(mine),
        "refusals": sum(1 for r in mine if r.status == REFUSED),
        "calls_per_window": per_window,
        "most_calls_in_any_window": busiest,
    }
