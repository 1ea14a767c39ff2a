"""Running Locust for a run: its command line, the process, its live progress lines, workers.

Locust runs in a subprocess of its own session: it monkey-patches the standard library with
gevent at import, which must not happen in the ``ddbbench`` process (threads and boto3 load
the data there), and a terminal's Ctrl-C must reach it once, through ``run_locust``.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ddbbench.client import Endpoint
from ddbbench.errors import BenchError, ConfigError
from ddbbench.local import free_port
from ddbbench.paths import PROJECT_ROOT
from ddbbench.progress import PROGRESS_PREFIX, LiveLine
from ddbbench.scenario import Load, Scenario

LOCUSTFILE = PROJECT_ROOT / "locustfiles" / "dynamodb_patterns.py"
LOCUST_GRACE_S = 60.0  # beyond the run time: start-up, spawn, stop timeout, writing results
STOP_TIMEOUT_S = 10  # Locust's --stop-timeout: users finish their current request
WORKERS_WAIT_S = 300.0  # --master: how long Locust waits for the expected workers to connect

@dataclass(frozen=True)
class Workers:
    """Load processes on other machines: this run's Locust is a master that waits for
    ``expected`` workers (``locust -f locustfiles/dynamodb_patterns.py --worker --master-host
    HOST`` on each) and listens on ``bind_host``:``bind_port``."""

    expected: int = 0  # 0: no remote workers (one process, or --processes on this machine)
    bind_host: str = "*"
    bind_port: int = 5557

    def check(self, endpoint: Endpoint, sc: Scenario) -> None:
        if self.expected <= 0:
            return
        if endpoint.kind == "local":
            raise ConfigError("--master: the target is DynamoDB Local on this machine, which workers "
                              "on other machines cannot reach; give --target URL (reachable from "
                              "them) or aws")
        if sc.load.processes > 1:
            raise ConfigError(f"--master: load.processes is {sc.load.processes}; with remote workers "
                              "give --processes to each worker's locust command instead")


NO_WORKERS = Workers()  # the default: no remote workers


def describe_load(sc: Scenario, workers: Workers = Workers()) -> str:
    load = sc.load
    procs = f" in {load.processes} processes" if load.processes > 1 else ""
    if workers.expected:
        procs = f" on {workers.expected} workers"
    if load.model == "open":
        rates = "/".join(f"{s.rate:g}" for s in load.arrival_stages())
        return f"open model at {rates} requests/s{procs}"
    pace = f"{load.rate_per_user:g} requests/s each" if load.rate_per_user else "unpaced"
    return f"{load.users} users, {pace}{procs}"


def locust_users(sc: Scenario, workers: Workers = Workers()) -> tuple[int, float]:
    """(Locust users, spawn rate): open model runs one arrival generator per process."""
    load = sc.load
    if load.model == "open":
        generators = workers.expected or load.processes
        return generators, float(generators)
    return load.users, load.spawn_rate


def stop_timeout_s(load: Load) -> int:
    """Locust's --stop-timeout. Under load.deterministic the whole schedule is sent, so that
    runs hold the same requests: a loop that fell behind (a loaded machine) gets up to the run
    time again to send the rest (its lateness shows in the latencies)."""
    return max(STOP_TIMEOUT_S, math.ceil(load.run_time_s)) if load.deterministic else STOP_TIMEOUT_S


def locust_command(sc: Scenario, run_dir: Path, workers: Workers = Workers()) -> list[str]:
    """Locust's own options (headless, users, run time, output files) and the run directory:
    the scenario, its overrides and the target travel in the manifest, not on this line."""
    load = sc.load
    users, spawn_rate = locust_users(sc, workers)
    cmd = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
           "--users", str(users), "--spawn-rate", f"{spawn_rate:g}",
           "--run-time", f"{math.ceil(load.run_time_s)}s", "--stop-timeout", str(stop_timeout_s(load)),
           "--only-summary", "--exit-code-on-error", "0", "--csv", str(run_dir / "locust"),
           "--json-file", str(run_dir / "locust_stats"), "--ddb-run-dir", str(run_dir)]
    if workers.expected:
        cmd += ["--master", "--expect-workers", str(workers.expected),
                "--expect-workers-max-wait", f"{WORKERS_WAIT_S:g}",
                "--master-bind-host", workers.bind_host, "--master-bind-port", str(workers.bind_port)]
    elif load.processes > 1:
        # The forked workers talk to their master on a port of this run's own, on loopback:
        # Locust's default (5557, every interface) makes two runs on one machine collide.
        port = str(free_port())
        cmd += ["--processes", str(load.processes), "--master-bind-host", "127.0.0.1",
                "--master-bind-port", port, "--master-host", "127.0.0.1", "--master-port", port]
    return cmd


def run_locust(cmd: list[str], run_dir: Path, timeout_s: float, live: LiveLine | None = None) -> str:
    """Run Locust to completion, showing its progress lines live (``live``; default: on
    stderr); 'complete', or 'interrupted' after Ctrl-C (results kept)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    live = live or LiveLine()
    log_path = run_dir / "locust.log"
    with open(log_path, "wb") as log:
        # cwd=run_dir: keep a locust.conf or pyproject [tool.locust] of the caller's cwd out.
        # Its own session: a terminal's Ctrl-C reaches only this process, which forwards exactly
        # one SIGINT. Locust also receiving the group's SIGINT got two, and the second one
        # interrupted its shutdown before the measurements were written.
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=run_dir, env=env,
                                start_new_session=True)
        follower = LogFollower(log_path)
        try:
            code = _wait_showing_progress(proc, timeout_s, follower, live)
        except KeyboardInterrupt:
            live.end()
            proc.send_signal(signal.SIGINT)  # Locust stops users and writes its results
            proc.wait(timeout=30)
            return "interrupted"
        except subprocess.TimeoutExpired:
            live.end()
            proc.kill()
            proc.wait()
            raise BenchError(f"Locust did not finish within {timeout_s:.0f}s; see {log_path}") from None
        except BaseException:  # SIGTERM (SystemExit) or a bug: never leave Locust running
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)
            raise
    if code != 0:
        tail = log_path.read_text(errors="replace")[-1500:]
        raise BenchError(f"Locust exited with code {code}; end of {log_path}:\n{tail}")
    return "complete"


PROGRESS_POLL_S = 0.5


def _wait_showing_progress(proc: subprocess.Popen[bytes], timeout_s: float, follower: LogFollower,
                           live: LiveLine) -> int:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            code = proc.wait(timeout=PROGRESS_POLL_S)
        except subprocess.TimeoutExpired:
            code = None
        for line in follower.new_lines():
            if line.startswith(PROGRESS_PREFIX):
                live.show(line[len(PROGRESS_PREFIX):])
        if code is not None:
            live.end()
            return code
        if time.monotonic() > deadline:
            raise subprocess.TimeoutExpired(proc.args, timeout_s)


class LogFollower:
    """The complete lines appended to a file since the last call (the Locust log, which the
    load processes' progress lines reach through stderr)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.partial = b""

    def new_lines(self) -> list[str]:
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            chunk = f.read()
        self.offset += len(chunk)
        *lines, self.partial = (self.partial + chunk).split(b"\n")
        return [line.decode(errors="replace").rstrip("\r") for line in lines]
