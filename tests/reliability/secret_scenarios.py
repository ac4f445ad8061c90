"""Every scenario of the secret scan: the operator (XCom, file, object storage), the sensor (poke and
deferred through its trigger) and the trigger alone, each through success, retries and every failure of
the fault matrix, bad credentials and unreachable endpoints.

Used in-process by test_secrets.py (with pytest's log capture) and as a script, so the same runs can be
made in a fresh interpreter whose whole logging setup is at DEBUG:

    AIRFLOW__LOGGING__LOGGING_LEVEL=DEBUG python -m tests.reliability.secret_scenarios \\
        --workdir DIR --signs-file FILE

The script prints every text the scenarios produced (exception chains, XComs, events, rendered fields)
to stdout, and the sign values the provider computed to FILE only; the caller scans the output.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.helpers import (
    attach_memory_filesystem,
    changed_connection,
    fast_connection,
    free_port,
    isolate_airflow_env,
)

if __name__ == "__main__":  # a fresh interpreter: no Airflow home of the user's, no stray connections
    isolate_airflow_env("wdt-secrets-home-")

from airflow_provider_wdt.simulator import WdtSimulator
from tests.reliability.environment import (
    SALT,
    SECRET,
    env_connection,
    make_simulator,
)
from tests.reliability.faults import (
    FATAL_CASES,
    FAULT_CASES,
    MAX_ATTEMPTS,
    SLOW_SECONDS,
    SLOW_TIMEOUT,
    FaultCase,
    programmed_faults,
)
from tests.reliability.runners import run_operation
from tests.reliability.secrets_scan import SignRecorder

SECRET_OPS = ("op_xcom", "op_ndjson", "op_memory", "sensor_poke", "sensor_deferred", "trigger")


@dataclass(frozen=True)
class Scenario:
    name: str
    #: (simulator) -> connection changes; may also program faults on the simulator.
    prepare: Callable[[WdtSimulator], dict[str, Any]]


def _faults(
    program: Callable[[WdtSimulator], None], **extra: Any
) -> Callable[[WdtSimulator], dict[str, Any]]:
    def prepare(sim: WdtSimulator) -> dict[str, Any]:
        program(sim)
        return {f"extra_{key}": value for key, value in extra.items()}

    return prepare


def _mixed_retries(sim: WdtSimulator) -> None:
    faults = programmed_faults(sim)
    faults.drop(1)
    faults.http_error(1, 503)
    faults.html(1)

    def second_burst() -> None:
        faults.truncated_json(1)
        faults.rate_limit(1)
        faults.db_error(1, 1064)

    faults.at(5, second_burst)


def _persistent(case: FaultCase) -> Callable[[WdtSimulator], dict[str, Any]]:
    return _faults(lambda sim: case.program(sim, MAX_ATTEMPTS), **case.extra)


def _fatal(case: FaultCase) -> Callable[[WdtSimulator], dict[str, Any]]:
    return _faults(lambda sim: case.program(sim, 1), **case.extra)


def _conn_change(**changes: Any) -> Callable[[WdtSimulator], dict[str, Any]]:
    return lambda sim: dict(changes)


SCENARIOS: list[Scenario] = [
    Scenario("success", _faults(lambda sim: None)),
    Scenario("mixed retries", _faults(_mixed_retries)),
    Scenario("clock skew +10 min", _faults(lambda sim: setattr(sim, "clock_offset", 600.0))),
    Scenario(
        "slow answers",
        _faults(lambda sim: sim.faults.slow(2, SLOW_SECONDS), timeout=SLOW_TIMEOUT),
    ),
    *(
        Scenario(f"persistent {case.name}", _persistent(case))
        for case in FAULT_CASES
        if case.transient_n > 1 and "slow" not in case.name
    ),
    *(Scenario(f"fatal {case.name}", _fatal(case)) for case in FATAL_CASES),
    Scenario("appsecret without colon", _conn_change(password=SECRET)),
    Scenario("appsecret with empty salt", _conn_change(password=SECRET + ":")),
    Scenario("appsecret with empty secret", _conn_change(password=":" + SALT)),
    Scenario("wrong secret", _conn_change(password="wrong" + SECRET + ":" + SALT)),
    Scenario("wrong salt", _conn_change(password=SECRET + ":wrong" + SALT)),
    Scenario("unknown host", _conn_change(host="http://wdt-secrets.invalid/openapi")),
    Scenario("wrong port", lambda sim: {"host": f"http://127.0.0.1:{free_port()}/openapi"}),
    Scenario("https to an http server", lambda sim: {"host": sim.url.replace("http://", "https://")}),
]


def run_scenario(scenario: Scenario, op: str, workdir: Path, memory_root: str) -> list[str]:
    """Run one scenario for one operation; returns every text it produced (not the logs)."""
    pending = 0 if op == "sensor_deferred" else 35
    with make_simulator(pending=pending, seed=5) as sim:
        changes = scenario.prepare(sim)
        conn = changed_connection(fast_connection(sim, max_retries=3), **changes)
        if op == "sensor_deferred":
            # The first poke finds nothing, so the sensor defers; ids appear for the trigger's polls.
            faults = programmed_faults(sim)
            faults.at(2, lambda: sim.add_pending(15))
        out_dir = workdir / uuid.uuid4().hex[:8]
        with env_connection("wdt_secret", conn):
            outcome = run_operation(
                op,
                "wdt_secret",
                count=10,
                out_dir=out_dir,
                memory_root=f"{memory_root}/{uuid.uuid4().hex[:8]}",
                trigger_seconds=0.4,
                poll_interval=0.05,
                render=True,
            )
    texts = [f"== {scenario.name} / {op}: {'ok' if outcome.error is None else type(outcome.error).__name__}"]
    return texts + outcome.texts


#: The subset the DEBUG-level interpreter runs (the in-process test runs them all): one of each path.
DEBUG_RUN_SCENARIOS = (
    "success",
    "mixed retries",
    "clock skew +10 min",
    "persistent HTTP 503",
    "persistent dropped connection",
    "fatal appkey revoked mid-pull",
    "appsecret without colon",
    "wrong secret",
    "unknown host",
    "https to an http server",
)


def run_all(
    workdir: Path, memory_root: str, names: tuple[str, ...] | None = None
) -> Iterator[tuple[str, str, list[str]]]:
    known = {scenario.name for scenario in SCENARIOS}
    unknown = set(names or ()) - known
    if unknown:
        raise ValueError(f"unknown scenarios: {sorted(unknown)}")
    for scenario in SCENARIOS:
        if names is not None and scenario.name not in names:
            continue
        for op in SECRET_OPS:
            yield scenario.name, op, run_scenario(scenario, op, workdir, memory_root)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", required=True, type=Path)
    parser.add_argument("--signs-file", required=True, type=Path)
    parser.add_argument("--all", action="store_true", help="every scenario, not only DEBUG_RUN_SCENARIOS")
    args = parser.parse_args(argv)
    attach_memory_filesystem()
    runs = 0
    with SignRecorder() as recorder:
        names = None if args.all else DEBUG_RUN_SCENARIOS
        for _, _, texts in run_all(args.workdir, "memory://wdt-secrets", names):
            runs += 1
            for text in texts:
                print(text, flush=True)
    args.signs_file.write_text(json.dumps(sorted(recorder.signs)), encoding="utf-8")
    print(f"== {runs} runs, {len(recorder.signs)} signs computed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
