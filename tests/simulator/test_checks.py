"""Each of the platform's request checks, in its order, with its status and message."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from airflow_provider_wdt.simulator import WdtSimulator, compute_sign

from .qjbclient import QjbClient, compact, wdt_now

WAIT = "sales.StockSync.getSelfWaitSyncIdListOpen"


def _post(client: QjbClient, params: dict[str, str], body: str | bytes, **kw: str) -> dict:
    raw = body if isinstance(body, bytes) else body.encode()
    status, data, _ = client.post(urlencode(params), raw, **kw)
    assert status == 200
    assert isinstance(data, dict), data
    return data


def test_form_encoded_refused(client: QjbClient) -> None:
    body = "count=10&position=0"
    params = client.params(WAIT, body)
    data = _post(client, params, body, content_type="application/x-www-form-urlencoded")
    assert data["status"] == 1
    assert "application/json" in data["message"]


def test_json_content_type_with_charset_accepted(client: QjbClient) -> None:
    params = client.params("system.Core.now", "[]")
    assert _post(client, params, "[]", content_type="application/json; charset=UTF-8")["status"] == 0


@pytest.mark.parametrize("missing", ["sid", "key", "salt", "method", "timestamp", "v", "sign"])
def test_missing_parameter_named(client: QjbClient, missing: str) -> None:
    params = client.params("system.Core.now", "[]")
    del params[missing]
    data = _post(client, params, "[]")
    assert data["status"] == 1
    assert "参数错误" in data["message"] and missing in data["message"]


def test_version_must_be_1_0(client: QjbClient) -> None:
    params = client.params("system.Core.now", "[]", v="2.0")
    assert _post(client, params, "[]") == {"status": 8, "message": "版本错误"}


def test_unknown_sid(client: QjbClient) -> None:
    client.sid = "nobody"
    assert client.call("system.Core.now") == {"status": 1, "message": "sid is not found"}


@pytest.mark.parametrize("field", ["appkey", "salt"])
def test_appkey_and_salt_must_belong_to_sid(client: QjbClient, field: str) -> None:
    setattr(client, field, "wrong")
    assert client.call("system.Core.now") == {"status": 1, "message": "app auth fail"}


def test_wrong_secret_fails_signature(client: QjbClient) -> None:
    client.secret = "not_the_secret"
    assert client.call("system.Core.now") == {"status": 1, "message": "验证失败"}


def test_extra_query_params_are_signed(client: QjbClient) -> None:
    assert client.call("system.Core.now", page_size="100", page_no="0", calc_total="1")["status"] == 0
    params = client.params("system.Core.now", "[]")
    params["page_no"] = "1"  # added after signing
    assert _post(client, params, "[]") == {"status": 1, "message": "验证失败"}


def test_timestamp_window(client: QjbClient) -> None:
    assert client.call("system.Core.now", timestamp=wdt_now() - 100)["status"] == 0
    assert client.call("system.Core.now", timestamp=wdt_now() + 100)["status"] == 0
    assert client.call("system.Core.now", timestamp=wdt_now() + 300) == {"status": 7, "message": "时间戳错误"}


def test_millisecond_timestamp_is_status_1(client: QjbClient) -> None:
    data = client.call("system.Core.now", timestamp=wdt_now() * 1000)
    assert data["status"] == 1 and "timestamp" in data["message"]


@pytest.mark.parametrize("body", [b"", b"{}", b'"x"', b"[1,", b"[\xff]", b"null"])
def test_body_must_be_json_array(client: QjbClient, body: bytes) -> None:
    params = client.params("system.Core.now", "")
    params["sign"] = compute_sign(client.secret, params, body)  # correctly signed, so the body check decides
    data = _post(client, params, body)
    assert data["status"] == 1 and "JSON" in data["message"], data


def test_unknown_method(client: QjbClient) -> None:
    data = client.call("sales.StockSync.noSuchMethod", [])
    assert data["status"] == 1 and "sales.StockSync.noSuchMethod" in data["message"]


@pytest.mark.parametrize(("method", "args"), [(WAIT, [10]), (WAIT, [10, 0, 1]), ("system.Core.now", [1])])
def test_argument_count(client: QjbClient, method: str, args: list) -> None:
    data = client.call(method, args)
    assert data["status"] == 1 and "参数个数错误" in data["message"]


@pytest.mark.parametrize(
    "args", [[True, 0], ["ten", 0], [10.0, 0], [None, 0], [10, [0]], [10, "0x10"], [10, False]]
)
def test_argument_types(client: QjbClient, args: list) -> None:
    data = client.call(WAIT, args)
    assert data["status"] == 1 and "argument type mismatch" in data["message"]


def test_digit_strings_accepted_like_the_doc_example(client: QjbClient) -> None:
    assert client.call(WAIT, ["500", "0"])["status"] == 0


@pytest.mark.parametrize(("count", "ok"), [(9, False), (10, True), (5000, True), (5001, False), (0, False)])
def test_count_range(client: QjbClient, count: int, ok: bool) -> None:
    data = client.call(WAIT, [count, 0])
    if ok:
        assert data["status"] == 0
    else:
        assert data["status"] == 1
        assert str(count) in data["message"] and "10" in data["message"] and "5000" in data["message"]


def test_negative_position_refused(client: QjbClient) -> None:
    assert client.call(WAIT, [10, -1])["status"] == 1


def test_check_order_version_before_sid(client: QjbClient) -> None:
    client.sid = "nobody"
    params = client.params("system.Core.now", "[]", v="2.0")
    assert _post(client, params, "[]")["status"] == 8


def test_check_order_signature_before_timestamp(client: QjbClient) -> None:
    client.secret = "wrong"
    assert client.call("system.Core.now", timestamp=wdt_now() - 1000)["message"] == "验证失败"


def test_other_paths_and_verbs(sim: WdtSimulator, client: QjbClient) -> None:
    params = client.params("system.Core.now", "[]")
    status, _, _ = client.post(urlencode(params), b"[]", path="/openapi2/x.php")
    assert status == 404
    client.conn.request("GET", "/openapi?" + urlencode(params))
    resp = client.conn.getresponse()
    resp.read()
    assert resp.status == 405
    assert client.call("system.Core.now")["status"] == 0  # connection still usable


def test_response_is_compact_utf8_json(client: QjbClient) -> None:
    params = client.params("sales.StockSync.calcStock", compact([1, False]))
    client.conn.request(
        "POST",
        "/openapi?" + urlencode(params),
        body=b"[1,false]",
        headers={"Content-Type": "application/json"},
    )
    raw = client.conn.getresponse().read()
    assert raw.startswith(b'{"status":100,"message":"')
    assert " " not in raw.decode().split('"message":')[0]
    assert "货品不存在".encode() in raw  # not \u escapes


def test_core_now_returns_beijing_time(client: QjbClient) -> None:
    import datetime as dt

    data = client.call("system.Core.now")
    parsed = dt.datetime.strptime(data["data"], "%Y-%m-%d %H:%M:%S")
    beijing = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).replace(tzinfo=None)
    assert abs((parsed - beijing).total_seconds()) < 5
