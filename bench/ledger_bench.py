"""The call ledger's cost per call (issue 20): what the shared per-seller budget adds to each WDT call.

``python -m bench.ledger_bench`` (part of ``make bench``) times ``with ledger.slot(): pass`` - admission
and release, no HTTP - against the in-process limiter alone, in one process and in two processes of the
same seller taking turns on the same files, with ``calls_per_minute`` high enough never to wait, so only
the bookkeeping is measured. ``--smoke`` (CI) runs fewer calls. The figure to compare with is a call's
round trip: 30 ms in the other benchmarks.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

from bench.report import heading, machine_line

MODULE = "bench.ledger_bench"
ROUND_TRIP_MS = 30.0
#: Never reached in the run, so no call waits: the log still holds every call of the last 60 s.
LIMIT = 10**9


def _time_slots(directory: str | None, calls: int, max_concurrency: int) -> float:
    """Seconds per ``slot()`` of a ledger (``directory``) or of the in-process limiter alone (None)."""
    from airflow_provider_wdt.ledger import CallLedger
    from airflow_provider_wdt.ratelimit import CallLimiter

    limiter = CallLimiter(LIMIT, max_concurrency)
    ledger = CallLedger(directory, "bench", LIMIT, max_concurrency) if directory else None
    started = time.perf_counter()
    for _ in range(calls):
        with limiter.slot():
            if ledger is not None:
                with ledger.slot():
                    pass
    elapsed = time.perf_counter() - started
    if ledger is not None:
        ledger.close()
    return elapsed / calls


def run(calls: int) -> int:
    heading(f"WDT call ledger: cost per call ({calls:,} calls per case)")
    print(f"  machine: {machine_line()}")
    print(f"  command: {Path(sys.executable).name} -m {MODULE} {' '.join(sys.argv[1:])}".rstrip())
    with tempfile.TemporaryDirectory(prefix="wdt-ledger-bench-") as tmp:
        alone = _time_slots(None, calls, 4)
        one = _time_slots(f"{tmp}/one", calls, 4)
        with multiprocessing.get_context("spawn").Pool(2) as pool:
            both = pool.starmap(_time_slots, [(f"{tmp}/two", calls, 4)] * 2)
    rows = [
        ("in-process limiter only (before)", alone),
        ("+ ledger, one process", one),
        ("+ ledger, two processes at once (mean)", sum(both) / 2),
    ]
    for label, seconds in rows:
        share = seconds * 1000 / ROUND_TRIP_MS
        print(f"  {label:<42} {seconds * 1e6:8.1f} µs per call = {share:.2%} of a {ROUND_TRIP_MS:g} ms call")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="fewer calls, for CI")
    args = parser.parse_args(argv)
    return run(2_000 if args.smoke else 20_000)


if __name__ == "__main__":
    sys.exit(main())
