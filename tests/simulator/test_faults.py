"""Each programmable fault, their order, and the seeded random mode."""

from __future__ import annotations

import http.client
import json
import threading
import time
from urllib.parse import urlencode

import pytest

from airflow_provider_wdt.simulator import DEFAULT_APPKEY, DEFAULT_APPSECRET, DEFAULT_SID, WdtSimulator

from .qjbclient import QjbClient

NOW = "system.Core.now"


def _raw(client: QjbClient) -> tuple[int, str, bytes]:
    """A correctly signed system.Core.now; (HTTP status, content type, raw body)."""
    client.conn.request(
        "POST",
        "/openapi?" + urlencode(client.params(NOW, "[]")),
        body=b"[]",
        headers={"Content-Type": "application/json"},
    )
    resp = client.conn.getresponse()
    return resp.status, resp.headers["Content-Type"], resp.read()


@pytest.mark.parametrize("status", [500, 502, 503])
def test_http_error(sim: WdtSimulator, client: QjbClient, status: int) -> None:
    sim.faults.http_error(n=2, status=status)
    for _ in range(2):
        code, ctype, body = _raw(client)
        assert code == status and ctype.startswith("text/html") and str(status).encode() in body
    assert _raw(client)[0] == 200
    assert sim.connections_accepted == 1  # an error response keeps the connection


def test_html_page(sim: WdtSimulator, client: QjbClient) -> None:
    sim.faults.html()
    code, ctype, body = _raw(client)
    assert code == 200 and ctype.startswith("text/html") and body.lstrip().startswith(b"<!DOCTYPE html>")
    with pytest.raises(ValueError):
        json.loads(body)


def test_truncated_json(sim: WdtSimulator, client: QjbClient) -> None:
    sim.faults.truncated_json()
    code, ctype, body = _raw(client)
    assert code == 200 and ctype.startswith("application/json") and body.startswith(b'{"status":0')
    with pytest.raises(ValueError):
        json.loads(body)
    assert json.loads(_raw(client)[2])["status"] == 0  # framing intact, next answer fine


def test_drop(sim: WdtSimulator, client: QjbClient) -> None:
    sim.faults.drop()
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        _raw(client)
    client.conn.close()
    assert json.loads(_raw(client)[2])["status"] == 0
    assert sim.connections_accepted == 2
    assert sim.request_log[0].http_status == 0 and sim.request_log[0].status is None


def test_slow(sim: WdtSimulator, client: QjbClient) -> None:
    sim.faults.slow(seconds=0.2)
    start = time.perf_counter()
    assert client.call(NOW)["status"] == 0
    assert time.perf_counter() - start >= 0.2
    start = time.perf_counter()
    client.call(NOW)
    assert time.perf_counter() - start < 0.2


def test_slow_is_interrupted_by_stop() -> None:
    sim = WdtSimulator().start()
    sim.faults.slow(seconds=30)
    c = QjbClient(sim.url, DEFAULT_SID, DEFAULT_APPKEY, DEFAULT_APPSECRET)
    t = threading.Thread(target=lambda: c.call(NOW), daemon=True)
    t.start()
    while sim.seller().limiter.in_flight == 0:
        time.sleep(0.005)
    start = time.perf_counter()
    sim.stop()
    assert time.perf_counter() - start < 2
    t.join(5)
    c.close()


@pytest.mark.parametrize(
    ("kind", "ascii_comma", "message"),
    [
        ("calls", False, "超过每分钟最大调用频率限制，请稍后重试"),
        ("calls", True, "超过每分钟最大调用频率限制,请稍后重试"),
        ("concurrency", False, "超过每分钟最大并发次数限制，请稍后重试"),
        ("concurrency", True, "超过每分钟最大并发次数限制,请稍后重试"),
    ],
)
def test_rate_limit_fault(
    sim: WdtSimulator, client: QjbClient, kind: str, ascii_comma: bool, message: str
) -> None:
    sim.faults.rate_limit(kind=kind, ascii_comma=ascii_comma)
    assert client.call(NOW) == {"status": 100, "message": message}
    assert client.call(NOW)["status"] == 0


@pytest.mark.parametrize(
    ("status", "message"), [(4, "数据库错误"), (5, "数据库错误"), (1064, "Unknown Database Error")]
)
def test_db_error(sim: WdtSimulator, client: QjbClient, status: int, message: str) -> None:
    sim.faults.db_error(status=status)
    assert client.call(NOW) == {"status": status, "message": message}


def test_faults_take_requests_in_programmed_order_and_skip_state(
    sim: WdtSimulator, client: QjbClient
) -> None:
    rec_id = sim.pending_ids()[0]
    sim.faults.db_error(status=4)
    sim.faults.http_error(n=2, status=500)
    sim.faults.rate_limit()
    assert sim.faults.queued == 4
    statuses = []
    body = f"[{rec_id},false]"
    for _ in range(5):
        query = urlencode(client.params("sales.StockSync.calcStock", body))
        code, data, _ = client.post(query, body.encode())
        statuses.append(data["status"] if code == 200 else code)
    assert statuses == [4, 500, 500, 100, 0]
    assert sim.goods(rec_id)["calc_count"] == 1  # faulted requests did not run
    assert [r.status for r in sim.request_log] == [4, None, None, 100, 0]


def test_clear(sim: WdtSimulator, client: QjbClient) -> None:
    sim.faults.http_error(n=5)
    sim.faults.random(probability=1.0)
    sim.faults.clear()
    assert sim.faults.queued == 0
    assert client.call(NOW)["status"] == 0


def _random_run(seed: int, n: int = 60) -> list[tuple[int | None, int]]:
    with WdtSimulator() as sim:
        sim.faults.random(probability=0.5, seed=seed)
        c = QjbClient(sim.url, DEFAULT_SID, DEFAULT_APPKEY, DEFAULT_APPSECRET)
        for _ in range(n):
            try:
                _raw(c)
            except (http.client.HTTPException, OSError):
                c.conn.close()
        c.close()
        return [(r.status, r.http_status) for r in sim.request_log]


def test_random_faults_are_seeded() -> None:
    first = _random_run(1)
    assert first == _random_run(1) != _random_run(2)
    outcomes = set(first)
    assert (0, 200) in outcomes  # some pass
    assert (None, 0) in outcomes  # some dropped
    assert any(s == 100 for s, _ in outcomes) and any(h >= 500 for _, h in outcomes)


def test_random_kinds_and_off(sim: WdtSimulator, client: QjbClient) -> None:
    sim.faults.random(probability=1.0, kinds=("db_error",), seed=3)
    assert all(client.call(NOW)["status"] in (4, 5, 1064) for _ in range(5))
    sim.faults.random(probability=0)
    assert client.call(NOW)["status"] == 0
    with pytest.raises(ValueError):
        sim.faults.random(probability=0.1, kinds=("meteor",))
