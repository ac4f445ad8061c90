"""The fault matrix: every fault of issue 8 against every operation, each fault on its own.

For each fault three regimes are tried where they apply:

* transient: a burst of 3 consecutive faulted answers (max_retries is 3) in the middle of the pull
  (from the 3rd request; a poke or a trigger poll from the 1st). Expected: every id exactly once, in order,
  with exactly 3 extra requests (1 for clock skew, which is corrected instead of retried);
* persistent: 4 in a row, one more than the retries. Expected: a typed error naming the cause after
  exactly 4 attempts at that page, no output file and no temporary file. A trigger polls on instead
  (its retries are its polls), so it survives any finite burst;
* fatal: answers that retrying cannot fix (HTTP 404, credentials revoked mid-pull, a second clock jump).
  Expected: the typed error at once.

The number of requests that reached the simulator is asserted exactly and recorded for RELIABILITY.md.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import NamedTuple

import pytest

from airflow_provider_wdt.simulator import WdtSimulator
from tests.conftest import set_connection
from tests.helpers import fast_connection
from tests.reliability.environment import make_simulator
from tests.reliability.faults import (
    FATAL_CASES,
    FAULT_CASES,
    GAVE_UP,
    MAX_ATTEMPTS,
    FaultCase,
    programmed_faults,
)
from tests.reliability.invariants import check_invariant, clean_pages, expected_ids
from tests.reliability.runners import FULL_PULLS, Outcome, TriggerFailed, run_operation

pytestmark = pytest.mark.reliability

#: One of each kind of output; every format is tried under a fatal mid-pull fault in test_outputs.py.
MATRIX_OPS = ("hook", "op_xcom", "op_ndjson", "op_memory", "sensor_poke", "trigger")
PENDING = 57
COUNT = 10
MID_PULL = 3  # the request the fault burst starts at, for full pulls


def clean_requests(sim: WdtSimulator, op: str) -> int:
    """Requests a fault-free run makes, computed from the simulator's state without HTTP."""
    if op not in FULL_PULLS:
        return 1
    return clean_pages(sim, COUNT)


class Run(NamedTuple):
    outcome: Outcome
    result: str  # check_invariant's: "ok" or the error's class name
    requests: int
    clean: int  # requests a fault-free run makes
    expected: list[int]


def run_case(case: FaultCase, op: str, n: int, tie_mode: str, regime: str, env: pytest.FixtureRequest) -> Run:
    """Program ``n`` occurrences of ``case`` to start mid-run, run ``op``, check the invariant and add
    the matrix row. ``env`` is the test's ``request`` (for tmp_path, memory_fs, monkeypatch, matrix_row)."""
    tmp_path: Path = env.getfixturevalue("tmp_path")
    memory_root = f"{env.getfixturevalue('memory_fs')}/{uuid.uuid4().hex[:10]}"
    out_dir = tmp_path / "out"
    with make_simulator(pending=PENDING, seed=11, tie_mode=tie_mode) as sim:
        set_connection(env.getfixturevalue("monkeypatch"), "wdt_rel", fast_connection(sim, **case.extra))
        expected = expected_ids(sim, op)
        clean = clean_requests(sim, op)
        faults = programmed_faults(sim)
        start = MID_PULL if op in FULL_PULLS else 1
        faults.at(start, lambda: case.program(sim, n))
        outcome = run_operation(
            op, "wdt_rel", count=COUNT, out_dir=out_dir, memory_root=memory_root, trigger_seconds=8
        )
        requests = faults.requests
    result = check_invariant(outcome, expected, out_dir=out_dir, memory_root=memory_root)
    env.getfixturevalue("matrix_row")(
        fault=case.name, operation=op, regime=regime, result=result, requests=requests, clean=clean
    )
    return Run(outcome, result, requests, clean, expected)


@pytest.mark.parametrize("op", MATRIX_OPS)
@pytest.mark.parametrize("case", FAULT_CASES, ids=lambda c: c.name)
def test_transient_fault_is_survived(case: FaultCase, op: str, request: pytest.FixtureRequest) -> None:
    outcome, result, requests, clean, expected = run_case(
        case, op, case.transient_n, "from", "transient", request
    )
    assert result == "ok", outcome.error
    assert len(expected) == (PENDING if op in FULL_PULLS else COUNT)
    assert requests == clean + case.transient_n


PERSISTENT_CASES = [c for c in FAULT_CASES if c.transient_n > 1]  # skew is corrected, never persistent


@pytest.mark.parametrize("op", MATRIX_OPS)
@pytest.mark.parametrize("case", PERSISTENT_CASES, ids=lambda c: c.name)
def test_persistent_fault_fails_typed_and_clean(
    case: FaultCase, op: str, request: pytest.FixtureRequest
) -> None:
    n = MAX_ATTEMPTS
    outcome, result, requests, clean, _ = run_case(case, op, n, "after", "persistent", request)
    if op == "trigger":
        # The trigger's retries are its polls (max_retries 0, poll_interval apart): it outlasts the burst.
        assert result == "ok" and requests == clean + n
        return
    assert result == case.error.__name__, outcome.error
    assert isinstance(outcome.error, case.error)
    message = str(outcome.error)
    for needle in (*case.needles, GAVE_UP):
        assert needle in message, f"{needle!r} missing from: {message}"
    start = MID_PULL if op in FULL_PULLS else 1
    assert requests == start - 1 + n


@pytest.mark.parametrize("op", MATRIX_OPS)
@pytest.mark.parametrize("case", FATAL_CASES, ids=lambda c: c.name)
def test_fatal_fault_fails_at_once(case: FaultCase, op: str, request: pytest.FixtureRequest) -> None:
    outcome, result, requests, _, _ = run_case(case, op, 1, "from", "fatal", request)
    assert result == case.error.__name__, outcome.error
    if isinstance(outcome.error, TriggerFailed):
        message = str(outcome.error.event["message"])
    else:
        assert isinstance(outcome.error, case.error)
        assert not outcome.error.retryable
        message = str(outcome.error)
    for needle in case.needles:
        assert needle in message, f"{needle!r} missing from: {message}"
    assert "gave up" not in message
    start = MID_PULL if op in FULL_PULLS else 1
    # The clock jump costs the refused request, the corrected one and the refused-again one.
    assert requests == start + (1 if case.name.startswith("clock") else 0)


TRIGGER_ENDLESS = [
    c
    for c in PERSISTENT_CASES
    if c.name in ("HTTP 503", "HTTP 429", "dropped connection", "slow answer past the timeout", "HTML page")
    or c.name.startswith("rate limit (calls")
    or c.name == "db status 1064"
]


@pytest.mark.parametrize("case", TRIGGER_ENDLESS, ids=lambda c: c.name)
def test_trigger_outlasted_by_endless_faults_times_out_naming_the_cause(
    case: FaultCase, monkeypatch, matrix_row
) -> None:
    """Every poll fails until the sensor's timeout: the timeout event says so, and why (not 'nothing
    pending'), so a dead endpoint is not mistaken for an empty list."""
    with make_simulator(pending=PENDING, seed=11) as sim:
        set_connection(monkeypatch, "wdt_rel", fast_connection(sim, **case.extra))
        case.program(sim, 10_000)
        outcome = run_operation("trigger", "wdt_rel", trigger_seconds=0.5, poll_interval=0.05)
        requests = programmed_faults(sim).requests
        sim.faults.clear()
    assert isinstance(outcome.error, TriggerFailed)
    event = outcome.error.event
    matrix_row(
        fault=case.name, operation="trigger", regime="endless", result="timeout", requests=requests, clean=1
    )
    assert event["status"] == "timeout", event
    message = str(event["message"])
    assert case.error.__name__ in message, message
    for needle in case.needles:
        assert needle in message, f"{needle!r} missing from: {message}"
    assert requests >= 2  # it kept polling, at the poll interval
