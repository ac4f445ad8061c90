"""WdtPendingSyncIdsOperator against the simulator over real HTTP: paging, caps, faults and the XCom guard."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from airflow_provider_wdt.errors import (
    WdtConfigError,
    WdtEndpointError,
    WdtPagingError,
    WdtServerError,
)
from airflow_provider_wdt.operators.wdt import DEFAULT_MAX_XCOM_IDS, WdtPendingSyncIdsOperator
from tests.conftest import fails_without_retry
from tests.helpers import RecordingTI

from .helpers import TRANSIENT_FAULTS, interleave_faults, pull, run

# -- paging ----------------------------------------------------------------------------------------------


def test_small_pull_returns_ids_and_pushes_position_and_count(make_sim, ti) -> None:
    sim = make_sim(pending=7)
    ids = pull(ti, count=10)
    assert ids == sim.pending_ids()
    assert set(ti.xcoms) == {"position", "id_count"} and ti.xcoms["id_count"] == 7
    assert isinstance(ti.xcoms["position"], int) and ti.xcoms["position"] > 0
    assert sim.request_count == 2  # the page, then the empty page (or the repeated last group)


@pytest.mark.parametrize("tie_mode", ["after", "from"])
@pytest.mark.parametrize("count", [10, 37, 5000])
def test_multi_page_pull_delivers_each_id_once_in_order(make_sim, ti, tie_mode: str, count: int) -> None:
    sim = make_sim(pending=431, tie_mode=tie_mode)
    ids = pull(ti, count=count)
    assert ids == sim.pending_ids()  # every id, once, in the platform's order
    assert ti.xcoms["id_count"] == 431
    if count < 431:
        assert sim.request_count > 431 // count


@pytest.mark.parametrize("tie_mode", ["after", "from"])
def test_resuming_from_the_position_xcom_brings_only_new_ids(make_sim, ti, tie_mode: str) -> None:
    sim = make_sim(pending=40, tie_mode=tie_mode)
    first = pull(ti, count=10)
    added = sim.add_pending(15)
    later = RecordingTI()
    second = pull(later, count=10, start_position=ti.xcoms["position"])
    assert first == sim.pending_ids()[:40]
    # "from" serves the last group again; either way nothing is lost and the new ids all come.
    assert set(added) <= set(second)
    assert set(second) - set(added) <= set(first[-4:])


def test_empty_list(make_sim, ti) -> None:
    sim = make_sim(pending=0)
    assert pull(ti, count=10, start_position=12345) == []
    assert ti.xcoms == {"position": 12345, "id_count": 0}
    assert sim.request_count == 1


def test_stall_on_a_group_larger_than_count_is_a_clear_error(make_sim, ti, tmp_path) -> None:
    sim = make_sim(tie_mode="from")
    sim.add_pending(25, same_disable_syn_until=True)
    with pytest.raises(WdtPagingError, match=r"stuck at position .*larger count"):
        pull(ti, count=10)
    assert sim.request_count == 2  # no loop: the second identical full page ends it
    with pytest.raises(WdtPagingError):
        pull(ti, count=10, output_path=str(tmp_path / "ids.json"))
    assert list(tmp_path.iterdir()) == []
    assert ti.xcoms == {}
    assert pull(ti, count=30) == sim.pending_ids()  # the suggested fix works


# -- caps ------------------------------------------------------------------------------------------------


def test_max_ids_cuts_mid_page_and_the_position_lets_a_resume_deliver_the_rest(make_sim, ti) -> None:
    sim = make_sim(pending=60)
    everything = sim.pending_ids()
    ids = pull(ti, count=10, max_ids=25)
    assert ids == everything[:25]
    assert ti.xcoms["id_count"] == 25
    later = RecordingTI()
    rest = pull(later, start_position=ti.xcoms["position"], count=10)
    # The cut page comes again in full: its first ids twice, nothing lost.
    assert ids + [i for i in rest if i not in ids] == everything
    assert len(rest) < 60 and rest[-1] == everything[-1]


def test_max_ids_on_a_page_boundary_stops_without_another_request(make_sim, ti) -> None:
    sim = make_sim(pending=200)
    first_page = pull(RecordingTI(), count=10, max_pages=1)
    before = sim.request_count
    assert pull(ti, count=10, max_ids=len(first_page)) == first_page
    assert sim.request_count - before == 1
    # The page was delivered whole, so a resume starts after it, not at its beginning again.
    resumed = pull(RecordingTI(), count=10, start_position=ti.xcoms["position"], max_pages=1)
    assert resumed and not set(resumed) & set(first_page)


def test_max_pages_stops_and_a_resume_continues_exactly(make_sim, ti) -> None:
    sim = make_sim(pending=100)
    ids = pull(ti, count=10, max_pages=3)
    assert sim.request_count == 3
    assert 0 < len(ids) <= 30 and ids == sim.pending_ids()[: len(ids)]
    rest = pull(RecordingTI(), count=10, start_position=ti.xcoms["position"])
    assert ids + rest == sim.pending_ids()


def test_caps_say_in_the_log_what_they_cut(make_sim, ti, capture_logs) -> None:
    make_sim(pending=60)
    pull(ti, count=10, max_ids=25)
    pull(RecordingTI(), count=10, max_pages=2)
    text = capture_logs()
    assert "max_ids=25 reached" in text and "more ids on the last page" in text
    assert "max_pages=2 reached" in text


# -- faults ----------------------------------------------------------------------------------------------


@pytest.mark.reliability
@pytest.mark.parametrize("tie_mode", ["after", "from"])
def test_transient_faults_mid_pull_are_retried_nothing_lost_or_duplicated(make_sim, ti, tie_mode) -> None:
    sim = make_sim(pending=300, tie_mode=tie_mode)
    interleave_faults(sim, TRANSIENT_FAULTS, every=2)
    ids = pull(ti, count=10)
    assert ids == sim.pending_ids()
    assert ti.xcoms["id_count"] == 300
    failed = [r for r in sim.request_log if r.status != 0]
    assert len(failed) == len(TRANSIENT_FAULTS)
    assert sim.faults.queued == 0


@pytest.mark.reliability
@pytest.mark.parametrize(
    ("fault", "error"),
    [(("http_error", {"status": 404}), WdtEndpointError), (("db_error", {"status": 5}), WdtServerError)],
)
def test_fatal_error_mid_pull_leaves_no_file_and_keeps_the_old_one(
    make_sim, ti, tmp_path, capture_logs, fault, error
):
    sim = make_sim(pending=100, max_retries=2)
    name, kwargs = fault
    sim.faults.slow(3, 0)
    getattr(sim.faults, name)(3, **kwargs)  # more than the retries allow
    target = tmp_path / "out" / "ids.json"
    target.parent.mkdir()
    target.write_text("[1]\n")
    with pytest.raises(error):
        pull(ti, count=10, output_path=str(target))
    assert target.read_text() == "[1]\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["ids.json"]  # no temporary file left
    assert ti.xcoms == {}  # no position pushed for a pull that did not finish
    assert "failed after 3 pages" in capture_logs()  # the 4th never came


# -- XCom guard ------------------------------------------------------------------------------------------


def test_xcom_guard_fails_early_and_points_to_output_path(make_sim, ti) -> None:
    sim = make_sim(pending=500)
    with fails_without_retry(WdtConfigError, match=r"max_xcom_ids=25.*output_path"):
        pull(ti, count=10, max_xcom_ids=25)
    assert sim.request_count <= 4  # failed as soon as the limit was passed, not after the whole list
    assert ti.xcoms == {}
    assert DEFAULT_MAX_XCOM_IDS == 100_000
    assert len(pull(ti, count=10, max_xcom_ids=500)) == 500  # exactly the limit is fine


def test_xcom_guard_does_not_apply_to_file_output(make_sim, ti, tmp_path) -> None:
    make_sim(pending=120)
    path = pull(ti, count=10, max_xcom_ids=5, output_path=str(tmp_path / "ids.ndjson"))
    assert len((tmp_path / "ids.ndjson").read_text().splitlines()) == 120
    assert path == str(tmp_path / "ids.ndjson")


# -- arguments, templating, import cost ------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"count": 9},
        {"count": 5001},
        {"count": "abc"},
        {"count": True},
        {"count": 10.5},
        {"count": None},
        {"start_position": -1},
        {"start_position": "x"},
        {"output_format": "xml", "output_path": "/tmp/ids.json"},
        {"output_path": "/tmp/ids.parquet"},
        {"output_format": "json"},
        {"max_ids": 0},
        {"max_pages": -1},
        {"max_xcom_ids": 0},
    ],
)
def test_bad_arguments_fail_at_construction(kwargs: dict[str, Any]) -> None:
    with pytest.raises(WdtConfigError):
        WdtPendingSyncIdsOperator(task_id="pull", **kwargs)


def test_constructor_does_no_io_and_accepts_templates(make_sim) -> None:
    sim = make_sim(pending=3)
    op = templated_operator(output_conn_id="{{ params.out_conn }}")
    assert sim.request_count == 0
    assert set(op.template_fields) >= {
        "wdt_conn_id",
        "count",
        "start_position",
        "output_path",
        "output_conn_id",
        "output_format",
    }


def templated_operator(**kwargs: Any) -> WdtPendingSyncIdsOperator:
    """An operator whose every templated argument comes from ``params``."""
    return WdtPendingSyncIdsOperator(
        task_id="pull",
        wdt_conn_id="{{ params.conn }}",
        count="{{ params.count }}",
        start_position="{{ params.position }}",
        output_path="{{ params.out }}",
        output_format="{{ params.fmt }}",
        **kwargs,
    )


def rendered(**params: Any) -> WdtPendingSyncIdsOperator:
    op = templated_operator()
    context: Any = {
        "params": {"conn": "wdt_default", "count": 10, "position": 0, "out": "", "fmt": ""} | params
    }
    op.render_template_fields(context)
    return op


def test_templated_arguments_are_validated_at_execute(make_sim, ti, tmp_path) -> None:
    sim = make_sim(pending=30)
    with fails_without_retry(WdtConfigError, match="count"):
        run(rendered(count=7), ti)
    with fails_without_retry(WdtConfigError, match="start_position"):
        run(rendered(position=-3), ti)
    with fails_without_retry(WdtConfigError, match="output_format"):
        run(rendered(out=str(tmp_path / "x.json"), fmt="xml"), ti)
    assert sim.request_count == 0  # all refused before any request
    # A position pulled from an XCom that does not exist yet renders as "None": start from 0.
    assert run(rendered(position=None), ti) == sim.pending_ids()
    out = tmp_path / "ids.data"
    assert run(rendered(out=str(out), fmt="csv", count="20"), ti) == str(out)
    assert out.read_text().splitlines()[0] == "rec_id"


def test_importing_the_operator_is_cheap() -> None:
    code = (
        "import sys, json\n"
        "import airflow_provider_wdt._compat\n"
        "before = set(sys.modules)\n"
        "import airflow_provider_wdt.operators.wdt\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    loaded = json.loads(out.strip().splitlines()[-1])
    heavy = (
        "requests",
        "urllib3",
        "fsspec",
        "upath",
        "airflow_provider_wdt.hooks",
        "airflow_provider_wdt.client",
    )
    assert [m for m in loaded if m.startswith(heavy)] == []
    assert [m for m in loaded if m.startswith("airflow.") and ".io" in m] == []


def test_hook_is_built_once_on_first_use_and_on_kill_closes_its_session(make_sim, ti) -> None:
    sim = make_sim(pending=30)
    op = WdtPendingSyncIdsOperator(task_id="pull", count=10)
    op.on_kill()  # before any use: builds nothing
    assert "hook" not in op.__dict__
    assert len(run(op, ti)) == 30
    assert op.hook is op.hook
    op.hook.call("system.Core.now")  # execute closed the session; this opens one again
    assert op.hook.client._session is not None
    op.on_kill()
    assert op.hook.client._session is None
    assert sim.connections_accepted == 2
