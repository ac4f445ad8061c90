"""The command line: ready line, a real call, clean exit on SIGTERM and SIGINT."""

from __future__ import annotations

import re
import signal
import subprocess
import sys

import pytest

from .qjbclient import QjbClient

LINE = re.compile(r"WDT qjb simulator listening on (http://127\.0\.0\.1:(\d+)/openapi)\n")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_cli_serves_and_exits_cleanly(sig: signal.Signals) -> None:
    cmd = [sys.executable, "-m", "airflow_provider_wdt.simulator", "--host", "127.0.0.1", "--port", "0"]
    cmd += ["--sid", "cli", "--appkey", "clikey", "--appsecret", "clisec:clisalt", "--pending", "25"]
    cmd += ["--seed", "4", "--tie-mode", "from", "--calls-per-minute", "100", "--clock-offset", "0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = LINE.fullmatch(line)
        assert match, line
        client = QjbClient(match.group(1), "cli", "clikey", "clisec:clisalt")
        answer = client.call("sales.StockSync.getSelfWaitSyncIdListOpen", [10, 0])
        assert answer["status"] == 0 and len(answer["data"]["id_list"]) == 10
        client.close()
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=10)
        assert proc.returncode == 0, err
        assert out == ""  # exactly one line was printed
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
