"""File and object-storage output of WdtPendingSyncIdsOperator: formats, atomicity, memory, logs, secrets."""

from __future__ import annotations

import json
import signal
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_wdt.errors import WdtConfigError, WdtEndpointError
from airflow_provider_wdt.output import atomic_id_writer, resolve_format
from airflow_provider_wdt.simulator import DEFAULT_APPSECRET
from tests.conftest import fails_without_retry
from tests.helpers import RecordingTI, read_ids

from .helpers import interleave_faults, pull

# -- formats, local ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "output_format", "fmt"),
    [
        ("ids.json", None, "json"),
        ("ids.ndjson", None, "ndjson"),
        ("ids.jsonl", None, "ndjson"),
        ("ids.txt", None, "ndjson"),
        ("ids.csv", None, "csv"),
        ("ids.out", "lines", "ndjson"),
        ("ids.out", "NDJSON", "ndjson"),
        ("ids.txt", "csv", "csv"),
        ("ids.csv", "json", "json"),
    ],
)
def test_every_format_streams_all_ids_into_new_folders(make_sim, ti, tmp_path, name, output_format, fmt):
    sim = make_sim(pending=257)
    target = tmp_path / "a" / "b" / name
    result = pull(ti, count=10, output_path=str(target), output_format=output_format)
    assert result == str(target)
    assert read_ids(target, fmt) == sim.pending_ids()
    assert set(ti.xcoms) == {"position", "id_count"} and ti.xcoms["id_count"] == 257
    assert [p.name for p in target.parent.iterdir()] == [name]  # no temporary file left


@pytest.mark.parametrize(("name", "expected"), [("e.json", "[]\n"), ("e.ndjson", ""), ("e.csv", "rec_id\n")])
def test_empty_list_writes_a_valid_empty_file(make_sim, ti, tmp_path, name, expected) -> None:
    make_sim(pending=0)
    pull(ti, count=10, output_path=str(tmp_path / name))
    assert (tmp_path / name).read_text() == expected
    assert ti.xcoms["id_count"] == 0


def test_file_url_and_overwrite(make_sim, ti, tmp_path) -> None:
    sim = make_sim(pending=30)
    target = tmp_path / "ids.json"
    target.write_text("old")
    pull(ti, count=10, output_path=target.as_uri())
    assert json.loads(target.read_text()) == sim.pending_ids()  # overwritten by default

    target.write_text("old")
    before = sim.request_count
    with fails_without_retry(WdtConfigError, match="exists already"):
        pull(ti, count=10, output_path=str(target), overwrite=False)
    assert sim.request_count == before  # refused before pulling anything
    assert target.read_text() == "old"
    fresh = tmp_path / "new.json"
    pull(ti, count=10, output_path=str(fresh), overwrite=False)
    assert json.loads(fresh.read_text()) == sim.pending_ids()


def test_suffix_without_a_format_is_a_config_error() -> None:
    assert resolve_format(None, "s3://bucket/x/ids.CSV?versionId=1") == "csv"
    with pytest.raises(WdtConfigError, match="output_format"):
        resolve_format(None, "/data/ids")


@pytest.mark.reliability
@pytest.mark.parametrize(
    ("where", "needle"),
    [
        ("afile/ids.json", "afile is a file"),
        ("afile/sub/ids.json", "afile is a file"),
        ("adir.json", "is a folder"),
        ("/proc/wdt-operator-test/ids.json", "cannot create /proc/wdt-operator-test"),
        ("foo://bucket/ids.json", "foo://"),
    ],
)
def test_unusable_output_path_is_a_config_error_before_any_request(make_sim, ti, tmp_path, where, needle):
    sim = make_sim(pending=30)
    (tmp_path / "afile").write_text("x")
    (tmp_path / "adir.json").mkdir()
    path = where if where.startswith(("/", "foo:")) else str(tmp_path / where)
    with fails_without_retry(WdtConfigError, match="Cannot write output_path") as info:
        pull(ti, count=10, output_path=path)
    message = str(info.value)
    assert path in message and needle in message and ".tmp" not in message, message
    assert sim.request_count == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir.json", "afile"]


# -- atomicity on interruption ---------------------------------------------------------------------------


class Interrupted(BaseException):
    """Stands for what Airflow raises into a running task: AirflowTaskTimeout, a kill's KeyboardInterrupt."""


@pytest.mark.reliability
def test_interrupt_during_a_request_mid_pull_leaves_nothing(make_sim, ti, tmp_path) -> None:
    sim = make_sim(pending=200)
    sim.faults.slow(3, 0)
    sim.faults.slow(1, 10)  # the 4th page hangs; a timer interrupts the task while it waits

    def interrupt(signum: int, frame: Any) -> None:
        raise Interrupted

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    try:
        with pytest.raises(Interrupted):
            pull(ti, count=10, output_path=str(tmp_path / "ids.csv"))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert list(tmp_path.iterdir()) == []
    assert ti.xcoms == {}


@pytest.mark.parametrize("exc", [KeyboardInterrupt, RuntimeError])
def test_writer_removes_the_temporary_file_on_any_exception(tmp_path, exc) -> None:
    target = tmp_path / "sub" / "ids.ndjson"
    with pytest.raises(exc), atomic_id_writer(str(target), "ndjson") as writer:
        writer.write([1, 2, 3])
        assert len(list(target.parent.iterdir())) == 1  # the temporary file, next to the target
        raise exc()
    assert list(target.parent.iterdir()) == []


# -- object storage --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt"), [("ids.json", "json"), ("ids.ndjson", "ndjson"), ("ids.csv", "csv")]
)
def test_memory_object_storage(make_sim, ti, memory_bucket, name, fmt) -> None:
    fs, bucket = memory_bucket
    sim = make_sim(pending=143, tie_mode="from")
    url = f"memory://{bucket}/runs/2026-12-01/{name}"
    assert pull(ti, count=10, output_path=url) == url
    assert read_ids(f"/{bucket}/runs/2026-12-01/{name}", fmt, opener=fs.open) == sim.pending_ids()
    assert fs.ls(f"/{bucket}/runs/2026-12-01", detail=False) == [f"/{bucket}/runs/2026-12-01/{name}"]
    assert ti.xcoms["id_count"] == 143


@pytest.mark.reliability
def test_memory_object_storage_fatal_error_leaves_no_object(make_sim, ti, memory_bucket) -> None:
    fs, bucket = memory_bucket
    sim = make_sim(pending=100)
    sim.faults.slow(2, 0)
    sim.faults.http_error(1, 404)
    fs.pipe(f"/{bucket}/ids.json", b"[1]\n")
    with pytest.raises(WdtEndpointError):
        pull(ti, count=10, output_path=f"memory://{bucket}/ids.json")
    assert fs.ls(f"/{bucket}", detail=False) == [f"/{bucket}/ids.json"]
    assert fs.cat(f"/{bucket}/ids.json") == b"[1]\n"
    with fails_without_retry(WdtConfigError, match="exists already"):
        pull(ti, count=10, output_path=f"memory://{bucket}/ids.json", overwrite=False)


# -- memory bound ----------------------------------------------------------------------------------------


def peak_bytes_of_pull(make_sim: Any, tmp_path: Path, n: int, to_file: bool = True) -> int:
    make_sim(pending=n)  # the simulator's own state is allocated before tracing starts
    output = {"output_path": str(tmp_path / f"ids-{n}.ndjson")} if to_file else {"max_xcom_ids": n}
    tracemalloc.start()
    try:
        pull(RecordingTI(), count=500, **output)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_file_output_memory_is_bounded_by_the_page_not_the_total(make_sim, tmp_path) -> None:
    peak_bytes_of_pull(make_sim, tmp_path, 500)  # warm-up: first-use imports and caches
    small = peak_bytes_of_pull(make_sim, tmp_path, 2_000)
    large = peak_bytes_of_pull(make_sim, tmp_path, 20_000)
    assert len((tmp_path / "ids-20000.ndjson").read_text().splitlines()) == 20_000
    # Holding 18,000 more ids in a list takes ~650 kB more, as the XCom output (which must) shows.
    assert large - small < 300_000, (small, large)
    assert peak_bytes_of_pull(make_sim, tmp_path, 20_000, to_file=False) - small > 500_000


# -- logs ------------------------------------------------------------------------------------------------


def test_progress_and_summary_are_logged_without_secrets(make_sim, ti, tmp_path, capture_logs) -> None:
    sim = make_sim(pending=120)
    interleave_faults(sim, [("http_error", {"status": 503}), ("drop", {})], every=3)
    pull(ti, count=10, progress_every_pages=4, output_path=str(tmp_path / "ids.json"))
    text = capture_logs()
    assert text.count("WDT pending ids: ") >= 3 + 1  # a line per 4 pages, and the summary
    assert "ids/s" in text
    assert "120 ids in" in text and "stopped by end of list" in text and "ids.json (json)" in text
    assert "retry 1 of" in text  # the faults were visible, and retried
    secret, salt = DEFAULT_APPSECRET.split(":", 1)
    assert secret not in text and salt not in text
    assert secret not in json.dumps(ti.xcoms) and salt not in json.dumps(ti.xcoms)
