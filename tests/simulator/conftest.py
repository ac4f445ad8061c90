from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from airflow_provider_wdt.simulator import DEFAULT_APPKEY, DEFAULT_APPSECRET, DEFAULT_SID, WdtSimulator

from .qjbclient import QjbClient


@pytest.fixture
def sim() -> Iterator[WdtSimulator]:
    before = threading.active_count()
    with WdtSimulator(pending=50, seed=1) as simulator:
        yield simulator
    # stop() must leave no server or connection thread behind
    assert threading.active_count() <= before


@pytest.fixture
def client(sim: WdtSimulator) -> Iterator[QjbClient]:
    c = QjbClient(sim.url, DEFAULT_SID, DEFAULT_APPKEY, DEFAULT_APPSECRET)
    yield c
    c.close()
