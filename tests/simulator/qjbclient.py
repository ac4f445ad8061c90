"""A minimal qjb client for the simulator's tests: one keep-alive http.client connection, no provider code.

It signs with the simulator's own signer, which tests/simulator/test_signing.py pins to the protocol
page's published vectors and to a request hand-built from section 4; so a bug in the signer fails there,
even though it would cancel out in the requests this client makes.
"""

from __future__ import annotations

import http.client
import json
import time
from typing import Any
from urllib.parse import urlencode, urlsplit

from airflow_provider_wdt.platform_facts import WDT_EPOCH
from airflow_provider_wdt.simulator.signing import compute_sign


def wdt_now(offset: float = 0.0) -> int:
    """The qjb timestamp (seconds since the WDT epoch) for now, moved by ``offset`` seconds."""
    return int(time.time() + offset) - WDT_EPOCH


def compact(args: Any) -> str:
    return json.dumps(args, ensure_ascii=False, separators=(",", ":"))


class QjbClient:
    """One keep-alive http.client connection; ``call`` signs and posts, returning (http status, parsed
    JSON or raw bytes, response headers)."""

    def __init__(self, url: str, sid: str, appkey: str, appsecret: str, clock_offset: float = 0.0) -> None:
        parts = urlsplit(url)
        self.host, self.port, self.path = parts.hostname or "", parts.port or 80, parts.path
        self.sid, self.appkey = sid, appkey
        self.secret, _, self.salt = appsecret.partition(":")
        self.clock_offset = clock_offset
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=10)

    def params(self, method: str, body: str, timestamp: int | None = None, **extra: Any) -> dict[str, str]:
        params = {
            "sid": self.sid,
            "key": self.appkey,
            "salt": self.salt,
            "method": method,
            "timestamp": str(wdt_now(self.clock_offset) if timestamp is None else timestamp),
            "v": "1.0",
            **extra,
        }
        params["sign"] = compute_sign(self.secret, params, body)
        return params

    def post(
        self, query: str, body: bytes, content_type: str = "application/json", path: str | None = None
    ) -> tuple[int, Any, http.client.HTTPMessage]:
        self.conn.request(
            "POST", f"{path or self.path}?{query}", body=body, headers={"Content-Type": content_type}
        )
        resp = self.conn.getresponse()
        raw = resp.read()
        try:
            data: Any = json.loads(raw)
        except ValueError:
            data = raw
        return resp.status, data, resp.headers

    def call(self, method: str, args: Any = (), timestamp: int | None = None, **extra: Any) -> Any:
        """Signed call; returns the parsed JSON answer (asserting HTTP 200)."""
        body = compact(list(args))
        status, data, _ = self.post(urlencode(self.params(method, body, timestamp, **extra)), body.encode())
        assert status == 200, (status, data)
        return data

    def close(self) -> None:
        self.conn.close()
