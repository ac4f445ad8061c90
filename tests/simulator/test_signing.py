"""The simulator's signer against the protocol page's known-answer vectors, and a hand-built request.

The tests' own client (qjbclient.py) signs with this signer too, so every check here compares against
literal values or an MD5 computed by hand, never against another call of the signer."""

from __future__ import annotations

import hashlib

import pytest

from airflow_provider_wdt.simulator import WdtSimulator, compute_sign, split_appsecret

from .qjbclient import QjbClient, wdt_now

VECTORS = [
    (
        "aa",
        {"key": "wdt_test", "method": "system.Core.now", "salt": "dd", "sid": "wdtapi3", "timestamp": "100"}
        | {"v": "1.0"},
        "[]",
        "b5745bf1f4721a0d16e9a68cb7513032",
    ),
    (
        "693f9fed686bfe13441385da98b436b6",
        {
            "sid": "wdterp30",
            "key": "czhc",
            "salt": "dd488d0802b1e431e4c72cd355847853",
            "method": "wms.stockout.Sales.weighingExt",
            "timestamp": "232623153",
            "v": "1.0",
        },
        '["xc109393939393939","",1.2,0,false]',
        "20f557aaf9190797c581bbceeb6d5a5c",
    ),
]


@pytest.mark.parametrize(("secret", "params", "body", "expected"), VECTORS)
def test_known_answer_vectors(secret: str, params: dict[str, str], body: str, expected: str) -> None:
    assert compute_sign(secret, params, body) == expected
    assert compute_sign(secret, params, body.encode()) == expected
    assert compute_sign(secret, {**params, "sign": "ignored"}, body) == expected


def test_split_appsecret_at_first_colon() -> None:
    assert split_appsecret("693f9fed686bfe13441385da98b436b6:dd488d0802b1e431e4c72cd355847853") == (
        "693f9fed686bfe13441385da98b436b6",
        "dd488d0802b1e431e4c72cd355847853",
    )
    assert split_appsecret("a:b:c") == ("a", "b:c")
    with pytest.raises(ValueError):
        split_appsecret("nocolon")


def test_paging_params_are_signed() -> None:
    base = {"sid": "s", "key": "k", "salt": "x", "method": "m", "timestamp": "1", "v": "1.0"}
    paged = {**base, "page_size": "100", "page_no": "0", "calc_total": "1"}
    # Sorted keys: body, calc_total, key, method, page_no, page_size, salt, sid, timestamp, v.
    by_hand = "secbody[]calc_total1keykmethodmpage_no0page_size100saltxsidstimestamp1v1.0sec"
    assert compute_sign("sec", paged, "[]") == hashlib.md5(by_hand.encode()).hexdigest()
    assert compute_sign("sec", paged, "[]") != compute_sign("sec", base, "[]")


def _hand_built(sim: WdtSimulator, body: str, sign_body: str | None = None, ts: int | None = None) -> str:
    """The query string of a request built step by step from protocol section 4, no helper."""
    timestamp = str(wdt_now() if ts is None else ts)
    # Sorted keys: body, key, method, salt, sid, timestamp, v.
    text = (
        "wdtsim_secret"
        + "body"
        + (body if sign_body is None else sign_body)
        + "keywdtsim_key"
        + "methodsales.StockSync.getSelfWaitSyncIdListOpen"
        + "saltwdtsim_salt"
        + "sidwdtsim"
        + "timestamp"
        + timestamp
        + "v1.0"
        + "wdtsim_secret"
    )
    sign = hashlib.md5(text.encode()).hexdigest()
    return (
        "sid=wdtsim&key=wdtsim_key&salt=wdtsim_salt&method=sales.StockSync.getSelfWaitSyncIdListOpen"
        f"&timestamp={timestamp}&v=1.0&sign={sign}"
    )


def test_hand_built_request_accepted(sim: WdtSimulator, client: QjbClient) -> None:
    status, data, headers = client.post(_hand_built(sim, "[10,0]"), b"[10,0]")
    assert status == 200
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert data["status"] == 0
    assert data["data"]["id_list"] == sim.pending_ids()[: len(data["data"]["id_list"])]


def test_one_body_byte_changed_refused(sim: WdtSimulator, client: QjbClient) -> None:
    _, data, _ = client.post(_hand_built(sim, "[10,0]"), b"[11,0]")
    assert data == {"status": 1, "message": "验证失败"}
    # Same arguments, different bytes: a space the signer did not see.
    _, data, _ = client.post(_hand_built(sim, "[10,0]"), b"[10, 0]")
    assert data == {"status": 1, "message": "验证失败"}


def test_300_seconds_old_refused(sim: WdtSimulator, client: QjbClient) -> None:
    _, data, _ = client.post(_hand_built(sim, "[10,0]", ts=wdt_now() - 300), b"[10,0]")
    assert data == {"status": 7, "message": "时间戳错误"}
