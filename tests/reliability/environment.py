"""What the reliability suite and the soak run against: a simulator whose seller has distinctive
credentials (so a leak is unmistakable in any text, and no other test uses them) and the connection in
the environment; the in-memory object store is tests.helpers.attach_memory_filesystem."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from airflow_provider_wdt.simulator import WdtSimulator
from tests.reliability.faults import ProgrammedFaults

SID = "relsid"
APPKEY = "relkey"
SECRET = "RelSecret7f3a9c"
SALT = "RelSalt2b8e41"
APPSECRET = f"{SECRET}:{SALT}"


def make_simulator(pending: int = 0, seed: int = 7, tie_mode: str = "after", **kwargs: Any) -> WdtSimulator:
    """A (not yet started) simulator whose default seller has the distinctive credentials above."""
    sim = WdtSimulator(
        sid=SID, appkey=APPKEY, appsecret=APPSECRET, pending=pending, seed=seed, tie_mode=tie_mode, **kwargs
    )
    sim.faults = ProgrammedFaults(sim)
    return sim


@contextmanager
def env_connection(conn_id: str, conn: dict[str, Any]) -> Iterator[None]:
    """Set AIRFLOW_CONN_<ID> for the block (the soak has no monkeypatch)."""
    name = "AIRFLOW_CONN_" + conn_id.upper()
    old = os.environ.get(name)
    os.environ[name] = json.dumps(conn)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old
