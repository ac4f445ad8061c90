"""HTTP behaviour: keep-alive, Date and clock offset, rate limits, stats, lifecycle."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from email.utils import parsedate_to_datetime
from urllib.parse import urlencode

import pytest

from airflow_provider_wdt.simulator import (
    DEFAULT_APPKEY,
    DEFAULT_APPSECRET,
    DEFAULT_SID,
    RequestRecord,
    WdtSimulator,
)

from .qjbclient import QjbClient

CALLS_MSG = "超过每分钟最大调用频率限制，请稍后重试"
CONCURRENCY_MSG = "超过每分钟最大并发次数限制，请稍后重试"


def test_keep_alive_reuses_one_connection(sim: WdtSimulator, client: QjbClient) -> None:
    for _ in range(5):
        assert client.call("system.Core.now")["status"] == 0
    assert sim.connections_accepted == 1
    assert {r.connection_id for r in sim.request_log} == {sim.request_log[0].connection_id}
    other = QjbClient(sim.url, DEFAULT_SID, DEFAULT_APPKEY, DEFAULT_APPSECRET)
    other.call("system.Core.now")
    other.close()
    assert sim.connections_accepted == 2
    assert len({r.connection_id for r in sim.request_log}) == 2


def test_accepted_sockets_have_tcp_nodelay(sim: WdtSimulator, client: QjbClient) -> None:
    client.call("system.Core.now")
    server = sim._server
    assert server is not None
    sockets = list(server._sockets)
    assert sockets and all(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for s in sockets)


def test_connection_close_is_honoured(sim: WdtSimulator, client: QjbClient) -> None:
    params = client.params("system.Core.now", "[]")
    client.conn.request(
        "POST",
        "/openapi?" + urlencode(params),
        body=b"[]",
        headers={"Content-Type": "application/json", "Connection": "close"},
    )
    resp = client.conn.getresponse()
    assert json.loads(resp.read())["status"] == 0
    assert resp.will_close


def test_clock_offset_moves_timestamp_check_and_date_header(sim: WdtSimulator, client: QjbClient) -> None:
    sim.clock_offset = 600.0
    assert client.call("system.Core.now") == {"status": 7, "message": "时间戳错误"}
    client.conn.request("POST", "/openapi", body=b"[]", headers={"Content-Type": "application/json"})
    resp = client.conn.getresponse()
    resp.read()
    skew = parsedate_to_datetime(resp.headers["Date"]).timestamp() - time.time()
    assert 595 <= skew <= 602
    client.clock_offset = skew  # what a skew-aware client does
    assert client.call("system.Core.now")["status"] == 0


def test_clock_offset_in_constructor() -> None:
    with WdtSimulator(clock_offset=-300) as sim:
        c = QjbClient(sim.url, DEFAULT_SID, DEFAULT_APPKEY, DEFAULT_APPSECRET)
        assert c.call("system.Core.now")["status"] == 7
        c.clock_offset = -300
        assert c.call("system.Core.now")["status"] == 0
        c.close()


def test_calls_per_minute(sim: WdtSimulator, client: QjbClient) -> None:
    sim.add_seller("other", "k2", "s2:t2")
    other = QjbClient(sim.url, "other", "k2", "s2:t2")
    sim.set_rate_limit(calls_per_minute=3)
    assert [client.call("system.Core.now")["status"] for _ in range(3)] == [0, 0, 0]
    assert client.call("system.Core.now") == {"status": 100, "message": CALLS_MSG}
    assert other.call("system.Core.now")["status"] == 0  # per sid
    sim.set_rate_limit()
    assert client.call("system.Core.now")["status"] == 0
    other.close()


def test_calls_window_slides(sim: WdtSimulator, client: QjbClient) -> None:
    sim.rate_window = 0.3
    sim.set_rate_limit(calls_per_minute=2)
    assert [client.call("system.Core.now")["status"] for _ in range(3)] == [0, 0, 100]
    time.sleep(0.35)
    assert client.call("system.Core.now")["status"] == 0


def test_constructor_rate_limit() -> None:
    with WdtSimulator(calls_per_minute=1) as sim:
        c = QjbClient(sim.url, DEFAULT_SID, DEFAULT_APPKEY, DEFAULT_APPSECRET)
        assert [c.call("system.Core.now")["status"] for _ in range(2)] == [0, 100]
        c.close()


def test_max_concurrency(sim: WdtSimulator) -> None:
    sim.set_rate_limit(max_concurrency=1)
    sim.faults.slow(n=1, seconds=0.4)
    results: list[dict] = []

    def slow_call() -> None:
        c = QjbClient(sim.url, DEFAULT_SID, DEFAULT_APPKEY, DEFAULT_APPSECRET)
        results.append(c.call("system.Core.now"))
        c.close()

    t = threading.Thread(target=slow_call)
    t.start()
    deadline = time.monotonic() + 2
    while sim.seller().limiter.in_flight == 0 and time.monotonic() < deadline:
        time.sleep(0.005)
    second = QjbClient(sim.url, DEFAULT_SID, DEFAULT_APPKEY, DEFAULT_APPSECRET)
    assert second.call("system.Core.now") == {"status": 100, "message": CONCURRENCY_MSG}
    t.join()
    assert results[0]["status"] == 0
    assert second.call("system.Core.now")["status"] == 0
    second.close()


def test_request_log_and_reset(sim: WdtSimulator, client: QjbClient) -> None:
    client.call("system.Core.now")
    client.call("sales.StockSync.calcStock", [1, False])
    sim.faults.http_error(status=502)
    status, _, _ = client.post("sid=wdtsim&method=x", b"[]")
    assert status == 502
    log = sim.request_log
    assert sim.request_count == 3
    assert log[0] == RequestRecord("system.Core.now", DEFAULT_SID, 0, 200, log[0].connection_id, log[0].query)
    assert log[0].query["method"] == "system.Core.now" and log[0].query["v"] == "1.0"
    assert log[2].query == {"sid": "wdtsim", "method": "x"}
    assert (log[1].method, log[1].status) == ("sales.StockSync.calcStock", 100)
    assert (log[2].method, log[2].status, log[2].http_status) == ("x", None, 502)
    sim.reset_stats()
    assert sim.request_count == 0 and sim.request_log == [] and sim.connections_accepted == 0


def test_connection_dict(sim: WdtSimulator) -> None:
    conn = sim.connection()
    assert conn == {
        "conn_type": "wdt",
        "host": sim.url,
        "login": DEFAULT_SID,
        "password": DEFAULT_APPSECRET,
        "schema": DEFAULT_APPKEY,  # the App key field (the extra appkey is read too)
        "extra": {},
    }
    json.dumps(conn)
    sim.add_seller("s2", "k2", "x:y")
    assert sim.connection("s2")["login"] == "s2" and sim.connection("s2")["password"] == "x:y"
    assert sim.url == f"http://127.0.0.1:{sim.port}/openapi" and sim.port > 0


def test_lifecycle() -> None:
    before = threading.active_count()
    sim = WdtSimulator()
    assert sim.start() is sim
    with pytest.raises(RuntimeError):
        sim.start()
    c = QjbClient(sim.url, DEFAULT_SID, DEFAULT_APPKEY, DEFAULT_APPSECRET)
    assert c.call("system.Core.now")["status"] == 0
    sim.stop()  # with the keep-alive connection still open
    assert threading.active_count() <= before
    with pytest.raises((http.client.HTTPException, OSError)):
        c.call("system.Core.now")
    c.close()
    sim.stop()  # idempotent
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", sim.port), timeout=1).close()


def test_state_api_works_before_start() -> None:
    sim = WdtSimulator(pending=3)
    ids = sim.add_pending(2)
    assert len(sim.pending_ids()) == 5 and set(ids) <= set(sim.pending_ids())
    with pytest.raises(KeyError):
        sim.goods(1)
