"""Client-side limits for one seller: calls per sliding 60 s window, and calls in flight at once.

No Airflow import. The platform refuses calls over its (unpublished) limits and asks integrators to stay
away for 5-10 minutes afterwards, so the client waits before sending rather than after a refusal.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from airflow_provider_wdt.connection_fields import default

#: Length of the calls-per-minute window, seconds (the rate_window extra's default).
WINDOW: float = default("rate_window")
#: The shortest gap between two "waiting for the limit" log lines, seconds.
LOG_EVERY = 60.0


class CallLimiter:
    """``with limiter.slot(): send()`` admits a call when both limits allow it, waiting otherwise.

    A call counts in the window from the moment it is admitted until ``window`` seconds after its
    answer arrived. Counting from the answer, not from the send, keeps the platform's count (taken
    somewhere in between) under the limit whatever the latency: a call is only admitted once
    ``calls_per_minute`` earlier answers have left the window or fewer are in it.
    """

    def __init__(
        self,
        calls_per_minute: int | None = None,
        max_concurrency: int = 1,
        *,
        window: float = WINDOW,
        logger: Any = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.calls_per_minute = calls_per_minute
        self.max_concurrency = max_concurrency
        #: Seconds of the calls-per-minute window; tests and benchmarks may shorten it.
        self.window = window
        self.log = logger
        self._clock = clock
        self._cond = threading.Condition()
        self._done: deque[float] = deque()  # answer times of calls still in the window
        self._in_flight = 0
        self._last_log: float | None = None
        #: Seconds spent waiting for a slot, summed over every caller (benchmarks read it).
        self.waited = 0.0
        self.peak_in_flight = 0

    @contextmanager
    def slot(self) -> Iterator[None]:
        self._acquire()
        try:
            yield
        finally:
            self._release()

    def _acquire(self) -> None:
        with self._cond:
            started: float | None = None
            while True:
                wait = self._wait_needed()
                if wait is None:
                    break
                now = self._clock()
                if started is None:
                    started = now
                if wait > 0:  # the window, not concurrency, is the reason: worth a log line
                    self._log_wait(now, wait)
                # Concurrency waits for a release (notify); the window for its oldest answer to age out.
                self._cond.wait(timeout=wait if wait > 0 else None)
            if started is not None:
                self.waited += self._clock() - started
            self._in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self._in_flight)

    def _wait_needed(self) -> float | None:
        """None: admit now. 0: wait for a call in flight to finish. >0: seconds until the window frees."""
        if self._in_flight >= self.max_concurrency:
            return 0.0
        limit = self.calls_per_minute
        if limit is None:
            return None
        now = self._clock()
        while self._done and self._done[0] <= now - self.window:
            self._done.popleft()
        if len(self._done) + self._in_flight < limit:
            return None
        if not self._done:  # every counted call is in flight: a release will wake us
            return 0.0
        return max(self._done[0] + self.window - now, 0.001)

    def _release(self) -> None:
        with self._cond:
            self._in_flight -= 1
            if self.calls_per_minute is not None:
                self._done.append(self._clock())
            self._cond.notify_all()

    def _log_wait(self, now: float, wait: float) -> None:
        if self.log is None or (self._last_log is not None and now - self._last_log < LOG_EVERY):
            return
        self._last_log = now
        self.log.info(
            "WDT calls_per_minute=%d reached: waiting %.1f s before the next call (logged at most once a "
            "minute).",
            self.calls_per_minute,
            wait,
        )
