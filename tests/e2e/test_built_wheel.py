"""The built distribution on its own: sdist and wheel are built, the wheel (not the checkout) is installed
with Apache Airflow into a fresh venv, and everything runs from a directory outside the repository.

Self-contained on purpose (no conftest fixtures): `make test-wheel` runs it. About 40 s on a warm uv cache.
The Airflow version is the one of the interpreter running this test (`.venv`: the Makefile's Airflow 3).
"""

from __future__ import annotations

import contextlib
import email
import email.message
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import textwrap
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import version as installed_version
from pathlib import Path

import pytest

from airflow_provider_wdt import __version__

REPO = Path(__file__).resolve().parents[2]
DIST_NAME = "airflow-provider-wdt"
PACKAGE = "airflow_provider_wdt"
# The simulator's seller for these tests, passed on its command line (so the flags are exercised too).
SID, APPKEY, APPSECRET = "wheelsid", "wheelkey", "wheelsecret:wheelsalt"


@dataclass(frozen=True)
class Built:
    sdist: Path
    wheel: Path


@dataclass(frozen=True)
class WheelEnv:
    root: Path  # the working directory, outside the repository
    python: Path
    env: dict[str, str]

    def run(self, *cmd: str | Path, timeout: float = 120, rc: int = 0) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [str(c) for c in cmd],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert proc.returncode == rc, f"{cmd} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
        return proc

    def airflow(self, *args: str, timeout: float = 120, rc: int = 0) -> subprocess.CompletedProcess[str]:
        return self.run(self.python.parent / "airflow", *args, timeout=timeout, rc=rc)

    def with_env(self, **extra: str) -> WheelEnv:
        return WheelEnv(self.root, self.python, {**self.env, **extra})


def _uv() -> str:
    uv = Path(sys.executable).parent / "uv"
    found = str(uv) if uv.exists() else shutil.which("uv")
    if not found:
        pytest.fail(
            "uv not found next to the interpreter or on PATH: run `make install` (it puts uv in .venv)"
        )
    return found


def _metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        return email.message_from_bytes(zf.read(name))


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("wheel")
    assert not root.resolve().is_relative_to(REPO), f"{root} must be outside the repository"
    return root


@pytest.fixture(scope="module")
def built(work: Path) -> Built:
    out = work / "dist"
    # uv builds the sdist from the tree, then the wheel from the unpacked sdist: a file missing from the
    # sdist breaks the wheel build here rather than for a user installing from the sdist.
    proc = subprocess.run([_uv(), "build", "--out-dir", str(out), str(REPO)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    assert sdist.name == f"{PACKAGE}-{__version__}.tar.gz"
    assert wheel.name == f"{PACKAGE}-{__version__}-py3-none-any.whl"
    return Built(sdist, wheel)


@pytest.fixture(scope="module")
def wheel_env(work: Path, built: Built) -> WheelEnv:
    venv = work / "venv"
    uv = _uv()
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    python = venv / "bin" / "python"
    # Bytecode compiled at install: without it every `airflow` command here starts 2 s slower.
    install = [uv, "pip", "install", "--quiet", "--compile-bytecode", "--python", str(python)]
    airflow_version = installed_version("apache-airflow")
    # The line's constraints file, as the README tells users: unpinned, a new upstream release can break it.
    constraints = REPO / "constraints" / f"airflow-{airflow_version}.txt"
    assert constraints.is_file(), f"no constraints file for Airflow {airflow_version}: run `make constraints`"
    airflow = f"apache-airflow=={airflow_version}"
    subprocess.run([*install, "-c", str(constraints), str(built.wheel), airflow], check=True, cwd=work)
    home = work / "airflow_home"
    (home / "dags").mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PYTHON", "VIRTUAL_ENV"))}
    env |= {
        "PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    return WheelEnv(work, python, env)


def test_sdist_and_wheel_carry_licence_types_and_every_module(built: Built) -> None:
    modules = {p.relative_to(REPO).as_posix() for p in (REPO / PACKAGE).rglob("*.py")}
    with zipfile.ZipFile(built.wheel) as zf:
        names = set(zf.namelist())
        licence = zf.read(f"{PACKAGE}-{__version__}.dist-info/licenses/LICENSE")
    assert licence == (REPO / "LICENSE").read_bytes()
    assert f"{PACKAGE}/py.typed" in names
    assert f"{PACKAGE}/simulator/shop.py" in names  # the shop stand-in ships: the workflow needs no clone
    assert modules <= names, f"missing from the wheel: {sorted(modules - names)}"
    assert not [n for n in names if n.startswith(("tests/", "example_dags/", "bench/"))]
    with tarfile.open(built.sdist) as tf:
        top = f"{PACKAGE}-{__version__}/"
        members = {m.name.removeprefix(top) for m in tf.getmembers()}
    wanted = {"LICENSE", "README.md", "README.zh-CN.md", "CHANGELOG.md", "pyproject.toml", "setup.py"}
    assert wanted | {f"{PACKAGE}/py.typed"} | modules <= members, sorted(wanted - members)
    assert not [m for m in members if m.startswith("tests")], "tests/ must not ship in the sdist"


def test_metadata_is_valid_for_an_upload(built: Built, work: Path) -> None:
    meta = _metadata(built.wheel)
    assert meta["Name"] == DIST_NAME and meta["Version"] == __version__
    assert meta["License-Expression"] == "Apache-2.0" and meta["License-File"] == "LICENSE"
    assert meta["Requires-Python"] == ">=3.10"
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL", []))
    assert {"Homepage", "Documentation", "Changelog", "Issues"} <= urls.keys(), urls
    assert all(u.startswith(urls["Homepage"]) for u in urls.values()), f"URLs from two bases: {urls}"
    classifiers = meta.get_all("Classifier", [])
    for expected in ("Framework :: Apache Airflow :: Provider", "Programming Language :: Python :: 3.10"):
        assert expected in classifiers

    # twine in a venv of its own, so nothing it brings can stand in for a dependency the wheel lacks.
    venv = work / "twine-venv"
    uv = _uv()
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    subprocess.run(
        [uv, "pip", "install", "--quiet", "--python", str(venv / "bin/python"), "twine", "trove-classifiers"],
        check=True,
    )
    check = subprocess.run(
        [venv / "bin/twine", "check", "--strict", built.sdist, built.wheel], capture_output=True, text=True
    )
    assert check.returncode == 0 and check.stdout.count("PASSED") == 2, check.stdout + check.stderr
    # PyPI refuses unknown classifiers; twine check does not look at them.
    known = subprocess.run(
        [venv / "bin/python", "-c", "import trove_classifiers as t; print('\\n'.join(t.classifiers))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert not set(classifiers) - set(known), f"unknown classifiers: {set(classifiers) - set(known)}"


def test_the_wheel_is_what_runs_and_ships_py_typed(wheel_env: WheelEnv) -> None:
    code = f"import {PACKAGE} as p, importlib.metadata as m; print(p.__file__, m.version('{DIST_NAME}'))"
    out = wheel_env.run(wheel_env.python, "-c", code).stdout.split()
    package_dir = Path(out[0]).parent
    assert package_dir.is_relative_to(wheel_env.root / "venv"), f"imported from {package_dir}, not the venv"
    assert out[1] == __version__
    assert (package_dir / "py.typed").is_file()


def test_airflow_providers_list_shows_the_provider_and_version(wheel_env: WheelEnv) -> None:
    listed = json.loads(wheel_env.airflow("providers", "list", "-o", "json").stdout)
    ours = [p for p in listed if p["package_name"] == DIST_NAME]
    assert ours and ours[0]["version"] == __version__, listed


@contextlib.contextmanager
def installed_server(wheel_env: WheelEnv, module: str, *args: str, banner: str) -> Iterator[str]:
    """``python -m module args`` from the installed package, in its own process group, until its first line
    (which must start with ``banner``) is read; that line is yielded. Stopped by PID, it must exit cleanly."""
    cmd = [str(wheel_env.python), "-m", module, *args]
    proc = subprocess.Popen(
        cmd, cwd=wheel_env.root, env=wheel_env.env, stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert proc.stdout is not None
        first_line = proc.stdout.readline()
        assert first_line.startswith(banner), first_line
        yield first_line
        os.killpg(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@contextlib.contextmanager
def simulator(wheel_env: WheelEnv, pending: int) -> Iterator[str]:
    """The installed simulator CLI; yields its URL."""
    args = [
        "--port",
        "0",
        "--pending",
        str(pending),
        "--sid",
        SID,
        "--appkey",
        APPKEY,
        "--appsecret",
        APPSECRET,
    ]
    banner = "WDT qjb simulator listening on http://127.0.0.1:"
    with installed_server(wheel_env, f"{PACKAGE}.simulator", *args, banner=banner) as first_line:
        yield first_line.rsplit(" ", 1)[1].strip()


def test_the_installed_shop_stand_in_runs_on_its_own(wheel_env: WheelEnv) -> None:
    """README: the installed package is enough to run the simulator and the shop stand-in."""
    banner = "Shop stand-in listening on http://127.0.0.1:"
    with installed_server(wheel_env, f"{PACKAGE}.simulator.shop", "--port", "0", banner=banner) as first_line:
        url = first_line.split()[4]
        post = f"requests.post('{url}/stock', json={{'rec_id': 8, 'stock': 3}})"
        code = f"import requests; print({post}.status_code)"
        assert wheel_env.run(wheel_env.python, "-c", code).stdout.strip() == "200"


def _connection(url: str) -> str:
    conn = {"conn_type": "wdt", "host": url, "login": SID, "password": APPSECRET, "schema": APPKEY}
    return json.dumps(conn)


def test_simulator_cli_serves_a_signed_call_to_the_installed_hook(wheel_env: WheelEnv) -> None:
    code = textwrap.dedent("""
        from airflow_provider_wdt.hooks.wdt import WdtHook
        ids = list(WdtHook("wdt_default").iter_pending_sync_ids(count=10))  # several signed calls
        print(len(ids), len(set(ids)))
    """)
    with simulator(wheel_env, pending=25) as url:
        with_conn = wheel_env.with_env(AIRFLOW_CONN_WDT_DEFAULT=_connection(url))
        assert with_conn.run(wheel_env.python, "-c", code).stdout.split() == ["25", "25"]


DAG_FILE = """
import pendulum
from airflow.sdk import DAG
from airflow_provider_wdt.operators.wdt import WdtPendingSyncIdsOperator
from airflow_provider_wdt.sensors.wdt import WdtPendingSyncSensor

with DAG("wheel_check", schedule=None, start_date=pendulum.datetime(2026, 1, 1), catchup=False):
    wait = WdtPendingSyncSensor(task_id="wait", poke_interval=1, timeout=60, deferrable=True)
    wait >> WdtPendingSyncIdsOperator(task_id="pull", output_path={output!r})
"""
# A file that imports a name the package does not have: proves list-import-errors reports what it finds.
BROKEN_DAG = "from airflow.sdk import DAG\nfrom airflow_provider_wdt.operators.wdt import NoSuchOperator\n"


def test_a_dag_with_the_operator_and_sensor_parses_and_runs(wheel_env: WheelEnv) -> None:
    dags = Path(wheel_env.env["AIRFLOW__CORE__DAGS_FOLDER"])
    output = wheel_env.root / "pending.json"
    (dags / "wheel_check.py").write_text(DAG_FILE.format(output=str(output)))
    (dags / "broken.py").write_text(BROKEN_DAG)
    wheel_env.airflow("db", "migrate")

    # It exits 1 when it found errors; its JSON is the last line (warnings come before it on stdout).
    found = wheel_env.airflow("dags", "list-import-errors", "-l", "-o", "json", rc=1)
    errors = json.loads(found.stdout.splitlines()[-1])
    assert [Path(e["filepath"]).name for e in errors] == ["broken.py"], errors
    assert "NoSuchOperator" in errors[0]["error"]
    (dags / "broken.py").unlink()
    listed = json.loads(wheel_env.airflow("dags", "list", "-l", "-o", "json").stdout.splitlines()[-1])
    assert [d["dag_id"] for d in listed] == ["wheel_check"]

    # And it runs against the installed simulator: the sensor sees pending ids, the operator writes them all.
    with simulator(wheel_env, pending=40) as url:
        with_conn = wheel_env.with_env(AIRFLOW_CONN_WDT_DEFAULT=_connection(url))
        with_conn.airflow("dags", "test", "wheel_check", timeout=180)
    assert len(set(json.loads(output.read_text()))) == 40
