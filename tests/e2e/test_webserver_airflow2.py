"""Airflow 2.11's webserver offers the wdt connection type on its Add Connection form, with the
provider's widgets, and logs no warning about the provider while building it."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator

import pytest
import requests

from airflow_provider_wdt.get_provider_info import get_provider_info
from tests.e2e.conftest import require
from tests.e2e.deploy import AIRFLOW2, Component, Deployment, free_port

# Anonymous visitors get the Admin role: the test reads the form without a login (FAB's own setting).
WEBSERVER_CONFIG = 'AUTH_ROLE_PUBLIC = "Admin"\n'
PROVIDER_NAMES = ("airflow_provider_wdt", "WdtHook")


@pytest.fixture(scope="module")
def webserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Component]]:
    require(AIRFLOW2)
    home = tmp_path_factory.mktemp("airflow2-webserver-home")
    (home / "webserver_config.py").write_text(WEBSERVER_CONFIG, encoding="utf-8")
    deployment = Deployment(AIRFLOW2, home, {"AIRFLOW__WEBSERVER__WORKERS": "1"})
    port = free_port()
    try:
        deployment.migrate()
        server = deployment.start(
            "webserver", "webserver", "--hostname", "127.0.0.1", "--port", str(port), "--workers", "1"
        )
        deployment.wait_http(server, f"http://127.0.0.1:{port}/health", timeout=180)
        yield f"http://127.0.0.1:{port}", server
    finally:
        deployment.stop()


def test_add_connection_form_offers_wdt_with_its_fields(webserver: tuple[str, Component]) -> None:
    url, server = webserver
    response = requests.get(f"{url}/connection/add", timeout=60)
    assert response.status_code == 200
    page = html.unescape(response.text)
    (info,) = get_provider_info()["connection-types"]
    assert f'<option value="{info["connection-type"]}">{info["hook-name"]}</option>' in page, (
        "the Connection Type list has no WDT entry"
    )
    for name, spec in info["conn-fields"].items():
        assert f'id="extra__wdt__{name}"' in page, f"no widget for the extra {name!r}"
        assert spec["label"] in page, f"label {spec['label']!r} missing"
    # App key is the relabelled Schema field, not an extra widget: the page carries the relabelling as
    # JSON for its script, which shows Schema under that label when WDT is picked.
    assert 'id="extra__wdt__appkey"' not in page
    behaviours = re.search(r'<script id="field_behaviours" type="text/json">(.*?)</script>', page, re.S)
    assert behaviours, "no field_behaviours in the page"
    wdt = json.loads(behaviours.group(1))[info["connection-type"]]
    assert wdt["relabeling"]["schema"] == "App key (接口账号 appkey)" and "schema" not in wdt["hidden_fields"]
    about_us = [line for line in server.log_text().splitlines() if any(n in line for n in PROVIDER_NAMES)]
    assert about_us == [], "the webserver logged about the provider"
