"""Fault programs of the reliability suite: the simulator's FaultPlan with request-numbered actions, and
the matrix of faults (each with the typed error and the words its message must name)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_wdt import errors
from airflow_provider_wdt.simulator import WdtSimulator
from airflow_provider_wdt.simulator.faults import Fault, FaultPlan

#: The suite's connections keep max_retries at its default, 3: 4 attempts in all.
MAX_ATTEMPTS = 4
GAVE_UP = f"gave up after {MAX_ATTEMPTS} attempts"
#: Timeout extra and slow-fault delay used together: each slow answer costs exactly one timeout.
SLOW_TIMEOUT = 0.2
SLOW_SECONDS = 1.0


class ProgrammedFaults(FaultPlan):
    """The simulator's FaultPlan, plus: a count of requests that arrived, actions run when request
    number k arrives (to start a fault burst, a clock jump or a credential change in the middle of a
    pull), slow random faults that outlast the client's timeout, and a tally of faults injected."""

    def __init__(self, sim: WdtSimulator) -> None:
        super().__init__()
        self.sim = sim
        self._count_lock = threading.Lock()
        self.requests = 0
        self.injected: Counter[str] = Counter()
        self.slow_seconds = SLOW_SECONDS
        self._actions: dict[int, list[Callable[[], object]]] = {}

    def reset_count(self) -> None:
        with self._count_lock:
            self.requests = 0
            self._actions.clear()

    def at(self, request_number: int, action: Callable[[], object]) -> None:
        """Run ``action`` when request ``request_number`` (1-based, counted from now) arrives."""
        with self._count_lock:
            self._actions.setdefault(self.requests + request_number, []).append(action)

    def take(self) -> Fault | None:
        with self._count_lock:
            self.requests += 1
            actions = self._actions.pop(self.requests, [])
        for action in actions:
            action()
        fault = super().take()
        if fault is not None:
            with self._count_lock:
                self.injected[fault_label(fault)] += 1
        return fault

    def _random_fault(self, kind: str) -> Fault:
        if kind == "slow":
            return Fault("slow", seconds=self.slow_seconds)
        return super()._random_fault(kind)


def programmed_faults(sim: WdtSimulator) -> ProgrammedFaults:
    """The ProgrammedFaults of a simulator made by ``environment.make_simulator``."""
    faults = sim.faults
    assert isinstance(faults, ProgrammedFaults), "not a simulator of environment.make_simulator"
    return faults


def fault_label(fault: Fault) -> str:
    if fault.kind in ("http_error", "db_error"):
        return f"{fault.kind}:{fault.status}"
    if fault.kind == "rate_limit":
        return f"rate_limit:{fault.rate_kind}{':ascii' if fault.ascii_comma else ''}"
    return fault.kind


@dataclass(frozen=True)
class FaultCase:
    """One fault of the matrix. ``program(sim, n)`` queues ``n`` consecutive faulted answers (or another
    disturbance) on the simulator, to hit the next requests from the moment it runs."""

    name: str
    program: Callable[[WdtSimulator, int], None]
    error: type[errors.WdtError]
    #: Words the error message must contain: it names the cause.
    needles: tuple[str, ...]
    #: Whether the client retries it (False: the first one fails the call).
    retryable: bool = True
    #: Extra connection settings this fault needs (a short timeout for slow answers).
    extra: dict[str, Any] = field(default_factory=dict)
    #: Requests one occurrence costs beyond the answer that finally succeeds (skew: exactly one).
    transient_n: int = MAX_ATTEMPTS - 1


def _skew(offset: float) -> Callable[[WdtSimulator, int], None]:
    def program(sim: WdtSimulator, n: int) -> None:
        sim.clock_offset = offset

    return program


def _skew_jump(sim: WdtSimulator, n: int) -> None:
    """The platform's clock is 10 min ahead, and jumps 10 min behind right after the client corrected."""
    sim.clock_offset = 600.0
    programmed_faults(sim).at(1, lambda: setattr(sim, "clock_offset", -600.0))


def _revoke(sim: WdtSimulator, n: int) -> None:
    """The appkey is changed on the platform side in the middle of a pull."""
    sim.seller().appkey = "revoked-" + sim.seller().appkey


FAULT_CASES: tuple[FaultCase, ...] = (
    FaultCase("HTTP 500", lambda s, n: s.faults.http_error(n, 500), errors.WdtServerError, ("HTTP 500",)),
    FaultCase("HTTP 502", lambda s, n: s.faults.http_error(n, 502), errors.WdtServerError, ("HTTP 502",)),
    FaultCase("HTTP 503", lambda s, n: s.faults.http_error(n, 503), errors.WdtServerError, ("HTTP 503",)),
    FaultCase(
        "HTTP 429", lambda s, n: s.faults.http_error(n, 429), errors.WdtRateLimitError, ("429", "Too Many")
    ),
    FaultCase(
        "dropped connection",
        lambda s, n: s.faults.drop(n),
        errors.WdtTransportError,
        ("could not reach", "RemoteDisconnected"),
    ),
    FaultCase(
        "slow answer past the timeout",
        lambda s, n: s.faults.slow(n, SLOW_SECONDS),
        errors.WdtTransportError,
        ("no answer", f"within {SLOW_TIMEOUT:g} s", "timeout"),
        extra={"timeout": SLOW_TIMEOUT},
    ),
    FaultCase("HTML page", lambda s, n: s.faults.html(n), errors.WdtBadResponseError, ("HTML",)),
    FaultCase(
        "truncated JSON",
        lambda s, n: s.faults.truncated_json(n),
        errors.WdtBadResponseError,
        ("not valid JSON",),
    ),
    FaultCase(
        "rate limit (calls, full-width comma)",
        lambda s, n: s.faults.rate_limit(n, "calls"),
        errors.WdtRateLimitError,
        ("status 100", "超过每分钟最大调用频率限制", "per-minute"),
    ),
    FaultCase(
        "rate limit (concurrency, ASCII comma)",
        lambda s, n: s.faults.rate_limit(n, "concurrency", ascii_comma=True),
        errors.WdtRateLimitError,
        ("status 100", "超过每分钟最大并发次数限制", "per-minute"),
    ),
    FaultCase(
        "db status 4", lambda s, n: s.faults.db_error(n, 4), errors.WdtServerError, ("status 4", "database")
    ),
    FaultCase(
        "db status 5", lambda s, n: s.faults.db_error(n, 5), errors.WdtServerError, ("status 5", "database")
    ),
    FaultCase(
        "db status 1064",
        lambda s, n: s.faults.db_error(n, 1064),
        errors.WdtServerError,
        ("status 1064", "Unknown Database Error"),
    ),
    FaultCase(
        "server clock +10 min",
        _skew(600.0),
        errors.WdtTimestampError,
        ("status 7",),
        transient_n=1,
    ),
    FaultCase(
        "server clock -10 min",
        _skew(-600.0),
        errors.WdtTimestampError,
        ("status 7",),
        transient_n=1,
    ),
)
#: Faults that must fail the call at once (or after the one skew correction), not be retried.
FATAL_CASES: tuple[FaultCase, ...] = (
    FaultCase(
        "HTTP 404 (not an endpoint)",
        lambda s, n: s.faults.http_error(n, 404),
        errors.WdtEndpointError,
        ("HTTP 404", "/openapi"),
        retryable=False,
    ),
    FaultCase(
        "appkey revoked mid-pull",
        _revoke,
        errors.WdtAuthError,
        ("status 1", "app auth fail", "appkey"),
        retryable=False,
    ),
    FaultCase(
        "clock jumps again after correction",
        _skew_jump,
        errors.WdtTimestampError,
        ("status 7", "clock"),
        retryable=False,
        transient_n=1,
    ),
)
