"""The files of a stock sync: the ids to sync (read as a stream) and the resumable report (NDJSON).

No Airflow import at module level: object storage is resolved through ``_compat`` only for a URL.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from airflow_provider_wdt.errors import WdtConfigError
from airflow_provider_wdt.output import is_local, local_path

#: Bytes read from an ids file at a time.
READ_BLOCK = 1 << 16
#: A report on object storage is uploaded whole at most this often, and when the sync ends.
UPLOAD_EVERY = 30.0
OUTCOME_SUCCESS = "success"
OUTCOME_FAIL = "fail"
_SEPARATORS = str.maketrans("[],\r", "    ")


def _open_text(path: str, conn_id: str | None, mode: str = "r") -> IO[str]:
    if is_local(path):
        return open(local_path(path), mode, encoding="utf-8")
    from airflow_provider_wdt._compat import object_storage_path

    return object_storage_path(path, conn_id).open(mode)  # type: ignore[no-any-return]


def _exists(path: str, conn_id: str | None) -> bool:
    if is_local(path):
        return local_path(path).exists()
    from airflow_provider_wdt._compat import object_storage_path

    return bool(object_storage_path(path, conn_id).exists())


def iter_id_chunks(source: str | Iterable[Any], size: int, conn_id: str | None = None) -> Iterator[list[int]]:
    """The rec_ids of ``source``, ``size`` at a time: a list of ints, or the path of an ids file.

    Any format ``WdtPendingSyncIdsOperator`` writes is read (a JSON array, one id per line, or CSV with
    the header ``rec_id``), a block at a time, so memory does not grow with the file.
    """
    ids = _iter_file_ids(source, conn_id) if isinstance(source, str) else _iter_listed(source)
    chunk: list[int] = []
    for rec_id in ids:
        chunk.append(rec_id)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _iter_listed(source: Iterable[Any]) -> Iterator[int]:
    for rec_id in source:
        if isinstance(rec_id, bool) or not isinstance(rec_id, int | str):
            raise WdtConfigError(f"rec_ids must be integers, got {rec_id!r}.")
        try:
            yield int(rec_id)
        except ValueError:
            raise WdtConfigError(f"rec_ids must be integers, got {rec_id!r}.") from None


def _missing_hint(path: str, exc: BaseException) -> str:
    """A local ids file that is not there was most likely written by the pull on another worker."""
    if not (isinstance(exc, FileNotFoundError) and is_local(path)):
        return ""
    return (
        " It may have been written on another worker's disk: with several workers (Celery, Kubernetes) "
        "the pull's output_path must be on storage every worker reads, such as object storage (s3://...) "
        "or a volume mounted at the same path on every worker."
    )


def _iter_file_ids(path: str, conn_id: str | None) -> Iterator[int]:
    try:
        stream = _open_text(path, conn_id)
    except (OSError, ValueError) as exc:
        raise WdtConfigError(f"Cannot read the ids file {path!r}: {exc}.{_missing_hint(path, exc)}") from None
    with stream:
        rest = ""
        first = True
        while True:
            block = stream.read(READ_BLOCK)
            text = rest + (block or "")
            spaced = text.translate(_SEPARATORS)
            tokens = spaced.split()
            # A token touching the block's end may continue in the next block.
            rest = tokens.pop() if block and tokens and not spaced[-1].isspace() else ""
            for token in tokens:
                if first and token == "rec_id":  # the CSV header
                    first = False
                    continue
                first = False
                try:
                    yield int(token)
                except ValueError:
                    raise WdtConfigError(
                        f"The ids file {path!r} holds {token[:40]!r}, not a rec_id: expected a file written "
                        "by WdtPendingSyncIdsOperator (JSON array, one id per line, or CSV)."
                    ) from None
            if not block:
                return


@dataclass
class ReportState:
    """What a report says: ``done`` (an outcome line) and ``unsettled`` (rec_id -> the outcome about to be
    reported when the process died: an intent line and no outcome, so the call may or may not have
    landed). ``lines``: lines read; 0 means no earlier attempt."""

    done: set[int] = field(default_factory=set)
    unsettled: dict[int, str] = field(default_factory=dict)
    lines: int = 0


def read_report_state(path: str, conn_id: str | None = None) -> ReportState:
    """The report at ``path`` (empty state when there is none).

    A line cut short (the process died while writing it) is skipped: its item was not recorded.
    """
    state = ReportState()
    if not _exists(path, conn_id):
        return state
    with _open_text(path, conn_id) as stream:
        for line in iter(stream.readline, ""):
            try:
                entry = json.loads(line)
                rec_id = int(entry["rec_id"])
            except (ValueError, KeyError, TypeError):
                continue
            state.lines += 1
            if "outcome" in entry:
                state.done.add(rec_id)
                state.unsettled.pop(rec_id, None)
            elif "intent" in entry and rec_id not in state.done:
                state.unsettled[rec_id] = str(entry["intent"])
    return state


def read_report(path: str, conn_id: str | None = None) -> set[int]:
    """rec_ids already reported (either outcome) in the report at ``path``; empty when there is none."""
    return read_report_state(path, conn_id).done


def _ends_inside_a_line(path: Path) -> bool:
    with open(path, "rb") as stream:
        if stream.seek(0, os.SEEK_END) == 0:
            return False
        stream.seek(-1, os.SEEK_END)
        return stream.read(1) != b"\n"


class ReportWriter:
    """Appends one NDJSON line per reported item: ``{"rec_id", "outcome", "message", "time"}``, and before
    its report call an intent line ``{"rec_id", "intent", "time"}``, so a resumed run knows which calls
    were in flight when a process died (see :func:`read_report_state`).

    A local report gets each line flushed as it is written (a killed task loses none). A report on object
    storage, which cannot be appended to, is kept in a local file and uploaded whole every
    ``UPLOAD_EVERY`` seconds and on ``close()``; a worker killed outright loses at most that interval.
    Safe to call from several threads.

    An attempt that records nothing leaves no report behind: a local report it created is removed again
    if still empty, and nothing is uploaded. A report with content is never removed. (Folders made for
    the report stay: another task may be about to write into them.)
    """

    def __init__(self, path: str | None, conn_id: str | None = None) -> None:
        self.path = path
        self.conn_id = conn_id
        self._lock = threading.Lock()
        self._stream: IO[str] | None = None
        self._local_copy: str | None = None
        self._last_upload = time.monotonic()
        self._recorded = 0  # lines written by this attempt
        self._created = False  # the local report did not exist before this attempt
        if path is None:
            return
        if is_local(path):
            target = local_path(path)
            try:
                created = not target.exists()
                target.parent.mkdir(parents=True, exist_ok=True)
                # Opened now, not at the first record, so an unwritable path fails before any WDT call.
                self._stream = open(target, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
                self._created = created
            except OSError as exc:
                raise WdtConfigError(f"Cannot write report_path {path!r}: {exc.strerror or exc}.") from None
            self._end_cut_line(_ends_inside_a_line(target))
            return
        fd, self._local_copy = tempfile.mkstemp(prefix="wdt-report-", suffix=".ndjson")
        self._stream = os.fdopen(fd, "w", encoding="utf-8")
        if _exists(path, conn_id):
            with _open_text(path, conn_id) as old:
                shutil.copyfileobj(old, self._stream)
                self._stream.flush()
            self._end_cut_line(_ends_inside_a_line(Path(self._local_copy)))

    def _end_cut_line(self, cut: bool) -> None:
        # A line cut short by a killed task: end it, so the next record starts a line of its own.
        if cut and self._stream is not None:
            self._stream.write("\n")
            self._stream.flush()

    def intend(self, rec_id: int, outcome: str) -> None:
        """Before the report call of ``rec_id``: flushed, so it survives a kill during the call."""
        self._write({"rec_id": rec_id, "intent": outcome})

    def record(self, rec_id: int, outcome: str, message: str) -> None:
        self._write({"rec_id": rec_id, "outcome": outcome, "message": message})

    def _write(self, entry: dict[str, Any]) -> None:
        if self._stream is None:
            return
        entry["time"] = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
        line = json.dumps(entry, ensure_ascii=False)
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()
            self._recorded += 1
            if self._local_copy is not None and time.monotonic() - self._last_upload >= UPLOAD_EVERY:
                self._upload()

    def _upload(self) -> None:
        assert self.path is not None and self._local_copy is not None
        out = _open_text(self.path, self.conn_id, "w")
        with open(self._local_copy, encoding="utf-8") as copy, out:
            shutil.copyfileobj(copy, out)
        self._last_upload = time.monotonic()

    def close(self) -> None:
        with self._lock:
            if self._stream is None:
                return
            stream, self._stream = self._stream, None
            if self._local_copy is None:
                os.fsync(stream.fileno())
            stream.close()
            if self._local_copy is not None:
                try:
                    if self._recorded:  # else the stored report (if any) is still what it was
                        self._upload()
                finally:
                    os.unlink(self._local_copy)
            elif self._created and not self._recorded:
                self._remove_if_empty()

    def _remove_if_empty(self) -> None:
        """Remove the report this attempt created and wrote nothing to; one with content always stays."""
        assert self.path is not None
        target = local_path(self.path)
        with suppress(FileNotFoundError):
            if target.stat().st_size == 0:
                target.unlink()
