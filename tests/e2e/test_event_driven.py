"""Event-driven scheduling under real components on Airflow 3: api-server, scheduler, dag-processor,
triggerer, LocalExecutor, and ``example_wdt_event_driven`` copied as shipped.

The AssetWatcher's trigger polls the simulator every 2 s. What is counted is DAG runs in the metadata DB:
one per change of the pending list, none while the same items stay pending, none from a triggerer
restart (Airflow 3.3 keeps the watermark in the asset state store).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from airflow_provider_wdt.simulator import WdtSimulator
from airflow_provider_wdt.simulator.shop import ShopStandin
from tests.e2e.conftest import require
from tests.e2e.deploy import AIRFLOW3, REPO_ROOT, Component, Deployment, free_port, wait_until

DAG_ID = "example_wdt_event_driven"
POLL = 2.0  # the trigger's poll_interval
# The simulator offers a syncFail'ed item again this many seconds later; the test moves the simulator's
# clock past it at once, so that all of them come back in the same second (items coming back over several
# polls would each be a change, one run per poll: see the README).
RETRY_DELAY = 60
PENDING_IDS = "sales.StockSync.getSelfWaitSyncIdListOpen"
TRIGGER = "airflow_provider_wdt.triggers.wdt.WdtPendingSyncEventTrigger"


@dataclass
class EventStack:
    deployment: Deployment
    sim: WdtSimulator
    shop: ShopStandin

    def runs(self) -> list[tuple[str, str, str]]:
        """(run_id, run_type, state) of every run of the DAG, oldest first."""
        return self.deployment.query(
            "SELECT run_id, run_type, state FROM dag_run WHERE dag_id=? ORDER BY id", DAG_ID
        )

    def polls(self) -> int:
        return sum(1 for r in self.sim.request_log if r.method == PENDING_IDS)

    def check_components(self) -> None:
        for component in self.deployment.components:
            component.check_alive()

    def wait_runs(self, n: int, timeout: float) -> None:
        """Until the DAG has ``n`` runs, all finished (and successful)."""

        def done() -> bool:
            self.check_components()
            runs = self.runs()
            assert len(runs) <= n, f"more runs than expected: {runs}"
            return len(runs) == n and all(state in ("success", "failed") for _, _, state in runs)

        wait_until(f"{n} finished runs of {DAG_ID}", done, timeout)
        assert [state for _, _, state in self.runs()] == ["success"] * n, self.runs()
        assert {run_type for _, run_type, _ in self.runs()} == {"asset_triggered"}

    def quiet_for(self, polls: int, runs: int) -> None:
        """``polls`` more polls of the trigger, and still exactly ``runs`` runs."""
        seen = self.polls()
        wait_until(f"{polls} more polls", lambda: self.polls() >= seen + polls, timeout=polls * POLL + 30)
        assert len(self.runs()) == runs, self.runs()

    def triggerer(self) -> Component:
        (component,) = [c for c in self.deployment.components if c.name == "triggerer"]
        return component


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EventStack]:
    install = require(AIRFLOW3)
    home = tmp_path_factory.mktemp("airflow3-event-home")
    sim = WdtSimulator(seed=21, retry_delay=RETRY_DELAY)
    with sim, ShopStandin() as shop:
        api_port = free_port()
        deployment = Deployment(
            install,
            home,
            {
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
                "AIRFLOW__API__WORKERS": "1",
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
                "AIRFLOW_CONN_WDT_DEFAULT": json.dumps(sim.connection()),
                "WDT_EXAMPLE_SID": sim.default_sid,
                "WDT_EXAMPLE_POLL_INTERVAL": str(POLL),
                "WDT_EXAMPLE_SHOP_URL": shop.url,
                "WDT_EXAMPLE_OUTPUT_DIR": str(home / "output"),
            },
        )
        shutil.copy(REPO_ROOT / "example_dags" / f"{DAG_ID}.py", home / "dags")  # as shipped
        try:
            deployment.migrate()
            api = deployment.start("api-server", "api-server", "--host", "127.0.0.1", "--port", str(api_port))
            deployment.wait_http(api, f"http://127.0.0.1:{api_port}/api/v2/monitor/health")
            for name in ("scheduler", "dag-processor", "triggerer"):
                deployment.start(name, name, *(["--skip-serve-logs"] if name != "dag-processor" else []))
            stack = EventStack(deployment, sim, shop)

            def polling() -> bool:
                stack.check_components()
                return stack.polls() >= 2

            wait_until("the watcher's trigger to poll the simulator", polling, timeout=180)
            yield stack
        finally:
            deployment.stop()


def test_one_run_per_change_none_while_pending_none_after_a_triggerer_restart(stack: EventStack) -> None:
    sim, shop = stack.sim, stack.shop
    started = time.monotonic()
    assert stack.deployment.query("SELECT count(*) FROM trigger WHERE classpath=?", TRIGGER) == [(1,)]
    stack.quiet_for(polls=3, runs=0)  # an empty list starts nothing

    # 1. New items: one run. One item cannot be calculated (disabled): it stays pending where it was.
    ids = sim.add_pending(30)
    refused = {rec_id for rec_id in ids if rec_id % 7 == 0}  # the stand-in refuses them: syncFail
    assert refused
    disabled = next(rec_id for rec_id in ids if rec_id not in refused)
    sim.disable(disabled)
    stack.wait_runs(1, timeout=120)
    assert set(shop.accepted) == set(ids) - refused - {disabled}
    assert set(sim.pending_ids()) == refused | {disabled}

    # 2. The same items stay pending (the disabled one listed, the refused ones deferred): no run.
    shop.reject = lambda rec_id: False  # the shop accepts them from now on
    stack.quiet_for(polls=3, runs=1)

    # 3. The refused items are offered again after syncFail: exactly one more run, which syncs them.
    sim.clock_offset += RETRY_DELAY + 1
    stack.wait_runs(2, timeout=120)
    assert set(sim.pending_ids()) == {disabled}
    stack.quiet_for(polls=3, runs=2)

    # 4. A triggerer restart: the new trigger reads the watermark back and starts nothing.
    triggerer = stack.triggerer()
    triggerer.stop()
    stack.deployment.components.remove(triggerer)
    polls_before = stack.polls()
    stack.deployment.start("triggerer", "triggerer", "--skip-serve-logs")
    wait_until("the new triggerer to poll", lambda: stack.polls() > polls_before + 1, timeout=120)
    stack.quiet_for(polls=3, runs=2)

    # 5. And it still sees the next change: an item's stock moves after its sync.
    sim.change_stock(next(iter(refused)), 4)
    stack.wait_runs(3, timeout=120)
    stack.quiet_for(polls=3, runs=3)

    events = stack.deployment.query("SELECT count(*) FROM asset_event")
    assert events == [(3,)]
    print(f"event-driven e2e: {time.monotonic() - started:.0f} s after start-up")
