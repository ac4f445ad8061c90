"""WdtPendingSyncSensor: wait until the WDT platform lists goods whose stock needs pushing to shops."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_provider_wdt import errors
from airflow_provider_wdt._compat import (
    AirflowException,
    AirflowSensorTimeout,
    AirflowSkipException,
    BaseSensorOperator,
    Context,
    PokeReturnValue,
    conf,
)
from airflow_provider_wdt.no_retry import fail_without_retry
from airflow_provider_wdt.paging import PROBE_COUNT, validate_position

if TYPE_CHECKING:
    from airflow_provider_wdt.hooks.wdt import WdtHook

# The hook (and with it requests) and the trigger are imported when a poke runs or the task defers, not
# when a DAG file imports this module: DAG parsing only needs the class.


class WdtPendingSyncSensor(BaseSensorOperator):
    """Succeeds when getSelfWaitSyncIdListOpen lists at least one rec_id from ``position``.

    Each poke is one request for the smallest page (10 ids). The XCom (return value) is what the poke saw:
    ``{"rec_ids": [...up to 10 ids], "position": <cursor after them>, "count": <len(rec_ids)>}``, the same
    in deferrable mode. Transient errors are retried by the hook; persistent ones fail the task with the
    hook's typed error (:mod:`airflow_provider_wdt.errors`); configuration and authentication errors
    (``WdtConfigError``, ``WdtAuthError``) as ``AirflowFailException`` caused by it, which ends the task
    without retries (and is not turned into a skip by ``soft_fail``).

    ``count`` is the size of that one probe page, not how many goods are pending. The cursor is a
    ``disable_syn_until`` value, so a page does not end inside a group of ids that share one: it stops
    before the group and may hold fewer than 10 ids (7 or 9 in real runs) while hundreds wait. For all
    of them use ``WdtPendingSyncIdsOperator``: it follows ``position`` to the end and pushes ``id_count``.

    :param wdt_conn_id: the WDT connection (templated).
    :param position: cursor to probe from, 0 = the start of the list (templated).
    :param deferrable: wait in the triggerer, polling every ``poke_interval`` seconds, after a first poke
        found nothing. Default: ``[operators] default_deferrable``.

    All :class:`BaseSensorOperator` arguments apply (``poke_interval``, ``timeout``, ``mode``,
    ``soft_fail``, ``exponential_backoff``, ...).
    """

    template_fields: Sequence[str] = ("wdt_conn_id", "position")
    ui_color = "#f4e3c1"

    def __init__(
        self,
        *,
        wdt_conn_id: str = "wdt_default",
        position: int | str = 0,
        deferrable: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.wdt_conn_id = wdt_conn_id
        self.position = position
        # Read when the task is built, not when this module is imported, so the setting can change per run.
        if deferrable is None:
            deferrable = conf.getboolean("operators", "default_deferrable", fallback=False)
        self.deferrable = deferrable

    @cached_property
    def hook(self) -> WdtHook:
        # Built on first use, after templates are rendered; the constructor does no I/O.
        from airflow_provider_wdt.hooks.wdt import WdtHook

        return WdtHook(self.wdt_conn_id)

    def poke(self, context: Context) -> PokeReturnValue:
        from airflow_provider_wdt.triggers.wdt import success_payload

        try:
            # A rendered template is a string: validate_position accepts digits and names the argument.
            page = self.hook.get_pending_sync_ids(PROBE_COUNT, validate_position(self.position))
        finally:
            # Pokes are poke_interval apart, often minutes: no idle keep-alive socket is kept between them.
            self.hook.close()
        if not page.rec_ids:
            self.log.info("No rec_id waiting for stock sync from position %s yet.", self.position)
            return PokeReturnValue(False)
        self.log.info("%d rec_ids waiting for stock sync from position %s.", len(page.rec_ids), self.position)
        return PokeReturnValue(True, xcom_value=_xcom(success_payload(page)))

    # Around the base class's handling, not in poke(): there soft_fail would turn AirflowFailException into
    # a skip, and a wrong appsecret would quietly skip every run.
    @fail_without_retry()
    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        started = time.time()
        first = self._first_poke(context)
        if first:
            return first.xcom_value
        self.log.info("Nothing pending yet; deferring, polling every %s s.", self.poke_interval)
        from airflow_provider_wdt.triggers.wdt import WdtPendingSyncTrigger

        self.defer(
            trigger=WdtPendingSyncTrigger(
                wdt_conn_id=self.wdt_conn_id,
                position=validate_position(self.position),
                poll_interval=self.poke_interval,
                # The trigger ends itself when the sensor's timeout passes (counted from the first poke, as
                # in poke mode); the deferral timeout below is Airflow's own backstop for the same moment.
                end_time=started + self.timeout,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout),
        )

    @fail_without_retry()
    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None, context: Context) -> Any:
        # The typed error that execute_complete raises is no AirflowException, so the base class lets it
        # through (soft_fail does not skip it); it becomes AirflowFailException only here.
        return super().resume_execution(next_method, next_kwargs, context)

    def _first_poke(self, context: Context) -> PokeReturnValue:
        """One poke with BaseSensorOperator.execute's handling of silent_fail and never_fail."""
        try:
            return self.poke(context)
        except Exception as exc:
            if self.silent_fail:
                self.log.exception("Sensor poke failed; deferring anyway (silent_fail).")
                return PokeReturnValue(False)
            if self.never_fail:
                raise AirflowSkipException("Skipping due to never_fail is set to True.") from exc
            raise

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Resume after the trigger: the poke path's XCom, or fail as the poke path would."""
        if not event:
            raise AirflowException("WDT pending-sync trigger ended without an event.")
        status = event.get("status")
        if status == "success":
            self.log.info("%d rec_ids waiting for stock sync.", event.get("count", 0))
            return _xcom(event)
        message = str(event.get("message") or event)
        if status == "timeout":
            # BaseSensorOperator.resume_execution turns this into a skip when soft_fail is set.
            raise AirflowSensorTimeout(message)
        raise _typed_error(str(event.get("error_type", "")), message)


def _xcom(payload: dict[str, Any]) -> dict[str, Any]:
    missing = [key for key in ("rec_ids", "position", "count") if key not in payload]
    if missing:
        # A trigger of another version (or a hand-made event) must fail clearly, not with a KeyError.
        raise AirflowException(
            f"WDT pending-sync trigger event lacks {', '.join(missing)}: {payload!r}. "
            "Run the same airflow-provider-wdt version on workers and triggerer."
        )
    return {"rec_ids": list(payload["rec_ids"]), "position": payload["position"], "count": payload["count"]}


def _typed_error(error_type: str, message: str) -> Exception:
    """The hook's error class named by the trigger event, so the deferred path fails as a poke would.

    Only classes of :mod:`airflow_provider_wdt.errors` are looked up; anything else (a missing connection,
    say) becomes an AirflowException with the trigger's message.
    """
    cls = getattr(errors, error_type, None) if error_type.startswith("Wdt") else None
    if isinstance(cls, type) and issubclass(cls, errors.WdtError):
        return cls(message)
    return AirflowException(f"{error_type}: {message}" if error_type else message)
