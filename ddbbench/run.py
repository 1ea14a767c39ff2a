"""The main job: resolve the target, load the dataset, replay with Locust, build the report.

Locust runs in a subprocess: it monkey-patches the standard library with gevent at import,
which must not happen in this process (it uses threads and boto3 for loading).
"""

from __future__ import annotations

import math
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from analysis.report import build_report
from datagen.loader import LoadStats, load_scenario, summary_line
from ddbbench.calibrate import calibrate
from ddbbench.client import Endpoint, check_reachable, make_client, open_target
from ddbbench.errors import BenchError, Interrupted, ObjectiveMissed
from ddbbench.execute import execute
from ddbbench.paths import PROJECT_ROOT
from ddbbench.patterns import PatternPicker, RequestFactory
from ddbbench.patterns.state import salt_for
from ddbbench.progress import ProgressPrinter
from ddbbench.rundir import base_manifest, create_run_dir, update_manifest, write_manifest
from ddbbench.scenario import Load, Scenario

LOCUSTFILE = PROJECT_ROOT / "locustfiles" / "dynamodb_patterns.py"
LOCUST_GRACE_S = 60.0  # beyond the run time: start-up, spawn, stop timeout, writing results
STOP_TIMEOUT_S = 10  # Locust's --stop-timeout: users finish their current request
MEASUREMENTS_GRACE_S = STOP_TIMEOUT_S + 10.0  # beyond the drain: stopping users, writing files
Echo = Callable[[str], None]


@dataclass(frozen=True)
class RunRequest:
    scenario: Scenario  # resolved: every command-line override applied
    scenarios_file: Path | None  # where it was read from (recorded, never read again)
    reports_root: Path
    port: int | None = None
    skip_load: bool = False
    recreate_tables: bool | None = None  # None: recreate on DynamoDB Local only
    run_name: str | None = None  # the run directory's name (default: a new run id)
    # Extra measurements against the live target after the replay; recorded in the manifest.
    after_replay: Callable[[Endpoint, Scenario], dict[str, Any]] | None = None


def load_data(endpoint: Endpoint, scenario: Scenario, recreate: bool | None = None,
              echo: Echo | None = None, resume: bool = False) -> LoadStats:
    """Generate and bulk-load the scenario's dataset (fresh tables on DynamoDB Local unless
    resuming an interrupted load)."""
    recreate = endpoint.kind == "local" and not resume if recreate is None else recreate
    client = make_client(endpoint, scenario.client, pool_size=scenario.loader.workers)
    progress = ProgressPrinter("load", unit="entities") if echo else None
    stats = load_scenario(client, endpoint, scenario, recreate=recreate, resume=resume, progress=progress)
    if echo:
        echo(summary_line(stats))
    return stats


def warm_up(endpoint: Endpoint, scenario: Scenario, echo: Echo) -> dict[str, Any]:
    """Send ``load.warmup_requests`` of the scenario's mix, unmeasured, before the run.

    DynamoDB Local is a JVM: its first couple of thousand requests are several times slower
    while the JIT compiles (measured here: p50 9 ms falling to 2 ms after ~1,500 requests).
    """
    n = scenario.load.warmup_requests
    if n == 0:
        return {"requests": 0}
    client = make_client(endpoint, scenario.client)
    factory = RequestFactory.for_scenario(scenario, salt=salt_for(scenario, "warmup"))
    picker = PatternPicker(scenario.mix)
    rng = random.Random(f"{scenario.dataset.seed}:warmup")
    outcomes: Counter[str] = Counter()
    progress = ProgressPrinter("warm-up", unit="requests")
    started = time.perf_counter()
    for k in range(n):
        outcomes[execute(client, factory.make(picker.pick(rng), rng)).outcome] += 1
        progress(k + 1, n)
    return {"requests": n, "seconds": round(time.perf_counter() - started, 3),
            "outcomes": dict(outcomes)}


def run_scenario(req: RunRequest, echo: Echo) -> tuple[Path, dict[str, Any]]:
    """Run one scenario end to end; return the run directory and its summary."""
    sc = req.scenario
    with open_target(sc.target, sc.region, req.port) as endpoint:
        check_reachable(endpoint, sc.client)
        if endpoint.managed:
            echo(f"started DynamoDB Local at {endpoint.url}")
        # Absolute: Locust runs with the run directory as its working directory.
        run_dir = create_run_dir(Path(req.reports_root).resolve(), sc.name, req.run_name)
        # The hand-off: the resolved run is in the manifest before anything is loaded or sent.
        manifest = base_manifest(run_dir, sc.to_dict(), endpoint.describe(), source="ddbbench run")
        manifest["scenarios_file"] = str(req.scenarios_file) if req.scenarios_file else None
        write_manifest(run_dir, manifest)
        echo(f"run directory: {run_dir}")
        if not req.skip_load:
            stats = load_data(endpoint, sc, req.recreate_tables, echo)
            update_manifest(run_dir, load=stats.to_dict())
        update_manifest(run_dir, calibration=calibrate(sc, sc.load.calibration_requests))
        update_manifest(run_dir, warmup=warm_up(endpoint, sc, echo))
        status = replay(sc, run_dir, echo)
        if req.after_replay is not None and status == "complete":
            update_manifest(run_dir, after_replay=req.after_replay(endpoint, sc))
    summary = build_report(run_dir)
    update_manifest(run_dir, status=status, finished_at=datetime.now(UTC).isoformat(timespec="seconds"))
    if status != "complete":
        raise Interrupted(f"interrupted; partial results kept in {run_dir}")
    return run_dir, summary


def check_objectives(summary: dict[str, Any]) -> None:
    """Raise ``ObjectiveMissed`` (exit 3) naming every objective the run missed."""
    missed = [v for v in summary["slo"]["verdicts"] if not v["met"]]
    if missed:
        listed = "; ".join(f"{v['pattern']} p{v['percentile']:g} "
                           + ("not measured" if v["value_ms"] is None else f"{v['value_ms']:.3f} ms")
                           + f" (objective < {v['threshold_ms']:g} ms)" for v in missed)
        raise ObjectiveMissed(f"{len(missed)} objective(s) missed: {listed}")


def replay(sc: Scenario, run_dir: Path, echo: Echo) -> str:
    """Replay the resolved run in ``run_dir``'s manifest with Locust: 'complete' or 'interrupted'.

    ``sc`` is that manifest's scenario (the caller wrote it); Locust reads the run from the
    manifest itself, so what it replays is exactly what the manifest records.
    """
    cmd = locust_command(sc, run_dir)
    update_manifest(run_dir, locust={"command": cmd})
    echo(f"replaying for {sc.load.run_time_s:g}s, {describe_load(sc)} "
         f"(Locust log: {run_dir / 'locust.log'})")
    status = run_locust(cmd, run_dir, sc.load.run_time_s + stop_timeout_s(sc.load) + LOCUST_GRACE_S)
    wait_for_measurements(run_dir, sc, echo)
    return status


def wait_for_measurements(run_dir: Path, sc: Scenario, echo: Echo) -> None:
    """Wait (bounded) until every load process has written its measurements.

    With ``--processes`` Locust's master exits about 0.5 s after telling its workers to quit,
    without waiting for them (locust/main.py drops children still running), while a worker
    may still be draining in-flight requests: reading the run directory then would lose them,
    and stopping the server under them would turn their backlog into connection errors.
    """
    expected = sc.load.processes
    drain_s = sc.client.read_timeout_s * sc.client.max_attempts + 1  # the workers' drain bound
    deadline = time.monotonic() + drain_s + MEASUREMENTS_GRACE_S
    written = _measurement_files(run_dir)
    while len(written) < expected and time.monotonic() < deadline:
        time.sleep(0.1)
        written = _measurement_files(run_dir)
    if len(written) < expected:
        echo(f"warning: {expected - len(written)} of {expected} load processes wrote no "
             f"measurements within {drain_s + MEASUREMENTS_GRACE_S:.0f}s; see {run_dir / 'locust.log'}")
        update_manifest(run_dir, missing_processes=expected - len(written))


def _measurement_files(run_dir: Path) -> list[Path]:
    return sorted((run_dir / "histograms").glob("*.json"))


def describe_load(sc: Scenario) -> str:
    load = sc.load
    procs = f" in {load.processes} processes" if load.processes > 1 else ""
    if load.model == "open":
        rates = "/".join(f"{s.rate:g}" for s in load.arrival_stages())
        return f"open model at {rates} requests/s{procs}"
    pace = f"{load.rate_per_user:g} requests/s each" if load.rate_per_user else "unpaced"
    return f"{load.users} users, {pace}{procs}"


def locust_users(sc: Scenario) -> tuple[int, float]:
    """(Locust users, spawn rate): open model runs one arrival generator per process."""
    load = sc.load
    if load.model == "open":
        return load.processes, float(load.processes)
    return load.users, load.spawn_rate


def stop_timeout_s(load: Load) -> int:
    """Locust's --stop-timeout. Under load.deterministic the whole schedule is sent, so that
    runs hold the same requests: a loop that fell behind (a loaded machine) gets up to the run
    time again to send the rest (its lateness shows in the latencies)."""
    return max(STOP_TIMEOUT_S, math.ceil(load.run_time_s)) if load.deterministic else STOP_TIMEOUT_S


def locust_command(sc: Scenario, run_dir: Path) -> list[str]:
    """Locust's own options (headless, users, run time, output files) and the run directory:
    the scenario, its overrides and the target travel in the manifest, not on this line."""
    load = sc.load
    users, spawn_rate = locust_users(sc)
    cmd = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
           "--users", str(users), "--spawn-rate", f"{spawn_rate:g}",
           "--run-time", f"{math.ceil(load.run_time_s)}s", "--stop-timeout", str(stop_timeout_s(load)),
           "--only-summary", "--exit-code-on-error", "0", "--csv", str(run_dir / "locust"),
           "--json-file", str(run_dir / "locust_stats"), "--ddb-run-dir", str(run_dir)]
    if load.processes > 1:
        cmd += ["--processes", str(load.processes)]
    return cmd


def run_locust(cmd: list[str], run_dir: Path, timeout_s: float) -> str:
    """Run Locust to completion; 'complete', or 'interrupted' after Ctrl-C (results kept)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with open(run_dir / "locust.log", "wb") as log:
        # cwd=run_dir: keep a locust.conf or pyproject [tool.locust] of the caller's cwd out.
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=run_dir, env=env)
        try:
            code = proc.wait(timeout=timeout_s)
        except KeyboardInterrupt:
            proc.send_signal(signal.SIGINT)  # Locust stops users and writes its results
            proc.wait(timeout=30)
            return "interrupted"
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise BenchError(f"Locust did not finish within {timeout_s:.0f}s; "
                             f"see {run_dir / 'locust.log'}") from None
    if code != 0:
        tail = (run_dir / "locust.log").read_text(errors="replace")[-1500:]
        raise BenchError(f"Locust exited with code {code}; end of {run_dir / 'locust.log'}:\n{tail}")
    return "complete"
