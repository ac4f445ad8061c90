"""What every part of the benchmark shares: paths, names, the run's sizes and the "broken" error."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "airflow_provider_wdt"
CONN_ID = "wdt_bench"
SEED = 7


class BenchBroken(Exception):
    """Something is wrong (not merely slow): the run exits non-zero."""


@dataclass(frozen=True)
class Plan:
    """The sizes of one run."""

    name: str
    ids: int  # wall-time pull
    count: int
    rounds: int  # timed runs per side, alternating
    memory_ids: tuple[int, ...]  # file-output memory cases
    xcom_ids: int  # XCom-output memory case: the guard
    xcom_guard: int | None  # max_xcom_ids (None: the operator's default)
    edge_ids: tuple[int, ...]  # small request-count cases at ``count``
    request_ids: int  # request-count cases with and without ties
    request_counts: tuple[int, ...]
    import_runs: int
    timeout: float  # seconds any single child may take
    memory_warm: bool = True  # also the file cases after a 1-page pull (lazy imports paid)
    memory_reference: bool = True  # the reference client's own growth, for comparison


FULL = Plan(
    name="full",
    ids=1_000_000,
    count=5000,
    rounds=7,
    memory_ids=(100_000, 1_000_000),
    xcom_ids=100_000,
    xcom_guard=None,
    edge_ids=(0, 1, 4999, 5000, 5001, 10_001),
    request_ids=100_000,
    request_counts=(5000, 1000),
    import_runs=7,
    timeout=600.0,
)
SMOKE = Plan(
    name="smoke",
    ids=20_000,
    count=1000,
    rounds=2,
    memory_ids=(20_000,),
    xcom_ids=5_000,
    xcom_guard=5_000,
    edge_ids=(0, 1, 1000, 1001),
    request_ids=5_001,
    request_counts=(1000,),
    import_runs=1,
    timeout=120.0,
    memory_warm=False,
    memory_reference=False,
)


def credentials() -> tuple[str, str, str]:
    from airflow_provider_wdt.simulator import DEFAULT_APPKEY, DEFAULT_APPSECRET, DEFAULT_SID

    return DEFAULT_SID, DEFAULT_APPKEY, DEFAULT_APPSECRET


def connection_json(url: str) -> str:
    sid, appkey, appsecret = credentials()
    return json.dumps(
        {"conn_type": "wdt", "host": url, "login": sid, "password": appsecret, "extra": {"appkey": appkey}}
    )
