"""calcStock, batchCalcStock, syncSuccess, syncFail and cancelSync on the seller's state."""

from __future__ import annotations

import threading
from typing import Any

from airflow_provider_wdt.simulator import DEFAULT_APPKEY, DEFAULT_APPSECRET, DEFAULT_SID, WdtSimulator

from .qjbclient import QjbClient

SS = "sales.StockSync."
CALC_FIELDS = {
    "rec_id", "syn_stock", "stock_change_count", "stock_syn_rule_id", "stock_syn_rule_no",
    "stock_syn_warehouses", "stock_syn_mask", "stock_syn_percent", "stock_syn_plus", "stock_syn_min",
    "stock_syn_max", "is_auto_listing", "is_auto_delisting", "shop_id", "platform_id", "goods_id", "spec_id",
    "outer_id", "spec_outer_id", "status",
}  # fmt: skip


def _ok(answer: dict) -> Any:
    assert answer["status"] == 0, answer
    return answer.get("data")


def _info(calc: dict, success: int = 1) -> dict:
    keep = (
        "syn_stock",
        "stock_change_count",
        "stock_syn_rule_id",
        "stock_syn_rule_no",
        "stock_syn_warehouses",
    )
    return {k: calc[k] for k in keep} | {"is_syn_success": success, "is_manual": 0, "syn_result": "ok"}


def test_calc_stock_map(sim: WdtSimulator, client: QjbClient) -> None:
    rec_id = sim.pending_ids()[0]
    calc = _ok(client.call(SS + "calcStock", [rec_id, False]))
    assert isinstance(calc, dict) and set(calc) >= CALC_FIELDS
    goods = sim.goods(rec_id)
    assert calc["rec_id"] == rec_id and calc["platform_id"] == 127
    assert calc["stock_change_count"] == goods["stock_change_count"]
    assert calc["syn_stock"] == goods["stock"]
    assert goods["syncing"] is True
    assert _ok(client.call(SS + "calcStock", [str(rec_id), "false"]))["rec_id"] == rec_id


def test_sync_success_current_count_takes_item_off(sim: WdtSimulator, client: QjbClient) -> None:
    rec_id = sim.pending_ids()[0]
    calc = _ok(client.call(SS + "calcStock", [rec_id, False]))
    assert client.call(SS + "syncSuccess", [rec_id, _info(calc)]) == {"status": 0}
    assert rec_id not in sim.pending_ids()
    goods = sim.goods(rec_id)
    assert goods["sync_status"] == "synced" and goods["last_syn_stock"] == calc["syn_stock"]
    assert not goods["syncing"]
    assert rec_id not in client.call(SS + "getSelfWaitSyncIdListOpen", [5000, 0])["data"]["id_list"]


def test_stock_changed_in_flight_makes_success_stale(sim: WdtSimulator, client: QjbClient) -> None:
    rec_id = sim.pending_ids()[0]
    calc = _ok(client.call(SS + "calcStock", [rec_id, False]))
    sim.change_stock(rec_id, -5)
    _ok(client.call(SS + "syncSuccess", [rec_id, _info(calc)]))
    assert rec_id in sim.pending_ids()
    assert sim.goods(rec_id)["stale_success_count"] == 1
    calc2 = _ok(client.call(SS + "calcStock", [rec_id, False]))
    assert calc2["stock_change_count"] == calc["stock_change_count"] + 1
    assert calc2["syn_stock"] == max(calc["syn_stock"] - 5, 0)
    _ok(client.call(SS + "syncSuccess", [rec_id, _info(calc2)]))
    assert rec_id not in sim.pending_ids()


def test_change_stock_requeues_a_synced_item(sim: WdtSimulator, client: QjbClient) -> None:
    rec_id = sim.pending_ids()[0]
    calc = _ok(client.call(SS + "calcStock", [rec_id, False]))
    _ok(client.call(SS + "syncSuccess", [rec_id, _info(calc)]))
    sim.change_stock(rec_id, 3)
    assert sim.pending_ids()[-1] == rec_id  # due now, after every seeded item
    assert rec_id in client.call(SS + "getSelfWaitSyncIdListOpen", [5000, 0])["data"]["id_list"]


def test_sync_fail_keeps_pending_but_defers(sim: WdtSimulator, client: QjbClient) -> None:
    rec_id = sim.pending_ids()[0]
    calc = _ok(client.call(SS + "calcStock", [rec_id, False]))
    _ok(client.call(SS + "syncFail", [rec_id, _info(calc, success=0)]))
    assert rec_id in sim.pending_ids()
    goods = sim.goods(rec_id)
    assert goods["sync_status"] == "failed" and goods["sync_fail_count"] == 1
    assert goods["disable_syn_until"] > sim.server_wdt_time()
    wait = SS + "getSelfWaitSyncIdListOpen"
    assert rec_id not in client.call(wait, [5000, 0])["data"]["id_list"]
    sim.clock_offset = sim.retry_delay + 5  # later: due again
    client.clock_offset = sim.clock_offset
    assert client.call(wait, [5000, 0])["data"]["id_list"][-1] == rec_id


def test_disabled_goods(sim: WdtSimulator, client: QjbClient) -> None:
    rec_id = sim.pending_ids()[0]
    sim.disable(rec_id)
    answer = client.call(SS + "calcStock", [rec_id, False])
    assert answer["status"] == 100 and answer["message"].endswith("已停用或者未开启同步")
    assert _ok(client.call(SS + "calcStock", [rec_id, True]))["rec_id"] == rec_id


def test_batch_calc_stock(sim: WdtSimulator, client: QjbClient) -> None:
    a, b, c = sim.pending_ids()[:3]
    sim.disable(c)
    items = [{"api_goods_id": a, "force_sync": False}, {"api_goods_id": b, "force_sync": True}]
    items += [{"api_goods_id": c, "force_sync": False}, {"api_goods_id": 1, "force_sync": False}]
    data = _ok(client.call(SS + "batchCalcStock", [items]))
    assert isinstance(data, dict) and set(data) == {"success_date", "error_date"}
    assert [m["rec_id"] for m in data["success_date"]] == [a, b]
    assert set(data["success_date"][0]) >= CALC_FIELDS
    assert [e["rec_id"] for e in data["error_date"]] == [c, 1]
    assert all(e["err_msg"] for e in data["error_date"])
    assert client.call(SS + "batchCalcStock", [[{"force_sync": False}]])["status"] == 1
    assert client.call(SS + "batchCalcStock", [[5]])["status"] == 1


def test_batch_limit(sim: WdtSimulator, client: QjbClient) -> None:
    sim.batch_limit = 2
    items = [{"api_goods_id": i, "force_sync": False} for i in sim.pending_ids()[:3]]
    answer = client.call(SS + "batchCalcStock", [items])
    assert answer["status"] == 1 and "2" in answer["message"]
    assert client.call(SS + "batchCalcStock", [items[:2]])["status"] == 0


def test_cancel_sync(sim: WdtSimulator, client: QjbClient) -> None:
    rec_id = sim.pending_ids()[0]
    scc = _ok(client.call(SS + "calcStock", [rec_id, False]))["stock_change_count"]
    assert client.call(SS + "cancelSync", [rec_id, scc + 1]) == {"status": 100, "message": "取消失败"}
    assert sim.goods(rec_id)["syncing"]
    assert client.call(SS + "cancelSync", [rec_id, scc]) == {"status": 0}
    assert not sim.goods(rec_id)["syncing"]
    assert client.call(SS + "cancelSync", [rec_id, -1]) == {"status": 0}
    assert rec_id in sim.pending_ids()


def test_unknown_rec_id_is_status_100(client: QjbClient) -> None:
    for method, args in [
        ("calcStock", [1, False]),
        ("syncSuccess", [1, {"stock_change_count": 1}]),
        ("syncFail", [1, {}]),
        ("cancelSync", [1, -1]),
    ]:
        answer = client.call(SS + method, args)
        assert answer["status"] == 100 and "1" in answer["message"], (method, answer)


def test_sync_success_needs_stock_change_count(sim: WdtSimulator, client: QjbClient) -> None:
    answer = client.call(SS + "syncSuccess", [sim.pending_ids()[0], {"syn_stock": 1}])
    assert answer["status"] == 1


def test_concurrent_clients_keep_state_consistent() -> None:
    with WdtSimulator(pending=400, seed=5) as sim:
        ids = sim.pending_ids()
        errors: list[object] = []

        def worker(part: list[int]) -> None:
            c = QjbClient(sim.url, DEFAULT_SID, DEFAULT_APPKEY, DEFAULT_APPSECRET)
            try:
                for rec_id in part:
                    calc = c.call(SS + "calcStock", [rec_id, False])["data"]
                    if c.call(SS + "syncSuccess", [rec_id, _info(calc)]) != {"status": 0}:
                        errors.append(rec_id)
            except Exception as exc:  # surfaced below
                errors.append(exc)
            finally:
                c.close()

        threads = [threading.Thread(target=worker, args=(ids[i::4],)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert sim.pending_ids() == []
        assert sim.connections_accepted == 4


def test_sellers_are_independent(sim: WdtSimulator) -> None:
    sim.add_seller("shop2", "key2", "sec2:salt2", pending=5)
    other = QjbClient(sim.url, "shop2", "key2", "sec2:salt2")
    ids = other.call(SS + "getSelfWaitSyncIdListOpen", [10, 0])["data"]["id_list"]
    assert ids == sim.pending_ids("shop2") and len(ids) == 5
    assert len(sim.pending_ids()) == 50
    rec_id = ids[0]
    calc = other.call(SS + "calcStock", [rec_id, False])["data"]
    other.call(SS + "syncSuccess", [rec_id, _info(calc)])
    assert rec_id not in sim.pending_ids("shop2")
    # shop2's credentials do not open the default seller
    other.sid = DEFAULT_SID
    assert other.call("system.Core.now") == {"status": 1, "message": "app auth fail"}
    other.close()
