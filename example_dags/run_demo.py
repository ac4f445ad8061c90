"""``make demo``: the complete stock-sync workflow end to end, on this machine, in well under two minutes.

1. A fresh AIRFLOW_HOME and sqlite metadata DB under ``.demo/`` (``airflow db migrate``).
2. In this process: the WDT qjb simulator with a few thousand pending goods, and the shop stand-in
   (``airflow_provider_wdt.simulator.shop``, which refuses every rec_id divisible by 7).
3. ``airflow dags reserialize`` (registers the DAG's assets, as a dag-processor would), then
   ``airflow dags test example_wdt_stock_sync`` in a subprocess, with ``wdt_default`` pointing at the
   simulator (AIRFLOW_CONN_WDT_DEFAULT) and the DAGs folder at ``example_dags/``.
4. Stops the subprocess's process group (if anything is left), the stand-in and the simulator, and prints
   what happened: ids pulled, pushed, reported syncSuccess/syncFail, pending left, the output file.

Airflow's own output goes to ``.demo/airflow.log`` (``-v`` shows it as well). The exit status is non-zero
when the DAG run failed or the numbers do not add up.

    python -m example_dags.run_demo [-v] [--pending 3000] [--workdir .demo]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from airflow_provider_wdt.simulator import WdtSimulator
from airflow_provider_wdt.simulator.shop import ShopStandin

DAG_ID = "example_wdt_stock_sync"
EXAMPLES_DIR = Path(__file__).resolve().parent
REPO_ROOT = EXAMPLES_DIR.parent
SYNC_DIR = "stock_sync"  # under the output dir, as the DAG names it; one folder per run in it
IDS_FILE = "pending_ids.ndjson"
REPORT_FILE = "report.ndjson"
#: The simulator's seed: with it the demo's rec_ids, and so its figures, are the same on every run.
DEMO_SEED = 2026
SYNC_SUCCESS = "sales.StockSync.syncSuccess"
SYNC_FAIL = "sales.StockSync.syncFail"
BATCH_CALC = "sales.StockSync.batchCalcStock"


@dataclass
class Workdir:
    """Where the demo keeps its files; everything in it is recreated by each run."""

    root: Path

    @property
    def airflow_home(self) -> Path:
        return self.root / "airflow-home"

    @property
    def output_dir(self) -> Path:
        return self.root / "output"

    @property
    def log_file(self) -> Path:
        return self.root / "airflow.log"

    def run_dir(self) -> Path | None:
        """The folder the one DAG run of the demo wrote (named after its run_id), if any."""
        runs = sorted((self.output_dir / SYNC_DIR).glob("*/"))
        return runs[0] if runs else None

    @property
    def db_file(self) -> Path:
        return self.airflow_home / "airflow.db"

    def reset(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        for path in (self.airflow_home, self.output_dir):
            shutil.rmtree(path, ignore_errors=True)
        self.log_file.unlink(missing_ok=True)
        self.airflow_home.mkdir()
        self.output_dir.mkdir()


def airflow_env(workdir: Workdir, wdt_conn: dict[str, Any], shop_url: str) -> dict[str, str]:
    """The subprocess environment: this one without any Airflow setting of the user's, plus the demo's."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_")) and name != "AIRFLOW_HOME"
    }
    env.update(
        AIRFLOW_HOME=str(workdir.airflow_home),
        AIRFLOW__CORE__DAGS_FOLDER=str(EXAMPLES_DIR),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{workdir.db_file}",
        AIRFLOW_CONN_WDT_DEFAULT=json.dumps(wdt_conn),
        WDT_EXAMPLE_OUTPUT_DIR=str(workdir.output_dir),
        WDT_EXAMPLE_SHOP_URL=shop_url,
    )
    return env


def run_airflow(
    args: Sequence[str],
    env: dict[str, str],
    log: IO[str],
    *,
    verbose: bool,
    timeout: float,
    python: str = sys.executable,
) -> int:
    """``python -m airflow ARGS``, see :func:`run_command`."""
    return run_command([python, "-m", "airflow", *args], env, log, verbose=verbose, timeout=timeout)


def run_command(
    command: Sequence[str], env: dict[str, str], log: IO[str], *, verbose: bool, timeout: float
) -> int:
    """Run ``command`` in its own process group; output to ``log`` (and stdout if verbose).

    Whatever happens (timeout, Ctrl-C), the whole group is gone when this returns; 124 on timeout.
    """
    log.write(f"\n$ {' '.join(command)}\n")
    log.flush()
    proc = subprocess.Popen(
        list(command),
        env=env,
        # Not the checkout: `python -m` puts the working folder first on sys.path, and Airflow must import the
        # provider that is installed in its interpreter (a wheel, in the compatibility tier).
        cwd=str(Path(env["AIRFLOW_HOME"]).parent),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        start_new_session=True,  # its own process group: killed as one, nothing left behind
    )
    timed_out = threading.Event()

    def on_timeout() -> None:
        timed_out.set()
        _kill_group(proc.pid)

    watchdog = threading.Timer(timeout, on_timeout)
    watchdog.start()
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            log.write(line)
            if verbose:
                sys.stdout.write(line)
        rc = proc.wait()
    finally:
        watchdog.cancel()
        _kill_group(proc.pid)  # leftovers of a finished run too; no-op when the group is empty
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    if timed_out.is_set():
        log.write(f"[run_demo] killed after {timeout:.0f} s\n")
        return 124
    return rc


def _kill_group(pgid: int) -> None:
    for sig, wait in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 0.0)):
        try:
            os.killpg(pgid, sig)
        except (ProcessLookupError, PermissionError):
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                os.killpg(pgid, 0)
            except (ProcessLookupError, PermissionError):
                return
            time.sleep(0.05)


def task_states(db_file: Path, dag_id: str = DAG_ID) -> dict[str, str]:
    """task_id -> state of the DAG's run, read from the demo's sqlite DB (same schema on 2.11 and 3.x)."""
    if not db_file.exists():
        return {}
    with sqlite3.connect(db_file) as db:
        rows = db.execute("SELECT task_id, state FROM task_instance WHERE dag_id = ?", (dag_id,)).fetchall()
    return {task_id: str(state) for task_id, state in rows}


@dataclass
class Summary:
    """What the run did, seen from the simulator, the shop stand-in and the output file."""

    pending_before: int
    ids_pulled: int | None
    batch_calc_calls: int
    pushed: int
    accepted: int
    refused: int
    reported_success: int
    reported_fail: int
    pending_left: int
    pending_left_refused: int
    ids_file: Path
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def collect(sim: WdtSimulator, shop: ShopStandin, ids_file: Path, pending_before: int) -> Summary:
    ids_pulled = None
    if ids_file.is_file():
        with ids_file.open(encoding="utf-8") as lines:
            ids_pulled = sum(1 for line in lines if line.strip())
    calls = [r for r in sim.request_log if r.status == 0]
    pending = sim.pending_ids()
    summary = Summary(
        pending_before=pending_before,
        ids_pulled=ids_pulled,
        batch_calc_calls=sum(1 for r in calls if r.method == BATCH_CALC),
        pushed=shop.push_count,
        accepted=len(shop.accepted),
        refused=len(shop.rejected),
        reported_success=sum(1 for r in calls if r.method == SYNC_SUCCESS),
        reported_fail=sum(1 for r in calls if r.method == SYNC_FAIL),
        pending_left=len(pending),
        pending_left_refused=len(shop.rejected.intersection(pending)),
        ids_file=ids_file,
    )
    if ids_pulled != pending_before:
        summary.problems.append(f"pulled {ids_pulled} ids, but {pending_before} were pending")
    if summary.reported_success != summary.accepted or summary.reported_fail != summary.refused:
        summary.problems.append("the syncSuccess/syncFail reports differ from what the shop accepted/refused")
    if summary.pending_left != summary.refused or summary.pending_left_refused != summary.refused:
        summary.problems.append("the pending list does not hold exactly the refused items")
    return summary


def _outcome_count(path: Path) -> int:
    """The report's outcome lines (each is preceded by an intent line written before the report call)."""
    if not path.is_file():
        return 0
    with path.open(encoding="utf-8") as lines:
        return sum(1 for line in lines if '"outcome"' in line)


def _shown(path: Path) -> str:
    """A path relative to the current folder when it is inside it (the demo's usual .demo/...)."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def format_summary(s: Summary) -> str:
    pulled = "none (no file)" if s.ids_pulled is None else str(s.ids_pulled)
    report = s.ids_file.with_name(REPORT_FILE)
    lines = [
        f"  ids pulled:             {pulled}  -> {_shown(s.ids_file)}",
        f"  quantities calculated:  in {s.batch_calc_calls} batchCalcStock calls (100 ids each)",
        f"  pushed to the shop:     {s.pushed}  ({s.accepted} accepted, {s.refused} refused by the stand-in)",
        f"  reported:               {s.reported_success} syncSuccess, {s.reported_fail} syncFail",
        f"  report file:            {_shown(report)} ({_outcome_count(report)} outcomes)",
        f"  pending left:           {s.pending_left} of {s.pending_before}"
        + (f"  (the {s.pending_left_refused} refused ones, offered again later)" if s.pending_left else ""),
    ]
    lines += [f"  UNEXPECTED: {problem}" for problem in s.problems]
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    description = (__doc__ or "").split("\n")[0]
    parser = argparse.ArgumentParser(prog="python -m example_dags.run_demo", description=description)
    parser.add_argument("--pending", type=int, default=3000, help="pending goods in the simulator")
    parser.add_argument(
        "--seed", type=int, default=DEMO_SEED, help=f"the simulator's seed (default {DEMO_SEED})"
    )
    parser.add_argument("--workdir", type=Path, default=REPO_ROOT / ".demo", help="default: .demo/")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per Airflow command")
    parser.add_argument("-v", "--verbose", action="store_true", help="show Airflow's output too")
    parser.add_argument(
        "--airflow-python",
        default=sys.executable,
        help="the interpreter whose Airflow runs the DAG (default: this one); the compatibility tier passes "
        "each Airflow line's venv",
    )
    args = parser.parse_args(argv)
    if args.pending < 1:  # with nothing pending the sensor would wait out its four minutes
        parser.error("--pending must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    workdir = Workdir(args.workdir.resolve())
    workdir.reset()
    print(f"WDT stock-sync demo: {DAG_ID} against a local simulator and shop stand-in", flush=True)

    previous_sigterm = signal.signal(signal.SIGTERM, _raise_interrupt)  # so that `finally` cleans up
    try:
        with (
            WdtSimulator(pending=args.pending, seed=args.seed) as sim,
            ShopStandin() as shop,
            workdir.log_file.open("w", encoding="utf-8") as log,
        ):
            print(f"  simulator:  {sim.url}  ({args.pending} goods waiting for stock sync)")
            pending = sim.pending_ids()
            sevens = sum(1 for rec_id in pending if shop.reject(rec_id))
            print(f"  shop:       {shop.url}  (refuses every rec_id divisible by 7: {sevens} of them)")
            env = airflow_env(workdir, sim.connection(), shop.url)
            pending_before = len(pending)
            # reserialize: registers the DAG's assets as a dag-processor would; `dags test` on Airflow 3.0
            # refuses to run a task whose outlet asset was never registered ("inactive assets").
            steps = (("db", "migrate"), ("dags", "reserialize"), ("dags", "test", DAG_ID))
            rc = 0
            for step in steps:
                print(f"  airflow {' '.join(step)} ...", end="\n" if args.verbose else " ", flush=True)
                step_started = time.monotonic()
                rc = run_airflow(
                    step, env, log, verbose=args.verbose, timeout=args.timeout, python=args.airflow_python
                )
                outcome = "ok" if rc == 0 else f"FAILED (exit {rc})"
                print(f"{outcome} ({time.monotonic() - step_started:.1f} s)")
                if rc != 0:
                    break
            run_dir = workdir.run_dir() or workdir.output_dir / SYNC_DIR / "(no run folder)"
            summary = collect(sim, shop, run_dir / IDS_FILE, pending_before)
    except KeyboardInterrupt:
        print("\nInterrupted; everything started by the demo is stopped.")
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous_sigterm)

    states = task_states(workdir.db_file)
    print()
    print(format_summary(summary))
    if states:
        print("  task states:            " + ", ".join(f"{t}={s}" for t, s in sorted(states.items())))
    print(f"  Airflow's log:          {_shown(workdir.log_file)}")
    ok = rc == 0 and summary.ok
    verdict = "done" if ok else "FAILED (details in Airflow's log)"
    print(f"Demo {verdict} in {time.monotonic() - started:.1f} s.")
    return 0 if ok else 1


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
