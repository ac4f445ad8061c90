"""A real dag.test() run: Airflow does not retry a task that failed on a configuration or authentication
error, and still retries one that failed on an error a retry can fix."""

from __future__ import annotations

import importlib

import pytest

from airflow_provider_wdt.simulator import WdtSimulator
from tests.conftest import set_connection
from tests.helpers import fast_connection, states

pytestmark = pytest.mark.db


def test_airflow_retries_a_503_but_not_a_wrong_appsecret(airflow_db, monkeypatch: pytest.MonkeyPatch) -> None:
    with WdtSimulator(pending=5) as refusing, WdtSimulator(pending=5) as down:
        wrong = fast_connection(refusing)
        wrong["password"] = "not_the_secret:wdtsim_salt"
        set_connection(monkeypatch, "wdt_wrong_appsecret", wrong)
        set_connection(monkeypatch, "wdt_platform_down", fast_connection(down, max_retries=0))
        down.faults.http_error(100, status=503)

        dag_run = importlib.import_module("tests.dags.no_retry").dag.test()

        assert states(dag_run) == {"wrong_appsecret": "failed", "platform_down": "failed"}
        assert refusing.request_count == 1  # one attempt: the 2 retries were not used
        assert down.request_count == 3  # the first attempt and both retries
