"""Fixtures for the operator tests: a TaskInstance stub (make_sim, capture_logs: tests/conftest.py)."""

from __future__ import annotations

import pytest

from tests.helpers import RecordingTI


@pytest.fixture
def ti() -> RecordingTI:
    return RecordingTI()
