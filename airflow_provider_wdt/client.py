"""A small qjb HTTP client: one session, a timeout always, bounded retries and clock-skew correction.

No Airflow import: the hook wraps it, and a trigger thread or a script can use it directly.
One client talks for one seller (sid); a process serving several sellers uses one client each.
It is safe to share between threads: ``max_concurrency`` calls are in flight at once (default 1, so calls
from several threads go one after the other) and ``calls_per_minute`` caps the calls in any 60 s window.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from airflow_provider_wdt.connection_fields import default
from airflow_provider_wdt.errors import (
    WdtError,
    WdtRateLimitError,
    WdtTimestampError,
    WdtTlsError,
    WdtTransportError,
)
from airflow_provider_wdt.ledger import CallLedger, ledger_key
from airflow_provider_wdt.platform_facts import CLOCK_TOLERANCE
from airflow_provider_wdt.protocol import (
    Credentials,
    Paging,
    build_request,
    parse_response,
    redact,
    wdt_timestamp,
)
from airflow_provider_wdt.ratelimit import CallLimiter

#: urllib3's wrapper around the real reason a connection failed (the URL in it carries sign and salt).
_POOL_MESSAGE = re.compile(
    r"^\w*ConnectionPool\(.*?\): Max retries exceeded with url: \S+ \(Caused by (.*)\)$", re.S
)
#: Longest single backoff sleep, whatever retry_wait and the attempt number say.
MAX_BACKOFF = 300.0


@dataclass(frozen=True)
class ClientSettings:
    """Per-connection knobs; the names and defaults are the connection's extras (connection_fields)."""

    timeout: float = default("timeout")
    test_timeout: float = default("test_timeout")
    max_retries: int = default("max_retries")
    retry_wait: float = default("retry_wait")
    rate_limit_wait: float = default("rate_limit_wait")
    calls_per_minute: int | None = default("calls_per_minute")
    rate_window: float = default("rate_window")
    max_concurrency: int = default("max_concurrency")
    multi_seller: bool = default("multi_seller")
    ledger_dir: str | None = default("ledger_dir")
    share_across_hosts: bool = default("share_across_hosts")  # the hook's (hand-over via a Variable)


class _RedactQueryFilter(logging.Filter):
    """urllib3 logs each request line with its query string at DEBUG: hide sign and salt there."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def _install_urllib3_filter() -> None:
    logger = logging.getLogger("urllib3.connectionpool")
    if not any(isinstance(f, _RedactQueryFilter) for f in logger.filters):
        logger.addFilter(_RedactQueryFilter())


_install_urllib3_filter()


def _close_pools(adapter: Any) -> None:
    """Close the connection pools of one requests adapter (its pool manager and any proxy managers)."""
    managers = [getattr(adapter, "poolmanager", None), *getattr(adapter, "proxy_manager", {}).values()]
    for manager in managers:
        pools = getattr(manager, "pools", None)
        if pools is None:
            continue
        for key in list(pools.keys()):
            pool = pools.get(key)
            if pool is not None:
                pool.close()


def _environment_request_settings(url: str) -> tuple[dict[str, str], bool | str]:
    """Proxies and CA bundle from the environment, read once per session instead of once per request."""
    proxies = requests.utils.get_environ_proxies(url)
    verify: bool | str = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    return dict(proxies), verify


class WdtClient:
    """Signs and sends qjb calls for one seller.

    ``sleep`` and ``clock`` are injectable so tests can run the retry logic without waiting.
    """

    def __init__(
        self,
        credentials: Credentials,
        endpoint: str,
        settings: ClientSettings | None = None,
        *,
        logger: Any = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        timeout_extra: str = "timeout",
    ) -> None:
        self.credentials = credentials
        self.endpoint = endpoint
        self.settings = settings or ClientSettings()
        self.log = logger or logging.getLogger(__name__)
        self._sleep = sleep
        self._clock = clock
        #: The connection extra that ``settings.timeout`` came from, named when a call times out.
        self.timeout_extra = timeout_extra
        #: Seconds to add to the local clock to get the platform's; learned from a status-7 answer.
        self.clock_offset = 0.0
        #: HTTP requests sent, retries included (benchmarks and tests read it).
        self.request_count = 0
        self._session: requests.Session | None = None
        self._lock = threading.Lock()  # the session's creation and request_count
        #: Waits before a call when ``calls_per_minute`` or ``max_concurrency`` say so.
        self.limiter = CallLimiter(
            self.settings.calls_per_minute,
            self.settings.max_concurrency,
            window=self.settings.rate_window,
            logger=self.log,
        )
        #: The same limits across every process of this host calling for this seller (files, no I/O yet).
        self.ledger = CallLedger(
            self.settings.ledger_dir,
            ledger_key(endpoint, credentials.sid),
            self.settings.calls_per_minute,
            self.settings.max_concurrency,
            window=self.settings.rate_window,
            logger=self.log,
        )
        #: Called after every HTTP request (the hook hands calls over to other hosts from here).
        self.after_call: Callable[[], None] | None = None

    @property
    def rate_window(self) -> float:
        """Seconds of the calls-per-minute window (60); tests shorten it along with the simulator's."""
        return self.limiter.window

    @rate_window.setter
    def rate_window(self, seconds: float) -> None:
        self.limiter.window = self.ledger.window = seconds

    # -- session ---------------------------------------------------------------------------------------
    @property
    def session(self) -> requests.Session:
        with self._lock:
            if self._session is None:
                self._session = self._new_session()
            return self._session

    def _new_session(self) -> requests.Session:
        session = requests.Session()
        # One pooled keep-alive connection per call in flight (requests keeps 10 by default).
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=max(self.settings.max_concurrency, 1))
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        # Environment proxies/CA are resolved here once; trust_env=False stops requests from re-reading
        # them (and .netrc) on every call, which costs more than the signing.
        session.proxies, session.verify = _environment_request_settings(self.endpoint)
        session.trust_env = False
        session.headers["Content-Type"] = "application/json; charset=utf-8"
        session.headers["User-Agent"] = "airflow-provider-wdt"
        if self.settings.multi_seller:
            # The platform's SDK notes: do not reuse a keep-alive connection across sellers.
            session.headers["Connection"] = "close"
        return session

    def close(self) -> None:
        """Close the session and every pooled keep-alive connection now.

        urllib3 2 no longer closes pools in ``PoolManager.clear()`` (what ``Session.close()`` calls): a
        pool's idle sockets close only when the pool is garbage-collected, and the reference cycle of a
        timeout's or a dropped connection's exception keeps it alive until the cyclic collector runs.
        """
        with self._lock:
            session, self._session = self._session, None
        if session is not None:
            for adapter in session.adapters.values():
                _close_pools(adapter)
            session.close()
        self.ledger.close()

    # -- calls -----------------------------------------------------------------------------------------
    def call(self, method: str, args: Sequence[Any] = (), *, paging: Paging | None = None) -> dict[str, Any]:
        """Call ``method`` with positional ``args``; returns the whole answer (``status`` 0).

        Retries what is safe to retry with exponential backoff; every attempt is rebuilt and re-signed.
        """
        attempt = 0
        skew_corrected = False
        while True:
            try:
                return self._send_once(method, args, paging)
            except WdtTimestampError as exc:
                if skew_corrected or not self._correct_skew(exc):
                    raise
                skew_corrected = True
            except WdtError as exc:
                if not exc.retryable or attempt >= self.settings.max_retries:
                    if exc.retryable and self.settings.max_retries:
                        exc.message = f"{exc.message} (gave up after {attempt + 1} attempts)"
                        exc.args = (exc.message,)
                    raise
                wait = self._backoff(attempt, exc)
                attempt += 1
                self.log.warning(
                    "WDT %s: %s; retry %d of %d in %.1f s",
                    method,
                    type(exc).__name__,
                    attempt,
                    self.settings.max_retries,
                    wait,
                )
                self._sleep(wait)

    def _backoff(self, attempt: int, exc: WdtError) -> float:
        if isinstance(exc, WdtRateLimitError):
            return self.settings.rate_limit_wait
        return min(self.settings.retry_wait * (2**attempt), MAX_BACKOFF)

    def _send_once(self, method: str, args: Sequence[Any], paging: Paging | None) -> dict[str, Any]:
        session = self.session
        failure: WdtError | None = None
        # This process's threads first (woken as soon as one finishes), then every process of the host.
        with self.limiter.slot(), self.ledger.slot():
            # Signed once admitted: a wait for the limit must not age the timestamp.
            timestamp = wdt_timestamp(self._clock() + self.clock_offset)
            request = build_request(self.credentials, method, args, timestamp=timestamp, paging=paging)
            with self._lock:
                self.request_count += 1
            try:
                response = session.post(
                    self.endpoint, params=request.params, data=request.body, timeout=self.settings.timeout
                )
            except requests.exceptions.RequestException as exc:
                failure = self._transport_error(method, exc)
        if self.after_call is not None:
            self.after_call()
        if failure is not None:
            # Raised outside the except block: requests' exception (whose text holds the full URL with
            # the salt and sign) must not stay reachable as __context__, suppressed or not.
            raise failure from None
        try:
            return parse_response(
                method, response.status_code, response.headers.get("Content-Type", ""), response.content
            )
        except WdtTimestampError as exc:
            exc.server_date = response.headers.get("Date")
            raise

    def _transport_error(self, method: str, exc: requests.exceptions.RequestException) -> WdtError:
        if isinstance(exc, requests.exceptions.SSLError):
            return WdtTlsError(
                f"WDT {method}: TLS failed talking to {self.endpoint} ({self._clean(exc)}); "
                "check http:// versus https:// in the connection's host.",
                method=method,
            )
        if isinstance(exc, requests.exceptions.Timeout):
            return WdtTransportError(
                f"WDT {method}: no answer from {self.endpoint} within {self.settings.timeout:g} s "
                f"(the connection's {self.timeout_extra} extra).",
                method=method,
            )
        return WdtTransportError(
            f"WDT {method}: could not reach {self.endpoint} ({self._clean(exc)}); "
            "check the host and port and that this machine can reach it.",
            method=method,
        )

    def _clean(self, exc: BaseException) -> str:
        """requests' messages embed the full URL with sign and salt: keep only a redacted reason.

        urllib3's "XConnectionPool(host=..): Max retries exceeded with url: <url> (Caused by <reason>)"
        is cut to the reason, so the cause (connection refused, name not resolved) survives the length cap.
        """
        text = str(exc)
        pooled = _POOL_MESSAGE.match(text)
        if pooled:
            text = pooled.group(1)
        text = redact(text, (self.credentials.secret, self.credentials.salt))
        return text if len(text) < 300 else text[:300] + "..."

    # -- clock skew ------------------------------------------------------------------------------------
    def _correct_skew(self, exc: WdtTimestampError) -> bool:
        """Learn the platform's clock from the status-7 answer's Date header; True if a retry makes sense."""
        date = exc.server_date
        if not date:
            return False
        try:
            server_time = parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError):
            return False
        offset = round(server_time - self._clock())
        if abs(offset - self.clock_offset) < 1:
            return False  # we already use this offset; retrying would be refused again
        self.log.warning(
            "WDT clock skew: the platform's clock differs from this machine's by %+d s (tolerance ±%d s); "
            "correcting request timestamps. Fix this machine's clock (NTP) to avoid this.",
            offset,
            CLOCK_TOLERANCE,
        )
        self.clock_offset = float(offset)
        return True
