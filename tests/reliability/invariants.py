"""The rule every operation is checked against (issue 8): a full pull either delivers every pending id
exactly once, in the platform's order, or fails with a typed error that names the cause; never a short
list, never a partial or temporary file left behind."""

from __future__ import annotations

import traceback
from pathlib import Path

from airflow_provider_wdt import errors
from airflow_provider_wdt.paging import PendingSyncPage, PullStats, iter_new_ids_by_page
from airflow_provider_wdt.simulator import WdtSimulator
from tests.reliability.runners import FULL_PULLS, Outcome, TriggerFailed


def expected_ids(sim: WdtSimulator, kind: str, sid: str | None = None) -> list[int]:
    """The truth, from the simulator's state (no request): all pending ids in order, or the first page."""
    if kind in FULL_PULLS:
        return sim.pending_ids(sid)
    ids, _ = sim.seller(sid).page(10, 0, sim.tie_mode, sim.server_wdt_time())
    return ids


def clean_pages(sim: WdtSimulator, count: int) -> int:
    """Requests a fault-free full pull of ``count`` ids a page makes, from the simulator's state (no HTTP)."""
    seller, now = sim.seller(), sim.server_wdt_time()

    def fetch(c: int, position: int) -> PendingSyncPage:
        return PendingSyncPage(*seller.page(c, position, sim.tie_mode, now))

    stats = PullStats()
    for _ in iter_new_ids_by_page(fetch, count=count, stats=stats):
        pass
    return stats.pages


def leftovers(out_dir: Path | None, memory_root: str | None) -> list[str]:
    """Files (temporary ones included) an operation left in its output folder or object prefix."""
    found: list[str] = []
    if out_dir is not None and out_dir.exists():
        found += sorted(str(p.relative_to(out_dir)) for p in out_dir.rglob("*") if p.is_file())
    if memory_root is not None:
        from airflow_provider_wdt._compat import object_storage_path

        root = object_storage_path(memory_root)
        if root.fs.exists(root.path):
            found += sorted(str(p) for p in root.fs.find(root.path))
    return found


def check_invariant(
    outcome: Outcome,
    expected: list[int],
    *,
    out_dir: Path | None = None,
    memory_root: str | None = None,
) -> str:
    """Assert issue 8's rule for one outcome; returns "ok" or the error's class name.

    Success: exactly the expected ids, each once, in order, and (file outputs) exactly one file holding
    them. Failure: a typed WdtError (or a trigger's error/timeout event) with a message, and no output
    file and no temporary file left behind.
    """
    if outcome.error is None:
        assert outcome.ids is not None
        assert len(outcome.ids) == len(set(outcome.ids)), "an id was delivered twice"
        assert outcome.ids == expected, f"delivered {len(outcome.ids)} ids, expected {len(expected)}"
        files = leftovers(out_dir, memory_root)
        if outcome.output is not None:
            assert len(files) == 1 and not files[0].startswith("."), files
        return "ok"
    error = outcome.error
    if isinstance(error, TriggerFailed):
        assert error.event.get("status") in ("error", "timeout"), error.event
        assert error.event.get("message"), error.event
        name = str(error.event.get("error_type"))
    else:
        assert isinstance(error, errors.WdtError), "".join(traceback.format_exception(error))
        assert str(error), "an error without a message"
        name = type(error).__name__
    assert leftovers(out_dir, memory_root) == [], "a failed pull left output behind"
    return name
