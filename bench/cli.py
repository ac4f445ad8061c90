"""The command line both benchmark scripts share: common flags, the --only check, and how a run ends."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable, Iterable

from bench.common import BenchBroken


def bench_parser(
    module: str, doc: str, sections: Iterable[str], workers: Iterable[str], smoke: str
) -> argparse.ArgumentParser:
    """The flags every benchmark takes; ``--worker/--params/--result`` are how a run starts its children."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=doc.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help=smoke)
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--only", help=f"comma-separated sections to run, of: {', '.join(sections)}")
    parser.add_argument("--worker", choices=sorted(workers), help=argparse.SUPPRESS)
    parser.add_argument("--params", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    return parser


def chosen_sections(parser: argparse.ArgumentParser, only: str | None, sections: Iterable[str]) -> set[str]:
    known = set(sections)
    chosen = known if not only else {part.strip() for part in only.split(",")}
    if not chosen <= known:
        parser.error(f"--only takes sections of {', '.join(sections)}")
    return chosen


def run_to_exit_code(run: Callable[[], int]) -> int:
    """Run the benchmark; SIGTERM (CI cancelling) unwinds like Ctrl-C, so every child is stopped."""
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        return run()
    except BenchBroken as exc:
        print(f"\nBENCHMARK BROKEN: {exc}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
