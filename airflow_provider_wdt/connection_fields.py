"""The ``wdt`` connection's fields, defined once.

Everything else derives from :data:`EXTRA_FIELDS` and :data:`STANDARD_FIELDS`: the Airflow 3 form
(``conn-fields`` in ``get_provider_info``), the Airflow 2.11 form widgets and ``ui-field-behaviour``, the
hook's parsing of the extras, the client's default settings and the README's table (a test compares
it with :func:`markdown_table`). No Airflow import: the client and the protocol use it too.

Run ``python -m airflow_provider_wdt.connection_fields`` to print the README table.
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
    required: bool = False
    placeholder: str | None = None

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
    def default_text(self) -> str:
        if self.default is None:
            return "required" if self.required else "unset"
        if isinstance(self.default, bool):
            return str(self.default).lower()
        return f"{self.default:g}" if isinstance(self.default, float) else str(self.default)

    @property
    def form_description(self) -> str:
        """The description under the field in both UIs, with its default and range appended."""
        notes = ["required"] if self.required else []
        if self.default is not None:
            notes.append(f"default {self.default_text}")
        if self.bound_text:
            notes.append(self.bound_text)
        return f"{self.description} ({'; '.join(notes)})." if notes else f"{self.description}."

    def json_schema(self) -> dict[str, Any]:
        """The field's schema for Airflow 3's form: a type without ``null`` makes the form require it."""
        schema: dict[str, Any] = {"type": self.kind if self.required else [self.kind, "null"]}
        if self.default is not None:
            schema["default"] = self.default
        if self.minimum is not None:
            key = "exclusiveMinimum" if self.exclusive else "minimum"
            schema[key] = int(self.minimum) if self.kind == "integer" else self.minimum
        if self.required and self.kind == "string":
            schema["minLength"] = 1
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
        "appkey",
        "App key (接口账号 appkey)",
        "string",
        "The appkey WDT assigned to your app",
        required=True,
        placeholder="appkey assigned by WDT",
    ),
    ExtraField(
        "timeout",
        "Timeout per request, seconds",
        "number",
        "Seconds to wait for one answer before retrying",
        default=30.0,
        minimum=0,
        exclusive=True,
    ),
    ExtraField(
        "test_timeout",
        "Timeout of the Test button, seconds",
        "number",
        "Test connection makes one attempt, no retries, and waits at most this long",
        default=10.0,
        minimum=0,
        exclusive=True,
    ),
    ExtraField(
        "max_retries",
        "Max retries",
        "integer",
        "Retries for network errors, timeouts, HTTP 5xx, rate limits and database errors",
        default=3,
        minimum=0,
    ),
    ExtraField(
        "retry_wait",
        "Retry backoff base, seconds",
        "number",
        "First backoff wait, doubled on each retry",
        default=1.0,
        minimum=0,
    ),
    ExtraField(
        "rate_limit_wait",
        "Wait after rate limit, seconds",
        "number",
        "Seconds to wait after a per-minute limit answer; WDT advises 5-10 minutes",
        default=60.0,
        minimum=0,
    ),
    ExtraField(
        "calls_per_minute",
        "Max calls per minute (client-side limit)",
        "integer",
        "Never send more than this many calls in any 60 s window for this seller from this host's "
        "processes together, wait instead; empty means no client-side limit",
        minimum=1,
    ),
    ExtraField(
        "rate_window",
        "Limit window, seconds",
        "number",
        "The window calls_per_minute counts in; keep 60 for WDT, shorten only to match a simulator's "
        "--rate-window in tests",
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
    ),
    ExtraField(
        "ledger_dir",
        "Call ledger directory (shared limits)",
        "string",
        "Where the processes of one host record this seller's calls, so calls_per_minute and "
        "max_concurrency hold across all of them (pull, sync, sensors, retries); empty means "
        "airflow-provider-wdt-ledger in the system temp directory",
        placeholder="/tmp/airflow-provider-wdt-ledger",
    ),
    ExtraField(
        "share_across_hosts",
        "Hand calls over between hosts (Airflow Variable)",
        "boolean",
        "Workers on several hosts: each task stores this seller's calls of the last minute in an Airflow "
        "Variable (wdt_calls_...) every 5 s and at its end, and the next task, on any host, counts them "
        "before its first call; for tasks that run one after the other",
        default=False,
    ),
    ExtraField(
        "multi_seller",
        "Multi-seller process (send Connection: close)",
        "boolean",
        "Do not keep connections alive, as WDT advises for a process serving several sellers",
        default=False,
    ),
)

STANDARD_FIELDS: tuple[StandardField, ...] = (
    StandardField(
        "host",
        "Endpoint URL",
        f"{PRODUCTION_ENDPOINT} (empty = production)",
        f"empty = production (正式环境) {PRODUCTION_ENDPOINT}; the test environment (测试环境) is "
        f"{TEST_ENDPOINT}; a base URL without /openapi is accepted; http or https",
    ),
    StandardField(
        "login",
        "Seller account (卖家账号 sid)",
        "sid assigned by WDT",
        "the seller account WDT assigned",
    ),
    StandardField(
        "password",
        "App secret (appsecret, secret:salt)",
        "secret:salt",
        "secret:salt exactly as WDT issued it; only the salt is sent, the secret only signs",
    ),
    StandardField(
        "port",
        "Port (fill in for the UI's Test button)",
        "80 for http://, 443 for https://",
        "used when Host names no port; Airflow 3's Test button refuses a connection stored without one",
    ),
)

#: Airflow fields the form hides.
HIDDEN_FIELDS = ("schema",)

EXTRA_FIELDS_BY_NAME: dict[str, ExtraField] = {field.name: field for field in EXTRA_FIELDS}
STANDARD_LABELS: dict[str, str] = {field.name: field.label for field in STANDARD_FIELDS}
#: Defaults of the extras that have one (what the client uses when the connection leaves them out).
EXTRA_DEFAULTS: dict[str, Any] = {field.name: field.default for field in EXTRA_FIELDS if not field.required}


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


def markdown_table() -> str:
    """The README's connection table."""
    rows = ["| Airflow field | form label | WDT name | value |", "| --- | --- | --- | --- |"]
    rows.append(f"| Connection Type | {HOOK_NAME} | | `{CONN_TYPE}` |")
    wdt_names = {"login": "卖家账号 **sid**", "password": "**appsecret**", "appkey": "接口账号 **appkey**"}
    for std in STANDARD_FIELDS:
        wdt = wdt_names.get(std.name, "")
        rows.append(f"| {std.name.capitalize()} | {std.label} | {wdt} | {std.description} |")
    for field in EXTRA_FIELDS:
        wdt = wdt_names.get(field.name, "")
        rows.append(f"| Extra `{field.name}` | {field.label} | {wdt} | {field.form_description} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())
