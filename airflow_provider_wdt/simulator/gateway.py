"""From one HTTP request to one reply: faults, the platform's checks in its order, the method call.

Kept free of sockets so the check chain reads top to bottom, and of the WdtSimulator façade: it needs only
a :class:`~.platform_state.Platform`, so it can be driven (and tested) without a server or a simulator.
"""

from __future__ import annotations

import hmac
import json
import re
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from airflow_provider_wdt.platform_facts import API_VERSION, CLOCK_TOLERANCE, WDT_EPOCH

from .api import CallContext, Handler, RawJson, check_args
from .faults import Fault, db_error_message, rate_limit_message
from .platform_state import Platform
from .signing import compute_sign
from .state import ApiError, Seller

REQUIRED_PARAMS = ("sid", "key", "salt", "method", "timestamp", "v", "sign")
JSON_TYPE = "application/json; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"
TEXT_TYPE = "text/plain; charset=utf-8"
_DIGITS = re.compile(r"[0-9]{1,10}")  # more digits is a millisecond timestamp: status 1, not 7

PORTAL_PAGE = (
    '<!DOCTYPE html><html><head><meta charset="utf-8"><title>网络认证</title></head>'
    "<body><h1>请先登录网络</h1><p>This network requires you to sign in (simulated captive portal).</p>"
    "</body></html>"
).encode()
# A real-looking page of ids, cut in half by truncated_json.
SAMPLE_PAGE = (
    b'{"status":0,"data":{"id_list":[174004,175511,175512,175522,175523,175524],"position":239126414}}'
)


@dataclass(frozen=True)
class Reply:
    http_status: int
    content_type: str
    body: bytes
    status: int | None = None  # qjb status; None when the body is not a qjb JSON answer
    drop: bool = False  # close the connection without answering
    headers: tuple[tuple[str, str], ...] = ()


def json_reply(status: int, message: str | None = None, data: Any = None) -> Reply:
    if isinstance(data, RawJson):
        text = '{"status":' + str(status) + ',"data":' + data + "}"
    else:
        obj: dict[str, Any] = {"status": status}
        if message is not None:
            obj["message"] = message
        if data is not None:
            obj["data"] = data
        text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    return Reply(200, JSON_TYPE, text.encode("utf-8"), status=status)


def fault_reply(fault: Fault) -> Reply:
    if fault.kind == "drop":
        return Reply(0, "", b"", drop=True)
    if fault.kind == "http_error":
        try:
            phrase = HTTPStatus(fault.status).phrase
        except ValueError:
            phrase = "Error"
        page = f"<html><head><title>{fault.status} {phrase}</title></head><body><center><h1>{fault.status} "
        page += f"{phrase}</h1></center><hr><center>nginx</center></body></html>\n"
        return Reply(fault.status, HTML_TYPE, page.encode())
    if fault.kind == "html":
        return Reply(200, HTML_TYPE, PORTAL_PAGE)
    if fault.kind == "truncated_json":
        return Reply(200, JSON_TYPE, SAMPLE_PAGE[: len(SAMPLE_PAGE) // 2])
    if fault.kind == "rate_limit":
        return json_reply(100, rate_limit_message(fault.rate_kind, fault.ascii_comma))
    if fault.kind == "db_error":
        return json_reply(fault.status, db_error_message(fault.status))
    raise ValueError(f"no reply for fault {fault.kind}")


def _validate(
    platform: Platform, params: dict[str, str], content_type: str, body: bytes
) -> tuple[Seller, Handler, list[Any]]:
    """The platform's checks, in its order; raises ApiError with its status and message."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        shown = media_type or "(none)"
        message = (
            f"不支持的Content-Type: {shown}, 仅支持application/json (only application/json is supported)"
        )
        raise ApiError(1, message)
    for name in REQUIRED_PARAMS:
        if not params.get(name):
            raise ApiError(1, f"参数错误: 缺少参数 {name} (missing parameter {name})")
    if params["v"] != API_VERSION:
        raise ApiError(8, "版本错误")
    seller = platform.sellers.get(params["sid"])
    if seller is None:
        raise ApiError(1, "sid is not found")
    if params["key"] != seller.appkey or params["salt"] != seller.salt:
        raise ApiError(1, "app auth fail")
    expected = compute_sign(seller.secret, params, body)
    if not hmac.compare_digest(expected.encode(), params["sign"].encode("utf-8")):
        raise ApiError(1, "验证失败")
    timestamp = params["timestamp"]
    if not _DIGITS.fullmatch(timestamp):
        raise ApiError(1, f"参数错误: timestamp 须为秒级时间戳 (unix seconds - {WDT_EPOCH})")
    if abs(int(timestamp) - (platform.server_time() - WDT_EPOCH)) > CLOCK_TOLERANCE:
        raise ApiError(7, "时间戳错误")
    try:
        args = json.loads(body.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError is a ValueError
        args = None
    if not isinstance(args, list):
        raise ApiError(1, "参数错误: body 须为参数的 JSON 数组 (the body must be a JSON array of arguments)")
    handler, coerced = check_args(params["method"], args)
    return seller, handler, coerced


def process(
    platform: Platform, verb: str, target: str, content_type: str, body: bytes
) -> tuple[Reply, str | None, str | None]:
    """Answer one request: ``(reply, api method, sid)``, the last two for the request log."""
    url = urlsplit(target)
    if url.path != "/openapi":
        return Reply(404, TEXT_TYPE, b"404 Not Found\n"), None, None
    if verb != "POST":
        return Reply(405, TEXT_TYPE, b"405 Method Not Allowed\n", headers=(("Allow", "POST"),)), None, None
    # Duplicate parameters: the last one wins, for signing and for use alike.
    params = dict(parse_qsl(url.query, keep_blank_values=True))
    method, sid = params.get("method") or None, params.get("sid") or None
    delay = 0.0
    fault = platform.faults.take()
    if fault is not None:
        if fault.kind != "slow":
            return fault_reply(fault), method, sid
        delay = fault.seconds
    try:
        seller, handler, args = _validate(platform, params, content_type, body)
    except ApiError as exc:
        platform.sleep(delay)
        return json_reply(exc.status, exc.message), method, sid
    refusal = seller.limiter.acquire(
        platform.calls_per_minute, platform.max_concurrency, platform.rate_window
    )
    if refusal is not None:
        platform.sleep(delay)
        return json_reply(100, refusal), method, sid
    try:
        platform.sleep(delay)  # while in flight, so a slow call holds a concurrency slot
        now = platform.server_time()
        ctx = CallContext(
            seller, now, int(now) - WDT_EPOCH, platform.tie_mode, platform.batch_limit, platform.retry_delay
        )
        data = handler(ctx, args)
    except ApiError as exc:
        return json_reply(exc.status, exc.message), method, sid
    finally:
        seller.limiter.release()
    return json_reply(0, data=data), method, sid
