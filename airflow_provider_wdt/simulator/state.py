"""One seller's api_goodsspec records and its stock-sync queue.

Pending records live in a list of ``(disable_syn_until, rec_id)`` kept sorted, so a page is two bisects
and a slice. Every public method takes the seller's lock: the pending state stays consistent when a client
calls concurrently, and when a test changes stock while a sync is in flight.
"""

from __future__ import annotations

import bisect
import dataclasses
import random
import threading
from dataclasses import dataclass
from typing import Any

from .ratelimit import RateLimiter
from .signing import split_appsecret

PLATFORM_SELF = 127  # 自有平台
FIRST_REC_ID = 100_000
# Seeded disable_syn_until values start at the doc example's position (2019-07-30): always in the past,
# so seeded records are due now, and deterministic for a given seed.
SEED_DSU_BASE = 239_126_414
TIE_MODES = ("after", "from")


class ApiError(Exception):
    """A qjb error answer: ``{"status": status, "message": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class GoodsRecord:
    """An api_goodsspec row as far as stock sync needs it."""

    rec_id: int
    shop_id: int
    goods_id: int
    spec_id: int
    outer_id: str
    spec_outer_id: str
    goods_name: str
    spec_name: str
    stock: float
    stock_change_count: int
    disable_syn_until: int
    platform_id: int = PLATFORM_SELF
    sync_enabled: bool = True  # False: calcStock refuses unless forceSync
    pending: bool = True  # on the getSelfWaitSyncIdListOpen list
    syncing: bool = False  # calc issued, no success/fail/cancel yet
    sync_status: str = "pending"  # pending | synced | failed
    last_syn_stock: float | None = None
    last_syn_result: str = ""
    calc_count: int = 0
    sync_success_count: int = 0
    stale_success_count: int = 0
    sync_fail_count: int = 0
    stock_syn_rule_id: int = 1
    stock_syn_rule_no: str = "SIM-RULE-1"
    stock_syn_warehouses: str = "1"
    stock_syn_mask: int = 1
    stock_syn_percent: float = 100.0
    stock_syn_plus: float = 0.0
    stock_syn_min: float = 0.0
    stock_syn_max: float = 0.0  # 0 = no cap
    is_auto_listing: int = 0
    is_auto_delisting: int = 0

    def syn_stock(self) -> float:
        quantity = max(self.stock * self.stock_syn_percent / 100.0 + self.stock_syn_plus, 0.0)
        if self.stock_syn_max > 0:
            quantity = min(quantity, self.stock_syn_max)
        return round(quantity, 4)

    def calc_map(self) -> dict[str, Any]:
        return {
            "rec_id": self.rec_id,
            "syn_stock": self.syn_stock(),
            "stock_change_count": self.stock_change_count,
            "stock_syn_rule_id": self.stock_syn_rule_id,
            "stock_syn_rule_no": self.stock_syn_rule_no,
            "stock_syn_warehouses": self.stock_syn_warehouses,
            "stock_syn_mask": self.stock_syn_mask,
            "stock_syn_percent": self.stock_syn_percent,
            "stock_syn_plus": self.stock_syn_plus,
            "stock_syn_min": self.stock_syn_min,
            "stock_syn_max": self.stock_syn_max,
            "stock_syn_other": 0,
            "is_auto_listing": self.is_auto_listing,
            "is_auto_delisting": self.is_auto_delisting,
            "shop_id": self.shop_id,
            "platform_id": self.platform_id,
            "goods_id": self.goods_id,
            "spec_id": self.spec_id,
            "outer_id": self.outer_id,
            "spec_outer_id": self.spec_outer_id,
            "status": 1,
        }


class Seller:
    """One ``sid`` with its credentials, goods, sync queue and rate limiter."""

    def __init__(self, sid: str, appkey: str, appsecret: str, *, pending: int = 0, seed: int = 0) -> None:
        self.sid = sid
        self.appkey = appkey
        self.appsecret = appsecret
        self.secret, self.salt = split_appsecret(appsecret)
        self.limiter = RateLimiter()
        self._lock = threading.RLock()
        self._rng = random.Random(seed)
        self._records: dict[int, GoodsRecord] = {}
        self._queue: list[tuple[int, int]] = []  # sorted (disable_syn_until, rec_id) of pending records
        self._next_rec_id = FIRST_REC_ID + self._rng.randrange(1000)
        self._seed_dsu = SEED_DSU_BASE
        if pending:
            self.add_pending(pending)

    # -- test API -------------------------------------------------------------------------------------

    def add_pending(self, n: int, same_disable_syn_until: bool = False) -> list[int]:
        """Create ``n`` pending records; groups of 1-4 share a disable_syn_until (or all, if asked)."""
        if n < 0:
            raise ValueError("n must be >= 0")
        with self._lock:
            rng = self._rng
            ids = []
            for _ in range(n):
                self._next_rec_id += rng.choice((1, 1, 1, 2, 3))
                ids.append(self._next_rec_id)
            # Shuffle runs of ids, so id order differs from queue order as in the doc's example response.
            runs = []
            i = 0
            while i < n:
                size = rng.randint(5, 30)
                runs.append(ids[i : i + size])
                i += size
            rng.shuffle(runs)
            order = [rec_id for run in runs for rec_id in run]
            i = 0
            while i < n:
                size = n if same_disable_syn_until else rng.randint(1, 4)
                self._seed_dsu += rng.randint(1, 90)
                for rec_id in order[i : i + size]:
                    self._create(rec_id, self._seed_dsu)
                i += size
            return sorted(ids)

    def _create(self, rec_id: int, dsu: int) -> None:
        rng = self._rng
        goods_id = 20_000 + (rec_id - FIRST_REC_ID) // 2
        spec_no = rec_id % 2 + 1
        rec = GoodsRecord(
            rec_id=rec_id,
            shop_id=rng.choice((1, 2)),
            goods_id=goods_id,
            spec_id=30_000 + rec_id - FIRST_REC_ID,
            outer_id=f"SIM{goods_id:06d}",
            spec_outer_id=f"SIM{goods_id:06d}-{spec_no:02d}",
            goods_name=f"模拟货品{goods_id}",
            spec_name=f"规格{spec_no}",
            stock=float(rng.randint(0, 500)),
            stock_change_count=rng.randint(1, 20),
            disable_syn_until=dsu,
        )
        self._records[rec_id] = rec
        bisect.insort(self._queue, (dsu, rec_id))

    def _get(self, rec_id: int) -> GoodsRecord:
        rec = self._records.get(rec_id)
        if rec is None:
            raise ApiError(100, f"货品不存在: api_goodsspec rec_id={rec_id} not found")
        return rec

    def _record(self, rec_id: int) -> GoodsRecord:
        """Like _get but for the Python API: an unknown id is a KeyError there."""
        rec = self._records.get(rec_id)
        if rec is None:
            raise KeyError(rec_id)
        return rec

    def _dequeue(self, rec: GoodsRecord) -> None:
        if rec.pending:
            key = (rec.disable_syn_until, rec.rec_id)
            del self._queue[bisect.bisect_left(self._queue, key)]
            rec.pending = False

    def _enqueue(self, rec: GoodsRecord, dsu: int) -> None:
        self._dequeue(rec)
        rec.disable_syn_until = dsu
        rec.pending = True
        bisect.insort(self._queue, (dsu, rec.rec_id))

    def report_counts(self) -> dict[int, dict[str, Any]]:
        """Per rec_id: times reported (syncSuccess current or stale, syncFail) and whether it is pending."""
        with self._lock:
            return {
                rec.rec_id: {
                    "reported": rec.sync_success_count + rec.stale_success_count + rec.sync_fail_count,
                    "sync_success": rec.sync_success_count,
                    "stale_success": rec.stale_success_count,
                    "sync_fail": rec.sync_fail_count,
                    "pending": rec.pending,
                }
                for rec in self._records.values()
            }

    def pending_ids(self) -> list[int]:
        """All pending ids in serving order, including ones deferred into the future by syncFail."""
        with self._lock:
            return [rec_id for _, rec_id in self._queue]

    def goods(self, rec_id: int) -> dict[str, Any]:
        with self._lock:
            return dataclasses.asdict(self._record(rec_id))

    def change_stock(self, rec_id: int, delta: float, now_wdt: int) -> None:
        """Stock moved in the ERP: new version, and back on the list (due now) if it was off it."""
        with self._lock:
            rec = self._record(rec_id)
            rec.stock += delta
            rec.stock_change_count += 1
            if not rec.pending:
                self._enqueue(rec, now_wdt)
            rec.sync_status = "pending"

    def set_sync_enabled(self, rec_id: int, enabled: bool) -> None:
        with self._lock:
            self._record(rec_id).sync_enabled = enabled

    # -- API methods ----------------------------------------------------------------------------------

    def page(self, count: int, position: int, tie_mode: str, now_wdt: int) -> tuple[list[int], int | None]:
        """One getSelfWaitSyncIdListOpen page: ``(id_list, position)``; position None when empty.

        Only records due by the server clock (disable_syn_until <= now) are served.
        "after": ids with disable_syn_until > position, and a page never ends inside a group of equal
        disable_syn_until, unless that group alone is longer than count: then it returns count ids of it
        and, as the cursor moves past that value, the rest of the group only comes in the next pass.
        "from": ids with disable_syn_until >= position, pages filled up to count.
        """
        with self._lock:
            q = self._queue
            end = bisect.bisect_left(q, (now_wdt + 1,))
            if tie_mode == "after":
                start = bisect.bisect_left(q, (position + 1,), 0, end)
            else:
                start = bisect.bisect_left(q, (position,), 0, end)
            if start >= end:
                return [], None
            stop = min(start + count, end)
            last_dsu = q[stop - 1][0]
            if tie_mode == "after" and stop < end and q[stop][0] == last_dsu:
                cut = bisect.bisect_left(q, (last_dsu,), start, stop)
                if cut > start:
                    stop = cut
                    last_dsu = q[stop - 1][0]
            return [key[1] for key in q[start:stop]], last_dsu

    def calc(self, rec_id: int, force_sync: bool) -> dict[str, Any]:
        with self._lock:
            rec = self._get(rec_id)
            if not rec.sync_enabled and not force_sync:
                raise ApiError(100, f"货品{rec.spec_outer_id}(rec_id={rec_id})已停用或者未开启同步")
            rec.calc_count += 1
            rec.syncing = True
            return rec.calc_map()

    def batch_calc(self, items: list[tuple[int, bool]]) -> dict[str, Any]:
        success: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        with self._lock:
            for rec_id, force_sync in items:
                try:
                    success.append(self.calc(rec_id, force_sync))
                except ApiError as exc:
                    errors.append({"rec_id": rec_id, "err_msg": exc.message})
        return {"success_date": success, "error_date": errors}

    def sync_success(self, rec_id: int, stock_change_count: int, info: dict[str, Any]) -> None:
        """Off the list only if the reported version is current; a stale report leaves it pending."""
        with self._lock:
            rec = self._get(rec_id)
            rec.syncing = False
            if stock_change_count != rec.stock_change_count:
                rec.stale_success_count += 1
                return
            self._dequeue(rec)
            rec.sync_status = "synced"
            rec.sync_success_count += 1
            rec.last_syn_result = str(info.get("syn_result", ""))
            syn_stock = info.get("syn_stock")
            if isinstance(syn_stock, int | float | str) and not isinstance(syn_stock, bool):
                try:
                    rec.last_syn_stock = float(syn_stock)
                except ValueError:
                    rec.last_syn_stock = None

    def sync_fail(self, rec_id: int, info: dict[str, Any], now_wdt: int, retry_delay: int) -> None:
        """Stays pending, deferred: not served again until ``retry_delay`` seconds from now."""
        with self._lock:
            rec = self._get(rec_id)
            rec.syncing = False
            rec.sync_status = "failed"
            rec.sync_fail_count += 1
            rec.last_syn_result = str(info.get("syn_result", ""))
            self._enqueue(rec, now_wdt + retry_delay)

    def cancel_sync(self, rec_id: int, stock_change_count: int) -> None:
        with self._lock:
            rec = self._get(rec_id)
            if stock_change_count not in (-1, rec.stock_change_count):
                raise ApiError(100, "取消失败")
            rec.syncing = False
