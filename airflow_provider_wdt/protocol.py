"""The qjb wire protocol: credentials, request building, signing and response/error mapping.

Pure functions and small value types, no Airflow import and no I/O, so the hook stays thin and
anything (a trigger thread, a benchmark, a script) can use it. See docs: the protocol page's sections
1-6 are implemented here and nowhere else.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from airflow_provider_wdt.connection_fields import APPKEY_FIELD, PRODUCTION_ENDPOINT, STANDARD_LABELS
from airflow_provider_wdt.errors import (
    WdtApiError,
    WdtArgumentError,
    WdtAuthError,
    WdtBadResponseError,
    WdtBusinessError,
    WdtConfigError,
    WdtEndpointError,
    WdtRateLimitError,
    WdtServerError,
    WdtTimestampError,
)
from airflow_provider_wdt.platform_facts import (
    API_VERSION,
    CLOCK_TOLERANCE,
    RATE_LIMIT_MARKERS,
    WDT_EPOCH,
)

# Where the user fixes each credential, in the connection form's own words.
_LOGIN_FIELD = f"{STANDARD_LABELS['login']!r} (the Login field)"
_PASSWORD_FIELD = f"{STANDARD_LABELS['password']!r} (the Password field)"


@dataclass(frozen=True, repr=False)
class Credentials:
    """One seller's API identity. ``secret`` is only ever used to sign, never sent."""

    sid: str
    appkey: str
    secret: str
    salt: str

    @classmethod
    def from_connection_fields(
        cls, sid: str | None, appkey: str | None, appsecret: str | None
    ) -> Credentials:
        """Validate the three fields as a user types them; errors name the field to fix."""
        if not sid or not sid.strip():
            raise WdtConfigError(f"The WDT connection has no sid (卖家账号): fill in {_LOGIN_FIELD}.")
        if not appkey or not appkey.strip():
            raise WdtConfigError(
                f"The WDT connection has no appkey (接口账号): fill in {APPKEY_FIELD} in the connection "
                'form (in an AIRFLOW_CONN_* JSON value: "schema").'
            )
        secret, salt = split_appsecret(appsecret)
        return cls(sid=sid.strip(), appkey=appkey.strip(), secret=secret, salt=salt)

    def __repr__(self) -> str:
        return f"Credentials(sid={self.sid!r}, appkey={self.appkey!r}, secret='***', salt='***')"


def split_appsecret(appsecret: str | None) -> tuple[str, str]:
    """Split ``secret:salt`` at the first colon; both halves must be non-empty."""
    if not appsecret:
        raise WdtConfigError(
            f"The WDT connection has no appsecret: fill in {_PASSWORD_FIELD} as secret:salt."
        )
    secret, colon, salt = appsecret.strip().partition(":")
    if not colon:
        raise WdtConfigError(
            f"The WDT appsecret has no colon: fill in {_PASSWORD_FIELD} as secret:salt exactly as WDT "
            "issued it."
        )
    if not secret or not salt:
        half = "secret (before the colon)" if not secret else "salt (after the colon)"
        raise WdtConfigError(
            f"The WDT appsecret's {half} is empty: fill in {_PASSWORD_FIELD} as secret:salt."
        )
    return secret, salt


def normalize_endpoint(host: str | None, port: int | None = None) -> str:
    """The endpoint URL from the connection's host: empty is production; ``/openapi`` is added if missing.

    ``port`` (the connection's Port field) applies when the host names none; if both name one, they
    must agree (Airflow 3's Test button needs Port filled in, so users fill in both).
    """
    if not host or not host.strip():
        return PRODUCTION_ENDPOINT
    raw = host.strip()
    if "://" not in raw:
        raw = "http://" + raw
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WdtConfigError(
            f"The WDT connection's host {host!r} is not an http(s) URL: use e.g. {PRODUCTION_ENDPOINT}."
        )
    try:
        host_port = parts.port
    except ValueError:
        raise WdtConfigError(f"The WDT connection's host {host!r} has an invalid port.") from None
    if port is not None and host_port is not None and int(port) != host_port:
        raise WdtConfigError(
            f"The WDT connection's Port ({port}) differs from the port in its host URL ({host_port}): "
            "make them equal or clear one."
        )
    scheme_port = 443 if parts.scheme == "https" else 80
    add_port = port is not None and host_port is None and int(port) != scheme_port
    netloc = f"{parts.netloc}:{port}" if add_port else parts.netloc
    path = parts.path.rstrip("/")
    if not path.endswith("/openapi"):
        path += "/openapi"
    return urlunsplit((parts.scheme, netloc, path, "", ""))


def wdt_timestamp(unix_seconds: float) -> int:
    """Seconds since the WDT epoch (not milliseconds: that is a documented mistake)."""
    return int(unix_seconds) - WDT_EPOCH


def encode_body(args: Sequence[Any]) -> str:
    """The body is the JSON array of positional arguments, compact; the sign covers this exact string."""
    return json.dumps(list(args), ensure_ascii=False, separators=(",", ":"))


def compute_sign(secret: str, params: Mapping[str, str], body: str) -> str:
    """md5(secret + k1 + v1 + ... + secret) over the sorted params plus ``body``, lowercase hex."""
    items = {key: value for key, value in params.items() if key != "sign"}
    items["body"] = body
    joined = "".join(key + items[key] for key in sorted(items))
    return hashlib.md5((secret + joined + secret).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Paging:
    """Paging for query APIs; sent and signed in the query string (page_no starts at 0)."""

    page_size: int
    page_no: int = 0
    calc_total: bool = True


@dataclass(frozen=True, repr=False)
class SignedRequest:
    """One ready-to-send attempt: query params including ``sign`` and the exact body bytes."""

    method: str
    params: dict[str, str]
    body: bytes

    def __repr__(self) -> str:
        return f"SignedRequest(method={self.method!r}, params=<redacted>, body={len(self.body)} bytes)"


def build_request(
    credentials: Credentials,
    method: str,
    args: Sequence[Any],
    *,
    timestamp: int,
    paging: Paging | None = None,
) -> SignedRequest:
    """Build and sign one attempt. Each retry must call this again: fresh timestamp, fresh sign."""
    if not method or not isinstance(method, str):
        raise WdtConfigError("A qjb method name such as 'sales.StockSync.calcStock' is required.")
    params = {
        "sid": credentials.sid,
        "key": credentials.appkey,
        "salt": credentials.salt,
        "method": method,
        "timestamp": str(timestamp),
        "v": API_VERSION,
    }
    if paging is not None:
        params["page_size"] = str(paging.page_size)
        params["page_no"] = str(paging.page_no)
        params["calc_total"] = "1" if paging.calc_total else "0"
    body = encode_body(args)
    params["sign"] = compute_sign(credentials.secret, params, body)
    return SignedRequest(method=method, params=params, body=body.encode("utf-8"))


_HINTS = {
    3: "the account requires a dynamic password (需要动态口令); ask WDT to disable it for the app",
    6: "this machine's public IP is not on the app's whitelist (ip限制); add it on the WDT open platform",
    7: f"the timestamp is more than {CLOCK_TOLERANCE} s from the platform's clock; "
    "check this machine's clock (NTP)",
    8: "the API version 'v' was refused",
    2: "the platform does not know one of the parameters",
    4: "the platform reported a database error; it usually passes, retry later",
    5: "the platform reported a database error; it usually passes, retry later",
    1064: "the platform reported a database error; it usually passes, retry later",
}


def is_rate_limit_message(message: str) -> bool:
    """Rate limiting is status 100 plus one of two messages (full-width or ASCII comma)."""
    return any(marker in message for marker in RATE_LIMIT_MARKERS)


def error_for_status(method: str, status: int, platform_message: str) -> WdtApiError:
    """Map a non-zero ``status`` to the typed error a user can act on."""
    said = f"WDT {method} failed with status {status} ({platform_message or 'no message'})"
    kwargs: dict[str, Any] = {"method": method, "status": status, "platform_message": platform_message}
    lowered = platform_message.lower()
    if status == 1:
        if "验证失败" in platform_message or "sign" in lowered:
            hint = f"the signature was refused: check the appsecret (secret:salt) in {_PASSWORD_FIELD}"
            return WdtAuthError(f"{said}: {hint}.", **kwargs)
        if "sid" in lowered and "not" in lowered:
            return WdtAuthError(f"{said}: check the sid (卖家账号) in {_LOGIN_FIELD}.", **kwargs)
        if "auth" in lowered:
            hint = f"check {APPKEY_FIELD} and the salt half of the appsecret"
            return WdtAuthError(f"{said}: {hint}.", **kwargs)
        return WdtArgumentError(f"{said}: check the arguments passed to {method}.", **kwargs)
    if status in (3, 6):
        return WdtAuthError(f"{said}: {_HINTS[status]}.", **kwargs)
    if status == 7:
        return WdtTimestampError(f"{said}: {_HINTS[7]}.", **kwargs)
    if status in (2, 8):
        return WdtArgumentError(f"{said}: {_HINTS[status]}.", **kwargs)
    if status in (4, 5, 1064):
        return WdtServerError(f"{said}: {_HINTS[status]}.", **kwargs)
    if status == 100 and is_rate_limit_message(platform_message):
        hint = "the per-minute call limit for this seller was hit; calls for one sid should be serial"
        return WdtRateLimitError(f"{said}: {hint}.", **kwargs)
    return WdtBusinessError(f"{said}.", **kwargs)


def parse_response(method: str, http_status: int, content_type: str, content: bytes) -> dict[str, Any]:
    """Decode one HTTP answer: the JSON object when ``status`` is 0, else raise a typed error."""
    if http_status >= 500:
        raise WdtServerError(
            f"WDT {method}: the endpoint answered HTTP {http_status}; the platform or a proxy is in trouble.",
            method=method,
            http_status=http_status,
        )
    if http_status == 429:
        raise WdtRateLimitError(f"WDT {method}: HTTP 429 Too Many Requests.", method=method, http_status=429)
    if http_status >= 400:
        raise WdtEndpointError(
            f"WDT {method}: the endpoint answered HTTP {http_status}; check the connection's host URL "
            "(it should end in /openapi).",
            method=method,
            http_status=http_status,
        )
    try:
        payload = json.loads(content)
    except ValueError:
        head = content[:200].lstrip().lower()
        if b"<html" in head or b"<!doctype" in head or "html" in content_type.lower():
            what = "an HTML page instead of JSON (a proxy, captive portal or the wrong host?)"
        else:
            what = f"a body that is not valid JSON ({len(content)} bytes; cut off?)"
        raise WdtBadResponseError(
            f"WDT {method}: the endpoint returned {what}; check the connection's host URL.",
            method=method,
            http_status=http_status,
        ) from None
    if not isinstance(payload, dict) or "status" not in payload:
        raise WdtBadResponseError(
            f"WDT {method}: the answer is JSON but has no 'status'; is the host a qjb endpoint?",
            method=method,
            http_status=http_status,
        )
    try:
        status = int(payload["status"])
    except (TypeError, ValueError):
        raise WdtBadResponseError(
            f"WDT {method}: the answer's status {payload['status']!r} is not a number.",
            method=method,
            http_status=http_status,
        ) from None
    if status != 0:
        raise error_for_status(method, status, str(payload.get("message") or ""))
    return payload


def paged_total(method: str, payload: Mapping[str, Any]) -> int | None:
    """The row total of a paged answer (``calc_total``): top-level ``total_count`` or ``total``, or
    ``data.total_count`` as in the platform's examples; None when the answer carries none."""
    total = payload.get("total_count", payload.get("total"))
    data = payload.get("data")
    if total is None and isinstance(data, Mapping):
        total = data.get("total_count")
    if total is None:
        return None
    try:
        return int(total)
    except (TypeError, ValueError):
        raise WdtBadResponseError(
            f"WDT {method}: the answer's total_count {total!r} is not a number.", method=method
        ) from None


_QUERY_SECRET = re.compile(r"(?<=[?&;])(sign|salt)=[^&\s'\"#]*")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Hide ``sign``/``salt`` query values and the given secret strings in text (URLs, exception text)."""
    text = _QUERY_SECRET.sub(r"\1=***", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
