"""Typed errors for everything that can go wrong talking to the WDT qjb open API.

No Airflow import: the protocol layer, the hook, the trigger and the benchmarks all share these.
Every message says what to check, in the user's terms; none contains a secret, salt or sign.
"""

from __future__ import annotations

from typing import Any, ClassVar


class WdtError(Exception):
    """Base of every error this provider raises.

    ``status`` is the platform's status code when it answered one, ``platform_message`` its ``message``,
    ``method`` the qjb method called and ``http_status`` the HTTP status when one was received.
    """

    #: Whether retrying the same call later can succeed (network, 5xx, rate limit, database errors).
    retryable: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        method: str | None = None,
        status: int | None = None,
        platform_message: str | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        self.status = status
        self.platform_message = platform_message
        self.http_status = http_status

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only arguments do not survive the default pickling (triggers, executors, XCom).
        state = (type(self), self.message, self.method, self.status, self.platform_message, self.http_status)
        return (_rebuild, state)


def _rebuild(
    cls: type[WdtError],
    message: str,
    method: str | None,
    status: int | None,
    platform_message: str | None,
    http_status: int | None,
) -> WdtError:
    return cls(
        message, method=method, status=status, platform_message=platform_message, http_status=http_status
    )


class WdtConfigError(WdtError, ValueError):
    """The connection or an argument is unusable; found before any request was sent."""


class WdtApiError(WdtError):
    """The platform answered with a non-zero ``status``."""


class WdtAuthError(WdtApiError):
    """Credentials, permission or IP whitelist refused (status 1 验证失败/app auth fail/sid, 3, 6)."""


class WdtArgumentError(WdtApiError):
    """The platform refused the call's arguments or version (status 1 参数错误, 2, 8)."""


class WdtTimestampError(WdtApiError):
    """The request's timestamp is outside ±120 s of the platform's clock (status 7)."""

    #: The answer's HTTP Date header, from which the client learns the platform's clock.
    server_date: str | None = None


class WdtRateLimitError(WdtApiError):
    """Per-minute call or concurrency limit hit (status 100 超过每分钟最大...)."""

    retryable = True


class WdtServerError(WdtApiError):
    """Server-side trouble that usually passes: database statuses 4, 5, 1064 or an HTTP 5xx."""

    retryable = True


class WdtBusinessError(WdtApiError):
    """A business-rule refusal (status 100, 99 and anything else): the platform's message says why."""


class WdtTransportError(WdtError):
    """The request did not get an answer: connection refused or dropped, DNS failure, timeout."""

    retryable = True


class WdtTlsError(WdtError):
    """TLS failed; usually https configured for an http endpoint (or the reverse). Not retried."""


class WdtBadResponseError(WdtError):
    """An answer that is not the platform's JSON: an HTML page, cut-off JSON, no ``status``."""

    retryable = True


class WdtEndpointError(WdtBadResponseError):
    """HTTP 4xx: the URL is not a qjb endpoint (wrong host, path or port). Not retried."""

    retryable = False


class WdtPagingError(WdtError):
    """Following the ``position`` cursor cannot make progress (a stall) or got an unusable page."""
