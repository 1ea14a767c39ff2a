"""Locust users replaying the seed system's four DynamoDB access patterns.

Run through ``ddbbench run`` (which starts DynamoDB Local, loads the dataset and builds the
report), or directly with Locust against a loaded table::

    ddbbench local start && ddbbench load --scenario smoke
    locust -f locustfiles/dynamodb_patterns.py --ddb-scenario smoke      # web UI
    ddbbench report reports/<run-id>                                      # after the test

Latency is timed per request with ``perf_counter_ns`` and recorded in microsecond HDR
histograms by ``ddbbench.recorder``; Locust's own statistics (whole milliseconds below
100 ms) are shown for convenience only and never used for reported percentiles.
"""

# Locust must be imported first: it monkey-patches the standard library with gevent, and
# importing botocore/urllib3 before it has crashed with RecursionError.
import locust  # noqa: I001

import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

import gevent
import locust.stats
import psutil
from locust import User, events, task
from locust.runners import MasterRunner, WorkerRunner

from ddbbench.errors import BenchError
from ddbbench.execute import Result
from ddbbench.locust_buckets import two_significant_digits
from ddbbench.openloop import OpenLoop
from ddbbench.pacing import Pacer
from ddbbench.paths import default_scenarios_file, reports_dir
from ddbbench.replay import ReplayContext, resolve_endpoint
from ddbbench.rundir import base_manifest, create_run_dir, write_manifest
from ddbbench.scenario import Scenario, load_scenario, with_design

CPU_SAMPLE_S = 1.0
_state: dict[str, Any] = {}
# Sub-millisecond precision in Locust's console and web UI (see ddbbench/locust_buckets.py).
locust.stats.bucket_response_time = two_significant_digits


class DynamoDBError(Exception):
    """Shown in Locust's failure table; the message is the outcome class and error code."""


@events.init_command_line_parser.add_listener
def _add_arguments(parser: Any) -> None:
    group = parser.add_argument_group("ddbbench")
    group.add_argument("--ddb-scenario", default="baseline", env_var="DDBBENCH_SCENARIO",
                       help="scenario name in the scenarios file")
    group.add_argument("--ddb-scenarios-file", default=str(default_scenarios_file()),
                       env_var="DDBBENCH_SCENARIOS", help="path of scenarios.yaml")
    group.add_argument("--ddb-run-dir", default="", help="run directory (default: a new one "
                       "under reports/)")
    group.add_argument("--ddb-endpoint", default="", help="DynamoDB endpoint URL (default: "
                       "from the scenario target)")
    group.add_argument("--ddb-design", default="", env_var="DDBBENCH_DESIGN",
                       help="key design (default: the scenario's)")


@events.init.add_listener
def _on_init(environment: Any, **_: Any) -> None:
    opts = environment.parsed_options
    if opts is None:  # used as a library without command-line options
        return
    try:
        scenario = load_scenario(opts.ddb_scenarios_file, opts.ddb_scenario)
        if opts.ddb_design:
            scenario = with_design(scenario, opts.ddb_design, "--ddb-design")
    except BenchError as exc:
        sys.exit(f"ddbbench: {exc}")
    _state["scenario"] = scenario


@events.test_start.add_listener
def _on_test_start(environment: Any, **_: Any) -> None:
    if "scenario" not in _state:
        return
    scenario: Scenario = _state["scenario"]
    opts = environment.parsed_options
    runner = environment.runner
    if isinstance(runner, WorkerRunner) and not opts.ddb_run_dir:
        sys.exit("ddbbench: a Locust worker needs --ddb-run-dir (the same folder as the master, "
                 "shared or copied back afterwards; see docs/distributed.md)")
    try:
        endpoint = resolve_endpoint(scenario, opts.ddb_endpoint or None)
    except BenchError as exc:
        sys.exit(f"ddbbench: {exc}")
    run_dir = Path(opts.ddb_run_dir) if opts.ddb_run_dir else create_run_dir(reports_dir(), scenario.name)
    if not isinstance(runner, WorkerRunner) and not (run_dir / "manifest.json").exists():
        run_dir.mkdir(parents=True, exist_ok=True)
        write_manifest(run_dir, base_manifest(run_dir, scenario.to_dict(), endpoint.describe(),
                                              source="locust"))
        print(f"ddbbench: run directory {run_dir}", file=sys.stderr)
    if isinstance(runner, MasterRunner):
        return  # the workers measure; each writes its own files into run_dir
    load = scenario.load
    concurrency = load.max_in_flight if load.model == "open" else max(load.users, opts.num_users or 0)
    ctx = ReplayContext.create(scenario, endpoint, run_dir, pool_size=concurrency)
    ctx.on_result = partial(_fire_request_event, environment)
    ctx.start_measuring_after(load.warmup_s)
    _state["ctx"] = ctx
    _state["loops"] = []
    _state["sampler"] = gevent.spawn(_sample_cpu, ctx)


@events.test_stop.add_listener
def _on_test_stop(environment: Any, **_: Any) -> None:
    ctx: ReplayContext | None = _state.pop("ctx", None)
    sampler = _state.pop("sampler", None)
    if sampler is not None:
        sampler.kill()
    if ctx is not None:
        client = ctx.scenario.client
        for loop in _state.pop("loops", []):
            loop.drain(timeout=client.read_timeout_s * client.max_attempts + 1)
        path = ctx.close()
        print(f"ddbbench: wrote {path}", file=sys.stderr)


def _fire_request_event(environment: Any, pattern: str, r: Result) -> None:
    # Only measured requests reach Locust, so its request counts equal ddbbench's.
    environment.events.request.fire(
        request_type="dynamodb", name=pattern, response_time=r.response_ns / 1e6,
        response_length=r.response_bytes, context={},
        exception=None if r.ok else DynamoDBError(f"{r.outcome}: {r.error_code}"))


def _sample_cpu(ctx: ReplayContext) -> None:
    # Load-generator honesty: a saturated generator measures its own queueing, not DynamoDB.
    # The machine's CPU too: the server or other work on the same cores slows the generator
    # without showing in its own CPU.
    proc = psutil.Process()
    proc.cpu_percent(None)
    psutil.cpu_percent(None)
    while True:
        gevent.sleep(CPU_SAMPLE_S)
        ctx.recorder.sample_cpu(proc.cpu_percent(None), psutil.cpu_percent(None))


class ConversationUser(User):
    """Closed model: one application instance issuing the mix, paced to rate_per_user.
    Open model: one arrival generator sending its share of the arrival rate."""

    def on_start(self) -> None:
        self.ctx: ReplayContext = _state["ctx"]
        self.rng = self.ctx.user_rng()
        self.open_loop: OpenLoop | None = None
        self.pacer: Pacer | None = None
        if self.ctx.scenario.load.model == "open":
            users = self.environment.parsed_options.num_users or 1
            self.open_loop = OpenLoop(self.ctx, self.rng, share=1 / users, phase=self.ctx.user_phase())
            _state["loops"].append(self.open_loop)
        else:
            # Our own pacer, not Locust's constant_throughput: see ddbbench/pacing.py for why.
            self.pacer = self.ctx.pacer()
            gevent.sleep(self.pacer.delay(time.perf_counter()))

    def wait_time(self) -> float:
        return self.pacer.delay(time.perf_counter()) if self.pacer else 0.0

    def on_stop(self) -> None:
        if self.pacer is not None:
            self.ctx.counters["late_starts"] += self.pacer.late

    @task
    def access_pattern(self) -> None:
        if self.open_loop is not None:
            self.open_loop.run()  # until the test stops
        else:
            self.ctx.step(self.rng)
