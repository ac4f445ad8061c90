"""The salt and the secret go through Airflow's own secrets masker, the one that task logs pass through.

Airflow masks a connection's password as a whole, never its halves; the hook registers both halves. The
test calls the masker's task-log step itself (Airflow 3: the structlog processor of task logs; 2.11: the
masker filter on the ``airflow.task`` logger) with a fresh secret and salt, so no earlier test's
registration can make it pass.
"""

from __future__ import annotations

import uuid

import pytest

from airflow_provider_wdt._compat import AIRFLOW_V_3
from airflow_provider_wdt.hooks.wdt import WdtHook
from tests.conftest import set_connection


def task_log_line(message: str) -> str:
    """``message`` as Airflow's task logging writes it, after masking."""
    if AIRFLOW_V_3:
        from airflow.sdk.log import mask_logs

        event = mask_logs(None, "info", {"event": message})
        return str(event["event"])
    from airflow.utils.log.secrets_masker import redact

    return str(redact(message))


def test_salt_and_secret_are_masked_in_task_logs(monkeypatch: pytest.MonkeyPatch) -> None:
    secret, salt = f"secret{uuid.uuid4().hex}", f"salt{uuid.uuid4().hex}"
    conn = {"conn_type": "wdt", "host": "http://127.0.0.1:9/openapi", "login": "sid1"}
    set_connection(
        monkeypatch, "wdt_mask", {**conn, "password": f"{secret}:{salt}", "extra": {"appkey": "k"}}
    )
    line = f"probe salt={salt} secret={secret}"
    assert task_log_line(line) == line  # nothing registered them yet
    WdtHook("wdt_mask").client  # noqa: B018  # building the client registers the masks
    assert task_log_line(line) == "probe salt=*** secret=***"
