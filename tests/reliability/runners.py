"""The operations of the reliability suite and the soak: each user-visible way to read the pending list (the
hook's full pull, the operator to XCom / to a local file / to object storage, one sensor poke, the
deferrable sensor, one trigger run), run in-process against a connection id, giving an :class:`Outcome`."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.helpers import RecordingTI, read_ids
from tests.reliability.secrets_scan import exception_texts


@dataclass
class Outcome:
    """What one operation did. ``ids`` on success; ``error`` an exception (or, for a trigger, a
    RuntimeError carrying the error event) on failure. ``texts`` collects every user-visible string it
    produced (XComs, events, rendered fields, error texts) for the secret scan."""

    ids: list[int] | None = None
    error: BaseException | None = None
    event: dict[str, Any] | None = None
    xcoms: dict[str, Any] = field(default_factory=dict)
    texts: list[str] = field(default_factory=list)
    output: str | None = None


class TriggerFailed(Exception):
    """A trigger ended with an error or timeout event (stands in for the sensor failing on it)."""

    def __init__(self, event: dict[str, Any]) -> None:
        super().__init__(event.get("message"))
        self.event = event


OP_KINDS = (
    "hook",
    "op_xcom",
    "op_json",
    "op_ndjson",
    "op_csv",
    "op_memory",
    "sensor_poke",
    "sensor_deferred",
    "trigger",
)
FILE_SUFFIX = {"op_json": "json", "op_ndjson": "ndjson", "op_csv": "csv", "op_memory": "json"}
#: Operations that read the whole list (the others read one page from position 0).
FULL_PULLS = ("hook", "op_xcom", "op_json", "op_ndjson", "op_csv", "op_memory")


def run_operation(
    kind: str,
    conn_id: str,
    *,
    count: int = 10,
    out_dir: Path | None = None,
    memory_root: str | None = None,
    trigger_seconds: float = 5.0,
    poll_interval: float = 0.02,
    render: bool = False,
) -> Outcome:
    """Run one operation and return its outcome; never raises for a WdtError (the outcome carries it)."""
    outcome = Outcome()
    try:
        if kind == "hook":
            _run_hook(conn_id, count, outcome)
        elif kind.startswith("op_"):
            _run_operator(kind, conn_id, count, out_dir, memory_root, outcome, render)
        elif kind == "sensor_poke":
            _run_sensor(conn_id, outcome)
        elif kind == "sensor_deferred":
            _run_deferred_sensor(conn_id, outcome, trigger_seconds, poll_interval)
        elif kind == "trigger":
            _run_trigger(conn_id, outcome, trigger_seconds, poll_interval)
        else:
            raise ValueError(kind)
    except Exception as exc:
        outcome.error = without_no_retry_wrapper(exc)
        outcome.texts.extend(exception_texts(exc))  # the whole chain: no secret anywhere in it
    return outcome


def without_no_retry_wrapper(exc: Exception) -> BaseException:
    """The error behind the AirflowFailException with which operators and the sensor end a task on a
    configuration or authentication error (no retries; tests/operators/test_no_retry.py): the matrix
    records what went wrong, as the hook raised it."""
    from airflow_provider_wdt._compat import AirflowFailException

    if isinstance(exc, AirflowFailException) and exc.__cause__ is not None:
        return exc.__cause__
    return exc


def _run_hook(conn_id: str, count: int, outcome: Outcome) -> None:
    from airflow_provider_wdt.hooks.wdt import WdtHook

    hook = WdtHook(conn_id)
    try:
        outcome.ids = list(hook.iter_pending_sync_ids(count=count))
    finally:
        hook.close()


def _run_operator(
    kind: str,
    conn_id: str,
    count: int,
    out_dir: Path | None,
    memory_root: str | None,
    outcome: Outcome,
    render: bool,
) -> None:
    from airflow_provider_wdt.operators.wdt import WdtPendingSyncIdsOperator

    output_path: str | None = None
    fmt = FILE_SUFFIX.get(kind)
    if kind == "op_memory":
        assert memory_root is not None
        output_path = f"{memory_root}/ids.{fmt}"
    elif fmt is not None:
        assert out_dir is not None
        output_path = str(out_dir / f"ids.{fmt}")
    outcome.output = output_path
    op = WdtPendingSyncIdsOperator(
        task_id=f"pull_{kind}",
        wdt_conn_id="{{ params.conn }}" if render else conn_id,
        count=count,
        output_path=output_path,
        params={"conn": conn_id},
    )
    ti = RecordingTI()
    context: dict[str, Any] = {"ti": ti, "params": {"conn": conn_id}}
    if render:
        rendered = render_fields(op, context)
        outcome.texts.extend(f"{k}={v!r}" for k, v in rendered.items())
    result = op.execute(context)  # type: ignore[arg-type]
    outcome.xcoms = {"return_value": result, **ti.xcoms}
    outcome.texts.append(repr(outcome.xcoms))
    if output_path is None:
        assert isinstance(result, list)
        outcome.ids = list(result)
    else:
        assert result == output_path, (result, output_path)
        opener = None
        if kind == "op_memory":
            from airflow_provider_wdt._compat import object_storage_path

            def opener(url: str) -> Any:
                return object_storage_path(url).open("rb")

        assert fmt is not None
        outcome.ids = read_ids(output_path, fmt, opener)
    assert ti.xcoms.get("id_count") == len(outcome.ids), ti.xcoms


def render_fields(op: Any, context: dict[str, Any]) -> dict[str, Any]:
    """Render the operator's template fields as a task run would; returns {field: rendered value}."""
    op.render_template_fields(context)
    return {name: getattr(op, name) for name in op.template_fields}


def _run_sensor(conn_id: str, outcome: Outcome) -> None:
    from airflow_provider_wdt.sensors.wdt import WdtPendingSyncSensor

    sensor = WdtPendingSyncSensor(task_id="wait", wdt_conn_id=conn_id, poke_interval=0.01, timeout=5)
    result = sensor.poke({})  # type: ignore[arg-type]
    outcome.xcoms = {"return_value": result.xcom_value}
    outcome.texts.append(repr(result.xcom_value))
    value: Any = result.xcom_value
    outcome.ids = list(value["rec_ids"]) if result.is_done else []


def _run_deferred_sensor(conn_id: str, outcome: Outcome, seconds: float, poll_interval: float) -> None:
    """The deferrable sensor as Airflow drives it: execute (first poke, then TaskDeferred), the trigger
    until its event, then execute_complete with that event."""
    from airflow_provider_wdt._compat import TaskDeferred
    from airflow_provider_wdt.sensors.wdt import WdtPendingSyncSensor

    sensor = WdtPendingSyncSensor(
        task_id="wait_deferred",
        wdt_conn_id="{{ params.conn }}",
        deferrable=True,
        poke_interval=poll_interval,
        timeout=seconds,
        params={"conn": conn_id},
    )
    context: dict[str, Any] = {"params": {"conn": conn_id}}
    rendered = render_fields(sensor, context)
    outcome.texts.extend(f"{k}={v!r}" for k, v in rendered.items())
    try:
        result = sensor.execute(context)  # type: ignore[arg-type]
    except TaskDeferred as deferred:
        classpath, kwargs = deferred.trigger.serialize()
        outcome.texts.append(f"{classpath} {json.dumps(kwargs)} {deferred.method_name}")
        event = first_event(deferred.trigger, seconds + 30)
        outcome.event = event
        outcome.texts.append(json.dumps(event, ensure_ascii=False))
        result = getattr(sensor, deferred.method_name)(context, event)
    outcome.xcoms = {"return_value": result}
    outcome.texts.append(repr(result))
    outcome.ids = list(result["rec_ids"])


def first_event(trigger: Any, timeout: float) -> dict[str, Any]:
    """Run a trigger on a fresh event loop until its first event; bounded by ``timeout``."""

    async def run() -> dict[str, Any]:
        agen = trigger.run()
        try:
            event = await asyncio.wait_for(agen.__anext__(), timeout)
        finally:
            await agen.aclose()
        return dict(event.payload)

    return asyncio.run(run())


def _run_trigger(conn_id: str, outcome: Outcome, seconds: float, poll_interval: float) -> None:
    from airflow_provider_wdt.triggers.wdt import WdtPendingSyncTrigger

    trigger = WdtPendingSyncTrigger(
        wdt_conn_id=conn_id, poll_interval=poll_interval, end_time=time.time() + seconds
    )
    classpath, kwargs = trigger.serialize()
    outcome.texts.append(f"{classpath} {json.dumps(kwargs)}")  # must be JSON-safe, and secret-free
    event = first_event(trigger, seconds + 30)
    outcome.event = event
    outcome.texts.append(json.dumps(event, ensure_ascii=False))
    if event.get("status") != "success":
        raise TriggerFailed(event)
    outcome.ids = list(event["rec_ids"])
