"""The shop stand-in, and the example's push_to_shop() against it."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading

import pytest
import requests

from airflow_provider_wdt.simulator.shop import ShopStandin, reject_every_seventh
from tests.conftest import REPO_ROOT
from tests.examples.conftest import load_example
from tests.helpers import free_port


def test_accepts_and_refuses_deterministically() -> None:
    with ShopStandin() as shop, requests.Session() as session:
        ok = session.post(f"{shop.url}/stock", json={"rec_id": 100_001, "stock": 12.5})
        refused = session.post(f"{shop.url}/stock", json={"rec_id": 100_002 - 100_002 % 7, "stock": 3})
        assert (ok.status_code, ok.json()) == (200, {"ok": True})
        assert refused.status_code == 409 and "refused" in refused.json()["error"]
        assert session.post(f"{shop.url}/stock", json={"stock": 1}).status_code == 400
        assert session.post(f"{shop.url}/stock", data=b"{not json").status_code == 400
        assert session.post(f"{shop.url}/elsewhere", json={}).status_code == 404
        snapshot = session.get(f"{shop.url}/stock").json()
    assert snapshot == {"push_count": 2, "accepted": {"100001": 12.5}, "rejected": [100_002 - 100_002 % 7]}
    assert shop.accepted == {100_001: 12.5} and shop.push_count == 2
    assert [reject_every_seventh(n) for n in (0, 6, 7, 14, 15)] == [True, False, True, True, False]


def test_stop_closes_kept_alive_connections_and_joins_its_threads() -> None:
    shop = ShopStandin().start()
    session = requests.Session()
    session.post(f"{shop.url}/stock", json={"rec_id": 1, "stock": 1})  # the connection stays open
    assert any(t.name == "shop-standin-conn" for t in threading.enumerate())
    shop.stop()
    shop.stop()  # twice is fine
    session.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("shop-standin")]


def test_push_to_shop_reports_accepted_and_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    push_to_shop = load_example("example_wdt_stock_sync").push_to_shop
    with ShopStandin() as shop:
        monkeypatch.setenv("WDT_EXAMPLE_SHOP_URL", shop.url + "/")
        calc = {"rec_id": 700_001, "syn_stock": 4.0, "spec_outer_id": "SIM-1"}
        assert push_to_shop(calc) == (True, "ok")
        accepted, message = push_to_shop({**calc, "rec_id": 700_000})
    assert not accepted and message.startswith("shop refused: HTTP 409")
    assert shop.accepted == {700_001: 4.0}


def test_push_to_shop_raises_when_the_shop_is_broken(monkeypatch: pytest.MonkeyPatch) -> None:
    push_to_shop = load_example("example_wdt_stock_sync").push_to_shop
    with ShopStandin() as shop:
        shop.down_status = 503
        monkeypatch.setenv("WDT_EXAMPLE_SHOP_URL", shop.url)
        with pytest.raises(RuntimeError, match="HTTP 503"):
            push_to_shop({"rec_id": 1, "syn_stock": 1})


@pytest.mark.parametrize("module", ["airflow_provider_wdt.simulator.shop", "example_dags.shop_standin"])
def test_runs_on_its_own_from_the_package_and_from_the_clones_old_name(module: str) -> None:
    """The installed package runs it (README: the installed package is enough); the clone's old module
    name still does."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", module, "--port", str(port)], stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT
    )
    try:
        assert process.stdout is not None
        assert f"listening on http://127.0.0.1:{port}" in process.stdout.readline()
        answer = requests.post(f"http://127.0.0.1:{port}/stock", json={"rec_id": 7, "stock": 1}, timeout=5)
        assert answer.status_code == 409  # divisible by 7: refused, as in the demo
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


def test_the_clones_old_module_is_the_packaged_stand_in() -> None:
    from example_dags import shop_standin

    assert shop_standin.ShopStandin is ShopStandin
