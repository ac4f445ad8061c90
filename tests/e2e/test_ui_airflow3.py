"""Airflow 3's own UI in headless Chromium: a wdt connection added through the form, saved, and tested
with the row's Test button, against the simulator and against a host that never answers.

The four credentials (Endpoint URL, Seller account, App secret, App key) are standard fields: filling
them in is enough for Save, without opening the collapsed "Extra Fields" section.

Chromium is Debian's (``make test-e2e`` installs it); Playwright drives it through ``executable_path``.
"""

from __future__ import annotations

import json
import shutil
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_wdt.get_provider_info import get_provider_info
from airflow_provider_wdt.simulator import WdtSimulator
from tests.e2e.conftest import record_artifact, require
from tests.e2e.deploy import AIRFLOW3, Component, Deployment, free_port

pytest.importorskip("playwright.sync_api", reason="the e2e extra is not installed: run `make test-e2e`")
from playwright.sync_api import Browser, Locator, Page, Response, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

TEST_SECONDS = 15  # the bound for an answer from the Test button against a silent host


@pytest.fixture(scope="module")
def api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Component]]:
    require(AIRFLOW3)
    port = free_port()
    deployment = Deployment(
        AIRFLOW3,
        tmp_path_factory.mktemp("airflow3-ui-home"),
        {"AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True", "AIRFLOW__API__WORKERS": "1"},
    )
    try:
        deployment.migrate()
        api = deployment.start("api-server", "api-server", "--host", "127.0.0.1", "--port", str(port))
        deployment.wait_http(api, f"http://127.0.0.1:{port}/api/v2/monitor/health")
        yield f"http://127.0.0.1:{port}", api
    finally:
        deployment.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Debian's chromium is not installed: run `make test-e2e`, which installs it")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"]
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def ui_url(api_server: tuple[str, Component]) -> str:
    return api_server[0]


@pytest.fixture
def page(browser: Browser, ui_url: str) -> Iterator[Page]:
    page = browser.new_page(viewport={"width": 1400, "height": 1400})
    page.set_default_timeout(20_000)
    page.goto(f"{ui_url}/connections", wait_until="networkidle")
    yield page
    page.close()


@pytest.fixture(scope="module")
def sim() -> Iterator[WdtSimulator]:
    secret = f"e2e-ui-secret-{uuid.uuid4().hex}:e2e-ui-salt-{uuid.uuid4().hex}"
    with WdtSimulator(appsecret=secret) as sim:
        yield sim


@pytest.fixture(scope="module")
def silent_port() -> Iterator[int]:
    """A port whose kernel completes the TCP handshake (listen backlog) while nobody ever reads or answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield int(server.getsockname()[1])


def conn_type_info() -> dict[str, Any]:
    (info,) = get_provider_info()["connection-types"]
    return info


def open_wdt_form(page: Page) -> Locator:
    page.get_by_role("button", name="Add Connection").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("combobox").fill("WDT")
    page.get_by_role("option", name=conn_type_info()["hook-name"]).click()
    return dialog


def open_extra_fields(dialog: Locator) -> None:
    """Expand the conn-fields section (which collapses the standard fields)."""
    dialog.get_by_role("button", name="Extra Fields", exact=True).click()


def form_labels(dialog: Locator) -> list[str]:
    return [" ".join(text.replace("*", "").split()) for text in dialog.locator("label").all_inner_texts()]


def fill_and_save(
    page: Page, conn_id: str, conn: dict[str, Any], port: int, screenshot: Path | None = None
) -> Response:
    """Fill the wdt form as a user would and press Save; the API's answer to the save."""
    dialog = open_wdt_form(page)
    dialog.locator("input[name=connection_id]").fill(conn_id)
    dialog.locator("input[name=host]").fill(conn["host"])
    # Airflow 3.3's Test button sends the stored port (0 when none is stored) and the API refuses a test
    # whose port differs from the URL's: the wdt form shows Port so it can be stored (README).
    port_field = dialog.locator("input[name=port]")
    assert port_field.is_visible(), "the wdt form hides Port: the UI's Test button cannot work (issue 11)"
    port_field.fill(str(port))
    dialog.locator("input[name=login]").fill(conn["login"])
    dialog.locator("input[name=password]").fill(conn["password"])
    app_key = dialog.locator("input[name=schema]")  # App key: Schema relabelled, beside the others
    assert app_key.is_visible(), "App key is not among the standard fields"
    app_key.fill(conn["schema"])
    if screenshot is not None:
        page.screenshot(path=str(screenshot), full_page=True)
        record_artifact(screenshot)
    # The extras all have defaults: Save needs nothing from the collapsed "Extra Fields" section.
    save = dialog.get_by_role("button", name="Save")
    assert save.is_enabled(), "Save stays disabled with the four credentials filled in"
    with page.expect_response(
        lambda r: r.request.method == "POST" and r.url.endswith("/connections")
    ) as saved:
        save.click()
    return saved.value


def press_test(page: Page, conn_id: str) -> tuple[Response, float]:
    """Press the row's Test button; the API's answer and the seconds it took."""
    row = page.get_by_role("row").filter(has_text=conn_id)
    started = time.monotonic()
    try:
        with page.expect_response(lambda r: r.url.endswith("/connections/test"), timeout=45_000) as tested:
            row.get_by_role("button", name="Test Connection").click()
    except PlaywrightTimeout:
        pytest.fail(f"the Test button got no answer within {time.monotonic() - started:.0f} s")
    return tested.value, time.monotonic() - started


def test_form_shows_the_wdt_fields_in_english_and_chinese(page: Page, artifacts_dir: Path) -> None:
    dialog = open_wdt_form(page)
    labels = form_labels(dialog)
    info = conn_type_info()
    relabels = info["ui-field-behaviour"]["relabeling"]
    standard = list(relabels.values())  # host, login, password, schema (the App key), port
    missing = [label for label in standard if " ".join(label.split()) not in labels]
    assert missing == [], f"labels not on the form before Extra Fields is opened: {missing}; it has {labels}"
    assert "卖家账号" in relabels["login"] and "Seller account" in relabels["login"]
    assert "接口账号" in relabels["schema"] and "App key" in relabels["schema"]
    screenshot = artifacts_dir / "airflow3-wdt-connection-form-standard.png"
    page.screenshot(path=str(screenshot), full_page=True)
    record_artifact(screenshot)
    open_extra_fields(dialog)
    labels = form_labels(dialog)
    extras = [spec["label"] for spec in info["conn-fields"].values()]
    missing = [label for label in extras if " ".join(label.split()) not in labels]
    assert missing == [], f"labels not on the form: {missing}; the form has {labels}"
    screenshot = artifacts_dir / "airflow3-wdt-connection-form-extra.png"
    page.screenshot(path=str(screenshot), full_page=True)
    record_artifact(screenshot)


def test_connection_saved_through_the_form_tests_ok(
    page: Page, sim: WdtSimulator, artifacts_dir: Path
) -> None:
    conn = sim.connection()
    saved = fill_and_save(
        page, "wdt_ui", conn, sim.port, artifacts_dir / "airflow3-wdt-connection-filled.png"
    )
    assert saved.status == 201, saved.text()
    stored = saved.json()
    assert (stored["conn_type"], stored["host"], stored["login"]) == ("wdt", conn["host"], conn["login"])
    assert stored["port"] == sim.port
    assert stored["schema"] == conn["schema"]
    assert "appkey" not in json.loads(stored["extra"] or "{}")
    assert stored["password"] == "***"

    sim.reset_stats()
    response, _ = press_test(page, "wdt_ui")
    assert response.status == 200, f"the UI's test request was refused: {response.text()}"
    answer = response.json()
    assert answer["status"] is True, answer
    assert [(r.method, r.status) for r in sim.request_log] == [("system.Core.now", 0)]
    assert page.get_by_text("Test Connection Failed").count() == 0


def test_test_button_answers_within_15_s_against_a_silent_host(page: Page, silent_port: int) -> None:
    conn = {
        "host": f"http://127.0.0.1:{silent_port}/openapi",
        "login": "wdtsim",
        "password": f"e2e-ui-secret-{uuid.uuid4().hex}:salt",
        "schema": "wdtsim_key",
    }
    assert fill_and_save(page, "wdt_ui_silent", conn, silent_port).status == 201
    response, seconds = press_test(page, "wdt_ui_silent")
    assert response.status == 200, response.text()
    answer = response.json()
    assert answer["status"] is False
    assert "test_timeout extra" in answer["message"], answer  # the setting that applied
    assert seconds < TEST_SECONDS, f"Test took {seconds:.1f} s against a host that never answers"
    page.get_by_text("Test Connection Failed").wait_for()  # the user sees the outcome


def test_api_server_logged_nothing_about_the_provider(api_server: tuple[str, Component]) -> None:
    # Last in this module: the form, the saves and the tests above made it load the provider's fields.
    names = ("airflow_provider_wdt", "WdtHook")
    lines = [line for line in api_server[1].log_text().splitlines() if any(n in line for n in names)]
    assert lines == []
