"""Following the ``position`` cursor of getSelfWaitSyncIdListOpen to the end, each rec_id once.

No Airflow import. Pages are pulled one at a time, so memory is bounded by the page size.

Why the end and duplicate rules look like this: ``position`` is the ``disable_syn_until`` of the last id
on a page, and several ids can share one. Whether the platform continues strictly after the position or
from it (inclusive) is not published, so both must work:

* after: pages may be shorter than ``count`` without being the last; the list ends on an empty page.
* from: the last group of a page comes again at the start of the next one; at the end, instead of an
  empty page, the last group keeps coming back.

An id repeated from the previous page is dropped (the previous page's ids are the only ones kept). A page
that brings no new id ends the pull when it is shorter than ``count``; when it is full and the position
did not move, the pull cannot make progress (a group of equal disable_syn_until larger than ``count``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from airflow_provider_wdt.errors import WdtConfigError, WdtPagingError
from airflow_provider_wdt.platform_facts import MAX_COUNT, MIN_COUNT

#: What a sensor poke asks for: the smallest page the platform allows.
PROBE_COUNT = MIN_COUNT


@dataclass(frozen=True)
class PendingSyncPage:
    """One answer of getSelfWaitSyncIdListOpen: rec_ids and the position to continue from."""

    rec_ids: list[int]
    position: int | None


@dataclass
class PullStats:
    """What a pull did, for logs, XCom and benchmarks."""

    pages: int = 0
    ids: int = 0
    duplicates_dropped: int = 0
    position: int | None = None
    stopped_by: str = "end of list"
    cut: list[str] = field(default_factory=list)


def _as_int(value: object) -> int | None:
    """An int, or a string of digits as rendered templates give; None for anything else (bools too)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return value if isinstance(value, int) else None


def validate_count(count: object) -> int:
    """``count`` must be an integer 10..5000 (the platform's limits); strings of digits are accepted."""
    value = _as_int(count)
    if value is None or not MIN_COUNT <= value <= MAX_COUNT:
        raise WdtConfigError(
            f"count must be an integer from {MIN_COUNT} to {MAX_COUNT} (ids per page), got {count!r}."
        )
    return value


def validate_position(position: object, name: str = "position") -> int:
    """A position is a non-negative integer cursor (0 = from the start)."""
    value = _as_int(position)
    if value is None or value < 0:
        raise WdtConfigError(
            f"{name} must be a non-negative integer (0 = from the start, or a position returned earlier), "
            f"got {position!r}."
        )
    return value


def iter_new_ids_by_page(
    fetch: Callable[[int, int], PendingSyncPage],
    *,
    count: int,
    start_position: int = 0,
    max_pages: int | None = None,
    stats: PullStats | None = None,
) -> Iterator[PendingSyncPage]:
    """Yield, page by page, the rec_ids not seen on the previous page, with the page's position.

    ``fetch(count, position)`` makes one call. ``stats`` (optional) is updated as pages arrive, so a
    caller that stops early still knows where it got to.
    """
    stats = stats if stats is not None else PullStats()
    stats.position = start_position
    position = start_position
    previous: set[int] = set()
    while True:
        if max_pages is not None and stats.pages >= max_pages:
            stats.stopped_by = "max_pages"
            stats.cut.append(f"max_pages={max_pages} reached; more ids may be pending after {position}")
            return
        page = fetch(count, position)
        stats.pages += 1
        if not page.rec_ids:
            return
        if previous and not previous.isdisjoint(page.rec_ids):
            new_ids = [rec_id for rec_id in page.rec_ids if rec_id not in previous]
        else:
            new_ids = page.rec_ids  # nothing repeated (the usual case): no per-id Python loop, no copy
        stats.duplicates_dropped += len(page.rec_ids) - len(new_ids)
        if page.position is None:
            raise WdtPagingError(
                f"getSelfWaitSyncIdListOpen returned {len(page.rec_ids)} ids but no position to continue "
                f"from (asked from position {position})."
            )
        if not new_ids:
            if len(page.rec_ids) < count:
                return  # the last group coming back: the list is exhausted
            if page.position == position:
                raise WdtPagingError(
                    f"getSelfWaitSyncIdListOpen is stuck at position {position}: a full page of {count} "
                    f"ids brought no new id. More than {count} goods share one disable_syn_until; "
                    f"use a larger count (at most {MAX_COUNT})."
                )
        previous = set(page.rec_ids)
        position = page.position
        stats.position = position
        stats.ids += len(new_ids)
        if new_ids:
            yield PendingSyncPage(new_ids, position)


class PendingPageSource(Protocol):
    """What :class:`PendingIdsPull` pulls from (``WdtHook.iter_pending_sync_pages``)."""

    def iter_pending_sync_pages(
        self,
        count: Any = ...,
        start_position: int = ...,
        *,
        max_pages: int | None = ...,
        stats: PullStats | None = ...,
    ) -> Iterator[PendingSyncPage]: ...


class _Log(Protocol):
    """The part of ``self.log`` used here (a stdlib logger on Airflow 2, structlog on Airflow 3)."""

    def info(self, msg: str, /, *args: Any) -> Any: ...

    def warning(self, msg: str, /, *args: Any) -> Any: ...


class PendingIdsPull:
    """One run over the pages for the operator: the max_ids cap, the position to resume from, and
    progress logging. ``source`` is the hook (anything with ``iter_pending_sync_pages``)."""

    def __init__(
        self,
        source: PendingPageSource,
        count: int | str,
        start_position: int,
        max_ids: int | None,
        max_pages: int | None,
        progress_every_pages: int,
        log: _Log,
    ) -> None:
        self.source = source
        self.count = count
        self.start_position = start_position
        self.max_ids = max_ids
        self.max_pages = max_pages
        self.progress_every_pages = progress_every_pages
        self.log = log
        self.stats = PullStats()
        self.delivered = 0
        self.started = time.monotonic()
        self._cut_page = False
        self._last_whole_position = start_position
        self._logged_pages = 0

    @property
    def position(self) -> int:
        """Where the next pull should start: after the last page delivered whole."""
        if self._cut_page or self.stats.position is None:
            return self._last_whole_position
        return self.stats.position

    def chunks(self) -> Iterator[list[int]]:
        """The new ids of each page, cut at max_ids; the hook's pager dedupes and detects the end."""
        pages = self.source.iter_pending_sync_pages(
            self.count, self.start_position, max_pages=self.max_pages, stats=self.stats
        )
        for page in pages:
            ids = page.rec_ids
            room = None if self.max_ids is None else self.max_ids - self.delivered
            if room is not None and len(ids) > room:
                ids = ids[:room]
                self._cut_page = True
            yield ids
            self.delivered += len(ids)
            if not self._cut_page and page.position is not None:
                self._last_whole_position = page.position
            self._log_progress()
            if room is not None and len(ids) >= room:
                self.stats.stopped_by = "max_ids"
                left = (
                    f"{len(page.rec_ids) - len(ids)} more ids on the last page and " if self._cut_page else ""
                )
                self.stats.cut.append(
                    f"max_ids={self.max_ids} reached; {left}possibly more pending after position "
                    f"{self.position}"
                )
                return

    def _log_progress(self) -> None:
        if self.stats.pages - self._logged_pages < self.progress_every_pages:
            return
        self._logged_pages = self.stats.pages
        self.log.info(
            "WDT pending ids: %d pages, %d ids so far, %.0f ids/s, position %s",
            self.stats.pages,
            self.delivered,
            self._rate(),
            self.stats.position,
        )

    def _rate(self) -> float:
        return self.delivered / max(time.monotonic() - self.started, 1e-6)

    def log_summary(self, requests_sent: int, output: str) -> None:
        for cut in self.stats.cut:
            self.log.warning("WDT pending ids: stopped early: %s.", cut)
        self.log.info(
            "WDT pending ids: %d ids in %d pages (%d repeats across pages dropped), %.1f s, %.0f ids/s, "
            "%d HTTP requests; position %d -> %d; stopped by %s; output: %s",
            self.delivered,
            self.stats.pages,
            self.stats.duplicates_dropped,
            time.monotonic() - self.started,
            self._rate(),
            requests_sent,
            self.start_position,
            self.position,
            self.stats.stopped_by,
            output,
        )
