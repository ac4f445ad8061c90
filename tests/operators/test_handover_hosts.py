"""Several hosts: a pull and then a sync, each a dag.test() run in a process of its own with a ledger
directory of its own (so nothing local is shared, as on two hosts), hand their calls over through an
Airflow Variable in the metadata DB they share; the simulator enforces the same limit as the clients."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_wdt.simulator import WdtSimulator
from tests.conftest import REPO_ROOT
from tests.helpers import fast_connection

pytestmark = pytest.mark.db

WINDOW = 20.0  # the "minute", shortened on both sides
LIMIT = 10


def run_host(dag_id: str, sim: WdtSimulator, ledger: Path, conf: dict[str, Any], share: bool) -> str:
    conn = fast_connection(
        sim,
        calls_per_minute=LIMIT,
        rate_window=WINDOW,
        max_retries=0,  # a refusal fails the task instead of being retried out of sight
        ledger_dir=str(ledger),
        share_across_hosts=share,
    )
    command = [
        sys.executable,
        "-m",
        "tests.operators.handover_process",
        dag_id,
        json.dumps(conn),
        json.dumps(conf),
    ]
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


def test_a_pull_then_a_sync_on_two_hosts_get_no_refusal(airflow_db: str, tmp_path: Path) -> None:
    with WdtSimulator(pending=70, seed=3) as sim:
        sim.rate_window = WINDOW
        sim.set_rate_limit(calls_per_minute=LIMIT)
        ids = sim.pending_ids()[:5]

        pulled = run_host(
            "wdt_handover_pull", sim, tmp_path / "host-a", {"out": str(tmp_path / "ids.json")}, True
        )
        synced = run_host("wdt_handover_sync", sim, tmp_path / "host-b", {"ids": json.dumps(ids)}, True)

        seller = sim.state()["sellers"][sim.default_sid]
        assert json.loads(pulled) == {"pull": "success"} and json.loads(synced) == {"sync": "success"}
        assert seller["refusals"] == 0
        assert seller["requests"] > LIMIT  # together they needed more than one window
        assert seller["most_calls_in_any_window"] <= LIMIT
        assert [seller["items"][str(rec_id)]["sync_success"] for rec_id in ids] == [1] * 5
