"""The protocol layer alone: published signature vectors, appsecret and endpoint rules, error mapping."""

from __future__ import annotations

import pickle

import pytest

from airflow_provider_wdt import errors
from airflow_provider_wdt.connection_fields import STANDARD_LABELS
from airflow_provider_wdt.protocol import (
    PRODUCTION_ENDPOINT,
    Credentials,
    Paging,
    build_request,
    compute_sign,
    encode_body,
    error_for_status,
    normalize_endpoint,
    paged_total,
    parse_response,
    redact,
    split_appsecret,
    wdt_timestamp,
)


def test_first_published_vector() -> None:
    params = {
        "key": "wdt_test",
        "method": "system.Core.now",
        "salt": "dd",
        "sid": "wdtapi3",
        "timestamp": "100",
        "v": "1.0",
    }
    assert compute_sign("aa", params, "[]") == "b5745bf1f4721a0d16e9a68cb7513032"
    # sign is the one query parameter left out of what is signed (it may already be in the dict).
    assert compute_sign("aa", {**params, "sign": "stale"}, "[]") == "b5745bf1f4721a0d16e9a68cb7513032"


@pytest.mark.parametrize("method", ["", None, 42])
def test_build_request_wants_a_method_name(method: object) -> None:
    creds = Credentials.from_connection_fields("s", "k", "secret:salt")
    with pytest.raises(errors.WdtConfigError, match=r"qjb method name such as 'sales\.StockSync\.calcStock'"):
        build_request(creds, method, [], timestamp=1)  # type: ignore[arg-type]


def test_platform_signature_page_vector_through_build_request() -> None:
    creds = Credentials.from_connection_fields(
        "wdterp30", "czhc", "693f9fed686bfe13441385da98b436b6:dd488d0802b1e431e4c72cd355847853"
    )
    request = build_request(
        creds, "wms.stockout.Sales.weighingExt", ["xc109393939393939", "", 1.2, 0, False], timestamp=232623153
    )
    assert request.body == b'["xc109393939393939","",1.2,0,false]'
    assert request.params["sign"] == "20f557aaf9190797c581bbceeb6d5a5c"
    # The secret half is never part of what is sent; the salt is.
    assert "693f9fed686bfe13441385da98b436b6" not in repr(request.params) + request.body.decode()
    assert request.params["salt"] == "dd488d0802b1e431e4c72cd355847853"
    assert "body" not in request.params


def test_paging_parameters_are_sent_and_signed() -> None:
    creds = Credentials("s", "k", "secret", "salt")
    plain = build_request(creds, "m", [], timestamp=1)
    paged = build_request(
        creds, "m", [], timestamp=1, paging=Paging(page_size=50, page_no=2, calc_total=False)
    )
    assert (paged.params["page_size"], paged.params["page_no"], paged.params["calc_total"]) == (
        "50",
        "2",
        "0",
    )
    assert paged.params["sign"] != plain.params["sign"]
    unsigned = {k: v for k, v in paged.params.items() if k != "sign"}
    assert compute_sign("secret", unsigned, "[]") == paged.params["sign"]


def test_body_is_compact_utf8_json() -> None:
    assert encode_body([500, 0]) == "[500,0]"
    assert encode_body([{"a": "店铺"}]) == '[{"a":"店铺"}]'


def test_timestamp_is_wdt_epoch_seconds() -> None:
    assert wdt_timestamp(1325347200 + 232623153.9) == 232623153


@pytest.mark.parametrize(
    ("appsecret", "needle"),
    [
        (None, "has no appsecret"),
        ("", "has no appsecret"),
        ("abc", "has no colon"),
        (":salt", "appsecret's secret (before the colon) is empty"),
        ("sec:", "appsecret's salt (after the colon) is empty"),
    ],
)
def test_malformed_appsecret_names_the_problem(appsecret: str | None, needle: str) -> None:
    with pytest.raises(errors.WdtConfigError) as caught:
        split_appsecret(appsecret)
    # What is wrong, and the form field (by its label) where the user fixes it.
    assert needle in str(caught.value)
    assert f"{STANDARD_LABELS['password']!r} (the Password field)" in str(caught.value)


def test_appsecret_splits_at_first_colon() -> None:
    assert split_appsecret("a:b:c") == ("a", "b:c")


@pytest.mark.parametrize(
    ("sid", "appkey", "field"),
    [("", "k", "sid"), (None, "k", "sid"), ("s", "", "appkey"), ("s", None, "appkey")],
)
def test_missing_sid_or_appkey_names_the_field(sid: str | None, appkey: str | None, field: str) -> None:
    with pytest.raises(errors.WdtConfigError, match=field):
        Credentials.from_connection_fields(sid, appkey, "a:b")


def test_credentials_repr_hides_secret_and_salt() -> None:
    text = repr(Credentials("sid1", "key1", "topsecret", "saltvalue"))
    assert "topsecret" not in text and "saltvalue" not in text and "sid1" in text


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        (None, PRODUCTION_ENDPOINT),
        ("", PRODUCTION_ENDPOINT),
        ("http://wdt.wangdian.cn", "http://wdt.wangdian.cn/openapi"),
        ("http://wdt.wangdian.cn/openapi", "http://wdt.wangdian.cn/openapi"),
        ("https://example.test/openapi/", "https://example.test/openapi"),
        ("127.0.0.1:8650", "http://127.0.0.1:8650/openapi"),
        ("http://h:1/prefix", "http://h:1/prefix/openapi"),
    ],
)
def test_endpoint_forms(host: str | None, expected: str) -> None:
    assert normalize_endpoint(host) == expected


@pytest.mark.parametrize("host", ["ftp://h/openapi", "http://", "http://h:99999/openapi"])
def test_bad_endpoint(host: str) -> None:
    with pytest.raises(errors.WdtConfigError, match="host"):
        normalize_endpoint(host)


@pytest.mark.parametrize(
    ("status", "message", "cls"),
    [
        (1, "验证失败", errors.WdtAuthError),
        (1, "app auth fail", errors.WdtAuthError),
        (1, "sid is not found", errors.WdtAuthError),
        (1, "参数错误", errors.WdtArgumentError),
        (2, "count", errors.WdtArgumentError),
        (3, "需要动态口令", errors.WdtAuthError),
        (4, "数据库错误", errors.WdtServerError),
        (5, "数据库错误", errors.WdtServerError),
        (6, "ip限制", errors.WdtAuthError),
        (7, "时间戳错误", errors.WdtTimestampError),
        (8, "版本错误", errors.WdtArgumentError),
        (99, "其他错误", errors.WdtBusinessError),
        (100, "权限不足", errors.WdtBusinessError),
        (100, "超过每分钟最大调用频率限制，请稍后重试", errors.WdtRateLimitError),
        (100, "超过每分钟最大调用频率限制,请稍后重试", errors.WdtRateLimitError),
        (100, "超过每分钟最大并发次数限制，请稍后重试", errors.WdtRateLimitError),
        (1064, "Unknown Database Error", errors.WdtServerError),
    ],
)
def test_status_mapping(status: int, message: str, cls: type[errors.WdtError]) -> None:
    exc = error_for_status("sales.X.y", status, message)
    assert type(exc) is cls
    assert (exc.status, exc.platform_message, exc.method) == (status, message, "sales.X.y")
    assert "sales.X.y" in str(exc) and str(status) in str(exc)
    assert exc.retryable == (cls in (errors.WdtRateLimitError, errors.WdtServerError))


def test_errors_survive_pickling() -> None:
    exc = error_for_status("m", 7, "时间戳错误")
    clone = pickle.loads(pickle.dumps(exc))
    assert type(clone) is errors.WdtTimestampError and clone.status == 7 and str(clone) == str(exc)


def test_parse_ok_and_data() -> None:
    assert parse_response("m", 200, "application/json", b'{"status":0,"data":[1]}') == {
        "status": 0,
        "data": [1],
    }


HTML = "an HTML page instead of JSON"
BAD = errors.WdtBadResponseError


@pytest.mark.parametrize(
    ("http_status", "content_type", "body", "cls", "needle"),
    [
        (200, "text/html", b"Login", BAD, HTML),
        (200, "TEXT/HTML; charset=utf-8", b"x", BAD, HTML),
        (200, "text/plain", b"  <HTML><body>Login", BAD, HTML),
        (200, "text/plain", b"<!DOCTYPE html>", BAD, HTML),
        (200, "application/json", b'{"status":0,"da', BAD, "not valid JSON (15 bytes"),
        (200, "application/json", b'{"data":1}', BAD, "no 'status'"),
        (200, "application/json", b"[1,2]", BAD, "no 'status'"),
        (200, "application/json", b'{"status":"ok"}', BAD, "status 'ok' is not a number"),
        (502, "text/html", b"<html>Bad gateway</html>", errors.WdtServerError, "HTTP 502"),
        (500, "text/plain", b"", errors.WdtServerError, "HTTP 500"),
        (404, "text/html", b"nope", errors.WdtEndpointError, "host URL (it should end in /openapi)"),
        (400, "text/plain", b"", errors.WdtEndpointError, "HTTP 400"),
        (429, "text/plain", b"slow down", errors.WdtRateLimitError, "HTTP 429"),
    ],
)
def test_unusable_answers(
    http_status: int, content_type: str, body: bytes, cls: type[errors.WdtError], needle: str
) -> None:
    with pytest.raises(errors.WdtError) as caught:
        parse_response("sales.X.y", http_status, content_type, body)
    exc = caught.value
    assert type(exc) is cls
    assert needle in str(exc) and str(exc).startswith("WDT sales.X.y: ")
    # The error carries what the retry policy and the user's handlers read.
    assert exc.method == "sales.X.y"
    assert exc.http_status == http_status


def test_html_is_told_apart_from_cut_off_json() -> None:
    with pytest.raises(errors.WdtBadResponseError, match="not valid JSON"):
        parse_response("m", 200, "application/json", b"{" + b" " * 300 + b"<html>")  # past the sniffed head


def test_platform_error_keeps_the_platform_message() -> None:
    with pytest.raises(errors.WdtApiError) as caught:
        parse_response("m", 200, "application/json", '{"status":5,"message":"系统繁忙"}'.encode())
    assert caught.value.status == 5 and "系统繁忙" in str(caught.value)


def test_redact_hides_sign_salt_and_given_secrets() -> None:
    url = "http://h/openapi?sid=s&key=k&salt=SALTY&method=m&timestamp=1&v=1.0&sign=abcdef0123"
    text = redact(f"Max retries exceeded with url: {url} (Caused by X)", ["TOPSECRET"]) + redact(
        "TOPSECRET", ["TOPSECRET"]
    )
    assert "SALTY" not in text and "abcdef0123" not in text and "TOPSECRET" not in text
    assert "salt=***" in text and "sign=***" in text and "sid=s" in text


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        ("http://h/openapi", 8650, "http://h:8650/openapi"),
        ("h/openapi", 8650, "http://h:8650/openapi"),
        ("http://h:1/openapi", 1, "http://h:1/openapi"),  # both name the same port
        ("http://h/openapi", 80, "http://h/openapi"),  # the scheme's own port is not spelled out
        ("https://h/openapi", 443, "https://h/openapi"),
        ("https://h/openapi", 80, "https://h:80/openapi"),
        ("h", None, "http://h/openapi"),
        (None, 8650, PRODUCTION_ENDPOINT),
    ],
)
def test_port_field_applies_when_the_host_names_none(
    host: str | None, port: int | None, expected: str
) -> None:
    assert normalize_endpoint(host, port) == expected


def test_port_field_and_host_port_must_agree() -> None:
    with pytest.raises(errors.WdtConfigError, match=r"Port \(8650\) differs from the port in its host URL"):
        normalize_endpoint("http://h:1/openapi", 8650)


@pytest.mark.parametrize(
    ("status", "message", "hint"),
    [
        (
            1,
            "验证失败",
            "check the appsecret (secret:salt) in 'App secret (appsecret, secret:salt)' (the Password",
        ),
        (1, "sign error", "the signature was refused"),
        (
            1,
            "sid is not found",
            "check the sid (卖家账号) in 'Seller account (卖家账号 sid)' (the Login field).",
        ),
        (1, "app auth fail", "check 'App key (接口账号 appkey)' (the Schema field) and the salt half"),
        (1, "参数错误", "check the arguments passed to sales.X.y."),
        (7, "时间戳错误", "more than 120 s from the platform's clock; check this machine's clock (NTP)."),
        (
            100,
            "超过每分钟最大调用频率限制，请稍后重试",
            ": the per-minute call limit for this seller was hit",
        ),
        (3, "", "failed with status 3 (no message): the account requires a dynamic password"),
    ],
)
def test_error_messages_say_what_to_fix(status: int, message: str, hint: str) -> None:
    assert hint in str(error_for_status("sales.X.y", status, message))


def test_redacted_url_keeps_everything_but_salt_and_sign() -> None:
    url = "http://h/openapi?sid=s&key=k&salt=SALTY&method=m&timestamp=1&v=1.0&sign=abcdef0123"
    assert redact(url) == "http://h/openapi?sid=s&key=k&salt=***&method=m&timestamp=1&v=1.0&sign=***"
    assert redact("a TOPSECRET b", ["TOPSECRET"]) == "a *** b"


@pytest.mark.parametrize(
    ("payload", "total"),
    [
        ({"status": 0, "total_count": 12, "data": []}, 12),
        ({"status": 0, "total": "7", "data": []}, 7),
        ({"status": 0, "data": {"total_count": 3, "rows": []}}, 3),
        ({"status": 0, "total_count": 0, "total": 9, "data": {"total_count": 5}}, 0),  # top level first
        ({"status": 0, "data": [1, 2]}, None),
        ({"status": 0, "data": {"rows": []}}, None),
    ],
)
def test_paged_total_reads_each_published_shape(payload: dict, total: int | None) -> None:
    assert paged_total("m", payload) == total


def test_paged_total_that_is_not_a_number_is_a_bad_response() -> None:
    with pytest.raises(errors.WdtBadResponseError, match="total_count 'many' is not a number"):
        paged_total("m", {"status": 0, "total_count": "many"})
