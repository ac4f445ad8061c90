"""``python -m airflow_provider_wdt.simulator``: serve the simulated platform until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from .sim import DEFAULT_APPKEY, DEFAULT_APPSECRET, DEFAULT_SID, WdtSimulator
from .state import TIE_MODES


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m airflow_provider_wdt.simulator", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8650, help="0 picks a free port")
    p.add_argument("--sid", default=DEFAULT_SID)
    p.add_argument("--appkey", default=DEFAULT_APPKEY)
    p.add_argument("--appsecret", default=DEFAULT_APPSECRET, help="secret:salt")
    p.add_argument("--pending", type=int, default=0, help="pending goods records to seed")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tie-mode", choices=TIE_MODES, default="after")
    p.add_argument("--calls-per-minute", type=int, default=None)
    p.add_argument("--max-concurrency", type=int, default=None)
    p.add_argument("--rate-window", type=float, default=60.0, help="seconds of the calls-per-minute window")
    p.add_argument("--clock-offset", type=float, default=0.0, help="server clock ahead by SECONDS")
    p.add_argument("--batch-limit", type=int, default=None, help="max items per batchCalcStock")
    p.add_argument("--retry-delay", type=int, default=60, help="seconds syncFail defers an item")
    p.add_argument("--fault-probability", type=float, default=0.0, help="seeded random faults per request")
    p.add_argument("--latency-ms", type=float, default=0.0, help="round trip added to every answer")
    p.add_argument(
        "--connect-latency-ms", type=float, default=0.0, help="added to the first answer per connection"
    )
    p.add_argument("--verbose", action="store_true", help="log requests to stderr")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    sim = WdtSimulator(
        host=args.host,
        port=args.port,
        sid=args.sid,
        appkey=args.appkey,
        appsecret=args.appsecret,
        pending=args.pending,
        seed=args.seed,
        tie_mode=args.tie_mode,
        calls_per_minute=args.calls_per_minute,
        max_concurrency=args.max_concurrency,
        clock_offset=args.clock_offset,
        batch_limit=args.batch_limit,
        retry_delay=args.retry_delay,
        verbose=args.verbose,
        latency_ms=args.latency_ms,
        connect_latency_ms=args.connect_latency_ms,
    )
    sim.rate_window = args.rate_window
    if args.fault_probability:
        sim.faults.random(probability=args.fault_probability, seed=args.seed)
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    with sim:
        print(f"WDT qjb simulator listening on {sim.url}", flush=True)
        while not stop.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
