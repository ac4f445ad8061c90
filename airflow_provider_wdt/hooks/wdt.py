"""WdtHook: the Airflow connection for one WDT seller, and signed calls to any qjb method."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

from airflow_provider_wdt import connection_fields as fields
from airflow_provider_wdt._compat import BaseHook, mask_secret
from airflow_provider_wdt.client import ClientSettings, WdtClient
from airflow_provider_wdt.errors import WdtConfigError, WdtError
from airflow_provider_wdt.paging import (
    PendingSyncPage,
    PullStats,
    iter_new_ids_by_page,
    validate_count,
    validate_position,
)
from airflow_provider_wdt.platform_facts import MAX_COUNT
from airflow_provider_wdt.protocol import Credentials, Paging, normalize_endpoint, paged_total
from airflow_provider_wdt.sync.shapes import (
    BATCH_CALC_STOCK,
    CALC_STOCK,
    CANCEL_SYNC,
    GET_PENDING_SYNC_IDS,
    SERVER_TIME,
    SYNC_FAIL,
    SYNC_SUCCESS,
    BatchCalcResult,
    parse_batch_calc,
    parse_pending_page,
)


@dataclass(frozen=True)
class PagedResult:
    """A paged query's ``data`` and the total the platform reported (None without calc_total)."""

    data: Any
    total_count: int | None


class WdtHook(BaseHook):
    """Talks to the WDT ERP 旗舰版 (qjb) open API for the seller of one Airflow connection.

    Connection fields: Host = endpoint URL (empty: production), Login = sid (卖家账号),
    Password = appsecret (``secret:salt``), Schema = appkey (接口账号; the extra ``appkey`` of earlier
    versions is still read), plus the optional extras of :mod:`airflow_provider_wdt.connection_fields`
    (``timeout``, ``max_retries``, ...).
    Keyword arguments given here override the extras. Nothing is looked up until the first call.

    :param wdt_conn_id: the Airflow connection of type ``wdt`` to use.
    :param timeout: seconds per request (overrides the ``timeout`` extra).
    :param max_retries: retries of retryable failures (overrides ``max_retries``).
    :param retry_wait: first backoff wait in seconds (overrides ``retry_wait``).
    :param rate_limit_wait: seconds to wait after a rate-limit answer (overrides ``rate_limit_wait``).
    :param multi_seller: send ``Connection: close`` (overrides ``multi_seller``).
    """

    conn_name_attr = "wdt_conn_id"
    default_conn_name = "wdt_default"
    conn_type = fields.CONN_TYPE
    hook_name = fields.HOOK_NAME

    def __init__(
        self,
        wdt_conn_id: str = default_conn_name,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        retry_wait: float | None = None,
        rate_limit_wait: float | None = None,
        multi_seller: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.wdt_conn_id = wdt_conn_id
        self._handover: Any = None  # a CallHandover once the client exists, with share_across_hosts
        self._overrides = {
            "timeout": timeout,
            "max_retries": max_retries,
            "retry_wait": retry_wait,
            "rate_limit_wait": rate_limit_wait,
            "multi_seller": multi_seller,
        }

    # -- connection ------------------------------------------------------------------------------------
    @cached_property
    def client(self) -> WdtClient:
        """The signed HTTP client, built from the connection on first use (one session per hook/sid)."""
        conn = self.get_connection(self.wdt_conn_id)
        if conn.conn_type and conn.conn_type != self.conn_type:
            raise WdtConfigError(
                f"Connection {self.wdt_conn_id!r} has type {conn.conn_type!r}; "
                "WdtHook needs a connection of type 'wdt'."
            )
        extra = conn.extra_dejson
        credentials = Credentials.from_connection_fields(
            conn.login, fields.appkey(self.wdt_conn_id, conn.schema, extra), conn.password
        )
        # The password is masked by Airflow as a whole; its halves and the salt in URLs are not.
        mask_secret(credentials.secret)
        mask_secret(credentials.salt)
        endpoint = normalize_endpoint(conn.host, conn.port or None)
        settings = ClientSettings(**fields.parse_extras(self.wdt_conn_id, extra, self._overrides))
        client = WdtClient(credentials, endpoint, settings, logger=self.log)
        if settings.share_across_hosts:
            from airflow_provider_wdt.handover import CallHandover

            self._handover = CallHandover(client.ledger, logger=self.log)
            self._handover.receive()  # before the first call: the calls other hosts made
            client.after_call = self._handover.maybe_send
        return client

    def get_conn(self) -> WdtClient:
        return self.client

    def close(self) -> None:
        """Close the session; with ``share_across_hosts``, hand this task's calls over first."""
        if "client" in self.__dict__:
            try:
                if self._handover is not None:
                    self._handover.send(final=True)
            finally:
                self.client.close()

    # -- generic calls ---------------------------------------------------------------------------------
    def call(self, method: str, *args: Any) -> Any:
        """Call any qjb method with its positional arguments; returns the answer's ``data`` (or None).

        :param method: the qjb method name, e.g. ``"sales.StockSync.calcStock"``.
        :param args: its positional arguments, sent as the JSON array body.
        """
        return self.client.call(method, args).get("data")

    def call_paged(
        self, method: str, *args: Any, page_size: int, page_no: int = 0, calc_total: bool = True
    ) -> PagedResult:
        """Call a paged query API (page_size/page_no/calc_total in the signed query string).

        :param method: the qjb method name.
        :param args: its positional arguments.
        :param page_size: rows per page.
        :param page_no: the page, from 0.
        :param calc_total: ask the platform for the total row count (``total_count`` of the result).
        """
        payload = self.client.call(method, args, paging=Paging(page_size, page_no, calc_total))
        return PagedResult(data=payload.get("data"), total_count=paged_total(method, payload))

    # -- stock sync family -----------------------------------------------------------------------------
    def get_pending_sync_ids(self, count: int = MAX_COUNT, position: int = 0) -> PendingSyncPage:
        """One page of getSelfWaitSyncIdListOpen: rec_ids whose stock needs pushing, and the next position.

        :param count: ids per page, 10..5000 (the platform's limits).
        :param position: the cursor: 0 for the start, or the ``position`` of the previous page.
        """
        return self._pending_page(validate_count(count), validate_position(position))

    def _pending_page(self, count: int, position: int) -> PendingSyncPage:
        # Arguments already checked: the pager calls this once per page.
        return parse_pending_page(self.call(GET_PENDING_SYNC_IDS, count, position))

    def iter_pending_sync_pages(
        self,
        count: int = MAX_COUNT,
        start_position: int = 0,
        *,
        max_pages: int | None = None,
        stats: PullStats | None = None,
    ) -> Iterator[PendingSyncPage]:
        """Every page to the end of the list, each rec_id once (see :mod:`airflow_provider_wdt.paging`).

        :param count: ids per page, 10..5000; checked once here, before the first request.
        :param start_position: the cursor to start from (0 = the start of the list).
        :param max_pages: stop after this many requests.
        :param stats: filled in as pages arrive (pages, ids, position, why the pull stopped).
        """
        return iter_new_ids_by_page(
            self._pending_page,
            count=validate_count(count),
            start_position=validate_position(start_position, "start_position"),
            max_pages=max_pages,
            stats=stats,
        )

    def iter_pending_sync_ids(self, count: int = MAX_COUNT, start_position: int = 0) -> Iterator[int]:
        """Every pending rec_id, each once, in the order the platform serves them.

        :param count: ids per page, 10..5000.
        :param start_position: the cursor to start from (0 = the start of the list).
        """
        for page in self.iter_pending_sync_pages(count, start_position):
            yield from page.rec_ids

    def calc_stock(self, rec_id: int, force_sync: bool = False) -> dict[str, Any]:
        """calcStock: the quantity to push (``syn_stock``) and the fields to echo when reporting.

        :param rec_id: the pending item's rec_id.
        :param force_sync: compute even when the platform would skip the item.
        """
        return dict(self.call(CALC_STOCK, int(rec_id), bool(force_sync)) or {})

    def batch_calc_stock(self, rec_ids: Iterable[int], force_sync: bool = False) -> BatchCalcResult:
        """batchCalcStock for several rec_ids in one call.

        :param rec_ids: the items to compute.
        :param force_sync: compute even when the platform would skip an item.
        """
        items = [{"api_goods_id": int(rec_id), "force_sync": bool(force_sync)} for rec_id in rec_ids]
        return parse_batch_calc(self.call(BATCH_CALC_STOCK, items))

    def sync_success(self, rec_id: int, info: Mapping[str, Any]) -> None:
        """Report that the shop accepted the quantity (syncSuccess).

        :param rec_id: the item pushed.
        :param info: the calc result's fields echoed back, built with ``sync.shapes.sync_info``.
        """
        self.call(SYNC_SUCCESS, int(rec_id), dict(info))

    def sync_fail(self, rec_id: int, info: Mapping[str, Any]) -> None:
        """Report that pushing to the shop failed (syncFail); the item stays pending.

        :param rec_id: the item that failed.
        :param info: the calc result's fields echoed back with the reason, from ``sync.shapes.sync_info``.
        """
        self.call(SYNC_FAIL, int(rec_id), dict(info))

    def cancel_sync(self, rec_id: int, stock_change_count: int = -1) -> None:
        """Cancel the sync in flight for one item (cancelSync).

        :param rec_id: the item.
        :param stock_change_count: ``stockChangeCount`` as the platform documents it (its example is -1).
        """
        self.call(CANCEL_SYNC, int(rec_id), int(stock_change_count))

    def get_server_time(self) -> Any:
        """system.Core.now: the platform's clock; a cheap connectivity and signature check."""
        return self.call(SERVER_TIME)

    def test_connection(self) -> tuple[bool, str]:
        """One ``system.Core.now`` call: no retries and the ``test_timeout`` extra as its timeout.

        The UI's Test button and ``airflow connections test`` wait for this, so a slow or silent host
        must answer within seconds, not after every retry of a task's call.
        """
        try:
            client = self.client
            settings = replace(client.settings, max_retries=0, timeout=client.settings.test_timeout)
            probe = WdtClient(
                client.credentials, client.endpoint, settings, logger=self.log, timeout_extra="test_timeout"
            )
            try:
                server_time = probe.call(SERVER_TIME).get("data")
            finally:
                probe.close()
        except WdtError as exc:
            return False, str(exc)
        return True, (
            f"Connected to {client.endpoint} as sid {client.credentials.sid}; server time {server_time}."
        )

    # -- connection form (Airflow 2.11 UI; Airflow 3 reads conn-fields from get_provider_info) ----------
    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """The Airflow 2.11 spelling (``hidden_fields``) of the provider info's ``ui-field-behaviour``."""
        return {key.replace("-", "_"): value for key, value in fields.ui_field_behaviour().items()}

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """The extras as Airflow 2.11 form widgets, from the same definition as Airflow 3's conn-fields.

        2.11 drops the whole hook for any field class but String, Integer, Password and Boolean, so
        decimal numbers are text fields checked by the same parser the hook uses.
        """
        from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
        from flask_babel import lazy_gettext
        from wtforms import BooleanField, IntegerField, StringField
        from wtforms.validators import Optional, ValidationError

        def checked_by_parser(field: fields.ExtraField) -> Any:
            def check(form: Any, wtf_field: Any) -> None:
                try:
                    field.parse("form", wtf_field.data)
                except WdtError as exc:
                    raise ValidationError(f"{field.label} must be {field.bound_text}.") from exc

            return check

        widgets: dict[str, Any] = {}
        for field in fields.EXTRA_FIELDS:
            label, description = lazy_gettext(field.label), lazy_gettext(field.form_description)
            if field.kind == "boolean":
                widgets[field.name] = BooleanField(label, description=description, default=field.default)
                continue
            validators: list[Any] = [Optional()]
            if field.kind != "string":
                validators.append(checked_by_parser(field))
            widget_class = IntegerField if field.kind == "integer" else StringField
            widgets[field.name] = widget_class(
                label,
                description=description,
                widget=BS3TextFieldWidget(),
                validators=validators,
                default=field.default,
            )
        return widgets
