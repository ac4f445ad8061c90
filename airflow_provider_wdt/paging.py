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

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from airflow_provider_wdt.errors import WdtConfigError, WdtPagingError
from airflow_provider_wdt.protocol import MAX_COUNT, MIN_COUNT


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
