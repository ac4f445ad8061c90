"""Faults mixed at random with a seed, and the soak's randomized part run briefly (CI).

test_random_mix: every operation under the same heavy mix of every fault kind (30 % of requests), one
scenario per (operation, seed), checked with the soak's rules (exactly once or a typed error, no partial
file, bounded requests, no keep-alive socket left). test_soak: random scenarios for ``--soak-seconds``
with ``--soak-seed`` (see conftest.py); RELIABILITY.md has one long run's figures.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability import soak
from tests.reliability.runners import FULL_PULLS

pytestmark = pytest.mark.reliability

MIX_SEEDS = (101, 202)


@pytest.mark.parametrize("seed", MIX_SEEDS)
@pytest.mark.parametrize("op", soak.SOAK_OPS)
def test_random_mix(op: str, seed: int, tmp_path: Path, memory_fs: str, matrix_row) -> None:
    scenario = soak.Scenario(
        op=op,
        pending=50 if op == "workflow" else 150,
        tie_mode="from" if seed % 2 else "after",
        count=23,
        probability=0.3,
        kinds=soak.ALL_FAULT_KINDS,
        skew=600.0 if seed == MIX_SEEDS[0] else 0.0,
        sim_seed=seed,
        fault_seed=seed * 7 + len(op),
    )
    done = soak.run_scenario(scenario, tmp_path, memory_fs)
    matrix_row(
        table="random",
        operation=op,
        seed=seed,
        result=done.result,
        requests=done.requests,
        faults=sum(done.injected.values()),
        delivered=done.delivered,
    )
    assert done.violations == []
    if op in (*FULL_PULLS, "workflow"):
        assert sum(done.injected.values()) > 0  # the mix really hit this run


def test_soak(soak_seed: int, soak_seconds: float, tmp_path: Path, memory_fs: str) -> None:
    figures = soak.run(soak_seed, soak_seconds, workdir=tmp_path)
    summary = figures.summary()
    print(f"soak seed={soak_seed} seconds={soak_seconds}: {summary}")
    assert figures.violations == [], figures.violations[:5]
    assert figures.iterations >= 3
    if len(figures.fds) >= 2:
        assert figures.fds[-1] <= figures.fds[0] + 2, figures.fds
        assert figures.threads[-1] <= figures.threads[0] + 1, figures.threads
