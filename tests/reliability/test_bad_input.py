"""Bad configuration and bad input, on every surface: each gives a clear, typed error, before any request
where that is possible at all (a wrong host or port can only be found by trying to connect).

Every row asserts: the error class, words of its message that name the problem, how many requests
reached the simulator (0 for everything found locally), and that the error text carries no secret.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_wdt import errors
from airflow_provider_wdt.operators.wdt import WdtPendingSyncIdsOperator
from airflow_provider_wdt.sensors.wdt import WdtPendingSyncSensor
from airflow_provider_wdt.simulator import WdtSimulator
from airflow_provider_wdt.triggers.wdt import WdtPendingSyncTrigger
from tests.conftest import fails_without_retry, set_connection, typed
from tests.helpers import RecordingTI, changed_connection, fast_connection, free_port
from tests.reliability.environment import SALT, SECRET
from tests.reliability.runners import TriggerFailed, first_event, render_fields, run_operation
from tests.reliability.secrets_scan import exception_texts, find_secrets

pytestmark = pytest.mark.reliability

SURFACES = ("hook", "op_xcom", "sensor_poke", "trigger")


# (row id, connection changes, error class, needles)
CONFIG_ROWS: list[tuple[str, dict[str, Any], type[errors.WdtError], tuple[str, ...]]] = [
    (
        "appsecret without colon",
        {"password": SECRET},
        errors.WdtConfigError,
        ("no colon", "Password"),
    ),
    ("appsecret empty secret", {"password": ":" + SALT}, errors.WdtConfigError, ("secret (before",)),
    ("appsecret empty salt", {"password": SECRET + ":"}, errors.WdtConfigError, ("salt (after",)),
    ("appsecret only colon", {"password": ":"}, errors.WdtConfigError, ("is empty",)),
    ("appsecret missing", {"password": None}, errors.WdtConfigError, ("no appsecret", "Password")),
    ("sid missing", {"login": ""}, errors.WdtConfigError, ("no sid", "Login")),
    ("sid blank", {"login": "   "}, errors.WdtConfigError, ("no sid",)),
    ("appkey missing", {"schema": None}, errors.WdtConfigError, ("no appkey", "Schema")),
    ("appkey empty", {"schema": ""}, errors.WdtConfigError, ("no appkey",)),
    (
        "appkey in Schema and extra, different",
        {"extra_appkey": "other_key"},
        errors.WdtConfigError,
        ("two different appkeys", "Schema field", "extra 'appkey'"),
    ),
    ("connection of another type", {"conn_type": "http"}, errors.WdtConfigError, ("type 'http'", "'wdt'")),
    ("host not http(s)", {"host": "ftp://127.0.0.1/openapi"}, errors.WdtConfigError, ("not an http(s) URL",)),
    ("host port out of range", {"host": "http://127.0.0.1:99999/openapi"}, errors.WdtConfigError, ("port",)),
    ("timeout zero", {"extra_timeout": 0}, errors.WdtConfigError, ("'timeout'", "> 0")),
    ("retry_wait not a number", {"extra_retry_wait": "soon"}, errors.WdtConfigError, ("'retry_wait'",)),
    (
        "rate_limit_wait negative",
        {"extra_rate_limit_wait": -1},
        errors.WdtConfigError,
        ("'rate_limit_wait'",),
    ),
    ("max_retries negative", {"extra_max_retries": -2}, errors.WdtConfigError, ("'max_retries'",)),
    ("multi_seller not a bool", {"extra_multi_seller": "maybe"}, errors.WdtConfigError, ("'multi_seller'",)),
    ("test_timeout negative", {"extra_test_timeout": -1}, errors.WdtConfigError, ("'test_timeout'", "> 0")),
    (
        "calls_per_minute zero",
        {"extra_calls_per_minute": 0},
        errors.WdtConfigError,
        ("'calls_per_minute'", ">= 1"),
    ),
    ("max_concurrency 2.5", {"extra_max_concurrency": "2.5"}, errors.WdtConfigError, ("'max_concurrency'",)),
]


def run_surface(surface: str, conn_id: str) -> tuple[BaseException | None, dict[str, Any] | None]:
    """Run one surface; returns (exception, trigger event)."""
    outcome = run_operation(surface, conn_id, trigger_seconds=1.0, poll_interval=0.05)
    return outcome.error, outcome.event


def error_text(exc: BaseException | None, event: dict[str, Any] | None) -> tuple[str, str]:
    """(error type name, message) from an exception or a trigger's event."""
    if isinstance(exc, TriggerFailed):
        return str(exc.event.get("error_type")), str(exc.event.get("message"))
    assert exc is not None, f"no error (event {event})"
    return type(exc).__name__, str(exc)


CONFIG_PARAMS = [pytest.param(*row, id=row[0]) for row in CONFIG_ROWS] + [
    pytest.param(
        "max_retries not an integer",
        {"extra_max_retries": 1.5},
        errors.WdtConfigError,
        ("'max_retries'",),
        id="max_retries not an integer",
    )
]


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize(("row", "changes", "cls", "needles"), CONFIG_PARAMS)
def test_bad_connection_is_a_clear_error_before_any_request(
    rsim: WdtSimulator, monkeypatch, matrix_row, surface, row, changes, cls, needles
) -> None:
    if surface == "trigger" and row.startswith("max_retries"):
        pytest.skip("the trigger passes its own max_retries (0): the extra is not used there")
    rsim.add_pending(5)
    set_connection(
        monkeypatch, "wdt_bad", changed_connection(fast_connection(rsim, max_retries=1), **changes)
    )
    exc, event = run_surface(surface, "wdt_bad")
    name, message = error_text(exc, event)
    matrix_row(table="config", row=row, operation=surface, result=name, requests=rsim.request_count)
    assert name == cls.__name__, message
    if event is not None:
        assert event["status"] == "error"  # at once, not a timeout after polling
    for needle in needles:
        assert needle in message, f"{needle!r} not in {message!r}"
    assert rsim.request_count == 0
    assert find_secrets([message, *exception_texts(exc)]) == []  # type: ignore[arg-type]


def test_missing_connection_is_reported_before_any_request(rsim: WdtSimulator, matrix_row) -> None:
    for surface in SURFACES:
        exc, event = run_surface(surface, "wdt_no_such_connection")
        name, message = error_text(exc, event)
        matrix_row(
            table="config", row="connection id not defined", operation=surface, result=name, requests=0
        )
        assert "wdt_no_such_connection" in message and "defined" in message, message
    assert rsim.request_count == 0


# -- endpoints that can only be found wrong by connecting ----------------------------------------------------


def _network_rows(
    sim: WdtSimulator,
) -> dict[str, tuple[dict[str, Any], type[errors.WdtError], tuple[str, ...], int]]:
    port = free_port()
    return {
        # (connection changes, error class, needles, requests the simulator sees)
        "unknown host": (
            {"host": "http://wdt-reliability.invalid/openapi"},
            errors.WdtTransportError,
            ("could not reach", "wdt-reliability.invalid", "resolve"),
            0,
        ),
        "wrong port": (
            {"host": f"http://127.0.0.1:{port}/openapi"},
            errors.WdtTransportError,
            ("could not reach", f":{port}", "Connection refused"),
            0,
        ),
        "wrong port in the port field": (
            {"host": "http://127.0.0.1/openapi", "port": port},
            errors.WdtTransportError,
            ("could not reach", f":{port}", "Connection refused"),
            0,
        ),
        "wrong path": (
            {"host": f"http://127.0.0.1:{sim.port}/api/v2"},
            errors.WdtEndpointError,
            ("HTTP 404", "/openapi"),
            1,
        ),
        "https to an http server": (
            {"host": sim.url.replace("http://", "https://")},
            errors.WdtTlsError,
            ("TLS", "https://"),
            0,
        ),
    }


NETWORK_ROWS = (
    "unknown host",
    "wrong port",
    "wrong port in the port field",
    "wrong path",
    "https to an http server",
)


@pytest.mark.parametrize("surface", ("hook", "op_xcom", "sensor_poke"))
@pytest.mark.parametrize("row", NETWORK_ROWS)
def test_unreachable_endpoint_names_the_cause(
    rsim: WdtSimulator, monkeypatch, matrix_row, surface, row
) -> None:
    changes, cls, needles, requests = _network_rows(rsim)[row]
    set_connection(
        monkeypatch, "wdt_net", changed_connection(fast_connection(rsim, max_retries=1), **changes)
    )
    exc, event = run_surface(surface, "wdt_net")
    name, message = error_text(exc, event)
    matrix_row(table="network", row=row, operation=surface, result=name, requests=rsim.request_count)
    assert isinstance(exc, cls), message
    for needle in needles:
        assert needle in message, f"{needle!r} not in {message!r}"
    if cls.retryable:
        assert "gave up after 2 attempts" in message  # max_retries=1 in these connections
    assert rsim.request_count == requests
    assert find_secrets(exception_texts(exc)) == []


@pytest.mark.parametrize(
    "row",
    [
        "unknown host",
        "wrong port",
        "wrong path",
        "https to an http server",
    ],
)
def test_trigger_on_unreachable_endpoint_names_the_cause(
    rsim: WdtSimulator, monkeypatch, matrix_row, row
) -> None:
    """Non-retryable endpoint errors end the trigger at once; retryable ones make it poll until the
    timeout, whose message must then still say what went wrong."""
    changes, cls, needles, _ = _network_rows(rsim)[row]
    set_connection(
        monkeypatch, "wdt_net", changed_connection(fast_connection(rsim, max_retries=1), **changes)
    )
    exc, event = run_surface("trigger", "wdt_net")
    name, message = error_text(exc, event)
    matrix_row(table="network", row=row, operation="trigger", result=name, requests=rsim.request_count)
    assert event is not None
    assert event["status"] == ("timeout" if cls.retryable else "error"), event
    if not cls.retryable:
        assert name == cls.__name__
    for needle in needles:
        assert needle in message, f"{needle!r} not in {message!r}"


# -- operator, sensor and trigger arguments ----------------------------------------------------------------

BAD_COUNTS = [0, 9, 5001, -10, "abc", "", 10.5, True, None]
BAD_POSITIONS = [-1, "-1", "abc", 1.5, True]


@pytest.mark.parametrize("count", BAD_COUNTS, ids=repr)
def test_bad_count_fails_at_construction(count: Any) -> None:
    with pytest.raises(errors.WdtConfigError, match=r"count must be an integer from 10 to 5000"):
        WdtPendingSyncIdsOperator(task_id="t", count=count)


@pytest.mark.parametrize("position", BAD_POSITIONS, ids=repr)
def test_bad_start_position_fails_at_construction(position: Any) -> None:
    with pytest.raises(errors.WdtConfigError, match=r"start_position must be a non-negative integer"):
        WdtPendingSyncIdsOperator(task_id="t", start_position=position)


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"max_ids": 0}, "max_ids"),
        ({"max_ids": "5"}, "max_ids"),
        ({"max_pages": -1}, "max_pages"),
        ({"max_xcom_ids": 0}, "max_xcom_ids"),
        ({"output_format": "xml", "output_path": "/tmp/x.json"}, "output_format"),
        ({"output_path": "/tmp/ids.parquet"}, "output format"),
        ({"output_format": "json"}, "output_path"),
    ],
    ids=lambda v: repr(v) if isinstance(v, dict) else v,
)
def test_bad_operator_argument_fails_at_construction(kwargs: dict[str, Any], needle: str) -> None:
    with pytest.raises(errors.WdtConfigError, match=needle):
        WdtPendingSyncIdsOperator(task_id="t", **kwargs)


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [("count", c, "count must be") for c in ("0", "9", "5001", "abc")]
    + [("start_position", p, "start_position must be") for p in ("-3", "abc", "1e3")],
)
def test_bad_templated_argument_fails_at_execute_before_any_request(
    rsim: WdtSimulator, field: str, value: str, needle: str
) -> None:
    rsim.add_pending(5)
    templated: dict[str, Any] = {field: "{{ params.v }}"}
    op = WdtPendingSyncIdsOperator(task_id="t", wdt_conn_id="wdt_rel", params={"v": value}, **templated)
    context: dict[str, Any] = {"ti": RecordingTI(), "params": {"v": value}}
    assert render_fields(op, context)[field] == value
    with fails_without_retry(errors.WdtConfigError, match=needle):
        op.execute(context)  # type: ignore[arg-type]
    assert rsim.request_count == 0


@pytest.mark.parametrize("position", [-1, "-5", "abc", "{{ 'x' }}"], ids=repr)
def test_bad_sensor_position_fails_at_poke_before_any_request(rsim: WdtSimulator, position: Any) -> None:
    rsim.add_pending(5)
    for deferrable in (False, True):
        sensor = WdtPendingSyncSensor(
            task_id="s", wdt_conn_id="wdt_rel", position=position, deferrable=deferrable, timeout=5
        )
        if isinstance(position, str) and "{{" in position:
            render_fields(sensor, {})
        with fails_without_retry(errors.WdtConfigError, match="position must be a non-negative integer"):
            sensor.execute({})  # type: ignore[arg-type]
    assert rsim.request_count == 0


def test_bad_trigger_position_is_an_error_event_at_once(rsim: WdtSimulator) -> None:
    rsim.add_pending(5)
    started = time.monotonic()
    trigger = WdtPendingSyncTrigger(
        wdt_conn_id="wdt_rel", position=-1, poll_interval=5, end_time=time.time() + 30
    )
    event = first_event(trigger, 10)
    assert event["status"] == "error" and event["error_type"] == "WdtConfigError", event
    assert "position must be a non-negative integer" in event["message"]
    assert time.monotonic() - started < 5 and rsim.request_count == 0


# -- output paths ------------------------------------------------------------------------------------------


def _output_rows(tmp_path: Path) -> dict[str, str]:
    afile = tmp_path / "afile"
    afile.write_text("x")
    (tmp_path / "adir.json").mkdir()
    return {
        "parent is a file": str(afile / "ids.json"),
        "grandparent is a file": str(afile / "sub" / "ids.json"),
        "target is a directory": str(tmp_path / "adir.json"),
        "unwritable place (/proc)": "/proc/wdt-reliability/ids.json",
    }


@pytest.mark.parametrize(
    "row",
    ["parent is a file", "grandparent is a file", "target is a directory", "unwritable place (/proc)"],
)
def test_unwritable_output_path_is_a_clear_error_before_any_request(
    rsim: WdtSimulator, tmp_path: Path, matrix_row, row: str
) -> None:
    rsim.add_pending(25)
    path = _output_rows(tmp_path)[row]
    op = WdtPendingSyncIdsOperator(task_id="t", wdt_conn_id="wdt_rel", count=10, output_path=path)
    with fails_without_retry(errors.WdtConfigError) as info:
        op.execute({"ti": RecordingTI()})  # type: ignore[arg-type, typeddict-item]
    error = typed(info)
    matrix_row(table="output", row=row, result=type(error).__name__, requests=rsim.request_count)
    assert rsim.request_count == 0, "the pull ran although its output could never be written"
    assert path in str(error) and ".tmp" not in str(info.value), str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir.json", "afile"]  # nothing left behind


@pytest.mark.parametrize("url", ["foo://bucket/ids.json", "s3://no-provider-installed/ids.json"])
def test_unknown_object_storage_scheme_fails_before_any_request(
    rsim: WdtSimulator, matrix_row, url: str
) -> None:
    rsim.add_pending(25)
    op = WdtPendingSyncIdsOperator(task_id="t", wdt_conn_id="wdt_rel", count=10, output_path=url)
    with fails_without_retry(errors.WdtConfigError) as info:
        op.execute({"ti": RecordingTI()})  # type: ignore[arg-type, typeddict-item]
    error = typed(info)
    matrix_row(table="output", row=f"scheme {url.split(':')[0]}://", result=type(error).__name__, requests=0)
    scheme = url.split(":", 1)[0]
    assert f"{scheme}://" in str(error) and "output_path" in str(error), str(error)
    assert rsim.request_count == 0
