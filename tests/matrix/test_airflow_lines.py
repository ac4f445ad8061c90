"""Each supported Airflow line, installed from the built wheel as a user would, through Airflow's own CLI and
api-server: the hook loads, a connection tests, the example DAGs parse, the stock-sync example runs end to
end, and the connection form has the wdt type. See conftest.py for how each line is installed."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from airflow_provider_wdt.connection_fields import CONN_TYPE, EXTRA_FIELDS, ui_field_behaviour
from airflow_provider_wdt.simulator import WdtSimulator
from tests.e2e.deploy import AirflowInstall, Deployment, free_port
from tests.matrix.conftest import LineVenv
from tests.matrix.lines import FORM_FAB, FORM_FIELDS, FORM_TYPE_ONLY, FORM_WIDGETS, REPO

HOOK_CLASS = "airflow_provider_wdt.hooks.wdt.WdtHook"
PROVIDER_NAMES = ("airflow_provider_wdt", "airflow-provider-wdt", "WdtHook")
EXAMPLES = REPO / "example_dags"

# Every check here is a subprocess of Airflow's own CLI, which costs a few seconds to start on 2 cores.
pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def deployment(line_venv: LineVenv, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    line = line_venv.line
    home = tmp_path_factory.mktemp(f"airflow-home-{line.airflow}")
    install = AirflowInstall(f"airflow-{line.airflow}", line_venv.venv)
    settings = {
        "AIRFLOW__CORE__DAGS_FOLDER": str(EXAMPLES),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__API__WORKERS": "1",
        "WDT_EXAMPLE_OUTPUT_DIR": str(home / "output"),
    }
    deployment = Deployment(install, home, settings)
    try:
        deployment.migrate()  # writes a fernet key: the cryptography 51 break shows only with one
        yield deployment
    finally:
        deployment.stop()


@pytest.fixture(scope="module")
def sim() -> Iterator[WdtSimulator]:
    secret = f"matrix-secret-{uuid.uuid4().hex}:matrix-salt-{uuid.uuid4().hex}"
    with WdtSimulator(appsecret=secret) as sim:
        yield sim


def _label(standard_fields: dict[str, Any], name: str) -> str | None:
    field = standard_fields.get(name) or {}
    return field.get("title") or field.get("label")


def _label_of(name: str) -> str:
    """The label connection_fields gives the standard field ``name``."""
    return ui_field_behaviour()["relabeling"][name]


def _is_info(log_line: str) -> bool:
    return "[info " in log_line or " INFO - " in log_line


def _last_json(text: str) -> Any:
    """The JSON document a CLI printed last (warnings and logs may come before it)."""
    for line in reversed(text.splitlines()):
        if line.startswith(("[", "{")):
            return json.loads(line)
    raise AssertionError(f"no JSON in the output:\n{text[-2000:]}")


def test_providers_hooks(deployment: Deployment) -> None:
    result = deployment.cli("providers", "hooks", "-v", "-o", "json")
    table = _last_json(result.stdout)
    rows = [row for row in table if row["connection_type"] == CONN_TYPE]
    assert len(rows) == 1 and rows[0]["class"] == HOOK_CLASS, rows  # "Error when importing hook!" otherwise
    assert rows[0]["package_name"] == "airflow-provider-wdt"
    lines = (result.stdout + result.stderr).splitlines()
    about_us = [x for x in lines if not x.startswith("[{") and any(n in x for n in PROVIDER_NAMES)]
    # 3.0 and 3.1 note at INFO level, for every hook with form widgets, that the UI widgets need
    # flask_appbuilder; that is Airflow's notice, not a problem with the provider.
    assert [x for x in about_us if not _is_info(x)] == []


def test_connections_test(deployment: Deployment, sim: WdtSimulator) -> None:
    sim.reset_stats()
    deployment.env["AIRFLOW_CONN_WDT_MATRIX"] = json.dumps(sim.connection())
    ok = deployment.cli("connections", "test", "wdt_matrix")
    assert "Connection success!" in ok.stdout, ok.stdout + ok.stderr
    assert [(r.method, r.status) for r in sim.request_log] == [("system.Core.now", 0)]

    wrong = {**sim.connection(), "password": f"wrong-{uuid.uuid4().hex}:{sim.seller().salt}"}
    deployment.env["AIRFLOW_CONN_WDT_MATRIX_WRONG"] = json.dumps(wrong)
    # Exit status 1 on 3.3, 0 on the other lines: the printed result is what all of them share.
    failed = deployment.cli("connections", "test", "wdt_matrix_wrong", check=False)
    output = failed.stdout + failed.stderr
    assert "Connection failed!" in output and "check the appsecret" in output, output[-2000:]
    assert wrong["password"].split(":")[0] not in output and sim.seller().salt not in output


def test_example_dags_parse(deployment: Deployment, line_venv: LineVenv) -> None:
    if line_venv.line.is_airflow3:  # Airflow 3 lists import errors only from the DAG processor's results
        deployment.cli("dags", "reserialize", timeout=300)
    errors = deployment.cli("dags", "list-import-errors", "-o", "json", check=False)
    output = errors.stdout + errors.stderr
    assert errors.returncode == 0 and "Traceback" not in output, output[-3000:]
    listed = _last_json(deployment.cli("dags", "list", "-o", "json").stdout)
    files = {Path(dag["fileloc"]).name for dag in listed}
    examples = {path.name for path in EXAMPLES.glob("example_*.py")}
    if not line_venv.line.is_airflow3:  # event-driven scheduling (BaseEventTrigger) starts with 3.0
        examples.discard("example_wdt_event_driven.py")
    assert files == examples, f"example files with no DAG listed: {sorted(examples - files)}"


def test_stock_sync_dag_runs(line_venv: LineVenv, tmp_path: Path) -> None:
    """`airflow dags test example_wdt_stock_sync` from the line's venv, checked against the simulator and
    the shop stand-in by the demo driver (its exit status is non-zero when the numbers do not add up)."""
    python = str(line_venv.bin / "python")
    demo = [sys.executable, "-m", "example_dags.run_demo", "--airflow-python", python]
    demo += ["--workdir", str(tmp_path / "demo"), "--pending", "1000", "--timeout", "400"]
    proc = subprocess.run(demo, cwd=REPO, capture_output=True, text=True, timeout=500)
    log = tmp_path / "demo" / "airflow.log"
    tail = log.read_text(errors="replace")[-4000:] if log.exists() else ""
    assert proc.returncode == 0 and "Demo done" in proc.stdout, proc.stdout + proc.stderr + tail


def test_connection_form(deployment: Deployment, line_venv: LineVenv) -> None:
    """What the line's UI builds the wdt form from: the api-server's hook metadata (3.x), the webserver's
    widgets as the providers manager hands them over (2.11)."""
    line = line_venv.line
    extras = {field.name for field in EXTRA_FIELDS}
    if not line.is_airflow3:
        assert line.form == FORM_FAB
        widgets = _last_json(deployment.cli("providers", "widgets", "-o", "json").stdout)
        names = {w["connection_parameter_name"] for w in widgets if w["class"] == "WdtHook"}
        assert names == {f"extra__{CONN_TYPE}__{name}" for name in extras}
        return
    port = free_port()
    api = deployment.start("api-server", "api-server", "--host", "127.0.0.1", "--port", str(port))
    base = f"http://127.0.0.1:{port}"
    deployment.wait_http(api, f"{base}/api/v2/monitor/health", timeout=180)
    metadata = requests.get(f"{base}/ui/connections/hook_meta", timeout=60)
    if metadata.status_code == 401:  # 3.1 wants a token even with all-admins, and hands one out
        token = requests.get(f"{base}/auth/token", timeout=60).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        metadata = requests.get(f"{base}/ui/connections/hook_meta", headers=headers, timeout=60)
    assert metadata.status_code == 200, metadata.text[:2000]
    ours = [entry for entry in metadata.json() if entry["connection_type"] == CONN_TYPE]
    assert len(ours) == 1, [entry["connection_type"] for entry in metadata.json()]
    fields = set(ours[0].get("extra_fields") or {})
    relabelled = ours[0].get("standard_fields") or {}
    if line.form == FORM_TYPE_ONLY:  # Airflow's own form: no extras, no labels of ours
        assert fields == set() and relabelled == {}, ours[0]
    else:
        assert line.form in (FORM_FIELDS, FORM_WIDGETS)
        shown = {name.removeprefix(f"extra__{CONN_TYPE}__") for name in fields}
        assert shown == extras, fields
        # App key sits beside the other credentials, in the relabelled Schema field (not in the extras).
        # (The api-server calls Schema "url_schema".)
        assert _label(relabelled, "url_schema") == _label_of("schema"), relabelled
