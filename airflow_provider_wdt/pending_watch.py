"""The watermark rule of the event trigger: has getSelfWaitSyncIdListOpen moved since the last event?

No Airflow import. The watermark is a ``position`` (a ``disable_syn_until`` value), not a set of ids: an
item offered again after syncFail, or whose stock changed after a sync, comes back with a later
disable_syn_until and so past the watermark, while a set of ids would already contain it.

The rule: poll from the watermark; report a change only when the platform returns ids and its
``position`` moved past the watermark; then walk to the end of the list and make its final position the
new watermark. Items that stay pending at or before the watermark do not count as a change again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from airflow_provider_wdt.paging import PendingPageSource, PendingSyncPage, PullStats
from airflow_provider_wdt.platform_facts import MAX_COUNT

#: How many rec_ids an event carries: a hint for the log, never the work list (the DAG pulls itself).
FIRST_IDS = 10


class PendingSource(PendingPageSource, Protocol):
    """What the rule reads (``WdtHook``): the pull's pages, plus one page at a position for the probe."""

    def get_pending_sync_ids(self, count: int = ..., position: int = ...) -> PendingSyncPage: ...


@dataclass(frozen=True)
class PendingChange:
    """What a walk from ``old_position`` to the end of the list found."""

    old_position: int
    new_position: int
    count: int
    first_ids: list[int] = field(default_factory=list)

    def payload(self, reason: str) -> dict[str, Any]:
        """The event payload: small, and JSON as the metadata DB stores it."""
        return {
            "reason": reason,
            "old_position": self.old_position,
            "new_position": self.new_position,
            "count": self.count,
            "first_ids": list(self.first_ids),
        }


def walk(source: PendingSource, start: int) -> PendingChange | None:
    """Every pending id from ``start`` to the end (largest pages, fewest calls); None when there is none."""
    stats = PullStats()
    first: list[int] = []
    for page in source.iter_pending_sync_pages(MAX_COUNT, start, stats=stats):
        first.extend(page.rec_ids[: FIRST_IDS - len(first)])
    if not stats.ids or stats.position is None:
        return None
    return PendingChange(start, stats.position, stats.ids, first)


def find_change(source: PendingSource, watermark: int, probe_count: int) -> PendingChange | None:
    """The change past ``watermark``, or None: one small probe when nothing moved (the usual poll)."""
    probe = source.get_pending_sync_ids(probe_count, watermark)
    if not probe.rec_ids or probe.position is None:
        return None
    if probe.position <= watermark and len(probe.rec_ids) < probe_count:
        # Only the group at the watermark again (a platform that pages "from" the position, inclusive).
        return None
    # Moved, or a full page still at the watermark (a large group there): the walk decides.
    change = walk(source, watermark)
    if change is None or change.new_position <= watermark:
        return None
    return change
