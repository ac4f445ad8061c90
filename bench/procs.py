"""Child processes of the orchestrator: the simulator and the workers, all stopped when the run ends."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from bench.common import PACKAGE, REPO_ROOT, SEED, BenchBroken, Plan


class Simulator:
    """``python -m airflow_provider_wdt.simulator`` in its own process; stopped with SIGTERM (then KILL)."""

    def __init__(
        self,
        pending: int,
        env: dict[str, str],
        log_dir: Path,
        seed: int = SEED,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.pending = pending
        log_path = log_dir / f"simulator-{pending}-{time.monotonic_ns()}.log"
        self._log = open(log_path, "w", encoding="utf-8")  # noqa: SIM115 - closed in stop()
        self._lines: queue.Queue[str] = queue.Queue()
        command = [sys.executable, "-m", f"{PACKAGE}.simulator", "--port", "0"]
        command += ["--pending", str(pending), "--seed", str(seed), *extra_args]
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=self._log, text=True
        )
        self._url: str | None = None
        self.seed_seconds = 0.0
        stdout = self.process.stdout
        assert stdout is not None
        threading.Thread(target=self._read, args=(stdout,), daemon=True).start()

    def _read(self, stdout: IO[str]) -> None:
        for line in stdout:
            self._lines.put(line)

    def url(self, timeout: float) -> str:
        """Waits until the simulator has seeded its records and listens."""
        deadline = time.perf_counter() + timeout
        while self._url is None:
            try:
                line = self._lines.get(timeout=0.5)
            except queue.Empty:
                if self.process.poll() is not None:
                    raise BenchBroken(
                        f"simulator ({self.pending} pending) exited with {self.process.returncode}; "
                        f"see {self._log.name}"
                    ) from None
                if time.perf_counter() > deadline:
                    raise BenchBroken(
                        f"simulator ({self.pending} pending) not up after {timeout:.0f} s"
                    ) from None
                continue
            if "listening on" not in line:
                raise BenchBroken(f"simulator said {line!r} instead of its URL")
            self._url = line.strip().rsplit(" ", 1)[1]
            self.seed_seconds = time.perf_counter() - self.started
        return self._url

    def stop(self) -> None:
        stop_process(self.process)
        self._log.close()


@dataclass
class Worker:
    kind: str
    process: subprocess.Popen[bytes]
    result_path: Path
    log_path: Path
    timeout: float
    started: float = field(default_factory=time.perf_counter)


class Runner:
    """Starts workers and simulators with a private AIRFLOW_HOME; everything it starts, it stops."""

    def __init__(self, tmp: Path, plan: Plan, stack: ExitStack) -> None:
        self.tmp = tmp
        self.plan = plan
        self.stack = stack
        home = tmp / "airflow-home"
        home.mkdir()
        self.env = {
            **os.environ,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        }
        self._workers = 0

    def simulator(self, pending: int, *extra_args: str) -> Simulator:
        sim = Simulator(pending, self.env, self.tmp, extra_args=extra_args)
        self.stack.callback(sim.stop)
        return sim

    def start(self, kind: str, *, module: str = "bench.pull_bench", **params: Any) -> Worker:
        self._workers += 1
        result_path = self.tmp / f"{kind}-{self._workers}.result.json"
        log_path = self.tmp / f"{kind}-{self._workers}.log"
        command = [sys.executable, "-m", module, "--worker", kind]
        command += ["--params", json.dumps({"tmp": str(self.tmp), **params}), "--result", str(result_path)]
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                command, cwd=REPO_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        worker = Worker(kind, process, result_path, log_path, self.plan.timeout)
        self.stack.callback(_kill, process)
        return worker

    def finish(self, worker: Worker) -> dict[str, Any]:
        try:
            code = worker.process.wait(max(1.0, worker.timeout - (time.perf_counter() - worker.started)))
        except subprocess.TimeoutExpired:
            _kill(worker.process)
            raise BenchBroken(
                f"worker {worker.kind} did not finish in {worker.timeout:.0f} s; "
                f"log:\n{_tail(worker.log_path)}"
            ) from None
        if code != 0 or not worker.result_path.exists():
            raise BenchBroken(f"worker {worker.kind} failed (exit {code}); log:\n{_tail(worker.log_path)}")
        result: dict[str, Any] = json.loads(worker.result_path.read_text(encoding="utf-8"))
        return result

    def run(self, kind: str, *, module: str = "bench.pull_bench", **params: Any) -> dict[str, Any]:
        return self.finish(self.start(kind, module=module, **params))


def stop_process(process: subprocess.Popen[Any]) -> None:
    """SIGTERM, then SIGKILL after 10 s: a server the benchmark started ends by its PID."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _kill(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
        process.wait()


def _tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join("    " + line for line in text[-lines:])
