"""The simulator's layers on their own: ``gateway.process`` with just a Platform, and the HTTP server with
a recording ServerEvents. No WdtSimulator anywhere, which is the point: each layer needs only what it is
given.

Requests are signed with the simulator's own signer (pinned to the protocol's vectors in test_signing.py).
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest

from airflow_provider_wdt.platform_facts import WDT_EPOCH
from airflow_provider_wdt.simulator import gateway
from airflow_provider_wdt.simulator.platform_state import Platform
from airflow_provider_wdt.simulator.server import NetworkModel, Server
from airflow_provider_wdt.simulator.signing import compute_sign
from airflow_provider_wdt.simulator.state import Seller

SID, APPKEY, APPSECRET = "layers", "layers_key", "layers_secret:layers_salt"
NOW = "system.Core.now"
WAIT = "sales.StockSync.getSelfWaitSyncIdListOpen"


def signed_target(method: str, body: bytes, timestamp: int | None = None, sign: str | None = None) -> str:
    """The /openapi target for a request signed like a correct client would (or with ``sign``)."""
    secret, _, salt = APPSECRET.partition(":")
    params = {
        "sid": SID,
        "key": APPKEY,
        "salt": salt,
        "method": method,
        "timestamp": str(int(time.time()) - WDT_EPOCH if timestamp is None else timestamp),
        "v": "1.0",
    }
    params["sign"] = compute_sign(secret, params, body) if sign is None else sign
    return "/openapi?" + urlencode(params)


def call(platform: Platform, method: str, args: list[Any], **kwargs: Any) -> tuple[dict[str, Any], Any]:
    body = json.dumps(args).encode()
    reply, seen_method, seen_sid = gateway.process(
        platform, "POST", signed_target(method, body, **kwargs), "application/json", body
    )
    assert (seen_method, seen_sid) == (method, SID)
    assert reply.http_status == 200
    return json.loads(reply.body), reply


@pytest.fixture
def platform() -> Platform:
    p = Platform()
    p.add_seller(Seller(SID, APPKEY, APPSECRET, pending=3, seed=0))
    return p


def test_a_signed_request_is_answered_from_the_platforms_seller(platform: Platform) -> None:
    answer, reply = call(platform, WAIT, [10, 0])
    assert reply.status == 0 and answer["status"] == 0
    assert answer["data"]["id_list"] == platform.sellers[SID].pending_ids()


def test_a_bad_sign_is_refused(platform: Platform) -> None:
    answer, reply = call(platform, NOW, [], sign="0" * 32)
    assert reply.status == 1 and answer == {"status": 1, "message": "验证失败"}


def test_a_timestamp_off_the_platforms_clock_is_refused(platform: Platform) -> None:
    answer, _ = call(platform, NOW, [], timestamp=int(time.time()) - WDT_EPOCH - 600)
    assert answer == {"status": 7, "message": "时间戳错误"}
    # The platform's own clock is what counts: move it, and the same kind of request is on time again.
    platform.clock_offset = -600.0
    answer, _ = call(platform, NOW, [], timestamp=int(time.time()) - WDT_EPOCH - 600)
    assert answer["status"] == 0


def test_limits_and_faults_are_read_from_the_platform_at_each_request(platform: Platform) -> None:
    platform.calls_per_minute = 1
    assert call(platform, NOW, [])[0]["status"] == 0
    assert call(platform, NOW, [])[0]["status"] == 100
    platform.calls_per_minute = None
    platform.faults.db_error(status=5)
    assert call(platform, NOW, [])[0] == {"status": 5, "message": "数据库错误"}
    assert call(platform, NOW, [])[0]["status"] == 0  # the fault took one request


class RecordingEvents:
    """A ServerEvents that keeps what it is told."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.connections = 0
        self.records: list[tuple[str | None, str | None, int | None, int, dict[str, str]]] = []

    def connection_accepted(self) -> int:
        with self.lock:
            self.connections += 1
            return 100 + self.connections  # not 1, 2, ...: the server must use the id it is given

    def request_handled(
        self,
        method: str | None,
        sid: str | None,
        reply: gateway.Reply,
        connection_id: int,
        query: dict[str, str],
    ) -> None:
        with self.lock:
            self.records.append((method, sid, reply.status, connection_id, query))


@pytest.fixture
def served(platform: Platform) -> Iterator[tuple[Server, RecordingEvents]]:
    events = RecordingEvents()
    server = Server(("127.0.0.1", 0), platform, NetworkModel(), events)
    server.start_serving()
    yield server, events
    server.stop()


def post(conn: http.client.HTTPConnection, method: str, args: list[Any]) -> dict[str, Any]:
    body = json.dumps(args).encode()
    conn.request("POST", signed_target(method, body), body=body, headers={"Content-Type": "application/json"})
    answer: dict[str, Any] = json.loads(conn.getresponse().read())
    return answer


def test_the_servers_events_get_one_record_per_request(served: tuple[Server, RecordingEvents]) -> None:
    server, events = served
    port = server.server_address[1]
    first = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    second = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        assert post(first, NOW, [])["status"] == 0
        assert post(first, WAIT, [10, 0])["status"] == 0  # same keep-alive connection
        assert post(second, NOW, [])["status"] == 0
    finally:
        first.close()
        second.close()
    assert events.connections == 2
    assert [(m, s, st, c) for m, s, st, c, _ in events.records] == [
        (NOW, SID, 0, 101),
        (WAIT, SID, 0, 101),
        (NOW, SID, 0, 102),
    ]
    assert events.records[1][4]["method"] == WAIT and events.records[1][4]["sid"] == SID
