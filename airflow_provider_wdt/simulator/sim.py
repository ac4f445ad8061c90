"""WdtSimulator: the Python API to run the simulated platform in a thread and drive it from tests."""

from __future__ import annotations

from typing import Any, Generic, TypeVar, overload

from airflow_provider_wdt.platform_facts import WDT_EPOCH

from .faults import FaultPlan
from .platform_state import Platform
from .server import STATE_PATH, NetworkModel, Server
from .state import Seller
from .stats import RequestRecord, RequestStats, call_counts

__all__ = ["DEFAULT_APPKEY", "DEFAULT_APPSECRET", "DEFAULT_SID", "RequestRecord", "WdtSimulator"]

DEFAULT_SID = "wdtsim"
DEFAULT_APPKEY = "wdtsim_key"
DEFAULT_APPSECRET = "wdtsim_secret:wdtsim_salt"


T = TypeVar("T")


class _Forward(Generic[T]):
    """An attribute that lives on one of the simulator's layers (``layer`` names the attribute holding it).

    The layers read their own objects at every request, so a test setting ``sim.clock_offset`` while
    serving must reach the layer, not a copy on the façade.
    """

    def __init__(self, layer: str) -> None:
        self.layer = layer
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, objtype: type | None = None) -> _Forward[T]: ...
    @overload
    def __get__(self, obj: object, objtype: type | None = None) -> T: ...
    def __get__(self, obj: object | None, objtype: type | None = None) -> T | _Forward[T]:
        if obj is None:
            return self
        value: T = getattr(getattr(obj, self.layer), self.name)
        return value

    def __set__(self, obj: object, value: T) -> None:
        setattr(getattr(obj, self.layer), self.name, value)


class WdtSimulator:
    """A local qjb platform. ``with WdtSimulator(...) as sim:`` serves on ``sim.url`` until the block ends.

    ``latency_ms`` delays every answer by a simulated round trip (half before the request is handled,
    half after); ``connect_latency_ms`` delays the first answer on each new connection once more, as a
    TCP (and TLS) handshake would.

    State methods take ``sid=None`` for the seller given to the constructor and work before start too.

    The façade only wires the layers together: ``platform`` (what the gateway reads per request),
    ``network`` (the server's delays) and ``stats`` (the server's events: the request log, the connection
    counters). Its configuration attributes forward to the layer that uses them.
    """

    sellers: _Forward[dict[str, Seller]] = _Forward("platform")
    faults: _Forward[FaultPlan] = _Forward("platform")
    tie_mode: _Forward[str] = _Forward("platform")  # validated by Platform
    calls_per_minute: _Forward[int | None] = _Forward("platform")
    max_concurrency: _Forward[int | None] = _Forward("platform")
    rate_window: _Forward[float] = _Forward("platform")  # seconds; tests may shorten it
    clock_offset: _Forward[float] = _Forward("platform")  # the server clock runs this many seconds ahead
    batch_limit: _Forward[int | None] = _Forward("platform")
    retry_delay: _Forward[int] = _Forward("platform")  # syncFail defers an item this many seconds
    #: Added to every answer (a network round trip), milliseconds; may be changed while running.
    latency_ms: _Forward[float] = _Forward("network")
    #: Added once more to the first answer on each new connection (the TCP handshake), milliseconds.
    connect_latency_ms: _Forward[float] = _Forward("network")
    verbose: _Forward[bool] = _Forward("network")

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        sid: str = DEFAULT_SID,
        appkey: str = DEFAULT_APPKEY,
        appsecret: str = DEFAULT_APPSECRET,
        pending: int = 0,
        seed: int = 0,
        tie_mode: str = "after",
        calls_per_minute: int | None = None,
        max_concurrency: int | None = None,
        clock_offset: float = 0.0,
        batch_limit: int | None = None,
        retry_delay: int = 60,
        verbose: bool = False,
        latency_ms: float = 0.0,
        connect_latency_ms: float = 0.0,
    ) -> None:
        self.host = host
        self.port = port
        self.seed = seed
        self.platform = Platform(
            calls_per_minute=calls_per_minute,
            max_concurrency=max_concurrency,
            tie_mode=tie_mode,
            clock_offset=clock_offset,
            batch_limit=batch_limit,
            retry_delay=retry_delay,
        )
        self.network = NetworkModel(latency_ms, connect_latency_ms, verbose)
        self.stats = RequestStats()
        self.default_sid = sid
        self._server: Server | None = None
        self.add_seller(sid, appkey, appsecret, pending=pending)

    # -- configuration ------------------------------------------------------------------------------

    def set_rate_limit(self, calls_per_minute: int | None = None, max_concurrency: int | None = None) -> None:
        """Per-sid limits (None = unlimited); also forgets the calls already counted."""
        self.calls_per_minute = calls_per_minute
        self.max_concurrency = max_concurrency
        for seller in list(self.sellers.values()):
            seller.limiter.reset()

    def server_time(self) -> float:
        """The simulated clock, unix seconds."""
        return self.platform.server_time()

    def server_wdt_time(self) -> int:
        """The simulated clock in WDT-epoch seconds (the unit of timestamp and disable_syn_until)."""
        return int(self.server_time()) - WDT_EPOCH

    def sleep(self, seconds: float) -> None:
        """Sleep that stop() interrupts."""
        self.platform.sleep(seconds)

    # -- sellers and goods --------------------------------------------------------------------------

    def add_seller(
        self, sid: str, appkey: str, appsecret: str, pending: int = 0, seed: int | None = None
    ) -> None:
        if sid in self.sellers:  # before seeding its goods, which may take a while
            raise ValueError(f"seller {sid!r} exists already")
        seller = Seller(sid, appkey, appsecret, pending=pending, seed=self.seed if seed is None else seed)
        self.platform.add_seller(seller)

    def seller(self, sid: str | None = None) -> Seller:
        return self.sellers[self.default_sid if sid is None else sid]

    def connection(self, sid: str | None = None) -> dict[str, Any]:
        """An Airflow connection (JSON form, e.g. for AIRFLOW_CONN_WDT_DEFAULT) pointing here."""
        seller = self.seller(sid)
        return {
            "conn_type": "wdt",
            "host": self.url,
            "login": seller.sid,
            "password": seller.appsecret,
            "schema": seller.appkey,  # the App key field
            "extra": {},
        }

    def add_pending(self, n: int, sid: str | None = None, same_disable_syn_until: bool = False) -> list[int]:
        return self.seller(sid).add_pending(n, same_disable_syn_until)

    def pending_ids(self, sid: str | None = None) -> list[int]:
        return self.seller(sid).pending_ids()

    def goods(self, rec_id: int, sid: str | None = None) -> dict[str, Any]:
        return self.seller(sid).goods(rec_id)

    def change_stock(self, rec_id: int, delta: float, sid: str | None = None) -> None:
        self.seller(sid).change_stock(rec_id, delta, self.server_wdt_time())

    def disable(self, rec_id: int, sid: str | None = None, disabled: bool = True) -> None:
        self.seller(sid).set_sync_enabled(rec_id, not disabled)

    # -- stats --------------------------------------------------------------------------------------

    @property
    def request_count(self) -> int:
        return self.stats.count

    @property
    def request_log(self) -> list[RequestRecord]:
        return self.stats.records

    @property
    def connections_accepted(self) -> int:
        return self.stats.connections

    def reset_stats(self) -> None:
        self.stats.reset()

    def state(self) -> dict[str, Any]:
        """What ``GET /_simulator/state`` answers: per seller, per item how often it was reported and
        whether it is pending, the requests, refusals and admitted calls per ``rate_window``."""
        records = self.stats.records
        sellers = {}
        for sid, seller in self.sellers.items():
            counts = call_counts(records, sid, self.rate_window)
            items = {str(rec_id): item for rec_id, item in seller.report_counts().items()}
            sellers[sid] = {**counts, "items": items}
        return {
            "rate_window": self.rate_window,
            "calls_per_minute": self.calls_per_minute,
            "max_concurrency": self.max_concurrency,
            "sellers": sellers,
        }

    # -- lifecycle ----------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/openapi"

    @property
    def state_url(self) -> str:
        """The read-only state view (JSON), outside the platform's path."""
        return f"http://{self.host}:{self.port}{STATE_PATH}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> WdtSimulator:
        if self._server is not None:
            raise RuntimeError("simulator already started")
        self._server = Server((self.host, self.port), self.platform, self.network, self.stats, self.state)
        self.port = self._server.server_address[1]
        self._server.start_serving()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving, close every connection and join the threads; safe to call twice."""
        if self._server is None:
            return
        self._server.stop(timeout)
        self._server = None

    def __enter__(self) -> WdtSimulator:
        return self if self.running else self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
