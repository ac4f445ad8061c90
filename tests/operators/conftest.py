"""Fixtures for the operator tests: a simulator whose connection retries without waiting, and a TI stub."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from airflow_provider_wdt.simulator import WdtSimulator
from tests.conftest import set_connection

from .helpers import RecordingTI


@pytest.fixture
def make_sim(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., WdtSimulator]]:
    """``make_sim(pending=N, tie_mode=...)``: a running simulator that ``wdt_default`` points at."""
    with ExitStack() as stack:

        def make(pending: int = 0, tie_mode: str = "after", seed: int = 7, **extra: Any) -> WdtSimulator:
            sim = stack.enter_context(WdtSimulator(pending=pending, seed=seed, tie_mode=tie_mode))
            conn = sim.connection()
            conn["extra"].update({"retry_wait": 0, "rate_limit_wait": 0, **extra})
            set_connection(monkeypatch, "wdt_default", conn)
            return sim

        yield make


@pytest.fixture
def ti() -> RecordingTI:
    return RecordingTI()


@pytest.fixture
def capture_logs(caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> Callable[[], str]:
    """Everything logged so far: Airflow 2 logs through stdlib logging, Airflow 3 (structlog) to stdout."""
    caplog.set_level(logging.INFO)
    seen: list[str] = []

    def text() -> str:
        out, err = capfd.readouterr()
        seen.extend([out, err])
        return caplog.text + "".join(seen)

    return text
