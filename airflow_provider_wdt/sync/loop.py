"""The stock-sync loop after the pull: batchCalcStock, push to the shop, syncSuccess/syncFail, resumably.

No Airflow import: ``WdtStockSyncOperator`` wraps it, and a script can run it with a ``WdtHook``-like
object (``batch_calc_stock``, ``sync_success``, ``sync_fail``).

Pushes run in ``shop_concurrency`` threads, each reporting its own item; the WDT calls from those
threads go through the one client, whose ``max_concurrency`` and ``calls_per_minute`` bound them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from airflow_provider_wdt.errors import WdtError
from airflow_provider_wdt.sync.files import OUTCOME_FAIL, OUTCOME_SUCCESS, ReportState, ReportWriter
from airflow_provider_wdt.sync.shapes import BatchCalcResult, sync_info

#: ``push_callable(calc, **push_kwargs) -> (accepted, message)``.
PushCallable = Callable[..., tuple[bool, str]]
#: Seconds between progress lines on a long run.
PROGRESS_EVERY = 30.0


class SyncHook(Protocol):
    def batch_calc_stock(self, rec_ids: list[int], force_sync: bool = False) -> BatchCalcResult: ...

    def iter_pending_sync_ids(self) -> Iterator[int]: ...

    def sync_success(self, rec_id: int, info: Mapping[str, Any]) -> None: ...

    def sync_fail(self, rec_id: int, info: Mapping[str, Any]) -> None: ...


class Log(Protocol):
    def info(self, msg: str, /, *args: Any) -> Any: ...

    def warning(self, msg: str, /, *args: Any) -> Any: ...


@dataclass
class SyncSummary:
    """The operator's XCom. ``not_reported``: ids neither reported in this run nor already before it
    (calc errors, and on failure every item not reached); they stay pending in the ERP."""

    ids: int = 0
    calculated: int = 0
    calc_errors: int = 0
    succeeded: int = 0
    failed: int = 0
    already_reported: int = 0
    not_reported: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class StockSyncError(Exception):
    """The sync stopped early (the shop unreachable, WDT failing); ``summary`` holds the counts."""

    def __init__(self, message: str, summary: SyncSummary) -> None:
        super().__init__(message)
        self.summary = summary


#: The message of an outcome line written when a resumed run settles an item.
SETTLED_MESSAGE = "settled on resume: no longer pending, so the platform had taken the report"


@dataclass
class Settled:
    """What a resumed run skips: ``already`` reported, and with ``still_pending`` every id not in it."""

    already: set[int]
    still_pending: set[int] | None = None


def settle(
    hook: SyncHook, state: ReportState, report: ReportWriter, log: Log, *, lines_may_be_lost: bool = False
) -> Settled:
    """Before a resumed run reports anything: the items an earlier attempt may have reported unrecorded.

    Those are the items with an intent line and no outcome (the process died during their report call).
    One pull of the pending list tells: an item no longer pending was taken by the platform, and is
    recorded as reported now; one still pending is reported again by this run. ``lines_may_be_lost`` (a
    report on object storage, uploaded every ``UPLOAD_EVERY`` s, from an attempt that got that far): the
    last lines may be missing, so every id no longer pending is skipped too (``still_pending``).
    """
    if not state.unsettled and not (lines_may_be_lost and state.lines):
        return Settled(set(state.done))
    pending = set(hook.iter_pending_sync_ids())
    settled = {rec_id: outcome for rec_id, outcome in state.unsettled.items() if rec_id not in pending}
    for rec_id, outcome in settled.items():
        report.record(rec_id, outcome, SETTLED_MESSAGE)
    log.info(
        "WDT stock sync: %d report calls were in flight when an earlier attempt stopped; %d of them reached "
        "the platform (no longer pending: recorded now), %d did not (reported again in this run).",
        len(state.unsettled),
        len(settled),
        len(state.unsettled) - len(settled),
    )
    return Settled(state.done | set(settled), pending if lines_may_be_lost else None)


class StockSync:
    """One run over the ids; ``run()`` returns the summary or raises :class:`StockSyncError`."""

    def __init__(
        self,
        hook: SyncHook,
        push: PushCallable,
        *,
        push_kwargs: Mapping[str, Any] | None = None,
        report: ReportWriter | None = None,
        already_reported: set[int] | None = None,
        still_pending: set[int] | None = None,
        shop_concurrency: int = 1,
        force_sync: bool = False,
        log: Log,
        progress_every: float = PROGRESS_EVERY,
    ) -> None:
        self.hook = hook
        self.push = push
        self.push_kwargs = dict(push_kwargs or {})
        self.report = report or ReportWriter(None)
        self.already = already_reported or set()
        #: On a resume whose report may have lost lines: ids not in it were reported before.
        self.still_pending = still_pending
        self.shop_concurrency = shop_concurrency
        self.force_sync = force_sync
        self.log = log
        self.progress_every = progress_every
        self.summary = SyncSummary()
        self._lock = threading.Lock()  # the summary's counts
        self._stop = threading.Event()
        self._failure: str | None = None
        self._failure_error: Exception | None = None  # the WDT error behind it, the StockSyncError's cause
        self._started = time.monotonic()
        self._last_progress = self._started

    def run(self, chunks: Iterator[list[int]]) -> SyncSummary:
        in_flight: set[Future[None]] = set()
        with ThreadPoolExecutor(self.shop_concurrency, thread_name_prefix="wdt-push") as pool:
            try:
                for chunk in chunks:
                    self.summary.ids += len(chunk)
                    todo = [rec_id for rec_id in chunk if not self._reported_before(rec_id)]
                    self.summary.already_reported += len(chunk) - len(todo)
                    if todo and not self._stop.is_set():
                        for calc in self._calc(todo):
                            # A small backlog keeps every push thread busy without reading far ahead.
                            while len(in_flight) >= 2 * self.shop_concurrency:
                                _, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)  # type: ignore[assignment]
                            if self._stop.is_set():
                                break
                            in_flight.add(pool.submit(self._push_and_report, calc))
                    self._progress()
                    if self._stop.is_set():
                        # Count what is left, so the message can say how much stays pending.
                        self.summary.ids += sum(len(rest) for rest in chunks)
                        break
            except BaseException:
                self._stop.set()  # queued pushes are skipped; those running finish and are recorded
                raise
            finally:
                wait(in_flight)
        s = self.summary
        s.not_reported = s.ids - s.already_reported - s.succeeded - s.failed
        if self._failure is not None:
            raise StockSyncError(
                f"Stock sync stopped: {self._failure}. Reported {s.succeeded + s.failed} items in this run "
                f"({s.succeeded} syncSuccess, {s.failed} syncFail; {s.already_reported} reported by an "
                f"earlier attempt); {s.not_reported} of {s.ids} ids not reported: they stay pending in the "
                "ERP. "
                "A retry with the same report_path resumes without reporting anything twice.",
                s,
            ) from self._failure_error
        self._log_summary()
        return s

    def _reported_before(self, rec_id: int) -> bool:
        if rec_id in self.already:
            return True
        return self.still_pending is not None and rec_id not in self.still_pending

    def _calc(self, rec_ids: list[int]) -> list[dict[str, Any]]:
        try:
            result = self.hook.batch_calc_stock(rec_ids, self.force_sync)
        except WdtError as exc:
            self._fail(f"batchCalcStock failed for {len(rec_ids)} ids ({exc})", exc)
            return []
        self.summary.calculated += len(result.calculated)
        self.summary.calc_errors += len(result.errors)
        for error in result.errors:  # e.g. sync switched off for the item: it stays pending
            self.log.warning(
                "WDT stock sync: no quantity for rec_id %s (left pending): %s",
                error.get("rec_id"),
                error.get("err_msg"),
            )
        return result.calculated

    def _push_and_report(self, calc: dict[str, Any]) -> None:
        if self._stop.is_set():
            return
        rec_id = int(calc["rec_id"])
        try:
            outcome = self.push(calc, **self.push_kwargs)
        except Exception as exc:
            self._fail(f"push_callable raised {type(exc).__name__} for rec_id {rec_id}: {exc}")
            return
        if not (isinstance(outcome, tuple) and len(outcome) == 2 and isinstance(outcome[0], bool)):
            self._fail(f"push_callable returned {outcome!r} for rec_id {rec_id}; it must return (bool, str)")
            return
        accepted, message = outcome[0], str(outcome[1])
        # The calc fields go back unchanged (stock_change_count above all), plus the outcome.
        info = sync_info(calc, success=accepted, result=message)
        # Before the call: if the process dies during it, a resumed run settles this item first.
        self.report.intend(rec_id, OUTCOME_SUCCESS if accepted else OUTCOME_FAIL)
        try:
            if accepted:
                self.hook.sync_success(rec_id, info)
            else:
                self.hook.sync_fail(rec_id, info)
        except WdtError as exc:
            verb = "syncSuccess" if accepted else "syncFail"
            self._fail(f"{verb} failed for rec_id {rec_id} ({exc})", exc)
            return
        self.report.record(rec_id, OUTCOME_SUCCESS if accepted else OUTCOME_FAIL, message)
        with self._lock:
            if accepted:
                self.summary.succeeded += 1
            else:
                self.summary.failed += 1

    def _fail(self, reason: str, error: Exception | None = None) -> None:
        with self._lock:
            if self._failure is None:
                self._failure, self._failure_error = reason, error
        self._stop.set()

    def _progress(self) -> None:
        now = time.monotonic()
        if now - self._last_progress < self.progress_every:
            return
        self._last_progress = now
        with self._lock:
            s = self.summary
            done = s.succeeded + s.failed
            self.log.info(
                "WDT stock sync: %d ids read, %d reported (%d syncSuccess, %d syncFail), %d calc errors, "
                "%d already reported; %.0f items/min",
                s.ids,
                done,
                s.succeeded,
                s.failed,
                s.calc_errors,
                s.already_reported,
                done * 60 / max(now - self._started, 1e-6),
            )

    def _log_summary(self) -> None:
        s = self.summary
        elapsed = time.monotonic() - self._started
        self.log.info(
            "WDT stock sync: %d ids, %d calculated (%d calc errors), %d syncSuccess, %d syncFail, "
            "%d already reported, %d not reported (left pending); %.1f s, %.0f items/min",
            s.ids,
            s.calculated,
            s.calc_errors,
            s.succeeded,
            s.failed,
            s.already_reported,
            s.not_reported,
            elapsed,
            (s.succeeded + s.failed) * 60 / max(elapsed, 1e-6),
        )
