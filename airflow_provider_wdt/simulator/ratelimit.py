"""Per-seller rate limits: calls in a sliding window and requests in flight."""

from __future__ import annotations

import threading
import time
from collections import deque

from .faults import rate_limit_message


class RateLimiter:
    """Admits or refuses a seller's calls. Only admitted calls count towards the window, so a client
    that is refused and backs off is not punished further for its refused attempts."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: deque[float] = deque()
        self.in_flight = 0
        self.peak_in_flight = 0  # the most admitted calls in flight at once (tests read it)

    def acquire(self, calls_per_minute: int | None, max_concurrency: int | None, window: float) -> str | None:
        """Admit a call (then :meth:`release` it) or return the platform's refusal message."""
        with self._lock:
            if max_concurrency is not None and self.in_flight >= max_concurrency:
                return rate_limit_message("concurrency")
            if calls_per_minute is not None:
                now = time.monotonic()
                while self._calls and self._calls[0] <= now - window:
                    self._calls.popleft()
                if len(self._calls) >= calls_per_minute:
                    return rate_limit_message("calls")
                self._calls.append(now)
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            return None

    def release(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def reset(self) -> None:
        """Forget the call window (in-flight requests stay counted until they finish)."""
        with self._lock:
            self._calls.clear()
            self.peak_in_flight = self.in_flight
