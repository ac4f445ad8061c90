"""WdtHook against the simulator over real HTTP on 127.0.0.1: calls, errors, retries, skew, secrets."""

from __future__ import annotations

import logging
import re

import pytest

from airflow_provider_wdt import errors
from airflow_provider_wdt.hooks.wdt import WdtHook
from airflow_provider_wdt.paging import PullStats
from airflow_provider_wdt.simulator import WdtSimulator
from airflow_provider_wdt.sync.shapes import sync_info
from tests.conftest import set_connection
from tests.helpers import LogText, fast_connection, free_port


@pytest.fixture
def hook(simulator: WdtSimulator, monkeypatch: pytest.MonkeyPatch) -> WdtHook:
    set_connection(monkeypatch, "wdt_default", fast_connection(simulator))
    return WdtHook()


def test_constructor_does_no_lookup() -> None:
    hook = WdtHook("no_such_connection_anywhere")
    assert hook.wdt_conn_id == "no_such_connection_anywhere" and "client" not in hook.__dict__


def test_call_and_test_connection(hook: WdtHook, simulator: WdtSimulator) -> None:
    assert hook.get_server_time()
    ok, message = hook.test_connection()
    assert ok and simulator.url in message and "wdtsim" in message


def test_one_session_reused_across_calls(hook: WdtHook, simulator: WdtSimulator) -> None:
    for _ in range(5):
        hook.get_server_time()
    assert simulator.request_count == 5
    assert simulator.connections_accepted == 1


def test_multi_seller_closes_connections(simulator: WdtSimulator, monkeypatch: pytest.MonkeyPatch) -> None:
    set_connection(monkeypatch, "wdt_multi", fast_connection(simulator, multi_seller=True))
    hook = WdtHook("wdt_multi")
    for _ in range(3):
        hook.get_server_time()
    assert simulator.connections_accepted == 3


def test_the_environments_proxy_is_used(simulator: WdtSimulator, monkeypatch: pytest.MonkeyPatch) -> None:
    # The session reads proxies once (trust_env is off afterwards), so they must be copied in then.
    # The simulator stands in for the proxy: it answers the absolute-form request for a host nobody serves.
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{simulator.port}")
    conn = fast_connection(simulator, max_retries=0)
    conn["host"] = f"http://127.0.0.1:{free_port()}/openapi"  # closed: only the proxy can answer
    set_connection(monkeypatch, "wdt_proxied", conn)
    assert WdtHook("wdt_proxied").get_server_time()
    assert simulator.request_count == 1


def test_base_url_without_openapi_is_accepted(
    simulator: WdtSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = fast_connection(simulator)
    conn["host"] = f"http://127.0.0.1:{simulator.port}"
    set_connection(monkeypatch, "wdt_base", conn)
    assert WdtHook("wdt_base").get_server_time()


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("password", "nocolon", "no colon"),
        ("password", "secret:", "salt"),
        ("login", "", "sid"),
        ("schema", "", "no appkey .*'App key \\(接口账号 appkey\\)' \\(the Schema field\\)"),
        ("schema", None, "no appkey"),
        ("extra", {"timeout": "soon"}, "timeout"),
        ("extra", {"max_retries": -1}, "max_retries"),
        ("conn_type", "http", "type 'wdt'"),
    ],
)
def test_bad_connection_fails_before_any_request(
    simulator: WdtSimulator, monkeypatch: pytest.MonkeyPatch, field: str, value: object, needle: str
) -> None:
    conn = simulator.connection()
    conn[field] = value
    set_connection(monkeypatch, "wdt_bad", conn)
    with pytest.raises(errors.WdtConfigError, match=needle):
        WdtHook("wdt_bad").get_server_time()
    assert simulator.request_count == 0


@pytest.mark.parametrize(
    ("schema", "extra"),
    [
        ("", {"appkey": "wdtsim_key"}),  # a connection made for an earlier version: the extra alone
        (None, {"extra__wdt__appkey": "wdtsim_key"}),  # ... as Airflow 2's form saved it
        ("wdtsim_key", {"appkey": " wdtsim_key "}),  # both, the same key
        (" wdtsim_key ", {}),
    ],
)
def test_appkey_from_the_schema_field_or_the_older_extra(
    simulator: WdtSimulator, monkeypatch: pytest.MonkeyPatch, schema: str | None, extra: dict
) -> None:
    conn = {**simulator.connection(), "schema": schema, "extra": extra}
    set_connection(monkeypatch, "wdt_key", conn)
    assert WdtHook("wdt_key").get_server_time()  # the simulator checks the appkey in each signed call
    assert simulator.request_count == 1


def test_two_different_appkeys_fail_naming_both_fields(
    simulator: WdtSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = {**simulator.connection(), "extra": {"appkey": "old_key"}}
    set_connection(monkeypatch, "wdt_two_keys", conn)
    with pytest.raises(errors.WdtConfigError) as caught:
        WdtHook("wdt_two_keys").get_server_time()
    message = str(caught.value)
    assert "two different appkeys" in message and "'wdt_two_keys'" in message
    assert "'App key (接口账号 appkey)' (the Schema field) holds 'wdtsim_key'" in message
    assert "the extra 'appkey' holds 'old_key'" in message
    assert simulator.request_count == 0
    ok, tested = WdtHook("wdt_two_keys").test_connection()  # the Test button says the same
    assert not ok and "two different appkeys" in tested


@pytest.mark.parametrize("count", [0, 9, 5001, "abc", True])
def test_count_out_of_range_fails_before_any_request(
    hook: WdtHook, simulator: WdtSimulator, count: object
) -> None:
    with pytest.raises(errors.WdtConfigError, match="count"):
        hook.get_pending_sync_ids(count=count)  # type: ignore[arg-type]
    assert simulator.request_count == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("password", "wdtsim_secret_wrong:wdtsim_salt"),
        ("password", "wdtsim_secret:other_salt"),
        ("login", "nobody"),
    ],
)
def test_wrong_credentials_are_auth_errors_and_not_retried(
    simulator: WdtSimulator, monkeypatch: pytest.MonkeyPatch, field: str, value: str
) -> None:
    conn = fast_connection(simulator)
    conn[field] = value
    set_connection(monkeypatch, "wdt_wrong", conn)
    with pytest.raises(errors.WdtAuthError) as info:
        WdtHook("wdt_wrong").get_server_time()
    assert info.value.status == 1
    assert simulator.request_count == 1
    assert "wdtsim_secret" not in str(info.value) and "salt" not in (info.value.platform_message or "")


def test_wrong_appkey_is_auth_error(simulator: WdtSimulator, monkeypatch: pytest.MonkeyPatch) -> None:
    conn = fast_connection(simulator)
    conn["schema"] = "someone_else"
    set_connection(monkeypatch, "wdt_key", conn)
    ok, message = WdtHook("wdt_key").test_connection()
    assert not ok and "appkey" in message


@pytest.mark.parametrize(
    ("inject", "cls"),
    [
        (lambda s: s.faults.http_error(n=2, status=503), errors.WdtServerError),
        (lambda s: s.faults.http_error(n=2, status=500), errors.WdtServerError),
        (lambda s: s.faults.drop(n=2), errors.WdtTransportError),
        (lambda s: s.faults.rate_limit(n=2), errors.WdtRateLimitError),
        (lambda s: s.faults.rate_limit(n=2, kind="concurrency", ascii_comma=True), errors.WdtRateLimitError),
        (lambda s: s.faults.db_error(n=2, status=1064), errors.WdtServerError),
        (lambda s: s.faults.db_error(n=2, status=4), errors.WdtServerError),
        (lambda s: s.faults.html(n=2), errors.WdtBadResponseError),
        (lambda s: s.faults.truncated_json(n=2), errors.WdtBadResponseError),
    ],
)
def test_transient_faults_are_retried_then_succeed(
    hook: WdtHook, simulator: WdtSimulator, inject, cls, caplog, capture_logs: LogText
) -> None:
    simulator.add_pending(30)
    inject(simulator)
    with caplog.at_level(logging.WARNING):
        page = hook.get_pending_sync_ids(count=10)
    assert len(page.rec_ids) >= 1
    assert simulator.request_count == 3
    # Each retry is logged with the error class it was retried for. Airflow 2.11 writes each line both to
    # the log capture and to stderr, so the lines are keyed by their retry number.
    retries = re.findall(r"sales\.StockSync\.getSelfWaitSyncIdListOpen: (\w+); retry (\d) of", capture_logs())
    assert {number: name for name, number in retries} == {"1": cls.__name__, "2": cls.__name__}


def test_persistent_fault_gives_typed_error_after_bounded_retries(
    hook: WdtHook, simulator: WdtSimulator
) -> None:
    simulator.faults.http_error(n=10, status=502)
    with pytest.raises(errors.WdtServerError, match="gave up after 4 attempts") as info:
        hook.get_server_time()
    assert info.value.http_status == 502
    assert simulator.request_count == 4  # 1 + max_retries (3)


def test_backoff_is_exponential_and_rate_limit_waits_longer(simulator: WdtSimulator, monkeypatch) -> None:
    set_connection(monkeypatch, "wdt_waits", fast_connection(simulator, retry_wait=0.5, rate_limit_wait=7))
    hook = WdtHook("wdt_waits")
    waits: list[float] = []
    hook.client._sleep = waits.append  # record instead of sleeping; the HTTP traffic stays real
    simulator.faults.http_error(n=3, status=503)
    hook.get_server_time()
    simulator.faults.rate_limit(n=1)
    hook.get_server_time()
    assert waits == [0.5, 1.0, 2.0, 7]


def test_slow_answer_times_out_then_retries(simulator: WdtSimulator, monkeypatch: pytest.MonkeyPatch) -> None:
    set_connection(monkeypatch, "wdt_slow", fast_connection(simulator, timeout=0.3))
    simulator.faults.slow(n=1, seconds=1.0)
    hook = WdtHook("wdt_slow")
    assert hook.get_server_time()
    assert hook.client.request_count == 2  # the simulator may still be sleeping on the first one


def test_unreachable_host_is_transport_error_without_secrets(simulator: WdtSimulator, monkeypatch) -> None:
    conn = fast_connection(simulator, max_retries=1)
    conn["host"] = f"http://127.0.0.1:{free_port()}/openapi"
    set_connection(monkeypatch, "wdt_down", conn)
    with pytest.raises(errors.WdtTransportError, match="could not reach") as info:
        WdtHook("wdt_down").get_server_time()
    text = str(info.value)
    assert "wdtsim_salt" not in text and "sign=" not in text.replace("sign=***", "")
    assert "refused" in text.lower()  # urllib3's wrapper is cut away, its cause kept
    assert info.value.__suppress_context__


def test_transport_reasons_are_cut_to_size_and_lose_the_salt_and_secret(hook: WdtHook) -> None:
    # A proxy or TLS layer may echo anything; the secret and salt go wherever they appear, not only in URLs.
    client = hook.client
    reason = client._clean(RuntimeError(f"upstream said wdtsim_secret and wdtsim_salt {'x' * 400}"))
    assert "wdtsim_secret" not in reason and "wdtsim_salt" not in reason
    assert reason.startswith("upstream said ") and reason.endswith("...") and len(reason) == 303


def test_https_to_http_server_is_tls_error_not_retried(simulator: WdtSimulator, monkeypatch) -> None:
    conn = fast_connection(simulator)
    conn["host"] = simulator.url.replace("http://", "https://")
    set_connection(monkeypatch, "wdt_tls", conn)
    with pytest.raises(errors.WdtTlsError, match="https"):
        WdtHook("wdt_tls").get_server_time()
    # The TLS hello never reaches the request handler, so count connections: a retry would open another.
    assert simulator.connections_accepted == 1


def test_clock_skew_is_measured_corrected_and_kept(
    hook: WdtHook, simulator: WdtSimulator, caplog, capture_logs: LogText
) -> None:
    simulator.clock_offset = 600.0
    with caplog.at_level(logging.WARNING):
        hook.get_server_time()
    assert simulator.request_count == 2
    assert abs(hook.client.clock_offset - 600) <= 2
    assert re.search(r"clock skew.* by \+(599|600|601) s", capture_logs())
    hook.get_server_time()
    assert simulator.request_count == 3  # the offset is kept: no second refusal


def test_skew_correction_follows_a_later_jump(hook: WdtHook, simulator: WdtSimulator) -> None:
    simulator.clock_offset = 600.0
    hook.get_server_time()
    simulator.clock_offset = -900.0  # the platform's clock jumps: measured again on the next refusal
    hook.get_server_time()
    assert abs(hook.client.clock_offset + 900) <= 2


def test_paged_call_sends_and_signs_paging_parameters(hook: WdtHook, simulator: WdtSimulator) -> None:
    result = hook.call_paged("system.Core.now", page_size=20, page_no=1, calc_total=True)
    assert result.data
    record = simulator.request_log[-1]
    assert record.status == 0
    # The paging travels in the signed query string (the simulator answers status 0 with or without it).
    assert {k: record.query.get(k) for k in ("page_size", "page_no", "calc_total")} == {
        "page_size": "20",
        "page_no": "1",
        "calc_total": "1",
    }


def test_paged_call_sends_its_arguments_and_the_default_paging(
    hook: WdtHook, simulator: WdtSimulator
) -> None:
    (rec_id,) = simulator.add_pending(1)
    # calcStock refuses a call without its arguments, so an answer proves they were sent.
    result = hook.call_paged("sales.StockSync.calcStock", rec_id, False, page_size=5)
    assert result.data["rec_id"] == rec_id
    assert result.total_count is None  # this answer carries no total
    record = simulator.request_log[-1]
    assert {k: record.query.get(k) for k in ("page_size", "page_no", "calc_total")} == {
        "page_size": "5",
        "page_no": "0",
        "calc_total": "1",
    }


def test_stock_sync_helpers_drain_the_pending_list(hook: WdtHook, simulator: WdtSimulator) -> None:
    ids = simulator.add_pending(25)
    assert (
        list(hook.iter_pending_sync_ids(count=10))
        == simulator.pending_ids()
        == sorted(ids, key=lambda i: (simulator.goods(i)["disable_syn_until"], i))
    )
    first, second, third = simulator.pending_ids()[:3]
    calc = hook.calc_stock(first)
    assert calc["rec_id"] == first and "syn_stock" in calc
    hook.sync_success(first, sync_info(calc, success=True, result="pushed"))
    batch = hook.batch_calc_stock([second, third, 999_999_999])
    assert {c["rec_id"] for c in batch.calculated} == {second, third}
    assert [e["rec_id"] for e in batch.errors] == [999_999_999]
    by_id = {c["rec_id"]: c for c in batch.calculated}
    hook.sync_fail(second, sync_info(by_id[second], success=False, result="shop refused"))
    hook.cancel_sync(third, -1)
    pending = simulator.pending_ids()
    assert first not in pending and second in pending and third in pending


def test_stale_stock_change_count_keeps_item_pending(hook: WdtHook, simulator: WdtSimulator) -> None:
    (rec_id,) = simulator.add_pending(1)
    calc = hook.calc_stock(rec_id)
    simulator.change_stock(rec_id, 5)  # stock moved while the push was in flight
    hook.sync_success(rec_id, sync_info(calc, success=True))
    assert rec_id in simulator.pending_ids()


def test_business_error_is_typed_and_not_retried(hook: WdtHook, simulator: WdtSimulator) -> None:
    with pytest.raises(errors.WdtApiError) as info:
        hook.calc_stock(123)
    assert not info.value.retryable and simulator.request_count == 1


def test_secrets_never_in_logs_or_errors(
    simulator: WdtSimulator, monkeypatch, caplog, capture_logs: LogText
) -> None:
    conn = fast_connection(simulator, max_retries=2)
    set_connection(monkeypatch, "wdt_logs", conn)
    hook = WdtHook("wdt_logs")
    texts: list[str] = []
    with caplog.at_level(logging.DEBUG):
        simulator.faults.drop(n=1)
        simulator.faults.http_error(n=1)
        hook.get_server_time()
        simulator.add_pending(12)
        list(hook.iter_pending_sync_ids(count=10))
        simulator.faults.http_error(n=5)
        with pytest.raises(errors.WdtError) as info:
            hook.get_server_time()
        texts.append(str(info.value))
        down = fast_connection(simulator, max_retries=0)
        down["host"] = f"http://127.0.0.1:{free_port()}"
        set_connection(monkeypatch, "wdt_logs_down", down)
        with pytest.raises(errors.WdtTransportError) as info2:
            WdtHook("wdt_logs_down").get_server_time()
        texts.append(str(info2.value))
    texts.append(capture_logs())
    texts.extend(r.getMessage() for r in caplog.records)
    blob = "\n".join(texts)
    assert "urllib3" in {r.name.split(".")[0] for r in caplog.records}  # DEBUG request lines were captured
    for secret in ("wdtsim_secret", "wdtsim_salt"):
        assert secret not in blob
    signs = [r.getMessage() for r in caplog.records if "sign=" in r.getMessage()]
    assert signs and all("sign=***" in m for m in signs)


def test_argument_error_is_typed_and_not_retried(hook: WdtHook, simulator: WdtSimulator) -> None:
    with pytest.raises(errors.WdtArgumentError) as info:
        hook.call("sales.StockSync.calcStock", "not-a-number", False)
    assert info.value.status == 1 and "calcStock" in str(info.value)
    assert simulator.request_count == 1


def test_unknown_method_names_the_method(hook: WdtHook, simulator: WdtSimulator) -> None:
    with pytest.raises(errors.WdtApiError, match=re.escape("no.Such.method")):
        hook.call("no.Such.method")
    assert simulator.request_count == 1


@pytest.mark.parametrize("tie_mode", ["after", "from"])
def test_pull_stats_count_pages_ids_repeats_and_the_last_position(
    hook: WdtHook, simulator: WdtSimulator, tie_mode: str
) -> None:
    simulator.tie_mode = tie_mode
    simulator.add_pending(95)
    stats = PullStats()
    pages = list(hook.iter_pending_sync_pages(count=10, stats=stats))
    ids = [rec_id for page in pages for rec_id in page.rec_ids]
    assert len(ids) == len(set(ids)) == 95 and stats.ids == 95
    assert stats.pages == simulator.request_count == len(pages) + 1  # one more request finds the end
    assert stats.position == pages[-1].position and stats.stopped_by == "end of list"
    # Replay the same requests raw: every id served beyond the 95 distinct ones was a dropped repeat.
    positions = [0] + [int(page.position or 0) for page in pages]
    served = sum([len(hook.get_pending_sync_ids(10, position).rec_ids) for position in positions])
    assert stats.duplicates_dropped == served - 95
    assert (stats.duplicates_dropped > 0) == (tie_mode == "from")
