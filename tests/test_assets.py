"""wdt://<sid>/pending-sync assets: the helper, and the URI scheme the provider info declares (Airflow 3)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from airflow_provider_wdt.assets import pending_sync_asset, pending_sync_uri, sanitize_uri
from airflow_provider_wdt.get_provider_info import get_provider_info

try:
    from airflow.sdk import Asset, AssetWatcher
except ImportError:  # Airflow 2.11
    HAS_WATCHERS = False
else:
    HAS_WATCHERS = AssetWatcher is not None

needs_airflow3 = pytest.mark.skipif(not HAS_WATCHERS, reason="assets with watchers need Airflow 3.0+")


def test_the_uri_names_the_seller() -> None:
    assert pending_sync_uri("mysid") == "wdt://mysid/pending-sync"
    assert pending_sync_uri(" a b/c ") == "wdt://a%20b%2Fc/pending-sync"
    with pytest.raises(ValueError, match="Login"):
        pending_sync_uri("")


def test_the_normalizer_requires_a_seller_and_a_path() -> None:
    assert sanitize_uri(urlsplit("wdt://mysid/pending-sync")) == urlsplit("wdt://mysid/pending-sync")
    with pytest.raises(ValueError, match="seller as its host"):
        sanitize_uri(urlsplit("wdt:///pending-sync"))
    with pytest.raises(ValueError, match="needs a path"):
        sanitize_uri(urlsplit("wdt://mysid"))


def test_provider_info_declares_the_scheme() -> None:
    assert get_provider_info()["asset-uris"] == [
        {"schemes": ["wdt"], "handler": "airflow_provider_wdt.assets.sanitize_uri"}
    ]


@needs_airflow3
def test_the_asset_is_watched_by_the_event_trigger() -> None:
    from airflow_provider_wdt.triggers.wdt import WdtPendingSyncEventTrigger

    asset = pending_sync_asset("mysid", "wdt_mysid", poll_interval=5, refire_after=600)
    assert isinstance(asset, Asset)
    assert asset.uri == "wdt://mysid/pending-sync"
    [watcher] = asset.watchers
    assert watcher.name == "wdt_pending_sync_wdt_mysid"
    assert isinstance(watcher.trigger, WdtPendingSyncEventTrigger)
    assert watcher.trigger.serialize()[1] == {
        "wdt_conn_id": "wdt_mysid",
        "poll_interval": 5.0,
        "probe_count": 10,
        "refire_after": 600.0,
    }


@needs_airflow3
def test_airflow_uses_our_normalizer_for_wdt_uris() -> None:
    try:  # where Airflow itself looks it up (3.3); ProvidersManager before
        from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime as Manager
    except ImportError:
        from airflow.providers_manager import ProvidersManager as Manager  # type: ignore[assignment]

    assert Manager().asset_uri_handlers["wdt"] is sanitize_uri
    with pytest.raises(ValueError, match="seller as its host"):
        Asset("wdt:///pending-sync")
    assert Asset("WDT://mysid/pending-sync/").uri == "wdt://mysid/pending-sync"
