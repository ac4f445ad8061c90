"""Published facts of the qjb platform, one home for both sides of the wire.

Data only, no code: the client's protocol (``protocol.py``) and the simulator both read these, while each
keeps its own implementation of signing and checking. ``tests/test_platform_facts.py`` pins every value to
the platform's documentation independently, so a wrong value here cannot pass unseen on both sides.
"""

from __future__ import annotations

#: 2012-01-01 00:00 Beijing time; qjb timestamps are seconds since then (not milliseconds).
WDT_EPOCH = 1325347200
#: The platform accepts a timestamp within this many seconds of its own clock (status 7 outside).
CLOCK_TOLERANCE = 120
#: The ``v`` query parameter.
API_VERSION = "1.0"
#: getSelfWaitSyncIdListOpen's ``count`` range (ids per page).
MIN_COUNT, MAX_COUNT = 10, 5000
#: The platform's rate-limit answers (per-minute calls, per-minute concurrency), as it words them.
RATE_LIMIT_CALLS_MESSAGE = "超过每分钟最大调用频率限制，请稍后重试"
RATE_LIMIT_CONCURRENCY_MESSAGE = "超过每分钟最大并发次数限制，请稍后重试"
#: What identifies a rate-limit answer, whatever punctuation follows.
RATE_LIMIT_MARKERS = ("超过每分钟最大调用频率限制", "超过每分钟最大并发次数限制")
