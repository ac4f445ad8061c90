"""A seller's pending sync list as an Airflow asset, ``wdt://<sid>/pending-sync`` (Airflow 3.0+).

    from airflow_provider_wdt.assets import pending_sync_asset

    pending = pending_sync_asset("mysid", wdt_conn_id="wdt_mysid", poll_interval=60)
    with DAG("stock_sync_on_change", schedule=pending, max_active_runs=1): ...

The asset carries an AssetWatcher whose :class:`WdtPendingSyncEventTrigger` polls the list; each change
queues a run of every DAG scheduled on the asset. The provider info declares the ``wdt`` URI scheme with
:func:`sanitize_uri` as its normalizer, so a malformed ``wdt://`` URI fails when the DAG is parsed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import SplitResult, quote

from airflow_provider_wdt.paging import PROBE_COUNT

if TYPE_CHECKING:
    from airflow.sdk import Asset

#: The URI scheme of WDT assets (declared in get_provider_info under ``asset-uris``).
SCHEME = "wdt"
#: The path of the pending sync list under a seller.
PENDING_SYNC_PATH = "/pending-sync"


def pending_sync_uri(sid: str) -> str:
    """``wdt://<sid>/pending-sync``: the seller (卖家账号, the connection's Login) names the asset."""
    if not isinstance(sid, str) or not sid.strip():
        raise ValueError(f"sid must be the seller account (the WDT connection's Login), got {sid!r}.")
    return f"{SCHEME}://{quote(sid.strip(), safe='')}{PENDING_SYNC_PATH}"


def pending_sync_asset(
    sid: str,
    wdt_conn_id: str = "wdt_default",
    *,
    poll_interval: float = 60.0,
    probe_count: int = PROBE_COUNT,
    refire_after: float | None = None,
) -> Asset:
    """The asset ``wdt://<sid>/pending-sync``, watched by a :class:`WdtPendingSyncEventTrigger`.

    ``sid`` is given, not read from the connection, because DAG parsing must not need the connection.
    Two assets whose watchers have identical arguments share one trigger, and Airflow 3.3's state store
    refuses a trigger shared by two assets: use one asset per connection.

    :param sid: the seller account, the Login of ``wdt_conn_id``.
    :param wdt_conn_id: the WDT connection the trigger polls with.
    :param poll_interval: seconds between polls.
    :param probe_count: ids asked for by each poll (10..5000).
    :param refire_after: seconds after an event to fire again while items stay pending (None: never).
    """
    from airflow_provider_wdt._compat import watched_asset
    from airflow_provider_wdt.triggers.wdt import WdtPendingSyncEventTrigger

    trigger = WdtPendingSyncEventTrigger(
        wdt_conn_id=wdt_conn_id,
        poll_interval=poll_interval,
        probe_count=probe_count,
        refire_after=refire_after,
    )
    asset: Asset = watched_asset(pending_sync_uri(sid), f"wdt_pending_sync_{wdt_conn_id}", trigger)
    return asset


def sanitize_uri(uri: SplitResult) -> SplitResult:
    """Airflow's normalizer for ``wdt://`` URIs: the seller (host part) and a path are required."""
    if not uri.netloc:
        raise ValueError(
            f"A {SCHEME}:// asset URI names the seller as its host: {SCHEME}://<sid>{PENDING_SYNC_PATH}."
        )
    if uri.path in ("", "/"):
        raise ValueError(
            f"A {SCHEME}:// asset URI needs a path after the seller, e.g. {SCHEME}://<sid>{PENDING_SYNC_PATH}."
        )
    return uri


__all__ = ["PENDING_SYNC_PATH", "SCHEME", "pending_sync_asset", "pending_sync_uri", "sanitize_uri"]
