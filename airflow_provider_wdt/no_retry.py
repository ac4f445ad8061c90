"""Errors a retry cannot fix end the task at once, whatever its ``retries``.

A wrong appsecret, a missing field or an ids file this worker cannot read fails the same way on every
attempt, and on Celery a retry that happens to land on another worker may even succeed, so the outcome
would depend on where the executor sends it. Operators and the sensor turn these errors into Airflow's
``AirflowFailException`` (no retries), with the typed error as its ``__cause__`` and in its message.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from airflow_provider_wdt._compat import AirflowException, AirflowFailException
from airflow_provider_wdt.errors import WdtAuthError, WdtConfigError, WdtError

#: What a retry cannot fix: the connection or an argument is wrong, or the platform refused who we are.
NOT_RETRYABLE: tuple[type[WdtError], ...] = (WdtConfigError, WdtAuthError)


@contextmanager
def fail_without_retry() -> Iterator[None]:
    """Raise ``AirflowFailException`` from a :data:`NOT_RETRYABLE` error (also one that is the direct
    cause of another, as when the stock sync stops on it); other errors pass unchanged, retries apply.
    Airflow's own exceptions pass too: a skip that never_fail made of such an error stays a skip."""
    try:
        yield
    except Exception as exc:
        typed = exc if isinstance(exc, NOT_RETRYABLE) else exc.__cause__
        if isinstance(exc, AirflowException) or not isinstance(typed, NOT_RETRYABLE):
            raise
        raise AirflowFailException(
            f"{type(typed).__name__}: {exc} Not retried: a retry cannot fix a configuration or "
            "authentication error. Fix it, then clear the task."
        ) from exc
