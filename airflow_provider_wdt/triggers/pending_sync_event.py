"""WdtPendingSyncEventTrigger: start DAG runs when the pending sync list changes (Airflow 3.0+).

Import it from :mod:`airflow_provider_wdt.triggers.wdt`; this module needs ``BaseEventTrigger``, which
Airflow 2.11 does not have. An ``AssetWatcher`` runs the trigger in the triggerer; each event it yields
queues a run of every DAG scheduled on the asset (``airflow_provider_wdt.assets.pending_sync_asset``).

Why it looks like this (measured on 3.3.2):

* ``run()`` never returns: a watcher trigger that returns is re-created from its kwargs within seconds,
  memory lost, and fires again and again. It yields only when the list changes (the watermark rule of
  :mod:`airflow_provider_wdt.pending_watch`).
* The kwargs are configuration only: the trigger row is keyed by class path and kwargs.
* The watermark lives in the watcher's asset state store where the triggerer injects one (Airflow 3.3),
  so a restarted triggerer carries on where it stopped. Before 3.3 it lives in memory: after a restart
  the first poll compares with position 0 and fires once more if anything is pending.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow_provider_wdt._compat import BaseEventTrigger, TriggerEvent
from airflow_provider_wdt.errors import WdtConfigError, WdtError
from airflow_provider_wdt.hooks.wdt import WdtHook
from airflow_provider_wdt.paging import PROBE_COUNT, validate_count
from airflow_provider_wdt.pending_watch import PendingChange, find_change, walk

#: The public class path (the class is re-exported there; the trigger row stores this path).
CLASSPATH = "airflow_provider_wdt.triggers.wdt.WdtPendingSyncEventTrigger"
#: The key of the state in the asset state store: ``{"position": int, "fired_at": unix time or None}``.
STATE_KEY = "wdt_pending_sync"


def _seconds(name: str, value: Any, *, none_means: str = "") -> float:
    """A number of seconds above 0 (strings of digits too, as rendered templates give)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = 0.0
    if not number > 0:
        raise WdtConfigError(f"{name} must be a number of seconds above 0{none_means}, got {value!r}.")
    return number


class WdtPendingSyncEventTrigger(BaseEventTrigger):
    """Poll getSelfWaitSyncIdListOpen every ``poll_interval`` seconds; yield an event per change.

    A change: ids listed past the watermark position (new items, items offered again after syncFail,
    items whose stock changed after a sync). The event payload is small:
    ``{"reason": "changed" | "still pending", "old_position", "new_position", "count", "first_ids"}``.
    A DAG should pull the list itself rather than trust the payload for its work.

    :param wdt_conn_id: the WDT connection (its retries and rate limits apply to each poll).
    :param poll_interval: seconds between polls, also after an error.
    :param probe_count: ids asked for by the poll that looks for a change (10..5000).
    :param refire_after: seconds after the last event to fire again while items stay pending whose
        position never moves (e.g. a sync that keeps failing without syncFail). None: never.
    """

    def __init__(
        self,
        wdt_conn_id: str = WdtHook.default_conn_name,
        poll_interval: float = 60.0,
        probe_count: int = PROBE_COUNT,
        refire_after: float | None = None,
    ) -> None:
        super().__init__()
        self.wdt_conn_id = wdt_conn_id
        self.poll_interval = _seconds("poll_interval", poll_interval)
        self.probe_count = validate_count(probe_count)
        self.refire_after = (
            None if refire_after is None else _seconds("refire_after", refire_after, none_means=" or None")
        )
        # Where the watermark lives without a state store (before Airflow 3.3); see the module docstring.
        self._memory: dict[str, Any] = {}
        self._store_broken = False
        self._last_error: str | None = None
        # When refire_after last looked at the whole list: at most one such walk per refire_after.
        self._refire_checked_at = 0.0

    def serialize(self) -> tuple[str, dict[str, Any]]:
        # Configuration only: any state here would make a new trigger row on every change.
        return (
            CLASSPATH,
            {
                "wdt_conn_id": self.wdt_conn_id,
                "poll_interval": self.poll_interval,
                "probe_count": self.probe_count,
                "refire_after": self.refire_after,
            },
        )

    # -- state -------------------------------------------------------------------------------------------
    def _store(self) -> Any:
        store = getattr(self, "asset_state_store", None)  # injected by Airflow 3.3's triggerer
        return None if store is None or self._store_broken else store

    async def _load(self) -> dict[str, Any]:
        """The saved state; any error but the shared-row one propagates (the caller retries next poll)."""
        store = self._store()
        if store is not None:
            try:
                value = await store.aget(STATE_KEY)
            except ValueError as exc:
                self._give_up_store(exc)
            else:
                if isinstance(value, dict):
                    self._memory = dict(value)
        state = {"position": int(self._memory.get("position") or 0), "fired_at": self._memory.get("fired_at")}
        self.log.info(
            "WDT event trigger on %r: watermark position %d (%s), polling every %s s",
            self.wdt_conn_id,
            state["position"],
            "memory" if self._store() is None else "asset state store",
            self.poll_interval,
        )
        return state

    async def _save(self, state: dict[str, Any]) -> None:
        self._memory = dict(state)
        store = self._store()
        if store is None:
            return
        try:
            await store.aset(STATE_KEY, state)
        except ValueError as exc:
            self._give_up_store(exc)
        except Exception as exc:
            # The watermark in memory still holds for this trigger; only a restart would fire again.
            self.log.warning(
                "WDT event trigger: could not save the watermark (%s: %s)", type(exc).__name__, exc
            )

    def _give_up_store(self, exc: ValueError) -> None:
        # Airflow 3.3 raises when one trigger row watches several assets (identical kwargs share a row).
        self._store_broken = True
        self.log.error(
            "WDT event trigger: the asset state store cannot be used (%s). This happens when two assets "
            "have watchers with identical arguments; give each asset its own connection or poll_interval. "
            "Keeping the watermark in memory: a triggerer restart may fire once more.",
            exc,
        )

    # -- polling -----------------------------------------------------------------------------------------
    def _check(self, hook: WdtHook, state: dict[str, Any], now: float) -> tuple[str, PendingChange] | None:
        """One poll (in a worker thread): a change past the watermark, else a due refire, else None."""
        change = find_change(hook, state["position"], self.probe_count)
        if change is not None:
            return "changed", change
        if self.refire_after is None:
            return None
        if now - max(state["fired_at"] or 0.0, self._refire_checked_at) < self.refire_after:
            return None
        self._refire_checked_at = now
        still = walk(hook, 0)
        return None if still is None else ("still pending", still)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = WdtHook(self.wdt_conn_id)
        state: dict[str, Any] | None = None
        self._refire_checked_at = time.time()  # refire_after counts from the start, not from 1970
        try:
            while True:
                try:
                    if state is None:  # read before the first poll, again after a failed read
                        state = await self._load()
                    found = await asyncio.to_thread(self._check, hook, state, time.time())
                except Exception as exc:
                    # Never end the trigger: it would be re-created at once and poll in a tight loop.
                    hook = self._log_failure(exc, hook)
                else:
                    self._last_error = None
                    if found is not None:
                        reason, change = found
                        state = {
                            "position": max(state["position"], change.new_position),
                            "fired_at": time.time(),
                        }
                        payload = change.payload(reason)
                        self.log.info("WDT pending sync list %s: %s", reason, payload)
                        yield TriggerEvent(payload)
                        # Saved once the triggerer took the event: a crash in between fires again
                        # rather than losing the change.
                        await self._save(state)
                await asyncio.sleep(self.poll_interval)
        finally:
            hook.close()

    def _log_failure(self, exc: Exception, hook: WdtHook) -> WdtHook:
        """Log a failed poll; returns the hook for the next one (a fresh one after a lasting error)."""
        text = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, WdtError) and exc.retryable:
            self.log.warning("WDT poll failed (%s); next poll in %.1f s", text, self.poll_interval)
            return hook
        # Credentials, configuration, a missing connection: waiting alone will not fix it, so say it at
        # error level, but once per distinct error rather than every poll.
        if text != self._last_error:
            self.log.error("WDT poll failed: %s. Polling on every %.1f s.", text, self.poll_interval)
        else:
            self.log.info("WDT poll still failing, the same error; next poll in %.1f s", self.poll_interval)
        self._last_error = text
        # Re-read the connection next time: the fix is usually an edited connection.
        hook.close()
        return WdtHook(self.wdt_conn_id)
