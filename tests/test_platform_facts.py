"""The platform's published facts, pinned to the documentation's own words and numbers.

The client and the simulator share these values (platform_facts.py), so each is checked here against the
documentation independently of the code that uses it.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from airflow_provider_wdt import platform_facts as facts


def test_epoch_is_2012_01_01_beijing_time_in_seconds() -> None:
    beijing = timezone(timedelta(hours=8))
    assert facts.WDT_EPOCH == datetime(2012, 1, 1, tzinfo=beijing).timestamp() == 1325347200


def test_documented_limits() -> None:
    assert facts.CLOCK_TOLERANCE == 120  # "within ±120 s of its own clock", else status 7
    assert (facts.MIN_COUNT, facts.MAX_COUNT) == (10, 5000)  # getSelfWaitSyncIdListOpen count
    assert facts.API_VERSION == "1.0"


def test_rate_limit_messages_carry_their_markers() -> None:
    calls, concurrency = facts.RATE_LIMIT_MARKERS
    assert calls == "超过每分钟最大调用频率限制" and concurrency == "超过每分钟最大并发次数限制"
    assert facts.RATE_LIMIT_CALLS_MESSAGE.startswith(calls)
    assert facts.RATE_LIMIT_CONCURRENCY_MESSAGE.startswith(concurrency)
