"""A copy of example_dags/ in a DAGs folder: every DAG loads, the helper modules are never parsed.

The scheduler re-parses every file it finds; run_demo.py, shop_standin.py and __init__.py hold no DAG, so
example_dags/.airflowignore keeps them out, under both ignore-file syntaxes (Airflow 3 defaults to glob,
2.11 to regexp).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.examples.conftest import EXAMPLES_DIR
from tests.examples.test_example_dags_load import EXAMPLE_FILES, EXPECTED_DAGS

HELPERS = {"__init__.py", "run_demo.py", "shop_standin.py"}


# Run in a fresh interpreter: Airflow 2.11 reads dag_ignore_file_syntax once, when airflow.utils.file is
# first imported, so the setting must be in the environment before that.
_PARSE = """
import json, sys
from pathlib import Path
from airflow_provider_wdt.compat import AIRFLOW_V_3
if AIRFLOW_V_3:
    from airflow.dag_processing.dagbag import DagBag
    dagbag = DagBag(dag_folder=sys.argv[1])
else:
    from airflow.models.dagbag import DagBag
    dagbag = DagBag(dag_folder=sys.argv[1], include_examples=False)
print(json.dumps({
    "parsed": sorted(Path(path).name for path in dagbag.file_last_changed),  # every file parsed
    "dag_ids": sorted(dagbag.dag_ids),
    "errors": dict(dagbag.import_errors),
}))
"""


def parse(dags_folder: Path, syntax: str | None = None) -> tuple[set[str], set[str], dict[str, str]]:
    """What a DAG processor parses in the folder: file names, DAG ids, import errors."""
    env = {**os.environ, "WDT_EXAMPLE_OUTPUT_DIR": str(dags_folder.parent / "out")}
    if syntax:
        env["AIRFLOW__CORE__DAG_IGNORE_FILE_SYNTAX"] = syntax
    done = subprocess.run(
        [sys.executable, "-c", _PARSE, str(dags_folder)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return set(result["parsed"]), set(result["dag_ids"]), result["errors"]


def copy_examples(dags_folder: Path) -> Path:
    """``cp -r example_dags <dags folder>/wdt_examples``, as the README says."""
    target = dags_folder / "wdt_examples"
    shutil.copytree(EXAMPLES_DIR, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


@pytest.mark.parametrize("syntax", ["glob", "regexp"])
def test_a_copied_examples_folder_parses_only_the_dag_files(syntax: str, tmp_path: Path) -> None:
    copy = copy_examples(tmp_path / "dags")
    assert (copy / ".airflowignore").is_file()

    parsed, dag_ids, errors = parse(tmp_path / "dags", syntax)

    assert errors == {}
    assert dag_ids == set(EXPECTED_DAGS)
    assert parsed == {f"{name}.py" for name in EXAMPLE_FILES}
    assert not parsed & HELPERS


def test_without_the_ignore_file_the_helpers_would_be_parsed(tmp_path: Path) -> None:
    """The control: Airflow's heuristic (a file naming both "airflow" and "dag") lets these two through;
    only .airflowignore keeps them out. (shop_standin.py never mentions Airflow.)"""
    copy = copy_examples(tmp_path / "dags")
    (copy / ".airflowignore").unlink()

    parsed, dag_ids, errors = parse(tmp_path / "dags")

    assert parsed >= {"__init__.py", "run_demo.py"}
    assert dag_ids == set(EXPECTED_DAGS) and errors == {}
