"""run_scoped: the one helper every example uses for a run's own folder."""

from __future__ import annotations

import re

import jinja2
import pytest

from airflow_provider_wdt.run_paths import run_scoped
from tests.conftest import REPO_ROOT


@pytest.mark.parametrize(
    ("run_id", "folder"),
    [
        ("scheduled__2026-12-08T02:34:02.483449+00:00", "scheduled__2026-12-08T02-34-02.483449-00-00"),
        ("manual__2026-12-02T09:51:25+08:00", "manual__2026-12-02T09-51-25-08-00"),
        ("my_run", "my_run"),
    ],
)
def test_the_run_folder_has_no_colon_or_plus(run_id: str, folder: str) -> None:
    template = run_scoped("s3://bucket/wdt/stock_sync/", "seller a", "pending_ids.ndjson")
    rendered = jinja2.Environment().from_string(template).render(run_id=run_id)
    assert rendered == f"s3://bucket/wdt/stock_sync/{folder}/seller a/pending_ids.ndjson"
    assert jinja2.Environment().from_string(run_scoped("/out")).render(run_id=run_id) == f"/out/{folder}"


def test_every_example_puts_the_run_in_its_paths_through_the_helper() -> None:
    """A path built from ``{{ run_id }}`` by hand would keep ':' and '+' (as example_wdt_stock_sync did)."""
    writers = []
    for path in sorted((REPO_ROOT / "example_dags").glob("example_wdt_*.py")):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"\{\{\s*run_id\s*\}\}|run_id\.replace|run_id \|", text), path.name
        if re.search(r"(output_path|report_path)=|\"output_path\":", text):
            writers.append(path.name)
            assert "run_scoped(" in text, f"{path.name} writes files but does not use run_scoped"
    assert len(writers) == 4, writers  # sensor_to_file, stock_sync, multi_seller, event_driven
