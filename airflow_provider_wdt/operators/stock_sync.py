"""WdtStockSyncOperator: the loop after the pull, as an operator (the loop itself is in ``..sync.loop``).

Importing this module is cheap at DAG-parse time: the hook, requests and the loop are imported in
``execute``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from airflow_provider_wdt._compat import BaseOperator, Context
from airflow_provider_wdt.errors import WdtConfigError
from airflow_provider_wdt.no_retry import fail_without_retry

#: ids per batchCalcStock call (the platform's limit is not published; 100 is what integrators send).
DEFAULT_BATCH_SIZE = 100


class WdtStockSyncOperator(BaseOperator):
    """For every rec_id: batchCalcStock, push the quantity to the shop, report syncSuccess or syncFail.

    :param wdt_conn_id: the WDT connection (templated). Its ``max_concurrency`` and ``calls_per_minute``
        extras bound the WDT calls of every push thread together.
    :param rec_ids: a list of ints, or the path/URL of an ids file written by
        ``WdtPendingSyncIdsOperator`` in any of its formats (templated: ``pull.output`` works). A file is
        read as a stream.
    :param push_callable: ``push_callable(calc, **push_kwargs) -> (accepted, message)``. ``calc`` is the
        item's batchCalcStock map (``syn_stock`` is the quantity). True: the shop stored it (syncSuccess).
        False: the shop refused it (syncFail with the message; offered again later). An exception: the
        shop is unreachable; no new item is taken, those in flight are reported, and the task fails saying
        how many were reported (the rest stay pending).
    :param push_kwargs: keyword arguments for ``push_callable`` (templated).
    :param batch_size: ids per batchCalcStock call.
    :param shop_concurrency: push calls in flight at once, in threads.
    :param report_path: where each item's outcome is appended as it happens (NDJSON: rec_id, outcome,
        message, time); a local path or object storage (templated). A rerun with the same path (a task
        retry) skips the items recorded there, so nothing is reported twice. Make it run-scoped
        (``{{ run_id }}`` in it) so a new run starts fresh. None: no report, no resuming.
    :param storage_conn_id: connection for object storage of ``rec_ids`` and ``report_path`` (templated).
    :param force_sync: batchCalcStock's force_sync (also calculates disabled or paused goods).

    Returns (XCom) the summary: ids, calculated, calc_errors, succeeded, failed, already_reported,
    not_reported. Calc errors are logged and counted; those items are not reported and stay pending.
    Configuration and authentication errors (an unreadable ids file, a wrong appsecret, also when they
    stop the sync midway) end the task without retries: ``AirflowFailException`` caused by the typed error.
    """

    template_fields: Sequence[str] = (
        "wdt_conn_id",
        "rec_ids",
        "push_kwargs",
        "report_path",
        "storage_conn_id",
    )
    ui_color = "#e8f5e9"

    def __init__(
        self,
        *,
        rec_ids: Any,
        push_callable: Callable[..., tuple[bool, str]],
        push_kwargs: Mapping[str, Any] | None = None,
        wdt_conn_id: str = "wdt_default",
        batch_size: int = DEFAULT_BATCH_SIZE,
        shop_concurrency: int = 1,
        report_path: str | None = None,
        storage_conn_id: str | None = None,
        force_sync: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not callable(push_callable):
            raise WdtConfigError(f"push_callable must be callable, got {push_callable!r}.")
        self.wdt_conn_id = wdt_conn_id
        self.rec_ids = rec_ids
        self.push_callable = push_callable
        self.push_kwargs = push_kwargs or {}
        self.batch_size = _positive(batch_size, "batch_size")
        self.shop_concurrency = _positive(shop_concurrency, "shop_concurrency")
        self.report_path = report_path
        self.storage_conn_id = storage_conn_id
        self.force_sync = bool(force_sync)

    @fail_without_retry()
    def execute(self, context: Context) -> dict[str, int]:
        from airflow_provider_wdt.hooks.wdt import WdtHook
        from airflow_provider_wdt.output import is_local
        from airflow_provider_wdt.sync.files import (
            ReportState,
            ReportWriter,
            iter_id_chunks,
            read_report_state,
        )
        from airflow_provider_wdt.sync.loop import StockSync, StockSyncError, settle

        source = _ids_source(self.rec_ids)
        storage = self.storage_conn_id or None
        report_path = self.report_path or None
        state = read_report_state(report_path, storage) if report_path else ReportState()
        if state.done:
            self.log.info(
                "WDT stock sync: %d items already reported in %s (an earlier attempt); skipping them.",
                len(state.done),
                report_path,
            )
        hook = WdtHook(self.wdt_conn_id)
        report = ReportWriter(report_path, storage)
        try:
            # Object storage is uploaded every UPLOAD_EVERY s: a worker killed outright loses the rest.
            lost = report_path is not None and not is_local(report_path)
            settled = settle(hook, state, report, self.log, lines_may_be_lost=lost)
        except BaseException:
            report.close()
            hook.close()
            raise
        sync = StockSync(
            hook,
            self.push_callable,
            push_kwargs=self.push_kwargs,
            report=report,
            already_reported=settled.already,
            still_pending=settled.still_pending,
            shop_concurrency=self.shop_concurrency,
            force_sync=self.force_sync,
            log=self.log,
        )
        try:
            return sync.run(iter_id_chunks(source, self.batch_size, storage)).as_dict()
        except StockSyncError as exc:
            self.log.warning("WDT stock sync summary: %s", json.dumps(exc.summary.as_dict()))
            raise
        finally:
            try:
                report.close()
            finally:
                hook.close()

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage (optional provider): the pending list and the ids file in, the report out."""
        from airflow_provider_wdt.lineage import stock_sync_lineage

        source = _ids_source(self.rec_ids)
        ids_path = source if isinstance(source, str) else None
        return stock_sync_lineage(self.wdt_conn_id, ids_path, self.report_path or None)


def _ids_source(value: Any) -> str | list[Any]:
    """The rendered ``rec_ids``: a path, or a list (also a JSON list rendered as text by a template)."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                parsed = json.loads(text)
            except ValueError:
                raise WdtConfigError(f"rec_ids looks like a list but is not JSON: {text[:80]!r}.") from None
            if isinstance(parsed, list):
                return parsed
        if not text:
            raise WdtConfigError("rec_ids rendered empty: give a list of ints or the path of an ids file.")
        return text
    if isinstance(value, list | tuple):
        return list(value)
    raise WdtConfigError(
        f"rec_ids must be a list of ints or the path of an ids file, got {type(value).__name__}."
    )


def _positive(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise WdtConfigError(f"{name} must be a positive integer, got {value!r}.")
    return value
