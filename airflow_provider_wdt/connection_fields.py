"""The ``wdt`` connection's fields, defined once.

Everything else derives from :data:`EXTRA_FIELDS` and :data:`STANDARD_FIELDS`: the Airflow 3 form
(``conn-fields`` in ``get_provider_info``), the Airflow 2.11 form widgets and ``ui-field-behaviour``, the
hook's parsing of the extras, the client's default settings and both READMEs' tables (tests compare them
with :func:`markdown_table`). No Airflow import: the client and the protocol use it too.

The appkey is Airflow's Schema field, relabelled, so that it sits with the other credentials instead of
in the collapsed "Extra Fields" section; the extra ``appkey`` of earlier versions is still read.

Run ``python -m airflow_provider_wdt.connection_fields`` to print the README table (``--zh``: the
README.zh-CN one).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_wdt.errors import WdtConfigError

CONN_TYPE = "wdt"
HOOK_NAME = "WDT 旺店通 ERP (qjb)"
PRODUCTION_ENDPOINT = "http://wdt.wangdian.cn/openapi"
#: The platform's test environment (测试环境); used only when a user puts it in Host.
TEST_ENDPOINT = "http://47.92.239.46/openapi"

#: JSON-schema type name -> the Python type a value is coerced to.
_PYTHON_TYPES: dict[str, type] = {"string": str, "integer": int, "number": float, "boolean": bool}


@dataclass(frozen=True)
class ExtraField:
    """One connection extra: what the form shows, what the hook accepts, and its default."""

    name: str
    label: str
    kind: str  # "string" | "integer" | "number" | "boolean" (JSON-schema names)
    description: str
    default: Any = None
    #: Smallest allowed value; ``exclusive`` makes it a strict bound (``> minimum``).
    minimum: float | None = None
    exclusive: bool = False
    placeholder: str | None = None
    #: The description in Chinese, for README.zh-CN's table (a test requires one for every field).
    description_zh: str = ""

    @property
    def bound_text(self) -> str:
        """The allowed range in words, for error messages and the README."""
        if self.minimum is None:
            return ""
        if self.kind == "integer":
            low = int(self.minimum) + (1 if self.exclusive else 0)
            return f"a whole number >= {low}"
        return f"a number {'>' if self.exclusive else '>='} {self.minimum:g}"

    @property
    def bound_text_zh(self) -> str:
        if self.minimum is None:
            return ""
        if self.kind == "integer":
            return f"不小于 {int(self.minimum) + (1 if self.exclusive else 0)} 的整数"
        return f"{'大于' if self.exclusive else '不小于'} {self.minimum:g} 的数"

    @property
    def default_text(self) -> str:
        if self.default is None:
            return "unset"
        if isinstance(self.default, bool):
            return str(self.default).lower()
        return f"{self.default:g}" if isinstance(self.default, float) else str(self.default)

    @property
    def form_description(self) -> str:
        """The description under the field in both UIs, with its default and range appended."""
        notes = [f"default {self.default_text}"] if self.default is not None else []
        if self.bound_text:
            notes.append(self.bound_text)
        return f"{self.description} ({'; '.join(notes)})." if notes else f"{self.description}."

    @property
    def form_description_zh(self) -> str:
        """:attr:`form_description` in Chinese (README.zh-CN's table; the forms stay English)."""
        notes = [f"默认 {self.default_text}"] if self.default is not None else []
        if self.bound_text_zh:
            notes.append(self.bound_text_zh)
        return f"{self.description_zh}（{'；'.join(notes)}）。" if notes else f"{self.description_zh}。"

    def json_schema(self) -> dict[str, Any]:
        """The field's schema for Airflow 3's form; ``null`` allowed: every extra is optional."""
        schema: dict[str, Any] = {"type": [self.kind, "null"]}
        if self.default is not None:
            schema["default"] = self.default
        if self.minimum is not None:
            key = "exclusiveMinimum" if self.exclusive else "minimum"
            schema[key] = int(self.minimum) if self.kind == "integer" else self.minimum
        return schema

    def parse(self, conn_id: str, raw: Any) -> Any:
        """The typed value of a raw extra (from JSON, an env var or either form), or the default."""
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return self.default
        if self.kind == "string":
            return str(raw).strip()
        if self.kind == "boolean":
            return _parse_bool(conn_id, self, raw)
        return _parse_number(conn_id, self, raw)


@dataclass(frozen=True)
class StandardField:
    """How the form shows one of Airflow's own connection fields (Host, Login, Password, Port)."""

    name: str
    label: str
    placeholder: str
    description: str
    description_zh: str


def _parse_bool(conn_id: str, field: ExtraField, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise WdtConfigError(
        f"Connection {conn_id!r}: {field.label!r} (extra {field.name!r}) must be true or false, got {raw!r}."
    )


def _parse_number(conn_id: str, field: ExtraField, raw: Any) -> int | float:
    value: float | None
    try:
        value = float(raw) if not isinstance(raw, bool) else None
    except (TypeError, ValueError):
        value = None
    whole = value is not None and math.isfinite(value) and (field.kind != "integer" or value.is_integer())
    if not whole:
        value = None  # 1.5 retries is a typo, not 1
    low = field.minimum
    if value is None or (low is not None and (value <= low if field.exclusive else value < low)):
        need = field.bound_text or ("a whole number" if field.kind == "integer" else "a number")
        raise WdtConfigError(
            f"Connection {conn_id!r}: {field.label!r} (extra {field.name!r}) must be {need}, got {raw!r}."
        )
    return int(value) if field.kind == "integer" else value


EXTRA_FIELDS: tuple[ExtraField, ...] = (
    ExtraField(
        "timeout",
        "Timeout per request, seconds",
        "number",
        "Seconds to wait for one answer before retrying",
        default=30.0,
        minimum=0,
        exclusive=True,
        description_zh="等待一次应答的秒数，超时后重试",
    ),
    ExtraField(
        "test_timeout",
        "Timeout of the Test button, seconds",
        "number",
        "Test connection makes one attempt, no retries, and waits at most this long",
        default=10.0,
        minimum=0,
        exclusive=True,
        description_zh="测试连接（Test 按钮、airflow connections test）只发一次请求、不重试，"
        "最多等待这么多秒",
    ),
    ExtraField(
        "max_retries",
        "Max retries",
        "integer",
        "Retries for network errors, timeouts, HTTP 5xx, rate limits and database errors",
        default=3,
        minimum=0,
        description_zh="网络错误、超时、HTTP 5xx、限流和数据库错误的重试次数",
    ),
    ExtraField(
        "retry_wait",
        "Retry backoff base, seconds",
        "number",
        "First backoff wait, doubled on each retry",
        default=1.0,
        minimum=0,
        description_zh="第一次退避等待的秒数，之后每次重试翻倍",
    ),
    ExtraField(
        "rate_limit_wait",
        "Wait after rate limit, seconds",
        "number",
        "Seconds to wait after a per-minute limit answer; WDT advises 5-10 minutes",
        default=60.0,
        minimum=0,
        description_zh="收到“超过每分钟调用限制”的应答后等待的秒数；旺店通建议等 5-10 分钟",
    ),
    ExtraField(
        "calls_per_minute",
        "Max calls per minute (client-side limit)",
        "integer",
        "Never send more than this many calls in any 60 s window for this seller from this host's "
        "processes together, wait instead; empty means no client-side limit",
        minimum=1,
        description_zh="本机所有进程合计，对该卖家在任意 60 秒内最多发这么多次调用，多出的等待而不发送；"
        "留空表示客户端不限制",
    ),
    ExtraField(
        "rate_window",
        "Limit window, seconds",
        "number",
        "The window calls_per_minute counts in; keep 60 for WDT, shorten only to match a simulator's "
        "--rate-window in tests",
        description_zh="calls_per_minute 计数的窗口；对旺店通保持 60，"
        "只有在测试中为配合模拟器的 --rate-window 才缩短",
        default=60.0,
        minimum=0,
        exclusive=True,
    ),
    ExtraField(
        "max_concurrency",
        "Max calls in flight",
        "integer",
        "WDT calls in flight at once for this seller, across the processes of one host",
        default=1,
        minimum=1,
        description_zh="本机所有进程合计，该卖家同时在途的 WDT 调用数",
    ),
    ExtraField(
        "ledger_dir",
        "Call ledger directory (shared limits)",
        "string",
        "Where the processes of one host record this seller's calls, so calls_per_minute and "
        "max_concurrency hold across all of them (pull, sync, sensors, retries); empty means "
        "airflow-provider-wdt-ledger in the system temp directory",
        placeholder="/tmp/airflow-provider-wdt-ledger",
        description_zh="本机各进程记录该卖家调用的目录，使 calls_per_minute 和 max_concurrency 对它们全体生效"
        "（拉取、同步、sensor、重试）；留空表示系统临时目录下的 airflow-provider-wdt-ledger",
    ),
    ExtraField(
        "share_across_hosts",
        "Hand calls over between hosts (Airflow Variable)",
        "boolean",
        "Workers on several hosts: each task stores this seller's calls of the last minute in an Airflow "
        "Variable (wdt_calls_...) every 5 s and at its end, and the next task, on any host, counts them "
        "before its first call; for tasks that run one after the other",
        description_zh="多台主机上的 worker：每个任务每 5 秒及结束时把该卖家最近一分钟的调用存入一个 "
        "Airflow Variable（wdt_calls_...），下一个任务无论在哪台主机上，都在第一次调用前把它们计入；"
        "适用于先后运行的任务",
        default=False,
    ),
    ExtraField(
        "multi_seller",
        "Multi-seller process (send Connection: close)",
        "boolean",
        "Do not keep connections alive, as WDT advises for a process serving several sellers",
        default=False,
        description_zh="不保持长连接（keep-alive），这是旺店通对同时服务多个卖家的进程的建议",
    ),
)

#: The extra that held the appkey before it moved to the Schema field; still read (older connections,
#: ``AIRFLOW_CONN_*`` values written for earlier versions).
APPKEY_EXTRA = "appkey"

STANDARD_FIELDS: tuple[StandardField, ...] = (
    StandardField(
        "host",
        "Endpoint URL",
        f"{PRODUCTION_ENDPOINT} (empty = production)",
        f"empty = production (正式环境) {PRODUCTION_ENDPOINT}; the test environment (测试环境) is "
        f"{TEST_ENDPOINT}; a base URL without /openapi is accepted; http or https",
        f"留空 = 正式环境 {PRODUCTION_ENDPOINT}；测试环境是 {TEST_ENDPOINT}；也可以只填不带 /openapi "
        "的基础地址；http 或 https 均可",
    ),
    StandardField(
        "login",
        "Seller account (卖家账号 sid)",
        "sid assigned by WDT",
        "the seller account WDT assigned",
        "旺店通分配的卖家账号",
    ),
    StandardField(
        "password",
        "App secret (appsecret, secret:salt)",
        "secret:salt",
        "secret:salt exactly as WDT issued it; only the salt is sent, the secret only signs",
        "按旺店通下发的原样填写 secret:salt；只有 salt 会被发送，secret 只用于签名",
    ),
    StandardField(
        "schema",
        "App key (接口账号 appkey)",
        "appkey assigned by WDT",
        f'the appkey WDT assigned to your app (required); `"schema"` in an `AIRFLOW_CONN_*` value. The '
        f"extra `{APPKEY_EXTRA}` of earlier versions is still read",
        f'旺店通为你的应用分配的 appkey（必填）；在 `AIRFLOW_CONN_*` 的值里写作 `"schema"`。旧版本使用的 '
        f"extra `{APPKEY_EXTRA}` 仍然有效",
    ),
    StandardField(
        "port",
        "Port (fill in for the UI's Test button)",
        "80 for http://, 443 for https://",
        "used when Host names no port; Airflow 3's Test button refuses a connection stored without one",
        "Host 中没有端口时使用；Airflow 3 的 Test 按钮会拒绝测试没有保存端口的连接",
    ),
)

#: Airflow fields the form hides (none: Schema carries the appkey).
HIDDEN_FIELDS: tuple[str, ...] = ()

EXTRA_FIELDS_BY_NAME: dict[str, ExtraField] = {field.name: field for field in EXTRA_FIELDS}
STANDARD_LABELS: dict[str, str] = {field.name: field.label for field in STANDARD_FIELDS}
#: Defaults of the extras (what the client uses when the connection leaves them out).
EXTRA_DEFAULTS: dict[str, Any] = {field.name: field.default for field in EXTRA_FIELDS}
#: Where the appkey goes, in the form's words (error messages name it).
APPKEY_FIELD = f"{STANDARD_LABELS['schema']!r} (the Schema field)"


def default(name: str) -> Any:
    """One extra's default: the client's settings take theirs from here."""
    return EXTRA_FIELDS_BY_NAME[name].default


def conn_fields() -> dict[str, Any]:
    """``conn-fields`` of the provider info (the Airflow 3 form)."""
    return {
        field.name: {
            "label": field.label,
            "description": field.form_description,
            "schema": field.json_schema(),
        }
        for field in EXTRA_FIELDS
    }


def ui_field_behaviour() -> dict[str, Any]:
    """``ui-field-behaviour``: hidden fields, relabelling and placeholders, for both UIs."""
    placeholders = {field.name: field.placeholder for field in STANDARD_FIELDS}
    placeholders.update({f.name: f.placeholder for f in EXTRA_FIELDS if f.placeholder})
    return {
        "hidden-fields": list(HIDDEN_FIELDS),
        "relabeling": dict(STANDARD_LABELS),
        "placeholders": placeholders,
    }


def extra_value(extra: Mapping[str, Any], name: str) -> Any:
    """A raw extra; values saved by the Airflow 2 form may carry the old ``extra__wdt__`` prefix."""
    value = extra.get(name)
    if value is None or value == "":
        value = extra.get(f"extra__wdt__{name}")
    return None if value == "" else value


def appkey(conn_id: str, schema: str | None, extra: Mapping[str, Any]) -> str | None:
    """The appkey: the Schema field, or the extra ``appkey`` of a connection made for an earlier version.

    Either alone is used; both set and equal is fine. Both set and different is an error naming both
    fields: nothing tells which one is stale, and a wrong guess fails later as an authentication error.
    """
    in_schema = (schema or "").strip()
    raw = extra_value(extra, APPKEY_EXTRA)
    in_extra = str(raw).strip() if raw is not None else ""
    if in_schema and in_extra and in_schema != in_extra:
        raise WdtConfigError(
            f"Connection {conn_id!r} has two different appkeys: {APPKEY_FIELD} holds {in_schema!r} and "
            f"the extra {APPKEY_EXTRA!r} holds {in_extra!r}. Keep the right one in {APPKEY_FIELD} and "
            f"remove the extra {APPKEY_EXTRA!r} (where earlier versions kept it)."
        )
    return in_schema or in_extra or None


def parse_extras(
    conn_id: str, extra: Mapping[str, Any], overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Every extra with a default, typed and checked; ``overrides`` (hook arguments) win over the extra."""
    values: dict[str, Any] = {}
    for name in EXTRA_DEFAULTS:
        raw = (overrides or {}).get(name)
        if raw is None:
            raw = extra_value(extra, name)
        values[name] = EXTRA_FIELDS_BY_NAME[name].parse(conn_id, raw)
    return values


#: Column titles of the README tables, per README language.
_TABLE_HEADERS = {
    "en": "| Airflow field | form label | WDT name | value |",
    "zh": "| Airflow 字段 | 表单标签 | 旺店通名称 | 说明 |",
}


def markdown_table(lang: str = "en") -> str:
    """The README's connection table (``lang="zh"``: README.zh-CN's, descriptions in Chinese)."""
    zh = lang == "zh"
    rows = [_TABLE_HEADERS[lang], "| --- | --- | --- | --- |"]
    rows.append(f"| Connection Type | {HOOK_NAME} | | `{CONN_TYPE}` |")
    wdt_names = {"login": "卖家账号 **sid**", "password": "**appsecret**", "schema": "接口账号 **appkey**"}
    for std in STANDARD_FIELDS:
        wdt = wdt_names.get(std.name, "")
        text = std.description_zh if zh else std.description
        rows.append(f"| {std.name.capitalize()} | {std.label} | {wdt} | {text} |")
    for field in EXTRA_FIELDS:
        text = field.form_description_zh if zh else field.form_description
        rows.append(f"| Extra `{field.name}` | {field.label} | | {text} |")
    return "\n".join(rows)


if __name__ == "__main__":
    import sys

    print(markdown_table("zh" if "--zh" in sys.argv[1:] else "en"))
