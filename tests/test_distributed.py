"""Several load processes over Locust's own master/worker channel: no shared disk.

Real processes: `ddbbench run --master` and plain `locust --worker` processes started from
their own empty working directories with no ddbbench options, or `--processes 2`.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from ddbbench import local
from ddbbench.replay import ReplayContext
from ddbbench.stub import StubServer
from tests.conftest import ROOT

pytestmark = pytest.mark.e2e
LOCUSTFILE = ROOT / "locustfiles" / "dynamodb_patterns.py"


def scenario_file(tmp_path: Path, **load: Any) -> Path:
    tables = {"conversations": f"Conv-{tmp_path.name[-20:]}", "candidates": f"Cand-{tmp_path.name[-20:]}",
              "events": f"Ev-{tmp_path.name[-20:]}"}
    body = {"dataset": {"seed": 3, "candidates": 40, "conversations": 120, "jobs": 5,
                        "messages": {"min": 1, "max": 3}},
            "tables": tables,
            "mix": {"get_conversation": 50, "query_by_candidate_status": 20, "update_status": 15,
                    "append_message": 15},
            "client": {"max_attempts": 1},
            "load": {"warmup_requests": 20, "warmup_s": 1, "calibration_requests": 0, **load}}
    path = tmp_path / "scenarios.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "scenarios": {"t": body}}))
    return path


def start_master(tmp_path: Path, scenarios: Path, target: str, port: int,
                 workers: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "ddbbench.cli", "run", "--scenarios-file", str(scenarios), "-s", "t",
         "--target", target, "--master", "--expect-workers", str(workers), "--master-bind-host",
         "127.0.0.1", "--master-bind-port", str(port), "--reports-dir", str(tmp_path / "reports"),
         "--yes"],
        cwd=ROOT, env=dict(os.environ), text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def start_worker(tmp_path: Path, port: int, n: int) -> subprocess.Popen[str]:
    """A plain Locust worker in an empty folder of its own: no ddbbench option, no run dir."""
    cwd = tmp_path / f"worker-{n}"
    cwd.mkdir()
    return subprocess.Popen([sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--worker",
                             "--master-host", "127.0.0.1", "--master-port", str(port)],
                            cwd=cwd, env=dict(os.environ), text=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def finish(master: subprocess.Popen[str], workers: list[subprocess.Popen[str]]) -> str:
    _, err = master.communicate(timeout=240)
    for w in workers:
        try:
            w.wait(timeout=30)
        except subprocess.TimeoutExpired:
            w.kill()
    assert master.returncode == 0, err[-3000:]
    return err


def run_dir_of(tmp_path: Path) -> Path:
    (run_dir,) = (tmp_path / "reports").iterdir()
    return run_dir


@pytest.mark.parametrize("model", ["closed", "open"])
def test_a_master_merges_what_two_remote_workers_measured(ddb_local: local.ServerInfo, tmp_path: Path,
                                                          model: str) -> None:
    load = ({"users": 4, "spawn_rate": 4, "rate_per_user": 10, "duration_s": 6} if model == "closed"
            else {"model": "open", "arrival_rate": 50, "duration_s": 6})
    port = local.free_port()
    master = start_master(tmp_path, scenario_file(tmp_path, **load), ddb_local.endpoint, port, 2)
    workers = [start_worker(tmp_path, port, n) for n in (1, 2)]
    err = finish(master, workers)
    # The master's live counters (every worker's deltas merged) in `ddbbench run`'s progress.
    assert re.search(r"replay \[2 workers\] \d+s/6s .*: [\d,]+ requests", err), err[-2000:]
    run_dir = run_dir_of(tmp_path)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    dist = manifest["distributed"]
    assert len(dist["workers"]) == 2 and all(w["left_s"] is not None for w in dist["workers"])
    assert dist["final_deltas_missing"] == [] and dist["lost_deltas"] == {} and not dist["degraded"]
    files = sorted((run_dir / "histograms").glob("*.json"))
    assert len(files) == 2 and not (tmp_path / "worker-1" / "reports").exists()  # nothing on the workers
    summary = json.loads((run_dir / "summary.json").read_text())
    per_file = [sum(sum(p["outcomes"].values()) for p in json.loads(f.read_text())["patterns"].values())
                for f in files]
    assert all(n > 0 for n in per_file) and summary["overall"]["count"] == sum(per_file)
    if model == "open":
        # Each worker sends half the rate: 6 s x 50/s arrivals in all, 1 s of them warm-up.
        gen = summary["generator"]
        assert gen["scheduled"] == 300 and gen["warmup_requests"] == 50
        assert summary["overall"]["count"] == 250
    locust = sum(e["num_requests"] for e in json.loads((run_dir / "locust_stats.json").read_text()))
    assert locust == summary["overall"]["count"]  # Locust's master has every report too


def test_a_killed_worker_leaves_a_degraded_but_complete_run(ddb_local: local.ServerInfo,
                                                            tmp_path: Path) -> None:
    port = local.free_port()
    load = {"users": 4, "spawn_rate": 4, "rate_per_user": 10, "duration_s": 12}
    master = start_master(tmp_path, scenario_file(tmp_path, **load), ddb_local.endpoint, port, 2)
    workers = [start_worker(tmp_path, port, n) for n in (1, 2)]
    deadline = time.monotonic() + 120  # until the master sends the workers their users
    reports = tmp_path / "reports"
    while time.monotonic() < deadline and not (reports.exists() and any(reports.iterdir())
                                                and _spawned(reports)):
        time.sleep(0.2)
    # Killed 7 s after the spawn: past the users' start (a second or more on a busy machine) and
    # the 1 s warm-up window, it has sent stats reports (every 3 s) with measured requests in
    # them; 5 s of the run are left for the survivor.
    time.sleep(7)
    workers[0].send_signal(signal.SIGKILL)
    started = time.monotonic()
    finish(master, workers)
    assert time.monotonic() - started < 90  # bounded: the lost worker is not waited for forever
    run_dir = run_dir_of(tmp_path)
    dist = json.loads((run_dir / "manifest.json").read_text())["distributed"]
    assert dist["degraded"] is True and len(dist["final_deltas_missing"]) == 1
    summary = json.loads((run_dir / "summary.json").read_text())
    files = sorted((run_dir / "histograms").glob("*.json"))
    per_file = [sum(sum(p["outcomes"].values()) for p in json.loads(f.read_text())["patterns"].values())
                for f in files]
    assert len(files) == 2 and all(n > 0 for n in per_file)  # the dead worker's reports are kept
    assert summary["overall"]["count"] == sum(per_file)  # and counted once


def _spawned(reports: Path) -> bool:
    log = next(reports.iterdir()) / "locust.log"
    return log.exists() and "Sending spawn jobs" in log.read_text(errors="replace")


def test_two_local_processes_finish_with_every_measured_request(isolated_cache: Path,
                                                                tmp_path: Path) -> None:
    scenarios = scenario_file(tmp_path, model="open", arrival_rate=60, duration_s=5, processes=2)
    with StubServer() as stub:
        proc = subprocess.run(
            [sys.executable, "-m", "ddbbench.cli", "run", "--scenarios-file", str(scenarios), "-s", "t",
             "--target", stub.endpoint, "--skip-load", "--yes", "--reports-dir", str(tmp_path / "reports")],
            cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=240)
        assert proc.returncode == 0, proc.stderr[-3000:]
        served = stub.stats()["operations"]
        time.sleep(2)
        assert stub.stats()["operations"] == served  # nothing sent after the run ended
    summary = json.loads((run_dir_of(tmp_path) / "summary.json").read_text())
    per_process = [sum(sum(p["outcomes"].values()) for p in json.loads(f.read_text())["patterns"].values())
                   for f in sorted((run_dir_of(tmp_path) / "histograms").glob("*.json"))]
    # One file per load process, each with a share, merged into one exact account.
    assert len(per_process) == 2 and all(n > 0 for n in per_process)
    assert sum(per_process) == summary["overall"]["count"]
    gen = summary["generator"]
    assert gen["scheduled"] == 300 and gen["not_started"] == 0 and gen["warmup_requests"] == 60
    assert summary["overall"]["count"] == 240 and summary["overall"]["errors"] == 0
    # The stub saw the warm-up before Locust, the warm-up window and every measured request.
    assert sum(served.values()) - served.get("ListTables", 0) == 20 + 60 + 240


def test_workers_draw_different_keys(ddb_local: local.ServerInfo, tmp_path: Path) -> None:
    from ddbbench.client import Endpoint
    from ddbbench.scenario import load_scenario

    sc = load_scenario(scenario_file(tmp_path, users=2), "t")
    endpoint = Endpoint("local", ddb_local.endpoint, "us-east-1")
    streams = []
    for index in (0, 1):
        ctx = ReplayContext.create(sc, endpoint, None, 2, worker_index=index)
        rng = ctx.user_rng()
        streams.append([ctx.next_call(rng)[1].kwargs for _ in range(30)])
    assert streams[0] != streams[1]


def test_local_processes_talk_on_a_loopback_port_of_their_own(tmp_path: Path) -> None:
    from ddbbench.locust_process import locust_command
    from ddbbench.scenario import load_scenario

    sc = load_scenario(scenario_file(tmp_path, processes=2), "t")
    cmd = locust_command(sc, tmp_path)
    opt = {cmd[i]: cmd[i + 1] for i in range(len(cmd) - 1) if cmd[i].startswith("--master")}
    assert opt["--master-bind-host"] == opt["--master-host"] == "127.0.0.1"
    assert opt["--master-bind-port"] == opt["--master-port"] != "5557"  # not Locust's shared default
