"""The secret, the salt and every sign value never appear in any output (the masker's ``***`` may).

Scanned: all log output (stdout/stderr, where Airflow 3's structlog writes, and every stdlib record at
DEBUG, where urllib3 logs each request line), exception text with the whole __cause__/__context__ chain
(the suppressed context included) and formatted tracebacks, XComs, trigger events and serialized
triggers, rendered template fields. Once in-process with pytest's capture, once in a fresh interpreter
whose whole logging configuration is at DEBUG.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import traceback
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.helpers import fast_connection, free_port
from tests.reliability import secret_scenarios
from tests.reliability.secrets_scan import SignRecorder, exception_texts, find_secrets

pytestmark = pytest.mark.reliability


def _record_texts(records: list[logging.LogRecord]) -> list[str]:
    texts = []
    for record in records:
        texts.append(record.getMessage())
        texts.append(repr(record.args))
        if record.exc_info and record.exc_info[1] is not None:
            texts.extend(exception_texts(record.exc_info[1]))
        if record.exc_text:
            texts.append(record.exc_text)
    return texts


@pytest.mark.parametrize("op", secret_scenarios.SECRET_OPS)
def test_no_secret_anywhere_in_process(op: str, tmp_path: Path, memory_fs: str, caplog, capfd) -> None:
    texts: list[str] = []
    outcomes: dict[str, str] = {}
    with caplog.at_level(logging.DEBUG), SignRecorder() as recorder:
        for scenario in secret_scenarios.SCENARIOS:
            produced = secret_scenarios.run_scenario(scenario, op, tmp_path, memory_fs)
            outcomes[scenario.name] = produced[0].rsplit(": ", 1)[1]
            texts += produced
    out, err = capfd.readouterr()
    logs = [caplog.text, out, err, *_record_texts(caplog.records)]
    blob = "\n".join(logs)
    # The scan saw what it should: urllib3's request lines (with the query string) and real signs.
    assert "POST /openapi?" in blob and "sign=***" in blob and "salt=***" in blob
    assert len(recorder.signs) >= 5
    # Successes succeeded and failures failed, so both paths were scanned.
    assert outcomes["success"] == outcomes["mixed retries"] == outcomes["clock skew +10 min"] == "ok"
    assert outcomes["wrong secret"] != "ok" and outcomes["unknown host"] != "ok"
    assert find_secrets(texts + logs, recorder.signs) == []


def test_no_secret_anywhere_in_a_debug_level_interpreter(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")}
    env.update(
        AIRFLOW_HOME=str(tmp_path / "home"),
        AIRFLOW__LOGGING__LOGGING_LEVEL="DEBUG",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{tmp_path}/home/airflow.db",
        PYTHONPATH=str(REPO_ROOT),
    )
    signs_file = tmp_path / "signs.json"
    (tmp_path / "home").mkdir()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.reliability.secret_scenarios",
            "--workdir",
            str(tmp_path / "out"),
            "--signs-file",
            str(signs_file),
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    blob = proc.stdout + proc.stderr
    assert proc.returncode == 0, blob[-3000:]
    signs = json.loads(signs_file.read_text())
    assert len(signs) >= 5  # signs repeat within one second, so few distinct ones
    assert "POST /openapi?" in blob and "sign=***" in blob  # urllib3's DEBUG request lines are there
    assert blob.lower().count("debug") > 50  # and the run really was at DEBUG level
    found = find_secrets([blob], signs)
    assert found == [], [line for line in blob.splitlines() if any(s in line for s in signs)][:5]


def test_exception_chain_of_a_transport_error_holds_no_url_with_secrets(rsim, monkeypatch) -> None:
    """Regression for BUG-2: requests' exception (its text is the full URL with salt and sign) used to
    stay reachable as the suppressed __context__ of every WdtTransportError/WdtTlsError."""
    from airflow_provider_wdt.errors import WdtError
    from airflow_provider_wdt.hooks.wdt import WdtHook
    from tests.conftest import set_connection

    for host in (f"http://127.0.0.1:{free_port()}/openapi", rsim.url.replace("http:", "https:")):
        conn = fast_connection(rsim, max_retries=0)
        conn["host"] = host
        set_connection(monkeypatch, "wdt_chain", conn)
        with SignRecorder() as recorder, pytest.raises(WdtError) as info:
            WdtHook("wdt_chain").get_server_time()
        assert info.value.__context__ is None and info.value.__cause__ is None
        texts = exception_texts(info.value) + traceback.format_exception(info.value)
        assert find_secrets(texts, recorder.signs) == []
