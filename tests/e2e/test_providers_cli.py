"""The providers manager of Airflow 3 and of Airflow 2.11 loads the wdt hook, and ``airflow connections
test`` reaches the simulator. Each Airflow line runs from its own venv as a user's installation would."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest

from airflow_provider_wdt.simulator import WdtSimulator
from tests.e2e.conftest import require
from tests.e2e.deploy import AIRFLOW2, AIRFLOW3, AirflowInstall, Deployment

HOOK_CLASS = "airflow_provider_wdt.hooks.wdt.WdtHook"
# What a log line about this provider contains (the FloatField warning of 2.11 names the hook class).
PROVIDER_NAMES = ("airflow_provider_wdt", "airflow-provider-wdt", "WdtHook")


@pytest.fixture(scope="module", params=[AIRFLOW3, AIRFLOW2], ids=lambda i: i.name)
def deployment(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Deployment:
    install: AirflowInstall = require(request.param)
    # No metadata DB: the CLI commands below read providers and AIRFLOW_CONN_* only.
    return Deployment(install, tmp_path_factory.mktemp(f"{install.name}-cli-home"))


@pytest.fixture(scope="module")
def sim() -> Iterator[WdtSimulator]:
    secret = f"e2e-cli-secret-{uuid.uuid4().hex}:e2e-cli-salt-{uuid.uuid4().hex}"
    with WdtSimulator(appsecret=secret) as sim:
        yield sim


def test_providers_hooks_loads_the_wdt_hook_without_warnings(deployment: Deployment) -> None:
    # -v keeps the providers manager's log (the CLI hides it otherwise); the JSON is the last line.
    result = deployment.cli("providers", "hooks", "-v", "-o", "json")
    lines = (result.stdout + result.stderr).splitlines()
    table = next(line for line in reversed(result.stdout.splitlines()) if line.startswith("[{"))
    rows = [row for row in json.loads(table) if row["connection_type"] == "wdt"]
    assert len(rows) == 1
    assert rows[0]["class"] == HOOK_CLASS, rows[0]  # "Error when importing hook!" when it did not load
    assert rows[0]["package_name"] == "airflow-provider-wdt"
    about_us = [line for line in lines if line != table and any(name in line for name in PROVIDER_NAMES)]
    assert about_us == []


def test_connections_test_succeeds_against_the_simulator(deployment: Deployment, sim: WdtSimulator) -> None:
    sim.reset_stats()
    deployment.env["AIRFLOW_CONN_WDT_E2E"] = json.dumps(sim.connection())
    result = deployment.cli("connections", "test", "wdt_e2e")
    assert "Connection success!" in result.stdout, result.stdout + result.stderr
    assert [(r.method, r.status) for r in sim.request_log] == [("system.Core.now", 0)]


def test_connections_test_reports_a_wrong_appsecret(deployment: Deployment, sim: WdtSimulator) -> None:
    wrong = {**sim.connection(), "password": f"wrong-{uuid.uuid4().hex}:{sim.seller().salt}"}
    deployment.env["AIRFLOW_CONN_WDT_E2E_WRONG"] = json.dumps(wrong)
    # Exit status 1 on Airflow 3, 0 on 2.11: the output is what both share.
    result = deployment.cli("connections", "test", "wdt_e2e_wrong", check=False)
    output = result.stdout + result.stderr
    assert "Connection failed!" in output
    assert "WdtAuthError" in output or "验证失败" in output or "auth" in output.lower()
    assert wrong["password"].split(":")[0] not in output
    assert sim.seller().salt not in output
