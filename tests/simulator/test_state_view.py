"""The simulator as a test tool: its read-only state view over HTTP, and a verbose log without secrets."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from airflow_provider_wdt.simulator import WdtSimulator

from .qjbclient import QjbClient


def get_state(sim: WdtSimulator) -> dict[str, Any]:
    with urllib.request.urlopen(sim.state_url, timeout=5) as answer:
        assert answer.headers["Content-Type"].startswith("application/json")
        return json.loads(answer.read())  # type: ignore[no-any-return]


def test_the_state_view_counts_reports_per_item_refusals_and_calls_per_window(
    sim: WdtSimulator, client: QjbClient
) -> None:
    sim.rate_window = 30.0
    rec_id, other = sim.pending_ids()[:2]
    calc = client.call("sales.StockSync.calcStock", [rec_id, False])["data"]
    info = {"stock_change_count": calc["stock_change_count"], "syn_stock": calc["syn_stock"]}
    client.call("sales.StockSync.syncSuccess", [rec_id, info])
    client.call("sales.StockSync.syncSuccess", [rec_id, info])  # the duplicate a test looks for
    sim.set_rate_limit(calls_per_minute=2)
    answers = [client.call("system.Core.now")["status"] for _ in range(3)]
    assert answers == [0, 0, 100]

    state = get_state(sim)

    seller = state["sellers"][sim.default_sid]
    assert seller["items"][str(rec_id)] == {
        "reported": 2,
        "sync_success": 2,
        "stale_success": 0,
        "sync_fail": 0,
        "pending": False,
    }
    assert seller["items"][str(other)]["reported"] == 0 and seller["items"][str(other)]["pending"]
    assert seller["requests"] == 6 and seller["refusals"] == 1
    assert seller["calls_per_window"] == [5] and seller["most_calls_in_any_window"] == 5
    assert state["rate_window"] == 30.0 and state["calls_per_minute"] == 2
    assert sim.state() == state
    assert sim.request_count == 6  # looking at the state is not a platform request


def test_the_state_view_is_read_only_and_apart_from_the_api(sim: WdtSimulator) -> None:
    request = urllib.request.Request(sim.state_url, data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 405
    assert sim.state_url.endswith("/_simulator/state") and "/openapi" not in sim.state_url


def test_the_verbose_log_never_shows_the_salt_or_the_sign(
    sim: WdtSimulator, client: QjbClient, capfd: pytest.CaptureFixture[str]
) -> None:
    sim.verbose = True
    for _ in range(3):
        client.call("system.Core.now")
    sim.stop()
    log = capfd.readouterr().err
    assert log.count("POST /openapi?") == 3  # the request lines are there
    assert "salt=***" in log and "sign=***" in log
    assert sim.seller().salt not in log
    for record in sim.request_log:
        assert record.query["sign"] not in log
