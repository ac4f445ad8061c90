"""WdtPendingSyncSensor against the simulator over real HTTP: poke, poke/reschedule modes, deferral."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import pytest

from airflow_provider_wdt import errors
from airflow_provider_wdt._compat import (
    AIRFLOW_V_3,
    AirflowException,
    AirflowSensorTimeout,
    AirflowSkipException,
    PokeReturnValue,
    TaskDeferred,
)
from airflow_provider_wdt.errors import WdtAuthError, WdtConfigError, WdtServerError
from airflow_provider_wdt.sensors.wdt import WdtPendingSyncSensor
from airflow_provider_wdt.simulator import WdtSimulator
from airflow_provider_wdt.triggers.wdt import WdtPendingSyncTrigger
from tests.conftest import fails_without_retry, set_connection
from tests.sensors.conftest import AddLater

PENDING = "sales.StockSync.getSelfWaitSyncIdListOpen"


def sensor(**kwargs: Any) -> WdtPendingSyncSensor:
    kwargs.setdefault("task_id", "wait_for_pending")
    kwargs.setdefault("poke_interval", 0.05)
    kwargs.setdefault("timeout", 10)
    return WdtPendingSyncSensor(**kwargs)


def xcom(result: Any) -> dict[str, Any]:
    """The XCom of a poke that found something."""
    assert isinstance(result, PokeReturnValue) and result.is_done
    assert isinstance(result.xcom_value, dict)
    return result.xcom_value


def first_page(sim: WdtSimulator, count: int) -> list[int]:
    return sim.pending_ids()[:count]


def reschedule_context() -> Any:
    """What BaseSensorOperator reads from the context in reschedule mode (2.11: TI fields, 3: a method)."""
    ti = SimpleNamespace(
        dag_id="d", task_id="wait_for_pending", run_id="r", map_index=-1, max_tries=0, try_number=1
    )
    ti.get_first_reschedule_date = lambda context: None
    return {"ti": ti}


# -- construction --------------------------------------------------------------------------------------


def test_constructor_does_no_io(fast_sim: WdtSimulator) -> None:
    s = sensor(wdt_conn_id="no_such_connection", position="{{ params.start }}")
    assert fast_sim.request_count == 0
    assert set(WdtPendingSyncSensor.template_fields) >= {"wdt_conn_id", "position"}
    assert s.position == "{{ params.start }}"


@pytest.mark.parametrize(("setting", "expected"), [("True", True), ("False", False)])
def test_deferrable_default_comes_from_config(
    monkeypatch: pytest.MonkeyPatch, setting: str, expected: bool
) -> None:
    monkeypatch.setenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", setting)
    assert sensor().deferrable is expected
    assert sensor(deferrable=not expected).deferrable is not expected


# -- poke ----------------------------------------------------------------------------------------------


def test_poke_is_false_on_empty_list_then_true_with_what_it_saw(fast_sim: WdtSimulator) -> None:
    s = sensor()
    assert not s.poke({})
    assert [r.method for r in fast_sim.request_log] == [PENDING]  # exactly one request per poke

    fast_sim.add_pending(25)
    seen = xcom(s.poke({}))
    assert set(seen) == {"rec_ids", "position", "count"}
    # The smallest page (10): at most 10 ids, the first ones the platform serves.
    assert 1 <= seen["count"] <= 10
    assert seen["rec_ids"] == first_page(fast_sim, seen["count"])
    assert isinstance(seen["position"], int)
    assert fast_sim.request_count == 2


def test_position_is_templated_and_probes_from_there(fast_sim: WdtSimulator) -> None:
    fast_sim.add_pending(25)
    first = xcom(sensor().poke({}))
    s = sensor(position="{{ params.start }}")
    s.render_template_fields({"params": {"start": first["position"]}})
    seen = xcom(s.poke({}))
    assert not set(seen["rec_ids"]) & set(first["rec_ids"])
    assert seen["rec_ids"] == fast_sim.pending_ids()[first["count"] : first["count"] + seen["count"]]


def test_bad_position_fails_before_any_request(fast_sim: WdtSimulator) -> None:
    with pytest.raises(WdtConfigError, match="position"):
        sensor(position="abc").poke({})
    assert fast_sim.request_count == 0


def test_transient_errors_during_a_poke_are_retried_by_the_hook(fast_sim: WdtSimulator) -> None:
    fast_sim.add_pending(3)
    fast_sim.faults.http_error(1, status=503)
    fast_sim.faults.drop(1)
    assert sensor().poke({})
    assert fast_sim.request_count == 3


def test_persistent_errors_fail_the_task_with_the_typed_error(fast_sim: WdtSimulator) -> None:
    fast_sim.faults.http_error(10, status=502)
    with pytest.raises(WdtServerError, match="gave up"):
        sensor().execute({})
    assert fast_sim.request_count == 4  # the connection's default max_retries=3


def test_auth_failure_is_not_retried(fast_sim: WdtSimulator, wrong_secret_conn: str) -> None:
    # Ends the task without retries; soft_fail skips timeouts, not this.
    with fails_without_retry(WdtAuthError, match="验证失败"):
        sensor(wdt_conn_id=wrong_secret_conn, soft_fail=True).execute({})
    assert fast_sim.request_count == 1


# -- BaseSensorOperator behaviour ------------------------------------------------------------------------


def test_poke_mode_waits_until_ids_appear(fast_sim: WdtSimulator, add_after_first_poll: AddLater) -> None:
    added = add_after_first_poll(4, delay=0.2)
    seen = sensor(mode="poke").execute({})
    assert sorted(seen["rec_ids"]) == sorted(added)
    assert seen["count"] == 4
    assert fast_sim.request_count >= 2
    # Each poke closes its session: no idle keep-alive socket is held for poke_interval.
    connections = [r.connection_id for r in fast_sim.request_log]
    assert len(set(connections)) == len(connections)


def test_poke_mode_timeout(fast_sim: WdtSimulator) -> None:
    with pytest.raises(AirflowSensorTimeout):
        sensor(timeout=0.2).execute({})
    with pytest.raises(AirflowSkipException):
        sensor(timeout=0.2, soft_fail=True).execute({})


def test_exponential_backoff(fast_sim: WdtSimulator, add_after_first_poll: AddLater) -> None:
    added = add_after_first_poll(2, delay=0.3)
    s = sensor(exponential_backoff=True, max_wait=timedelta(seconds=0.1))
    seen = s.execute({})
    assert sorted(seen["rec_ids"]) == sorted(added)


def test_reschedule_mode(request: pytest.FixtureRequest, fast_sim: WdtSimulator) -> None:
    if not AIRFLOW_V_3:
        request.getfixturevalue("airflow_db")  # 2.11 looks up the first reschedule date in the DB
    s = sensor(mode="reschedule", poke_interval=30)
    before = datetime.now(timezone.utc)
    with pytest.raises(Exception) as excinfo:
        s.execute(reschedule_context())
    assert type(excinfo.value).__name__ == "AirflowRescheduleException"
    reschedule_date = excinfo.value.reschedule_date  # type: ignore[attr-defined]
    assert before + timedelta(seconds=29) <= reschedule_date <= before + timedelta(seconds=40)

    fast_sim.add_pending(2)
    assert s.execute(reschedule_context())["count"] == 2


@pytest.mark.skipif(not AIRFLOW_V_3, reason="Airflow 2.11 reads the first reschedule date from the DB only")
def test_reschedule_mode_timeout(fast_sim: WdtSimulator) -> None:
    context = reschedule_context()
    long_ago = datetime.now(timezone.utc) - timedelta(hours=1)
    context["ti"].get_first_reschedule_date = lambda context: long_ago
    with pytest.raises(AirflowSensorTimeout):
        sensor(mode="reschedule", timeout=60).execute(context)
    with pytest.raises(AirflowSkipException):
        sensor(mode="reschedule", timeout=60, soft_fail=True).execute(context)


# -- deferrable ----------------------------------------------------------------------------------------


def test_deferrable_defers_after_one_empty_poke(fast_sim: WdtSimulator) -> None:
    s = sensor(deferrable=True, poke_interval=7, timeout=300, position="{{ params.start }}")
    s.render_template_fields({"params": {"start": "12"}})
    before = time.time()
    with pytest.raises(TaskDeferred) as excinfo:
        s.execute({})
    deferred = excinfo.value
    assert fast_sim.request_count == 1
    assert deferred.method_name == "execute_complete"
    assert deferred.timeout == timedelta(seconds=300)
    trigger = deferred.trigger
    assert isinstance(trigger, WdtPendingSyncTrigger)
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_wdt.triggers.wdt.WdtPendingSyncTrigger"
    assert kwargs["wdt_conn_id"] == "wdt_default"
    assert kwargs["position"] == 12  # the rendered template, as an int
    assert kwargs["poll_interval"] == 7
    assert before + 300 <= kwargs["end_time"] <= time.time() + 300


def test_deferrable_returns_at_once_when_ids_are_there(fast_sim: WdtSimulator) -> None:
    fast_sim.add_pending(3)
    seen = sensor(deferrable=True).execute({})
    assert seen["count"] == 3
    assert fast_sim.request_count == 1


def test_deferrable_first_poke_errors(fast_sim: WdtSimulator, wrong_secret_conn: str) -> None:
    with fails_without_retry(WdtAuthError):
        sensor(deferrable=True, wdt_conn_id=wrong_secret_conn, soft_fail=True).execute({})
    with pytest.raises(AirflowSkipException):
        sensor(deferrable=True, wdt_conn_id=wrong_secret_conn, never_fail=True).execute({})
    with pytest.raises(TaskDeferred):
        sensor(deferrable=True, wdt_conn_id=wrong_secret_conn, silent_fail=True).execute({})


def test_deferred_path_gives_the_same_xcom_as_a_poke(
    fast_sim: WdtSimulator, add_after_first_poll: AddLater
) -> None:
    s = sensor(deferrable=True, poke_interval=0.05)
    added = add_after_first_poll(5, delay=0.2)
    with pytest.raises(TaskDeferred) as excinfo:
        s.execute({})

    async def first_event() -> Any:
        async for event in excinfo.value.trigger.run():
            return event

    event = asyncio.run(first_event())
    seen = s.resume_execution("execute_complete", {"event": event.payload}, {})
    assert sorted(seen["rec_ids"]) == sorted(added)
    assert seen == xcom(sensor().poke({}))


@pytest.mark.parametrize("soft_fail", [False, True])
def test_a_config_or_auth_error_from_the_trigger_ends_the_task_without_retries(soft_fail: bool) -> None:
    """What the task runner calls after the triggerer: not retried, and soft_fail does not skip it."""
    s = sensor(deferrable=True, soft_fail=soft_fail)
    for error_type in ("WdtAuthError", "WdtConfigError"):
        event = {"status": "error", "error_type": error_type, "message": "check the appsecret"}
        with fails_without_retry(getattr(errors, error_type), match=f"{error_type}: check the appsecret"):
            s.resume_execution("execute_complete", {"event": event}, {})
    # A retryable error stays itself: the task's retries apply (and soft_fail does not skip it either).
    event = {"status": "error", "error_type": "WdtServerError", "message": "gave up"}
    with pytest.raises(errors.WdtServerError):
        s.resume_execution("execute_complete", {"event": event}, {})


def test_execute_complete_errors() -> None:
    s = sensor(deferrable=True)
    with pytest.raises(WdtAuthError, match="验证失败"):
        s.execute_complete({}, {"status": "error", "error_type": "WdtAuthError", "message": "验证失败"})
    with pytest.raises(AirflowException, match="AirflowNotFoundException: no conn"):
        s.execute_complete(
            {}, {"status": "error", "error_type": "AirflowNotFoundException", "message": "no conn"}
        )
    with pytest.raises(AirflowException, match="without an event"):
        s.execute_complete({}, None)
    timeout = {"status": "timeout", "error_type": "timeout", "message": "Sensor has timed out: nothing"}
    with pytest.raises(AirflowSensorTimeout, match="nothing"):
        s.execute_complete({}, timeout)


def test_deferred_timeout_with_soft_fail_is_a_skip() -> None:
    timeout = {"status": "timeout", "error_type": "timeout", "message": "Sensor has timed out: nothing"}
    with pytest.raises(AirflowSkipException):
        sensor(deferrable=True, soft_fail=True).resume_execution("execute_complete", {"event": timeout}, {})


@pytest.mark.parametrize("missing", ["rec_ids", "position", "count"])
def test_malformed_trigger_event_is_a_clear_error(missing: str) -> None:
    event = {"status": "success", "rec_ids": [1], "position": 5, "count": 1}
    del event[missing]
    with pytest.raises(AirflowException, match=f"trigger event lacks {missing}"):
        sensor(deferrable=True).execute_complete({}, event)


def test_deferral_hands_the_sensors_connection_to_the_trigger(fast_sim: WdtSimulator, monkeypatch) -> None:
    set_connection(monkeypatch, "wdt_other_seller", fast_sim.connection())
    with pytest.raises(TaskDeferred) as excinfo:
        sensor(wdt_conn_id="wdt_other_seller", deferrable=True).execute({})
    assert excinfo.value.trigger.serialize()[1]["wdt_conn_id"] == "wdt_other_seller"
