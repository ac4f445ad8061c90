"""The qjb API methods the simulator implements, with the platform's argument checks.

The body is a JSON array of positional arguments. Numbers may come as ints or digit strings (the
platform's own doc example sends ``["500","0"]``); JSON booleans are not numbers. Booleans may come as
true/false or 0/1.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from airflow_provider_wdt.platform_facts import MAX_COUNT, MIN_COUNT

from .state import ApiError, Seller

BEIJING = timezone(timedelta(hours=8))
_INT_RE = re.compile(r"-?\d{1,18}")


class RawJson(str):
    """``data`` already encoded as JSON text (the big id lists are built without json.dumps)."""


@dataclass(frozen=True)
class CallContext:
    seller: Seller
    server_time: float  # unix seconds, clock offset included
    now_wdt: int
    tie_mode: str
    batch_limit: int | None
    retry_delay: int


def as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _INT_RE.fullmatch(value):
        return int(value)
    return None


def as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    return None


_COERCE: dict[str, Callable[[Any], Any]] = {
    "int": as_int,
    "bool": as_bool,
    "object": lambda v: v if isinstance(v, dict) else None,
    "array": lambda v: v if isinstance(v, list) else None,
}


def _mismatch(name: str, kind: str) -> ApiError:
    return ApiError(1, f"argument type mismatch: {name} must be {kind}")


def _now(ctx: CallContext, args: list[Any]) -> Any:
    # The server's Beijing wall-clock time; clients only use it as a smoke test.
    return datetime.fromtimestamp(ctx.server_time, BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def _wait_sync_ids(ctx: CallContext, args: list[Any]) -> Any:
    count, position = args
    if not MIN_COUNT <= count <= MAX_COUNT:
        raise ApiError(1, f"参数错误: count={count}, count 必须在 {MIN_COUNT} 到 {MAX_COUNT} 之间")
    if position < 0:
        raise ApiError(1, f"参数错误: position={position}, position 不能小于 0")
    ids, last = ctx.seller.page(count, position, ctx.tie_mode, ctx.now_wdt)
    if last is None:
        return RawJson('{"id_list":[]}')
    return RawJson('{"id_list":[' + ",".join(map(str, ids)) + '],"position":' + str(last) + "}")


def _calc_stock(ctx: CallContext, args: list[Any]) -> Any:
    return ctx.seller.calc(args[0], args[1])


def _batch_calc_stock(ctx: CallContext, args: list[Any]) -> Any:
    raw = args[0]
    if ctx.batch_limit is not None and len(raw) > ctx.batch_limit:
        raise ApiError(1, f"参数错误: 一次最多查询 {ctx.batch_limit} 个货品, 收到 {len(raw)} 个")
    items = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise _mismatch(f"item {i}", "an object {api_goods_id, force_sync}")
        rec_id = as_int(item.get("api_goods_id"))
        force = as_bool(item.get("force_sync", False))
        if rec_id is None:
            raise _mismatch(f"item {i}.api_goods_id", "int")
        if force is None:
            raise _mismatch(f"item {i}.force_sync", "bool")
        items.append((rec_id, force))
    return ctx.seller.batch_calc(items)


def _info_count(info: dict[str, Any]) -> int:
    count = as_int(info.get("stock_change_count"))
    if count is None:
        raise ApiError(1, "参数错误: info.stock_change_count 缺失或不是整数")
    return count


def _sync_success(ctx: CallContext, args: list[Any]) -> Any:
    ctx.seller.sync_success(args[0], _info_count(args[1]), args[1])
    return None


def _sync_fail(ctx: CallContext, args: list[Any]) -> Any:
    ctx.seller.sync_fail(args[0], args[1], ctx.now_wdt, ctx.retry_delay)
    return None


def _cancel_sync(ctx: CallContext, args: list[Any]) -> Any:
    ctx.seller.cancel_sync(args[0], args[1])
    return None


Handler = Callable[[CallContext, list[Any]], Any]
# method -> ((argument name, kind), ...), handler
METHODS: dict[str, tuple[tuple[tuple[str, str], ...], Handler]] = {
    "system.Core.now": ((), _now),
    "sales.StockSync.getSelfWaitSyncIdListOpen": ((("count", "int"), ("position", "int")), _wait_sync_ids),
    "sales.StockSync.calcStock": ((("apiGoodsId", "int"), ("forceSync", "bool")), _calc_stock),
    "sales.StockSync.batchCalcStock": ((("apiGoodsList", "array"),), _batch_calc_stock),
    "sales.StockSync.syncSuccess": ((("apiGoodsId", "int"), ("info", "object")), _sync_success),
    "sales.StockSync.syncFail": ((("apiGoodsId", "int"), ("info", "object")), _sync_fail),
    "sales.StockSync.cancelSync": ((("apiGoodsId", "int"), ("stockChangeCount", "int")), _cancel_sync),
}


def check_args(method: str, args: list[Any]) -> tuple[Handler, list[Any]]:
    """The method's handler and its coerced arguments; ApiError(1, ...) for unknown method or bad args."""
    entry = METHODS.get(method)
    if entry is None:
        # Status 1, like every other request the platform rejects before running it.
        raise ApiError(1, f"接口不存在: method {method} not found")
    spec, handler = entry
    if len(args) != len(spec):
        raise ApiError(1, f"参数个数错误: {method} takes {len(spec)} arguments, got {len(args)}")
    coerced = []
    for (name, kind), value in zip(spec, args, strict=True):
        converted = _COERCE[kind](value)
        if converted is None:
            raise _mismatch(name, kind)
        coerced.append(converted)
    return handler, coerced
