"""The platform as the gateway sees it: sellers, faults, limits, clock. Nothing about HTTP or the request log.

The gateway reads these values at every request, so whoever holds the object (WdtSimulator, or a test
driving ``gateway.process`` directly) changes behaviour at run time by setting an attribute.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .faults import FaultPlan
from .state import TIE_MODES, Seller


@dataclass
class Platform:
    """Shared, mutable platform state; request threads read it without a lock (see ``add_seller``)."""

    sellers: dict[str, Seller] = field(default_factory=dict)
    faults: FaultPlan = field(default_factory=FaultPlan)
    calls_per_minute: int | None = None  # per sid; None = unlimited
    max_concurrency: int | None = None  # per sid; None = unlimited
    rate_window: float = 60.0  # seconds of the calls-per-minute window; tests may shorten it
    tie_mode: str = "after"  # see state.TIE_MODES
    clock_offset: float = 0.0  # the server clock runs this many seconds ahead
    batch_limit: int | None = None  # max items per batchCalcStock; None = no limit
    retry_delay: int = 60  # syncFail defers an item this many seconds
    #: Set by the owner when it stops: wakes every :meth:`sleep` so no request thread outlives the server.
    stopping: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)

    def __setattr__(self, name: str, value: Any) -> None:
        # Validated on every assignment, not only in __init__: tie_mode is switched while serving.
        if name == "tie_mode" and value not in TIE_MODES:
            raise ValueError(f"tie_mode must be one of {TIE_MODES}")
        super().__setattr__(name, value)

    def add_seller(self, seller: Seller) -> None:
        if seller.sid in self.sellers:
            raise ValueError(f"seller {seller.sid!r} exists already")
        # Copy-on-write: request threads look sellers up unlocked, so the dict they hold never changes.
        self.sellers = {**self.sellers, seller.sid: seller}

    def server_time(self) -> float:
        """The simulated clock, unix seconds."""
        return time.time() + self.clock_offset

    def sleep(self, seconds: float) -> None:
        """Sleep that setting ``stopping`` interrupts."""
        if seconds > 0:
            self.stopping.wait(seconds)
