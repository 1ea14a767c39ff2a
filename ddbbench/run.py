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
from ddbbench.errors import BenchError, Interrupted
from ddbbench.execute import execute
from ddbbench.paths import PROJECT_ROOT
from ddbbench.patterns import PatternPicker, RequestFactory, process_salt
from ddbbench.progress import ProgressPrinter
from ddbbench.rundir import base_manifest, create_run_dir, update_manifest, write_manifest
from ddbbench.scenario import Scenario

LOCUSTFILE = PROJECT_ROOT / "locustfiles" / "dynamodb_patterns.py"
LOCUST_GRACE_S = 60.0  # beyond the run time: start-up, spawn, stop timeout, writing results
Echo = Callable[[str], None]


@dataclass(frozen=True)
class RunRequest:
    scenario: Scenario
    scenarios_file: Path
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
    factory = RequestFactory.for_scenario(scenario, salt=process_salt())
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
        run_dir = create_run_dir(req.reports_root, sc.name, req.run_name)
        manifest = base_manifest(run_dir, sc.to_dict(), endpoint.describe(), source="ddbbench run")
        manifest["scenarios_file"] = str(req.scenarios_file)
        write_manifest(run_dir, manifest)
        echo(f"run directory: {run_dir}")
        if not req.skip_load:
            stats = load_data(endpoint, sc, req.recreate_tables, echo)
            update_manifest(run_dir, load=stats.to_dict())
        update_manifest(run_dir, calibration=calibrate(sc, sc.load.calibration_requests))
        update_manifest(run_dir, warmup=warm_up(endpoint, sc, echo))
        status = replay(req, endpoint, run_dir, echo)
        if req.after_replay is not None and status == "complete":
            update_manifest(run_dir, after_replay=req.after_replay(endpoint, sc))
    summary = build_report(run_dir)
    update_manifest(run_dir, status=status, finished_at=datetime.now(UTC).isoformat(timespec="seconds"))
    if status != "complete":
        raise Interrupted(f"interrupted; partial results kept in {run_dir}")
    return run_dir, summary


def replay(req: RunRequest, endpoint: Endpoint, run_dir: Path, echo: Echo) -> str:
    """Replay the scenario's load with Locust into ``run_dir``: 'complete' or 'interrupted'."""
    sc = req.scenario
    cmd = locust_command(req, endpoint, run_dir)
    update_manifest(run_dir, locust={"command": cmd})
    echo(f"replaying for {sc.load.run_time_s:g}s, {describe_load(sc)} "
         f"(Locust log: {run_dir / 'locust.log'})")
    return run_locust(cmd, run_dir, sc.load.run_time_s + LOCUST_GRACE_S)


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


def locust_command(req: RunRequest, endpoint: Endpoint, run_dir: Path) -> list[str]:
    load = req.scenario.load
    users, spawn_rate = locust_users(req.scenario)
    cmd = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
           "--users", str(users), "--spawn-rate", f"{spawn_rate:g}",
           "--run-time", f"{math.ceil(load.run_time_s)}s", "--stop-timeout", "10",
           "--only-summary", "--exit-code-on-error", "0", "--csv", str(run_dir / "locust"),
           "--json-file", str(run_dir / "locust_stats"),
           "--ddb-scenario", req.scenario.name, "--ddb-scenarios-file", str(req.scenarios_file),
           "--ddb-run-dir", str(run_dir), "--ddb-design", req.scenario.design]
    if load.processes > 1:
        cmd += ["--processes", str(load.processes)]
    if endpoint.url:
        cmd += ["--ddb-endpoint", endpoint.url]
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
