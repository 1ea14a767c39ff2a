"""Locust users replaying the access patterns, and the listeners that wire them to ddbbench.

``locustfiles/dynamodb_patterns.py`` is a thin shim over this module. Two ways in:

- ``ddbbench run`` (and knee, compare-designs) writes the resolved run into the run
  directory's manifest and starts Locust with ``--ddb-run-dir``: every load process reads the
  scenario, overrides and target from there, never from a scenario name.
- Plain ``locust -f locustfiles/dynamodb_patterns.py --ddb-scenario NAME`` (web UI): this
  module is then the entry point. It resolves the scenario and target once, at start-up, and
  writes them into a new run directory's manifest before the test starts; its own workers
  (``--processes``) read them from there.

Latency is timed per request with ``perf_counter_ns`` and recorded in microsecond HDR
histograms by ``ddbbench.recorder``; Locust's own statistics (whole milliseconds below
100 ms) are shown for convenience only and never used for reported percentiles.
"""

# Locust must be imported first: it monkey-patches the standard library with gevent, and
# importing botocore/urllib3 before it has crashed with RecursionError.
import locust  # noqa: I001

import functools
import itertools
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import gevent
import locust.runners
import locust.stats
import psutil
import zmq.green
from locust import User, events, task
from locust.exception import StopUser
from locust.runners import LocalRunner, MasterRunner, WorkerRunner

from ddbbench.budget import UnitBudget
from ddbbench.client import open_target
from ddbbench.distributed import Master, Worker, quit_when_users_stopped, unreachable_line
from ddbbench.ownership import Ownership
from ddbbench.consent import Spend, consent, replay_budget
from ddbbench.errors import BenchError, ConfigError
from ddbbench import locust_stats
from ddbbench.locust_buckets import two_significant_digits
from ddbbench.openloop import OpenLoop
from ddbbench.pacing import Pacer
from ddbbench.paths import default_scenarios_file, reports_dir
from ddbbench.progress import PROGRESS_PREFIX, REPLAY_EVERY_S, replay_line
from ddbbench.replay import ReplayContext
from ddbbench.resolved import Overrides, ResolvedRun, apply_overrides, read_resolved
from ddbbench.run import preflight
from ddbbench.rundir import base_manifest, create_run_dir, read_manifest, update_manifest, write_manifest
from ddbbench.scenario import load_scenario

CPU_SAMPLE_S = 1.0
# Locust's request events are fired a recorder batch at a time (``ReplayContext.on_measured``);
# at a low rate a batch takes long to fill, so the recorder is flushed this often: Locust's
# own statistics (web UI, console, CSV) lag ddbbench's requests by at most about this.
EVENTS_EVERY_S = 1.0
LEASE_POLL_S = 0.1  # a worker whose request-unit lease is spent looks this often for a new one
ACTIVE = (locust.runners.STATE_SPAWNING, locust.runners.STATE_RUNNING)  # else a waiting user ends
_state: dict[str, Any] = {}
# Sub-millisecond precision in Locust's console and web UI (see ddbbench/locust_buckets.py).
locust.stats.bucket_response_time = two_significant_digits
# A worker builds its client, keyspace and Faker pools at test start: CPU work that blocks its
# event loop, heartbeats included, for about a second, and for several on a busy machine (seen
# here at load average 9: both workers declared missing 3 s after the start and the test
# stopped). The master tolerates HEARTBEAT_LIVENESS missed one-second heartbeats: give 15.
locust.runners.HEARTBEAT_LIVENESS = 15
# pyzmq's gevent sockets miss some wake-ups of a waiting recv and fall back on polling every
# 11.6 s: seen here, a worker whose users were idle (a spent lease) took 10-13 s to receive
# the master's lease, cap and stop messages. Poll every 0.2 s instead (a timer, nothing more).
zmq.green.Socket._gevent_bug_timeout = 0.2
F = TypeVar("F", bound=Callable[..., Any])


def entry_point(fn: F) -> F:
    """Where Locust calls into ddbbench: a ``BenchError`` becomes one line and its exit code,
    as the ``ddbbench`` command prints it; anything else is a bug and keeps its traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except BenchError as exc:
            print(f"ddbbench: error: {exc}", file=sys.stderr, flush=True)
            sys.exit(exc.exit_code)

    return wrapper  # type: ignore[return-value]


@events.init_command_line_parser.add_listener
def _add_arguments(parser: Any) -> None:
    group = parser.add_argument_group("ddbbench")
    group.add_argument("--ddb-run-dir", default="", help="run directory; when its manifest holds a "
                       "resolved run (as `ddbbench run` writes it), that run is replayed and the "
                       "options below are ignored (default: a new folder under reports/)")
    group.add_argument("--ddb-scenario", default="baseline", env_var="DDBBENCH_SCENARIO",
                       help="scenario name in the scenarios file")
    group.add_argument("--ddb-scenarios-file", default=str(default_scenarios_file()),
                       env_var="DDBBENCH_SCENARIOS", help="path of scenarios.yaml")
    group.add_argument("--ddb-target", default="", help="override the scenario target: local, aws "
                       "or an http(s) URL")
    group.add_argument("--ddb-design", default="", env_var="DDBBENCH_DESIGN",
                       help="key design (default: the scenario's)")
    group.add_argument("--ddb-profile", default="", help="AWS profile name (default: the standard "
                       "boto3 chain); recorded by name in the manifest, for every process")
    group.add_argument("--ddb-yes", action="store_true", default=False,
                       help="off DynamoDB Local: agree to the cost preview (required to start)")
    group.add_argument("--ddb-max-request-units", type=float, default=None,
                       help="stop sending once this many request units are consumed (one cap across "
                       "every process and worker)")
    group.add_argument("--ddb-max-cost", type=float, default=None,
                       help="refuse a plan over this many USD, and stop when it is spent")


@events.init.add_listener
@entry_point
def _on_init(environment: Any, **_: Any) -> None:
    try:
        _init(environment)
    finally:
        # Locust arms its --run-time timer right after the init event, on the gevent loop's
        # clock, which was last read when the loop last ran: before the locustfile's imports
        # and this set-up (2-5 s on a busy machine). Armed on that stale clock, the timer fired
        # that much early and every run measured seconds less than it was given (measured:
        # 2.4 s of a 6 s run). Reading the clock now arms it on the time it is.
        gevent.get_hub().loop.update_now()


def _init(environment: Any) -> None:
    opts = environment.parsed_options
    if opts is None:  # used as a library without command-line options
        return
    if isinstance(environment.runner, WorkerRunner):
        # A worker takes the resolved run from its master (no shared disk, no ddbbench flags).
        _state["worker"] = Worker(environment)
        _state["worker"].install()
        return
    run_dir = Path(opts.ddb_run_dir) if opts.ddb_run_dir else None
    if run_dir is not None and (run_dir / "manifest.json").exists():
        _state["run"] = read_resolved(run_dir)  # the hand-off from `ddbbench run`
    else:
        _state["run"] = run = resolve_from_options(opts)  # plain Locust: this is the entry point
        # Replay only into tables the harness owns, with the design's schema (refused here, one
        # line, before the test starts: the same check `ddbbench run --skip-load` makes).
        preflight(run.endpoint, run.scenario, Ownership.for_target(run.endpoint, run.scenario),
                  skip_load=True, recreate=False, echo=_echo)
        _state["spend"] = spend = Spend(yes=opts.ddb_yes, max_cost=opts.ddb_max_cost,
                                        max_request_units=opts.ddb_max_request_units, flag="--ddb-")
        # Off DynamoDB Local the test spends: the preview, and no start without --ddb-yes.
        consent(run.scenario, run.endpoint, spend, _echo, load=False, warmup=False)
    if isinstance(environment.runner, MasterRunner):
        _state["master"] = Master(environment, _state["run"], run_dir or Path())
        _state["master"].install()


def resolve_from_options(opts: Any) -> ResolvedRun:
    """Plain Locust's one resolution: scenario, overrides and target (a running Local)."""
    scenario = apply_overrides(load_scenario(opts.ddb_scenarios_file, opts.ddb_scenario),
                               Overrides(target=opts.ddb_target or None, design=opts.ddb_design or None),
                               flag="--ddb-")
    with open_target(scenario.target, scenario.region, start_local=False,
                     profile=opts.ddb_profile or None) as endpoint:
        return ResolvedRun(scenario, endpoint)


@events.test_start.add_listener
@entry_point
def _on_test_start(environment: Any, **_: Any) -> None:
    opts = environment.parsed_options
    if opts is None:
        return
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        worker: Worker = _state["worker"]
        if worker.run is None:
            raise ConfigError("this worker did not receive the run from its master (a master "
                              "running another ddbbench version, or a master without ddbbench?)")
        worker.ctx = start_measuring(environment, worker.run, None, worker_index=runner.worker_index,
                                     test_start_unix_s=worker.test_start_unix_s,
                                     units_share=worker.units_share)
        _state["open_share"] = worker.open_share
        return
    run = _state["run"]
    run_dir = Path(opts.ddb_run_dir) if opts.ddb_run_dir else create_run_dir(reports_dir(), run.scenario.name)
    if not (run_dir / "manifest.json").exists():
        run_dir.mkdir(parents=True, exist_ok=True)
        manifest = base_manifest(run_dir, run.scenario.to_dict(), run.endpoint.describe(),
                                 source="locust")
        budget = _state["spend"].budget() if "spend" in _state else None
        if budget is not None:
            processes = max(1, int(getattr(runner, "target_user_count", 0) or 0)) \
                if isinstance(runner, MasterRunner) else run.scenario.load.processes
            manifest["request_units"] = replay_budget(budget, processes)
        write_manifest(run_dir, manifest)
        print(f"ddbbench: run directory {run_dir}", file=sys.stderr)
    if isinstance(runner, MasterRunner):
        master: Master = _state["master"]
        master.run_dir = run_dir
        master.start()  # the workers measure and send their deltas here
        return
    start_measuring(environment, run, run_dir)


def start_measuring(environment: Any, run: ResolvedRun, run_dir: Path | None, *,
                    worker_index: int = 0, test_start_unix_s: float | None = None,
                    units_share: float | None = None) -> ReplayContext:
    """This process's replay context; ``units_share``: its request-unit cap (from the manifest),
    or on a worker its first lease of the cap across workers (from the master's run message)."""
    load = run.scenario.load
    opts = environment.parsed_options
    concurrency = load.max_in_flight if load.model == "open" else max(load.users, opts.num_users or 0)
    if units_share is None and run_dir is not None:
        units_share = (read_manifest(run_dir).get("request_units") or {}).get("replay_per_process")
    ctx = ReplayContext.create(run.scenario, run.endpoint, run_dir, pool_size=concurrency,
                               budget=None if units_share is None else UnitBudget(
                                   float(units_share), leased=isinstance(environment.runner, WorkerRunner)),
                               worker_index=worker_index, test_start_unix_s=test_start_unix_s)
    ctx.on_measured(partial(locust_stats.deliver, environment))
    ctx.on_unreachable = partial(_stop_unreachable, environment)
    ctx.start_measuring_after(load.warmup_s)
    _state["ctx"] = ctx
    _state["loops"] = []
    _state["sampler"] = gevent.spawn(_sample_cpu, ctx)
    _state["events"] = gevent.spawn(_deliver_events, ctx)
    several = load.processes > 1 or isinstance(environment.runner, WorkerRunner)
    label = f"replay [{ctx.recorder.label}]" if several else "replay"
    _state["progress"] = gevent.spawn(_report_progress, ctx, load.run_time_s, label)
    return ctx


def _stop_unreachable(environment: Any, since_unix_s: float) -> None:
    """The target answered nothing but connection errors for UNREACHABLE_S: stop the test
    (measurements are still written, marked; ``ddbbench run`` exits 1). A worker asks its
    master, which stops every worker: the whole run ends, not this worker alone."""
    worker: Worker | None = _state.get("worker")
    if worker is not None:
        worker.unreachable(since_unix_s)
        return
    print(unreachable_line(since_unix_s), file=sys.stderr, flush=True)
    # From its own greenlet: quitting stops the users, and this call runs inside one.
    gevent.spawn(environment.runner.quit)


def _report_progress(ctx: ReplayContext, run_time_s: float, label: str) -> None:
    started = time.monotonic()
    _state["progress_line"] = partial(_print_progress, ctx, started, run_time_s, label)
    while True:
        gevent.sleep(REPLAY_EVERY_S)
        _print_progress(ctx, started, run_time_s, label)


def _print_progress(ctx: ReplayContext, started: float, run_time_s: float, label: str) -> None:
    # To stderr (Locust's log under `ddbbench run`, which shows these lines live).
    line = replay_line(time.monotonic() - started, run_time_s, ctx.live.snapshot(), label,
                       warmup=ctx.counters["warmup_requests"])
    print(PROGRESS_PREFIX + line, file=sys.stderr, flush=True)


@events.test_stopping.add_listener
def _on_test_stopping(environment: Any, **_: Any) -> None:
    ctx: ReplayContext | None = _state.get("ctx")
    if ctx is not None:
        ctx.stop_measuring()  # what is in flight still completes and is recorded


@events.test_stop.add_listener
def _on_test_stop(environment: Any, **_: Any) -> None:
    master: Master | None = _state.get("master")
    if master is not None and isinstance(environment.runner, MasterRunner):
        # Every worker's final delta has arrived (or timed out) in test_stopping: write them.
        update_manifest(master.run_dir, distributed=master.write())
        print(f"ddbbench: wrote the workers' measurements into {master.run_dir}", file=sys.stderr)
        return
    ctx: ReplayContext | None = _state.pop("ctx", None)
    for name in ("sampler", "progress", "events"):
        greenlet = _state.pop(name, None)
        if greenlet is not None:
            greenlet.kill()
    if ctx is not None:
        client = ctx.scenario.client
        for loop in _state.pop("loops", []):
            loop.drain(timeout=client.read_timeout_s * client.max_attempts + 1)
        ctx.recorder.flush()  # Locust's request events of every measured request, before its final stats
        final = _state.pop("progress_line", None)
        if final is not None:
            final()  # the last word: every measured request, whatever the period left
        worker: Worker | None = _state.get("worker")
        if worker is not None:
            worker.finish()  # the final delta, after draining
            return
        path = ctx.close()
        print(f"ddbbench: wrote {path}", file=sys.stderr)


def _echo(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _cap_reached(environment: Any) -> None:
    """The cap is spent (this process's, or across workers as the master said): the users
    stop (StopUser) and send nothing more. A single process then ends the test once its users
    have stopped (each after its request in flight), instead of idling to the run time; with
    workers the master does (``ddbbench.distributed``). Quitting from a user itself raced
    Locust's own shutdown (measurements lost): a greenlet of its own quits, as on an
    unreachable target."""
    if not _state.get("capped"):
        _state["capped"] = True
        where = "across the workers" if "worker" in _state else "in this process"
        _echo(f"ddbbench: request-unit cap reached {where}: this process's users stop")
        if isinstance(environment.runner, LocalRunner):
            gevent.spawn(quit_when_users_stopped, environment)


def _deliver_events(ctx: ReplayContext) -> None:
    while True:
        gevent.sleep(EVENTS_EVERY_S)
        ctx.recorder.flush()


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
            # This user's share of the arrival rate: from the master when distributed (a
            # remote worker does not know the user count), else 1 / this process's users.
            share = _state.get("open_share") or 1 / (self.environment.parsed_options.num_users or 1)
            self.open_loop = OpenLoop(self.ctx, self.rng, share=share, phase=self.ctx.user_phase())
            _state["loops"].append(self.open_loop)
        else:
            # Our own pacer, not Locust's constant_throughput: see ddbbench/pacing.py for why.
            self.pacer = self.ctx.pacer()
            gevent.sleep(self.pacer.delay(time.perf_counter()))

    def wait_time(self) -> float:
        return self.pacer.delay(time.perf_counter()) if self.pacer else 0.0

    def on_stop(self) -> None:
        self.ctx.forget(self.rng)  # the calls it drew ahead and did not send
        if self.pacer is not None:
            self.ctx.counters["late_starts"] += self.pacer.late

    @task
    def access_pattern(self) -> None:
        if not self.ctx.capped:
            if self.open_loop is not None:
                self.open_loop.run()  # until the test stops, or the cap (or lease) is spent
            else:
                self.ctx.step(self.rng)
        if self.ctx.cap_spent:
            self.ctx.stop_measuring()
            _cap_reached(self.environment)
            raise StopUser()
        if self.ctx.capped:
            self._wait_for_lease()

    def _wait_for_lease(self) -> None:
        """A worker's lease is spent: wait for the master's next one (or its stop). Open-model
        arrivals due meanwhile are not sent (counted as not started), not sent late in a burst."""
        runner, budget = self.environment.runner, self.ctx.budget
        assert budget is not None  # capped
        budget.waiting += 1  # the master's ledger sees the demand in the next report
        try:
            while self.ctx.capped and not self.ctx.cap_spent and runner.state in ACTIVE:
                gevent.sleep(LEASE_POLL_S)
        finally:
            budget.waiting -= 1
        if self.open_loop is not None:
            self.ctx.counters["not_started"] += _skip_due(self.open_loop, time.perf_counter())


def _skip_due(loop: OpenLoop, now: float) -> int:
    """Drop the arrivals of ``loop`` intended at or before ``now``; how many (the first later
    one is kept for the loop)."""
    skipped = 0
    for t in loop.times:
        if t > now:
            loop.times = itertools.chain([t], loop.times)
            break
        skipped += 1
    return skipped
