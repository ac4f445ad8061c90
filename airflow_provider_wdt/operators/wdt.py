"""Operators for the WDT qjb open API.

Importing this module is cheap at DAG-parse time: the hook (and with it ``requests``) is imported inside
``execute``, object storage only when an object-storage URL is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, NamedTuple

from airflow_provider_wdt._compat import BaseOperator, Context
from airflow_provider_wdt.errors import WdtConfigError
from airflow_provider_wdt.no_retry import fail_without_retry

# Re-exported: every operator of the provider imports from this module.
from airflow_provider_wdt.operators.stock_sync import WdtStockSyncOperator as WdtStockSyncOperator
from airflow_provider_wdt.output import (
    atomic_id_writer,
    exists_error,
    normalize_format,
    output_format_for,
    target_exists,
)
from airflow_provider_wdt.paging import PendingIdsPull, validate_count, validate_position
from airflow_provider_wdt.platform_facts import MAX_COUNT

if TYPE_CHECKING:
    from airflow_provider_wdt.hooks.wdt import WdtHook

#: Above this many ids the XCom output refuses (they would land in the metadata DB); use output_path.
DEFAULT_MAX_XCOM_IDS = 100_000
#: XCom keys pushed besides the return value.
XCOM_POSITION = "position"
XCOM_ID_COUNT = "id_count"


class WdtPendingSyncIdsOperator(BaseOperator):
    """Pull every pending rec_id (getSelfWaitSyncIdListOpen) across positions, each once, in order.

    :param wdt_conn_id: the WDT connection (templated).
    :param count: ids per page, 10..5000 (templated).
    :param start_position: position to start from; 0, None or an empty rendered template mean the
        beginning (templated, so a run can resume from the ``position`` XCom of an earlier one).
    :param output_path: None: the ids are the return value (XCom). Otherwise a local path, ``file://`` or
        any URL Airflow's ObjectStoragePath understands; the ids are written there atomically and the path
        is returned (templated).
    :param output_conn_id: connection for the object storage of ``output_path``; not used for local
        paths (templated).
    :param output_format: ``json`` (an array), ``ndjson``/``lines`` (one id per line) or ``csv`` (header
        ``rec_id``); default: from the path's suffix (.json, .ndjson/.jsonl/.txt, .csv) (templated).
    :param overwrite: replace an existing output (default); False fails instead.
    :param max_ids: stop after this many ids. A page cut short is not counted as delivered: the
        ``position`` XCom stays before it, so resuming there delivers its rest (and its first part again).
    :param max_pages: stop after this many requests for pages.
    :param max_xcom_ids: the most ids returned as an XCom; more fail the task early, pointing to
        ``output_path``.
    :param progress_every_pages: log progress every this many pages.

    XComs: the return value (ids or the path), ``position`` (where the next pull can start) and
    ``id_count``. They are pushed only when the pull (and the write) succeeded.

    Configuration and authentication errors (``WdtConfigError``, ``WdtAuthError``) end the task without
    retries: ``AirflowFailException`` with the typed error as its cause.
    """

    template_fields: Sequence[str] = (
        "wdt_conn_id",
        "count",
        "start_position",
        "output_path",
        "output_conn_id",
        "output_format",
    )
    ui_color = "#e3f2fd"

    def __init__(
        self,
        *,
        wdt_conn_id: str = "wdt_default",
        count: int | str = MAX_COUNT,
        start_position: int | str | None = 0,
        output_path: str | None = None,
        output_conn_id: str | None = None,
        output_format: str | None = None,
        overwrite: bool = True,
        max_ids: int | None = None,
        max_pages: int | None = None,
        max_xcom_ids: int = DEFAULT_MAX_XCOM_IDS,
        progress_every_pages: int = 10,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.wdt_conn_id = wdt_conn_id
        self.count = count
        self.start_position = start_position
        self.output_path = output_path
        self.output_conn_id = output_conn_id
        self.output_format = output_format
        self.overwrite = overwrite
        self.max_ids = _optional_positive(max_ids, "max_ids")
        self.max_pages = _optional_positive(max_pages, "max_pages")
        self.max_xcom_ids = _positive(max_xcom_ids, "max_xcom_ids")
        self.progress_every_pages = _positive(progress_every_pages, "progress_every_pages")
        # Literal values are checked now, so a mistake fails at DAG parse; templates once rendered.
        if _is_literal(count):
            validate_count(count)
        if _is_literal(start_position):
            _start_position(start_position)
        if _is_literal(output_format) and output_format:
            normalize_format(output_format)
        if _is_literal(output_path) and _is_literal(output_format):
            output_format_for(output_path, output_format)

    @cached_property
    def hook(self) -> WdtHook:
        # Built on first use, after templates are rendered; the constructor does no I/O.
        from airflow_provider_wdt.hooks.wdt import WdtHook

        return WdtHook(self.wdt_conn_id)

    def on_kill(self) -> None:
        # A killed task closes its keep-alive connections now rather than when the process is reaped.
        if "hook" in self.__dict__:
            self.hook.close()

    @fail_without_retry()
    def execute(self, context: Context) -> list[int] | str:
        start_position = _start_position(self.start_position)
        target = self._target()
        hook = self.hook
        # count is checked once, by the hook, before the first request.
        pull = PendingIdsPull(
            hook,
            self.count,
            start_position,
            self.max_ids,
            self.max_pages,
            self.progress_every_pages,
            self.log,
        )
        result: list[int] | str
        try:
            if target is None:
                result = self._collect(pull)
            else:
                with atomic_id_writer(
                    target.path, target.fmt, conn_id=target.conn_id, overwrite=self.overwrite
                ) as writer:
                    for ids in pull.chunks():
                        writer.write(ids)
                result = target.path
            requests_sent = hook.client.request_count
        except BaseException:
            # Say how far it got: the error alone does not tell whether it struck on page 1 or 900.
            self.log.warning(
                "WDT pending ids: failed after %d pages and %d ids (position %s); nothing was written "
                "and no XCom pushed.",
                pull.stats.pages,
                pull.delivered,
                pull.stats.position,
            )
            raise
        finally:
            hook.close()

        pull.log_summary(
            requests_sent, f"{target.path} ({target.fmt})" if target else "the XCom return value"
        )
        ti = context.get("ti")
        if ti is not None:  # absent only when a test calls execute() with a bare context
            ti.xcom_push(key=XCOM_POSITION, value=pull.position)
            ti.xcom_push(key=XCOM_ID_COUNT, value=pull.delivered)
        return result

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage (optional provider): the pending sync list in, the ids file (if any) out."""
        from airflow_provider_wdt.lineage import pending_ids_lineage

        return pending_ids_lineage(self.wdt_conn_id, self.output_path or None)

    def _target(self) -> _Target | None:
        """Where the ids go, from the rendered arguments; checked before the first request."""
        # A template that rendered empty means "no file".
        fmt = output_format_for(self.output_path, self.output_format)
        if fmt is None:
            return None
        target = _Target(str(self.output_path), fmt, self.output_conn_id or None)  # a path, as fmt is set
        # Also checked at commit; checking now avoids a whole pull whose write would be refused.
        if not self.overwrite and target_exists(target.path, target.conn_id):
            raise exists_error(target.path)
        return target

    def _collect(self, pull: PendingIdsPull) -> list[int]:
        collected: list[int] = []
        for ids in pull.chunks():
            if len(collected) + len(ids) > self.max_xcom_ids:
                raise WdtConfigError(
                    f"More than max_xcom_ids={self.max_xcom_ids} pending ids (at least "
                    f"{len(collected) + len(ids)} after {pull.stats.pages} pages): too many for an XCom, "
                    "which is stored in Airflow's metadata database. Set output_path to write the ids "
                    "to a file or object storage (the path becomes the XCom), or raise max_xcom_ids."
                )
            collected.extend(ids)
        return collected


class _Target(NamedTuple):
    path: str
    fmt: str
    conn_id: str | None


def _is_literal(value: object) -> bool:
    """A value to check now: not a Jinja template and not an XComArg or other object resolved at run."""
    if isinstance(value, str):
        return "{{" not in value and "{%" not in value
    return value is None or isinstance(value, int | float)


def _start_position(value: object) -> int:
    # None and "None" are what xcom_pull gives before the first run ever pushed a position.
    if value is None or (isinstance(value, str) and value.strip() in ("", "None")):
        return 0
    return validate_position(value, "start_position")


def _positive(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise WdtConfigError(f"{name} must be a positive integer, got {value!r}.")
    return value


def _optional_positive(value: object, name: str) -> int | None:
    return None if value is None else _positive(value, name)
