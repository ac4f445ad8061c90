"""Real Airflow components for the e2e tier: a throw-away AIRFLOW_HOME, CLI calls, long-running processes.

Every process runs from an Airflow venv of this repository (``.venv`` = Airflow 3, ``.venv-airflow2`` =
Airflow 2.11) in its own process group, with its output in ``<AIRFLOW_HOME>/component-logs/``, and is
stopped by that group's id: nothing is left running and nothing outside the group is touched.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import requests
from cryptography.fernet import Fernet

# Re-exported for the tests of this folder; tests.helpers imports no Airflow.
from tests.helpers import free_port as free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


@dataclass(frozen=True)
class AirflowInstall:
    """One Airflow line installed in one of the repository's venvs."""

    name: str
    venv: Path

    @property
    def airflow(self) -> str:
        return str(self.venv / "bin" / "airflow")

    @property
    def python(self) -> str:
        return str(self.venv / "bin" / "python")

    @property
    def installed(self) -> bool:
        return (self.venv / ".installed").exists()


AIRFLOW3 = AirflowInstall("airflow3", REPO_ROOT / ".venv")
AIRFLOW2 = AirflowInstall("airflow2", REPO_ROOT / ".venv-airflow2")


def wait_until(what: str, probe: Callable[[], T | None], timeout: float, interval: float = 0.5) -> T:
    """Call ``probe`` until it returns something truthy; AssertionError naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


class Component:
    """A long-running Airflow command (api-server, scheduler, ...) in its own process group."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        with log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                command,
                env=env,
                cwd=env["AIRFLOW_HOME"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a group of its own, stopped as one by its id
            )

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            tail = "\n".join(self.log_text().splitlines()[-30:])
            raise AssertionError(f"{self.name} exited with {self.proc.returncode}; log tail:\n{tail}")

    def stop(self) -> None:
        """SIGTERM to the group, SIGKILL to what is left after 15 s."""
        for sig, grace in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and _group_alive(self.proc.pid):
                self.proc.poll()  # reap the leader so the group can empty
                time.sleep(0.1)
            if not _group_alive(self.proc.pid):
                break
        self.proc.wait(timeout=5)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


class Deployment:
    """An AIRFLOW_HOME with a sqlite metadata DB, for one Airflow install; components started from it."""

    def __init__(self, install: AirflowInstall, home: Path, env: dict[str, str] | None = None) -> None:
        self.install = install
        self.home = home
        self.logs = home / "component-logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        (home / "dags").mkdir(exist_ok=True)
        self.components: list[Component] = []
        self.env = _clean_environ()
        self.env.update(
            AIRFLOW_HOME=str(home),
            PATH=f"{install.venv / 'bin'}{os.pathsep}{self.env.get('PATH', '')}",
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow.db'}",
            AIRFLOW__CORE__DAGS_FOLDER=str(home / "dags"),
            AIRFLOW__CORE__LOAD_EXAMPLES="False",
            AIRFLOW__CORE__PARALLELISM="4",  # LocalExecutor starts this many workers (default 32)
            AIRFLOW__CORE__TEST_CONNECTION="Enabled",
            AIRFLOW__CORE__FERNET_KEY=Fernet.generate_key().decode(),
            AIRFLOW__API_AUTH__JWT_SECRET="e2e-jwt-secret-not-a-real-one",
            AIRFLOW__WEBSERVER__SECRET_KEY="e2e-webserver-secret-not-a-real-one",
            AIRFLOW__API__SECRET_KEY="e2e-webserver-secret-not-a-real-one",
            AIRFLOW__LOGGING__LOGGING_LEVEL="INFO",
        )
        self.env.update(env or {})

    # -- one-shot commands ---------------------------------------------------------------------------

    def cli(self, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
        """``airflow ARGS`` to completion; stdout and stderr captured (and kept in component-logs)."""
        result = subprocess.run(
            [self.install.airflow, *args],
            env=self.env,
            cwd=str(self.home),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            start_new_session=True,
        )
        with (self.logs / "cli.log").open("a", encoding="utf-8") as log:
            log.write(f"$ airflow {' '.join(args)}  -> {result.returncode}\n{result.stdout}{result.stderr}\n")
        if check and result.returncode != 0:
            raise AssertionError(
                f"airflow {' '.join(args)} exited {result.returncode}:\n{result.stderr[-3000:]}"
            )
        return result

    def migrate(self) -> None:
        self.cli("db", "migrate", timeout=300)

    # -- long-running components ---------------------------------------------------------------------

    def start(self, name: str, *args: str) -> Component:
        component = Component(name, [self.install.airflow, *args], self.env, self.logs / f"{name}.log")
        self.components.append(component)
        return component

    def wait_http(self, component: Component, url: str, timeout: float = 120) -> None:
        def probe() -> bool:
            component.check_alive()
            try:
                return requests.get(url, timeout=5).status_code == 200
            except requests.RequestException:
                return False

        wait_until(f"{component.name} to answer {url}", probe, timeout)

    def stop(self) -> None:
        """Stop every component, the last started first."""
        while self.components:
            self.components.pop().stop()

    # -- what happened -------------------------------------------------------------------------------

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Read the metadata DB (same table names on 2.11 and 3.x for what the tests read)."""
        with sqlite3.connect(self.home / "airflow.db", timeout=30) as db:
            return db.execute(sql, params).fetchall()

    def log_files(self) -> list[Path]:
        """Every log file under AIRFLOW_HOME: task, trigger, component and CLI logs."""
        return [p for p in self.home.rglob("*") if p.is_file() and (p.suffix == ".log" or "logs" in p.parts)]

    def grep_logs(self, *needles: str) -> list[str]:
        """``file: needle`` for each needle found in any log file (an empty list when none is)."""
        found = []
        for path in self.log_files():
            text = path.read_text(encoding="utf-8", errors="replace")
            found += [f"{path.relative_to(self.home)}: {n}" for n in needles if n in text]
        return found


def _clean_environ() -> dict[str, str]:
    """This process's environment without any Airflow setting (the unit-test conftest sets some)."""
    return {
        name: value
        for name, value in os.environ.items()
        if not re.match(r"AIRFLOW(__|_CONN_|_VAR_|_HOME$)", name)
    }
