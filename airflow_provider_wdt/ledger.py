"""One rate budget per seller for every process on the host: a call ledger in small files under flock.

No Airflow import, standard library only. The in-process :class:`~.ratelimit.CallLimiter` bounds one
client; this bounds every client of the same seller (the pull, the sync, sensor pokes, triggers, a retry
after ``kill -9``), because they all write their calls to the same files:

- ``<key>.log``: an append-only log, one line per event: ``S token slot time`` when a call is admitted
  (written before it is sent, so a killed process's calls still count), ``E token time`` when its answer
  arrived, ``D time`` for a call carried over by compaction or a hand-over.
- ``<key>.lock``: held with ``flock`` while the log is read and appended to.
- ``<key>.slot<i>``: one per ``max_concurrency`` slot, held with ``flock`` for the whole call. The kernel
  drops a dead process's locks, so a dead holder never blocks anyone; the next process to see its ``S``
  line without a live slot holder ends that call at that moment (it was sent before its sender died).

A call counts from its admission until ``window`` seconds after its answer, like the in-process limiter.
"""

from __future__ import annotations

import bisect
import errno
import fcntl
import hashlib
import os
import re
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from airflow_provider_wdt.errors import WdtConfigError
from airflow_provider_wdt.ratelimit import LOG_EVERY, WINDOW

#: The directory used when the connection's ``ledger_dir`` extra is empty.
DEFAULT_DIR_NAME = "airflow-provider-wdt-ledger"
#: The log is rewritten with only what still counts once it grows past this many bytes.
COMPACT_BYTES = 256 * 1024
#: How long to wait before looking again when every counted call is in flight in another process.
POLL = 0.02
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def default_dir() -> str:
    return os.path.join(tempfile.gettempdir(), DEFAULT_DIR_NAME)


def ledger_key(endpoint: str, sid: str) -> str:
    """The file name stem for one seller on one platform: readable sid plus a hash of both."""
    digest = hashlib.sha256(f"{endpoint}\n{sid}".encode()).hexdigest()[:12]
    return f"{_UNSAFE.sub('_', sid)[:40]}-{digest}"


class CallLedger:
    """``with ledger.slot(): send()``: admitted when the seller's shared window and slots allow it.

    Nothing is opened before the first call (constructors do no I/O). Safe to share between threads.
    """

    def __init__(
        self,
        directory: str | None,
        key: str,
        calls_per_minute: int | None = None,
        max_concurrency: int = 1,
        *,
        window: float = WINDOW,
        logger: Any = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.directory = directory or default_dir()
        self.key = key
        self.calls_per_minute = calls_per_minute
        self.max_concurrency = max_concurrency
        #: Seconds of the calls-per-minute window; tests and benchmarks may shorten it.
        self.window = window
        self.log = logger
        self._clock = clock
        self._sleep = sleep
        self._mutex = threading.Lock()  # flock does not exclude threads sharing one open file
        self._lock_fd: int | None = None
        self._log_fd: int | None = None
        self._slot_fds: dict[int, int] = {}
        self._pid = -1  # the process the files were opened in (a forked child reopens its own)
        self._held: set[int] = set()  # slots a thread of this process holds
        self._waiting: set[int] = set()  # slots a thread of this process is blocked on
        self._inode = -1
        self._offset = 0
        self._compacted_size = 0
        self._in_flight: dict[str, tuple[int, float]] = {}  # token -> (slot, admitted at)
        self._ends: deque[float] = deque()  # answer times still in the window, oldest first
        self._mine: set[str] = set()
        self._prefix = f"{os.getpid():x}.{os.urandom(3).hex()}"
        self._counter = 0
        self._last_log: float | None = None
        #: Seconds spent waiting for the shared budget, summed over every caller (benchmarks read it).
        self.waited = 0.0

    # -- files ---------------------------------------------------------------------------------------
    def _path(self, suffix: str) -> str:
        return os.path.join(self.directory, f"{self.key}.{suffix}")

    def _open(self) -> None:
        """Open the files on first use; called under ``_mutex``."""
        if self._pid != os.getpid():
            # First use, or a forked child: flock locks belong to the open file, which a child shares
            # with its parent, so it opens files of its own (and leaves the inherited ones alone).
            self._pid = os.getpid()
            self._prefix = f"{self._pid:x}.{os.urandom(3).hex()}"
            self._lock_fd = self._log_fd = None
            self._slot_fds = {}
            self._held.clear()
            self._waiting.clear()
            self._mine.clear()
            self._inode = -1
        if self._lock_fd is not None:
            return
        try:
            Path(self.directory).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self._unusable(exc) from None
        self._lock_fd = self._open_file("lock")

    def _open_file(self, suffix: str, flags: int = 0) -> int:
        try:
            return os.open(self._path(suffix), os.O_RDWR | os.O_CREAT | flags, 0o600)
        except OSError as exc:
            raise self._unusable(exc) from None

    def _unusable(self, exc: OSError) -> WdtConfigError:
        return WdtConfigError(
            f"Cannot use the call ledger directory {self.directory!r} (the connection's ledger_dir extra): "
            f"{exc.strerror or exc}."
        )

    def _slot_fd(self, slot: int) -> int:
        fd = self._slot_fds.get(slot)
        if fd is None:
            fd = self._slot_fds[slot] = self._open_file(f"slot{slot}")
        return fd

    def close(self) -> None:
        with self._mutex:
            if self._pid == os.getpid():
                for fd in [self._lock_fd, self._log_fd, *self._slot_fds.values()]:
                    if fd is not None:
                        os.close(fd)
            self._pid = -1
            self._lock_fd = self._log_fd = None
            self._slot_fds = {}
            self._held.clear()

    @contextmanager
    def _locked(self) -> Iterator[float]:
        """The log under both locks, brought up to date; yields the current time."""
        with self._mutex:
            self._open()
            assert self._lock_fd is not None
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
            try:
                self._refresh()
                yield self._clock()
            finally:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def _refresh(self) -> None:
        """Read what other processes appended since our last look (all of it after a compaction)."""
        path = self._path("log")
        try:
            inode = os.stat(path).st_ino
        except FileNotFoundError:
            inode = -2
        if inode != self._inode or self._log_fd is None:
            if self._log_fd is not None:
                os.close(self._log_fd)
            self._log_fd = self._open_file("log", os.O_APPEND)
            self._inode = os.fstat(self._log_fd).st_ino
            self._offset = 0
            self._in_flight.clear()
            self._ends.clear()
        size = os.fstat(self._log_fd).st_size
        if size > self._offset:
            data = os.pread(self._log_fd, size - self._offset, self._offset)
            self._offset = size
            if not data.endswith(b"\n"):  # a writer died mid-line: end it, so ours starts a line
                os.write(self._log_fd, b"\n")
                self._offset += 1
            self._apply(data.decode("ascii", "replace").splitlines())

    def _apply(self, lines: Iterable[str]) -> None:
        for line in lines:
            parts = line.split()
            try:
                if parts[0] == "S" and len(parts) == 4:
                    self._in_flight[parts[1]] = (int(parts[2]), float(parts[3]))
                elif parts[0] == "E" and len(parts) == 3:
                    if self._in_flight.pop(parts[1], None) is not None:
                        self._add_end(float(parts[2]))
                elif parts[0] == "D" and len(parts) == 2:
                    self._add_end(float(parts[1]))
            except (IndexError, ValueError):
                continue  # a line cut short by a killed writer

    def _add_end(self, end: float) -> None:
        if not self._ends or end >= self._ends[-1]:
            self._ends.append(end)
        else:  # a hand-over from another host, or a clock step: keep the order
            self._ends.insert(bisect.bisect_right(self._ends, end), end)

    def _append(self, text: str) -> None:
        assert self._log_fd is not None
        data = text.encode("ascii")
        os.write(self._log_fd, data)
        self._offset += len(data)

    # -- admission -----------------------------------------------------------------------------------
    @contextmanager
    def slot(self) -> Iterator[None]:
        slot = self._take_slot()
        try:
            token = self._admit(slot)
        except BaseException:
            self._free_slot(slot)
            raise
        try:
            yield
        finally:
            try:
                with self._locked() as now:
                    self._append(f"E {token} {now:.3f}\n")
                    self._in_flight.pop(token, None)
                    self._add_end(now)
                    self._mine.discard(token)
            finally:
                self._free_slot(slot)

    def _take_slot(self) -> int:
        started = time.monotonic()
        while True:
            with self._mutex:
                self._open()
                mine = self._held | self._waiting
                free = [i for i in range(self.max_concurrency) if i not in mine]
                for slot in free:
                    if _try_flock(self._slot_fd(slot)):
                        self._held.add(slot)
                        return slot
                if free:
                    # Every free slot is busy in another process: block on one (the kernel wakes us
                    # when it is freed, also by its holder's death).
                    slot = free[self._counter % len(free)]
                    self._waiting.add(slot)
                    fd = self._slot_fd(slot)
                    break
            # More threads than slots in this process (the in-process limiter normally prevents it).
            self._sleep(POLL)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            with self._mutex:
                self._waiting.discard(slot)
            raise
        with self._mutex:  # one step: no probe may see the slot neither held nor waited for
            self._waiting.discard(slot)
            self._held.add(slot)
            self.waited += time.monotonic() - started
        return slot

    def _free_slot(self, slot: int) -> None:
        with self._mutex:
            self._held.discard(slot)
            if slot in self._slot_fds:
                fcntl.flock(self._slot_fds[slot], fcntl.LOCK_UN)

    def _admit(self, slot: int) -> str:
        started: float | None = None
        while True:
            with self._locked() as now:
                self._reclaim_dead(slot, now)
                wait = self._wait_needed(now)
                if wait is None:
                    self._counter += 1
                    token = f"{self._prefix}.{self._counter:x}"
                    self._append(f"S {token} {slot} {now:.3f}\n")
                    self._in_flight[token] = (slot, now)
                    self._mine.add(token)
                    self._compact_if_large(now)
                    if started is not None:
                        self.waited += now - started
                    return token
                if started is None:
                    started = now
                if wait > POLL:
                    self._log_wait(now, wait)
            self._sleep(wait)

    def _wait_needed(self, now: float) -> float | None:
        limit = self.calls_per_minute
        while self._ends and self._ends[0] <= now - self.window:
            self._ends.popleft()
        if limit is None or len(self._ends) + len(self._in_flight) < limit:
            return None
        if not self._ends:  # every counted call is in flight: look again soon
            return POLL
        return max(self._ends[0] + self.window - now, 0.001)

    def _reclaim_dead(self, my_slot: int, now: float) -> None:
        """End the calls whose sender died: their slot is free, or it is ours now."""
        for token, (slot, _) in list(self._in_flight.items()):
            if token in self._mine:
                continue
            if slot == my_slot or slot in self._held:
                dead = True  # this process holds that slot now, so whoever admitted the call is gone
            elif slot in self._waiting:
                continue  # another process holds it
            else:
                dead = _try_flock(self._slot_fd(slot))
                if dead:
                    fcntl.flock(self._slot_fd(slot), fcntl.LOCK_UN)
            if dead:
                self._append(f"E {token} {now:.3f}\n")
                del self._in_flight[token]
                self._add_end(now)

    def _compact_if_large(self, now: float) -> None:
        """Rewrite the log with only what still counts; readers notice the new inode."""
        if self._offset < COMPACT_BYTES + 2 * self._compacted_size:
            return  # grown by less than twice what still counted last time: rewriting would not pay
        lines = [f"S {token} {slot} {start:.3f}\n" for token, (slot, start) in self._in_flight.items()]
        lines += [f"D {end:.3f}\n" for end in self._ends if end > now - self.window]
        tmp = self._path(f"log.{self._prefix}.tmp")
        with open(tmp, "w", encoding="ascii") as out:
            out.writelines(lines)
        os.replace(tmp, self._path("log"))
        self._compacted_size = sum(map(len, lines))
        self._inode = -1  # reopened (and reread, a few KB) on the next look

    def _log_wait(self, now: float, wait: float) -> None:
        if self.log is None or (self._last_log is not None and now - self._last_log < LOG_EVERY):
            return
        self._last_log = now
        self.log.info(
            "WDT calls_per_minute=%d reached for this seller by the processes on this host (call ledger "
            "%s): waiting %.1f s before the next call (logged at most once a minute).",
            self.calls_per_minute,
            self.directory,
            wait,
        )

    # -- hand-over (several hosts) -------------------------------------------------------------------
    def recent_calls(self) -> list[float]:
        """Times of the calls that still count (answer times; now for those in flight)."""
        with self._locked() as now:
            self._wait_needed(now)  # prunes
            return [*self._ends, *(now for _ in self._in_flight)]

    def add_calls(self, times: Iterable[float]) -> None:
        """Count calls made elsewhere (another host's hand-over) in this host's window."""
        with self._locked() as now:
            fresh = [t for t in times if t > now - self.window]
            if fresh:
                self._append("".join(f"D {t:.3f}\n" for t in fresh))
                for t in fresh:
                    self._add_end(t)


def _try_flock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES):
            return False
        raise
    return True
