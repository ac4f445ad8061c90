"""Several hosts: each task hands its seller's recent calls over to the next through an Airflow Variable.

The call ledger (:mod:`.ledger`) is one host's. Workers on other hosts (Celery, Kubernetes) see it only
through this hand-over: a task writes the calls still in the 60 s window to the Variable
``wdt_calls_<ledger key>`` every ``SEND_EVERY`` seconds and when its hook closes, and the next task for
the seller, on any host, adds them to its own ledger before its first call. A hand-over that was not the
writer's last (the task was killed, or still runs) is followed by a gap of unknown use: it is counted as
used at the full ``calls_per_minute``, so the budget stays safe at the cost of a short wait.

It covers tasks that run one after the other (pull then sync, a retry, the next run). Two tasks for one
seller at once on two hosts overwrite each other's hand-over: keep those apart with an Airflow pool.
"""

from __future__ import annotations

import json
import math
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from airflow_provider_wdt.ledger import CallLedger

#: Seconds between two hand-overs while a task calls.
SEND_EVERY = 5.0
VARIABLE_PREFIX = "wdt_calls_"


def gap_calls(written: float, now: float, calls_per_minute: int, window: float) -> list[float]:
    """The calls assumed made, at the full rate, between a hand-over written at ``written`` and ``now``."""
    start = max(written, now - window)
    if now <= start:
        return []
    count = math.ceil(calls_per_minute * (now - start) / window)
    step = (now - start) / count
    return [start + step * (i + 1) for i in range(count)]


class CallHandover:
    """Reads and writes one seller's hand-over; ``store_get``/``store_set`` default to Airflow Variables."""

    def __init__(
        self,
        ledger: CallLedger,
        *,
        logger: Any,
        store_get: Callable[[str], str | None] | None = None,
        store_set: Callable[[str, str], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.ledger = ledger
        self.key = VARIABLE_PREFIX + ledger.key
        self.log = logger
        self._get = store_get or _variable_get
        self._set = store_set or _variable_set
        self._clock = clock
        self._lock = threading.Lock()
        self._last_sent = clock()
        #: This host's ledger: a hand-over from it is already counted there.
        self.origin = f"{socket.gethostname()}:{ledger.directory}"

    def receive(self) -> int:
        """Before the first call: add the last hand-over's calls (and its gap) to this host's ledger."""
        raw = self._get(self.key)
        if not raw:
            return 0
        try:
            payload = json.loads(raw)
            calls = [float(t) for t in payload["calls"]]
            written, final, origin = float(payload["written"]), bool(payload["final"]), payload["origin"]
        except (ValueError, KeyError, TypeError):
            self.log.warning("WDT: ignoring the unreadable call hand-over in Variable %s.", self.key)
            return 0
        if origin == self.origin:
            return 0  # written from this host's ledger, which still holds those calls
        now = self._clock()
        limit = self.ledger.calls_per_minute
        if not final and limit:
            calls += gap_calls(written, now, limit, self.ledger.window)
        self.ledger.add_calls(calls)
        return len(calls)

    def maybe_send(self) -> None:
        """After a call: a hand-over if the last is ``SEND_EVERY`` seconds old."""
        if self._clock() - self._last_sent < SEND_EVERY:
            return
        with self._lock:
            if self._clock() - self._last_sent >= SEND_EVERY:  # not done meanwhile by another thread
                self._send(final=False)

    def send(self, final: bool) -> None:
        """Hand the calls of the last window over now; ``final`` at the end of the task."""
        with self._lock:
            self._send(final)

    def _send(self, final: bool) -> None:
        now = self._clock()
        self._last_sent = now
        payload = {
            "written": round(now, 3),
            "final": final,
            "origin": self.origin,
            "calls": [round(t, 3) for t in self.ledger.recent_calls()],
        }
        try:
            self._set(self.key, json.dumps(payload, separators=(",", ":")))
        except Exception as exc:  # the store is down: the calls still count on this host
            self.log.warning("WDT: could not hand calls over in Variable %s: %s", self.key, exc)


def _variable_get(key: str) -> str | None:
    from airflow_provider_wdt._compat import Variable

    value = Variable.get(key, None)
    return None if value is None else str(value)


def _variable_set(key: str, value: str) -> None:
    from airflow_provider_wdt._compat import Variable

    Variable.set(key, value)
