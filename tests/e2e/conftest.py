"""Fixtures of the real-components tier (``make test-e2e``); each test module starts its own components.

Nothing here runs at import time, so a self-contained test file in this folder is not affected.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.deploy import REPO_ROOT, AirflowInstall


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where screenshots are kept after the run (gitignored)."""
    path = REPO_ROOT / ".e2e-artifacts"
    path.mkdir(exist_ok=True)
    return path


def require(install: AirflowInstall) -> AirflowInstall:
    """Skip (with the command that fixes it) when the venv of ``install`` is not set up."""
    if not install.installed:
        pytest.skip(f"{install.venv.name} is not installed: run `make test-e2e`")
    return install


_artifacts: list[Path] = []


def record_artifact(path: Path) -> None:
    """List ``path`` in the run's summary, so the screenshot is easy to find."""
    _artifacts.append(path)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for path in dict.fromkeys(_artifacts):
        terminalreporter.write_line(f"e2e artifact: {path}")


#: Real components start in tens of seconds on 2 cores, and a module's first test pays for its fixtures.
E2E_TIMEOUT = 600


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.nodeid.startswith("tests/e2e/") and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(E2E_TIMEOUT))
