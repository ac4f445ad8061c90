"""Writing rec_ids to a file or object page by page, committed atomically, nothing left behind on failure.

No Airflow import at module level (object storage is resolved through ``_compat`` only when a URL needs
it), so the operator that uses this stays cheap to import at DAG-parse time.

Readers never see half a file: ids go to a temporary name next to the target, which is moved over the
target only after the last page. Locally that is ``os.replace`` (atomic on POSIX). On object storage it is
the filesystem's move, which for S3/GCS/Azure is a server-side copy of one complete object; the target
either keeps its old content or gets the whole new one. Any exception, KeyboardInterrupt and Airflow's
task timeout included, removes the temporary file and leaves the target as it was.
"""

from __future__ import annotations

import os
import posixpath
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote, urlsplit

from airflow_provider_wdt.errors import WdtConfigError

#: The spellings users may give for the three formats (json, ndjson, csv), and the suffixes that name them.
FORMAT_ALIASES = {"json": "json", "ndjson": "ndjson", "lines": "ndjson", "jsonl": "ndjson", "csv": "csv"}
SUFFIX_FORMATS = {".json": "json", ".ndjson": "ndjson", ".jsonl": "ndjson", ".txt": "ndjson", ".csv": "csv"}
LOCAL_SCHEMES = ("", "file", "local")


def normalize_format(output_format: str) -> str:
    """``json``, ``ndjson`` (alias ``lines``, ``jsonl``) or ``csv``; anything else is a config error."""
    fmt = FORMAT_ALIASES.get(str(output_format).strip().lower())
    if fmt is None:
        raise WdtConfigError(f"output_format must be one of {sorted(FORMAT_ALIASES)}, got {output_format!r}.")
    return fmt


def output_format_for(output_path: str | None, output_format: str | None) -> str | None:
    """The format of the ids file, or None when there is no file (the ids go to XCom)."""
    if not output_path:
        if output_format:
            raise WdtConfigError("output_format is set but output_path is empty; set both or neither.")
        return None
    return resolve_format(output_format, output_path)


def resolve_format(output_format: str | None, output_path: str) -> str:
    """The explicit ``output_format``, else the one the path's suffix names."""
    if output_format:
        return normalize_format(output_format)
    suffix = posixpath.splitext(urlsplit(output_path).path)[1].lower()
    fmt = SUFFIX_FORMATS.get(suffix)
    if fmt is None:
        raise WdtConfigError(
            f"Cannot tell the output format from {output_path!r} (suffix {suffix or 'none'!r}); "
            f"name the file {', '.join(sorted(SUFFIX_FORMATS))} or set output_format."
        )
    return fmt


class IdEncoder:
    """Text for the ids of one format, chunk by chunk: ``begin()``, ``chunk(ids)`` ..., ``end()``."""

    def __init__(self, fmt: str) -> None:
        self.fmt = normalize_format(fmt)
        self._first = True

    def begin(self) -> str:
        return {"json": "[", "ndjson": "", "csv": "rec_id\n"}[self.fmt]

    def chunk(self, ids: Iterable[int]) -> str:
        # int.__repr__ formats any int (bool as 1/0) and raises TypeError for anything else, so a stray
        # string can never end up in the file.
        if self.fmt != "json":
            lines = "\n".join(map(int.__repr__, ids))
            return lines + "\n" if lines else ""
        text = ",".join(map(int.__repr__, ids))
        if not text:
            return ""
        # The separator belongs before every chunk but the first, so an empty chunk changes nothing.
        text = text if self._first else "," + text
        self._first = False
        return text

    def end(self) -> str:
        return "]\n" if self.fmt == "json" else ""


class IdWriter:
    """What :func:`atomic_id_writer` yields: call ``write(ids)`` once per page."""

    def __init__(self, stream: IO[bytes], encoder: IdEncoder) -> None:
        self._stream = stream
        self._encoder = encoder
        self._put(encoder.begin())

    def write(self, ids: Iterable[int]) -> None:
        self._put(self._encoder.chunk(ids))

    def finish(self) -> None:
        self._put(self._encoder.end())

    def _put(self, text: str) -> None:
        if text:
            self._stream.write(text.encode("utf-8"))


def is_local(output_path: str) -> bool:
    """A plain path or a ``file://`` URL (written with os.replace); anything else goes to object storage."""
    return urlsplit(output_path).scheme.lower() in LOCAL_SCHEMES


def local_path(output_path: str) -> Path:
    parts = urlsplit(output_path)
    if parts.scheme.lower() in ("file", "local"):
        return Path(unquote(parts.path))
    return Path(output_path).expanduser()


def _temp_name(name: str) -> str:
    # Hidden and unique, so readers listing the folder skip it and two runs never share one.
    return f".{name}.{uuid.uuid4().hex[:12]}.tmp"


def target_exists(output_path: str, conn_id: str | None = None) -> bool:
    if is_local(output_path):
        return local_path(output_path).exists()
    fs, path = _object_fs(output_path, conn_id)
    return bool(fs.exists(path))


@contextmanager
def atomic_id_writer(
    output_path: str, fmt: str, *, conn_id: str | None = None, overwrite: bool = True
) -> Iterator[IdWriter]:
    """Write ids to ``output_path`` in ``fmt``; the target appears (whole) only if the block succeeds.

    Entering creates the parent folders and the temporary file, so an unusable ``output_path`` is a
    WdtConfigError before the caller has pulled anything.
    """
    encoder = IdEncoder(fmt)  # checks fmt before anything is created
    if is_local(output_path):
        commit = _local_commit(output_path, overwrite)
    else:
        commit = _object_commit(output_path, conn_id, overwrite)
    with commit as stream:
        writer = IdWriter(stream, encoder)
        yield writer
        writer.finish()


def exists_error(output_path: str) -> WdtConfigError:
    return WdtConfigError(f"output_path {output_path!r} exists already and overwrite is False.")


def _unusable(output_path: str, reason: str) -> WdtConfigError:
    return WdtConfigError(f"Cannot write output_path {output_path!r}: {reason}.")


@contextmanager
def _local_commit(output_path: str, overwrite: bool) -> Iterator[IO[bytes]]:
    target = local_path(output_path)
    temp = target.with_name(_temp_name(target.name))
    stream = _open_local_temp(output_path, target, temp)
    try:
        with stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())  # the data is on disk before the name points to it
        if overwrite:
            os.replace(temp, target)
        else:
            try:
                os.link(temp, target)  # fails if the target exists, atomically
            except FileExistsError:
                raise exists_error(output_path) from None
            temp.unlink()
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _open_local_temp(output_path: str, target: Path, temp: Path) -> IO[bytes]:
    # Errors here name the user's path, not our hidden temporary file or whichever parent failed.
    if target.is_dir():
        raise _unusable(output_path, "it is a folder; name a file in it")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # "x": create with the usual permissions (umask), never reuse a file that happens to exist.
        return open(temp, "xb")
    except OSError as exc:
        for parent in target.parents:
            if parent.exists():
                if not parent.is_dir():
                    raise _unusable(output_path, f"{parent} is a file, not a folder") from None
                break
        raise _unusable(
            output_path, f"cannot create {target.parent} or a file in it ({exc.strerror or exc})"
        ) from None


def _object_fs(output_path: str, conn_id: str | None) -> tuple[Any, str]:
    """The fsspec filesystem and in-store path of an object-storage URL; no I/O for most stores."""
    from airflow_provider_wdt._compat import object_storage_path

    try:
        storage_path = object_storage_path(output_path, conn_id)
        return storage_path.fs, str(storage_path.path)
    except (ValueError, ImportError) as exc:
        scheme = urlsplit(output_path).scheme
        raise _unusable(
            output_path,
            f"{exc}. A {scheme}:// URL needs the Airflow provider that handles it installed "
            "(e.g. apache-airflow-providers-amazon for s3://) and, if it needs credentials, output_conn_id",
        ) from None


@contextmanager
def _object_commit(output_path: str, conn_id: str | None, overwrite: bool) -> Iterator[IO[bytes]]:
    fs, target = _object_fs(output_path, conn_id)
    parent, name = posixpath.split(target.rstrip("/"))
    temp = posixpath.join(parent, _temp_name(name)) if parent else _temp_name(name)
    if parent:
        # Object stores have no folders and some refuse to "create" one (or try to create a bucket);
        # a parent that really is missing makes the write below fail with the store's own message.
        with suppress(Exception):
            fs.makedirs(parent, exist_ok=True)
    try:
        with fs.open(temp, "wb") as stream:
            yield stream
        # Object stores have no atomic no-clobber move; this check is the best they allow.
        if not overwrite and fs.exists(target):
            raise exists_error(output_path)
        fs.mv(temp, target)
    except BaseException:
        _remove_quietly(fs, temp)
        raise


def _remove_quietly(fs: Any, path: str) -> None:
    # fsspec's file objects commit on close even when the with-block fails, so the temporary object
    # may exist; a failure to delete it must not hide the error that got us here.
    with suppress(Exception):
        if fs.exists(path):
            fs.rm(path)
