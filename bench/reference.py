"""The reference client the operator is measured against: protocol sections 1-4, nothing else."""

from __future__ import annotations

import hashlib
import time

from bench.common import BenchBroken

METHOD = "sales.StockSync.getSelfWaitSyncIdListOpen"
WDT_EPOCH = 1325347200  # protocol section 3: seconds since 2012-01-01 00:00 Beijing time

# The protocol page's known-answer vectors (section 4): the reference client must sign like the platform.
SIGN_VECTORS = (
    (
        "aa",
        {
            "key": "wdt_test",
            "method": "system.Core.now",
            "salt": "dd",
            "sid": "wdtapi3",
            "timestamp": "100",
            "v": "1.0",
        },
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
)


def reference_sign(secret: str, params: dict[str, str], body: str) -> str:
    """md5(secret + k1 + v1 + ... + secret) over the params except sign, plus ``body``, keys sorted."""
    items = {key: value for key, value in params.items() if key != "sign"}
    items["body"] = body
    joined = "".join(key + items[key] for key in sorted(items))
    return hashlib.md5((secret + joined + secret).encode("utf-8")).hexdigest()


def check_reference_sign() -> None:
    for secret, params, body, expected in SIGN_VECTORS:
        got = reference_sign(secret, params, body)
        if got != expected:
            raise BenchBroken(f"reference client signs {params['method']} as {got}, expected {expected}")


def reference_pull(url: str, sid: str, appkey: str, appsecret: str, count: int, path: str) -> tuple[int, int]:
    """The smallest client: one session, sign, post, parse, append to a JSON array, until an empty page.

    Returns (ids, requests). Knows nothing about retries, ties or atomic files: it is the floor.
    """
    import requests

    secret, _, salt = appsecret.partition(":")
    session = requests.Session()
    session.trust_env = False  # proxies are not re-read from the environment on every request
    session.headers["Content-Type"] = "application/json"
    position = ids_total = requests_sent = 0
    with session, open(path, "w", encoding="utf-8") as out:
        out.write("[")
        separator = ""
        while True:
            body = f"[{count},{position}]"
            params = {
                "sid": sid,
                "key": appkey,
                "salt": salt,
                "method": METHOD,
                "timestamp": str(int(time.time()) - WDT_EPOCH),
                "v": "1.0",
            }
            params["sign"] = reference_sign(secret, params, body)
            answer = session.post(url, params=params, data=body.encode("utf-8"), timeout=30).json()
            requests_sent += 1
            if answer["status"] != 0:
                raise BenchBroken(f"reference client: status {answer['status']}: {answer.get('message')}")
            data = answer["data"]
            ids = data["id_list"]
            if not ids:
                break
            out.write(separator + ",".join(map(str, ids)))
            separator = ","
            ids_total += len(ids)
            position = data["position"]
        out.write("]\n")
    return ids_total, requests_sent
