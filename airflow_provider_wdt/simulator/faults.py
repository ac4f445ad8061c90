"""Programmable faults: what the network, a proxy or an overloaded platform can do to a request.

Faults form one FIFO queue: each programmed fault takes the next request(s) to ``/openapi`` in the order
the faults were programmed, whatever API method the request calls. ``n`` queues n copies. When the queue is
empty, an optional seeded random mode may inject one. A faulted request never touches seller state, except
``slow``, which delays and then answers normally.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from airflow_provider_wdt.platform_facts import RATE_LIMIT_CALLS_MESSAGE, RATE_LIMIT_CONCURRENCY_MESSAGE

FAULT_KINDS = ("http_error", "html", "truncated_json", "drop", "slow", "rate_limit", "db_error")
DEFAULT_RANDOM_KINDS = ("http_error", "drop", "html", "truncated_json", "rate_limit", "db_error")


def rate_limit_message(kind: str, ascii_comma: bool = False) -> str:
    if kind not in ("calls", "concurrency"):
        raise ValueError("rate limit kind must be 'calls' or 'concurrency'")
    message = RATE_LIMIT_CALLS_MESSAGE if kind == "calls" else RATE_LIMIT_CONCURRENCY_MESSAGE
    # The platform has been seen sending both commas; clients must match on the substring before it.
    return message.replace("，", ",") if ascii_comma else message


def db_error_message(status: int) -> str:
    return "Unknown Database Error" if status == 1064 else "数据库错误"


@dataclass(frozen=True)
class Fault:
    """One faulted request. Only the fields of its kind matter."""

    kind: str
    status: int = 0  # http_error: HTTP status; db_error: qjb status
    seconds: float = 0.0  # slow
    rate_kind: str = "calls"  # rate_limit: "calls" or "concurrency"
    ascii_comma: bool = False  # rate_limit


def _check_n(n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError("n must be a non-negative int")


class FaultPlan:
    """Thread-safe queue of faults plus an optional seeded random mode (``sim.faults``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[Fault] = deque()
        self._probability = 0.0
        self._kinds: tuple[str, ...] = DEFAULT_RANDOM_KINDS
        self._rng = random.Random(0)

    def _push(self, fault: Fault, n: int) -> None:
        _check_n(n)
        with self._lock:
            self._queue.extend([fault] * n)

    def http_error(self, n: int = 1, status: int = 503) -> None:
        """Plain HTTP error (default 503) with a small HTML body, like a gateway in front of the platform."""
        if not 400 <= status <= 599:
            raise ValueError("status must be an HTTP error status (400..599)")
        self._push(Fault("http_error", status=status), n)

    def html(self, n: int = 1) -> None:
        """HTTP 200 with an HTML page instead of JSON (a proxy or captive portal)."""
        self._push(Fault("html"), n)

    def truncated_json(self, n: int = 1) -> None:
        """HTTP 200 application/json whose body is cut in half (Content-Length matches the cut body)."""
        self._push(Fault("truncated_json"), n)

    def drop(self, n: int = 1) -> None:
        """Close the TCP connection without sending any response."""
        self._push(Fault("drop"), n)

    def slow(self, n: int = 1, seconds: float = 2.0) -> None:
        """Wait ``seconds`` (while counted as in flight), then answer normally."""
        if seconds < 0:
            raise ValueError("seconds must be >= 0")
        self._push(Fault("slow", seconds=float(seconds)), n)

    def rate_limit(self, n: int = 1, kind: str = "calls", ascii_comma: bool = False) -> None:
        """Status 100 with the platform's calls-per-minute or concurrency message."""
        rate_limit_message(kind)  # validates kind
        self._push(Fault("rate_limit", rate_kind=kind, ascii_comma=ascii_comma), n)

    def db_error(self, n: int = 1, status: int = 1064) -> None:
        """Status 4, 5 or 1064 with the platform's database error message."""
        if status not in (4, 5, 1064):
            raise ValueError("db_error status must be 4, 5 or 1064")
        self._push(Fault("db_error", status=status), n)

    def random(
        self, probability: float = 0.1, kinds: Iterable[str] = DEFAULT_RANDOM_KINDS, seed: int = 0
    ) -> None:
        """Fault each request (when the queue is empty) with ``probability``; 0 turns this off."""
        if not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be within 0..1")
        chosen = tuple(kinds)
        unknown = [k for k in chosen if k not in FAULT_KINDS]
        if unknown or (probability > 0 and not chosen):
            raise ValueError(f"unknown or no fault kinds: {unknown}; known: {FAULT_KINDS}")
        with self._lock:
            self._probability = float(probability)
            self._kinds = chosen
            self._rng = random.Random(seed)

    def clear(self) -> None:
        """Drop queued faults and turn random faults off."""
        with self._lock:
            self._queue.clear()
            self._probability = 0.0

    @property
    def queued(self) -> int:
        """Number of queued (not random) faults still to hit a request."""
        with self._lock:
            return len(self._queue)

    def take(self) -> Fault | None:
        """The fault for the request now arriving, if any (called once per request)."""
        with self._lock:
            if self._queue:
                return self._queue.popleft()
            if self._probability <= 0 or self._rng.random() >= self._probability:
                return None
            return self._random_fault(self._rng.choice(self._kinds))

    def _random_fault(self, kind: str) -> Fault:
        rng = self._rng
        if kind == "http_error":
            return Fault(kind, status=rng.choice((500, 502, 503)))
        if kind == "db_error":
            return Fault(kind, status=rng.choice((4, 5, 1064)))
        if kind == "rate_limit":
            return Fault(kind, rate_kind=rng.choice(("calls", "concurrency")), ascii_comma=rng.random() < 0.5)
        if kind == "slow":
            return Fault(kind, seconds=0.05)
        return Fault(kind)
