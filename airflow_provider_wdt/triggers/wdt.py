"""WdtPendingSyncTrigger: wait in the triggerer until getSelfWaitSyncIdListOpen lists something.

The hook is synchronous (requests), so each poll runs in a worker thread and the triggerer's event loop
never blocks on the network. One event ends the trigger:

* ``{"status": "success", "rec_ids": [...], "position": N, "count": n}``: the first page found;
* ``{"status": "error", "error_type": "WdtAuthError", "message": "..."}``: an error that waiting cannot
  fix (credentials, configuration, a missing connection), at once;
* ``{"status": "timeout", "error_type": "timeout", "message": "..."}``: ``end_time`` passed first.

``WdtPendingSyncEventTrigger`` (Airflow 3.0+, for an AssetWatcher) is importable from here too; it lives in
:mod:`airflow_provider_wdt.triggers.pending_sync_event`, so this module still imports on Airflow 2.11.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from airflow_provider_wdt._compat import BaseTrigger, TriggerEvent
from airflow_provider_wdt.errors import WdtError
from airflow_provider_wdt.hooks.wdt import WdtHook
from airflow_provider_wdt.paging import PROBE_COUNT, PendingSyncPage

if TYPE_CHECKING:
    from airflow_provider_wdt.triggers.pending_sync_event import (
        WdtPendingSyncEventTrigger as WdtPendingSyncEventTrigger,
    )


def __getattr__(name: str) -> Any:
    """``WdtPendingSyncEventTrigger`` on first use; on Airflow 2.11 an ImportError naming the version."""
    if name == "WdtPendingSyncEventTrigger":
        from airflow_provider_wdt.triggers.pending_sync_event import WdtPendingSyncEventTrigger

        return WdtPendingSyncEventTrigger
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def success_payload(page: PendingSyncPage) -> dict[str, Any]:
    """What a poll that found ids reports; the sensor's poke returns the same dict as its XCom."""
    return {
        "status": "success",
        "rec_ids": list(page.rec_ids),
        "position": page.position,
        "count": len(page.rec_ids),
    }


def error_payload(exc: BaseException) -> dict[str, Any]:
    return {"status": "error", "error_type": type(exc).__name__, "message": str(exc) or repr(exc)}


class WdtPendingSyncTrigger(BaseTrigger):
    """Poll getSelfWaitSyncIdListOpen (count 10 from ``position``) every ``poll_interval`` seconds.

    :param wdt_conn_id: the WDT connection.
    :param position: cursor to probe from (0 = the start of the list).
    :param poll_interval: seconds between polls, also after a retryable error.
    :param end_time: unix time after which a timeout event ends the wait (None: wait forever).
    :param request_timeout: seconds per HTTP request (None: the connection's ``timeout`` extra).
    :param max_retries: retries inside one poll; low, because the trigger retries at poll cadence anyway
        and a long in-hook backoff would delay the timeout check.
    :param retry_wait: backoff base for those retries (None: the connection's ``retry_wait`` extra).
    """

    def __init__(
        self,
        wdt_conn_id: str = WdtHook.default_conn_name,
        position: int = 0,
        poll_interval: float = 60.0,
        end_time: float | None = None,
        request_timeout: float | None = None,
        max_retries: int = 0,
        retry_wait: float | None = None,
    ) -> None:
        super().__init__()
        self.wdt_conn_id = wdt_conn_id
        self.position = int(position)
        self.poll_interval = float(poll_interval)
        self.end_time = None if end_time is None else float(end_time)
        self.request_timeout = None if request_timeout is None else float(request_timeout)
        self.max_retries = int(max_retries)
        self.retry_wait = None if retry_wait is None else float(retry_wait)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "wdt_conn_id": self.wdt_conn_id,
                "position": self.position,
                "poll_interval": self.poll_interval,
                "end_time": self.end_time,
                "request_timeout": self.request_timeout,
                "max_retries": self.max_retries,
                "retry_wait": self.retry_wait,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = WdtHook(
            self.wdt_conn_id,
            timeout=self.request_timeout,
            max_retries=self.max_retries,
            retry_wait=self.retry_wait,
        )
        try:
            payload = await self._wait(hook)
        finally:
            # Also on cancellation (the task was cleared or timed out): no idle keep-alive socket left behind.
            hook.close()
        yield TriggerEvent(payload)

    async def _wait(self, hook: WdtHook) -> dict[str, Any]:
        polls = failures = 0
        last_error: WdtError | None = None
        while True:
            polls += 1
            try:
                page = await asyncio.to_thread(hook.get_pending_sync_ids, PROBE_COUNT, self.position)
            except WdtError as exc:
                if not exc.retryable:
                    return error_payload(exc)
                failures, last_error = failures + 1, exc
                self.log.warning(
                    "WDT poll %d from position %d failed (%s: %s); next poll in %.1f s",
                    polls,
                    self.position,
                    type(exc).__name__,
                    exc,
                    self.poll_interval,
                )
            except Exception as exc:
                # A missing connection or an unexpected bug: report it as an event so the task fails with
                # the message instead of the trigger dying with a traceback only the triggerer log shows.
                return error_payload(exc)
            else:
                if page.rec_ids:
                    self.log.info(
                        "WDT: %d rec_ids pending from position %d", len(page.rec_ids), self.position
                    )
                    return success_payload(page)
                self.log.info(
                    "WDT: nothing pending from position %d; next poll in %.1f s",
                    self.position,
                    self.poll_interval,
                )
            remaining = None if self.end_time is None else self.end_time - time.time()
            if remaining is not None and remaining <= 0:
                return self._timeout_payload(polls, failures, last_error)
            # Wake at the end time rather than oversleeping it, so the timeout event comes on time.
            await asyncio.sleep(
                self.poll_interval if remaining is None else min(self.poll_interval, remaining)
            )

    def _timeout_payload(self, polls: int, failures: int, last_error: WdtError | None) -> dict[str, Any]:
        assert self.end_time is not None
        deadline = datetime.fromtimestamp(self.end_time, tz=timezone.utc).isoformat(timespec="seconds")
        message = (
            f"Sensor has timed out: no rec_id waiting for stock sync from position {self.position} "
            f"by {deadline} ({polls} polls of connection {self.wdt_conn_id!r})."
        )
        if last_error is not None:
            # When polls failed, "nothing pending" may be wrong: say what kept going wrong.
            message += f" {failures} of them failed; the last: {type(last_error).__name__}: {last_error}"
        return {"status": "timeout", "error_type": "timeout", "message": message}
