"""A local simulator of the WDT qjb open platform: a real HTTP server, standard library only.

    from airflow_provider_wdt.simulator import WdtSimulator

    with WdtSimulator(pending=100) as sim:
        ...  # point a client at sim.url, or export sim.connection() as AIRFLOW_CONN_WDT_DEFAULT

Or from a shell: ``python -m airflow_provider_wdt.simulator --port 8650 --pending 1000``. The shop
stand-in that the stock-sync example pushes to is ``airflow_provider_wdt.simulator.shop``
(``python -m airflow_provider_wdt.simulator.shop --port 8651``).

Choices where the platform's behaviour is not published:

- Checks run in this order: Content-Type (only application/json, else status 1); required query params
  (status 1 参数错误 naming the first missing one); ``v`` = 1.0 (8 版本错误); sid (1 "sid is not found");
  key and salt (1 "app auth fail"); sign over the exact body bytes (1 验证失败); timestamp (a non-integer
  or millisecond value is status 1, outside ±120 s of the server clock status 7 时间戳错误); body a JSON
  array (1); method (unknown: **status 1** "接口不存在: method X not found"); argument count
  (1 参数个数错误) and types (1 "argument type mismatch: ..."); count 10..5000 (1); rate limits (100).
- Numbers may be ints or digit strings; booleans true/false, 0/1 or "true"/"false"/"0"/"1".
- ``system.Core.now`` answers the server's Beijing time as ``"YYYY-MM-DD HH:MM:SS"``.
- Only records due by the server clock (disable_syn_until <= now) are served. Seeded ones start at the doc
  example's position (2019) so they are always due. ``syncFail`` keeps a record pending but defers it by
  ``retry_delay`` (60 s); ``sim.pending_ids()`` lists deferred records too, at their place in the order.
- tie_mode "after": when the first group of equal disable_syn_until alone exceeds ``count``, the page is
  ``count`` ids of it and the rest of that group only comes in the next pass from position 0.
  tie_mode "from": such a group returns the same ``count`` ids until they are synced.
- ``change_stock`` on a record that is off the list puts it back, due now; on a pending one it keeps its
  place. Either way the version moves on, so a syncSuccess carrying the old count is ignored (stays pending).
- Rate limits count per sid, only admitted calls enter the calls window; a request is in flight from
  admission to its answer (a ``slow`` fault's wait included).
- Faults hit every request to /openapi, valid or not, in the order programmed; a faulted request (other than
  ``slow``) does not reach the seller's state. A dropped request is logged with ``http_status`` 0.
"""

from airflow_provider_wdt.platform_facts import WDT_EPOCH

from .faults import FaultPlan
from .signing import compute_sign, split_appsecret
from .sim import DEFAULT_APPKEY, DEFAULT_APPSECRET, DEFAULT_SID, RequestRecord, WdtSimulator
from .state import GoodsRecord, Seller

__all__ = [
    "DEFAULT_APPKEY",
    "DEFAULT_APPSECRET",
    "DEFAULT_SID",
    "WDT_EPOCH",
    "FaultPlan",
    "GoodsRecord",
    "RequestRecord",
    "Seller",
    "WdtSimulator",
    "compute_sign",
    "split_appsecret",
]
