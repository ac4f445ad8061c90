"""A minimal, independent qjb client for the simulator's tests.

Written from the protocol page alone (its own MD5 signing over a concatenated string), so a bug in the
simulator's signer or in the provider's client cannot cancel out here.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import time
from typing import Any
from urllib.parse import urlencode, urlsplit

EPOCH_2012 = 1325347200


def md5_sign(secret: str, params: dict[str, str], body: str | bytes) -> str:
    pairs: dict[str, bytes] = {k: v.encode() for k, v in params.items() if k != "sign"}
    pairs["body"] = body if isinstance(body, bytes) else body.encode()
    text = secret.encode() + b"".join(k.encode() + pairs[k] for k in sorted(pairs)) + secret.encode()
    return hashlib.md5(text).hexdigest()


def wdt_now(offset: float = 0.0) -> int:
    return int(time.time() + offset) - EPOCH_2012


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
        params["sign"] = md5_sign(self.secret, params, body)
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
