"""Everything a load process needs to replay a scenario, built once per process.

Kept free of Locust so it can be unit-tested; ``ddbbench.locust_plugin`` wires it to Locust's
events. The open-model loop lives in ``ddbbench.openloop`` (it needs gevent). Besides
recording, each process watches whether the target still answers (``Reachability``) and
keeps live counts and percentiles for the progress line (``LiveStats``).
"""

from __future__ import annotations

import os
import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hdrh.histogram import HdrHistogram

from ddbbench.budget import UnitBudget
from ddbbench.client import Endpoint, make_client
from ddbbench.designs import Call
from ddbbench.execute import Result, execute
from ddbbench.pacing import Pacer, user_phase
from ddbbench.patterns import PatternPicker, RequestFactory
from ddbbench.patterns.state import salt_for
from ddbbench.progress import PatternProgress
from ddbbench.recorder import BATCH, COUNTERS, Recorder, new_histogram, record_values, to_us
from ddbbench.scenario import Scenario

OnResults = Callable[[list[tuple[str, Result]]], None]
OnUnreachable = Callable[[float], None]
# Only connection errors (refused, timed out) for this long and the target is taken as gone:
# long enough that a brief blip (a restart, a dropped connection retried) does not end a run,
# short against any run worth making. Any answer, an error response included, resets it.
UNREACHABLE_S = 5.0
CONNECTION = "connection"
# Calls a closed-model user draws at once when the mix allows it (``RequestFactory.pure``):
# drawing them back to back, while the caches are warm, costs a third of drawing each right
# after a blocking socket read. A user's draws keep their order; they are the same calls.
DRAW_AHEAD = 16


@dataclass
class Reachability:
    """Whether the target still answers, from the results of one process.

    ``silent_since_ns`` is when the target last showed it was there: the later of the last
    answer's arrival and the start of the first request to fail with a connection error
    after it. Once a connection error arrives ``window_s`` or more after that, the target is
    unreachable since then (``since_unix_s``); it stays so (the run is being stopped).
    """

    window_s: float = UNREACHABLE_S
    last_answer_ns: int = 0
    first_failure_ns: int | None = None
    since_unix_s: float | None = None
    detected_unix_s: float | None = None

    def observe(self, r: Result, now_ns: int) -> bool:
        """Take one result (wall clock ``now_ns``); True the first time the target is found
        unreachable."""
        if self.since_unix_s is not None:
            return False
        if r.outcome != CONNECTION:
            self.last_answer_ns = max(self.last_answer_ns, r.start_unix_ns + r.latency_ns)
            self.first_failure_ns = None
            return False
        if self.first_failure_ns is None:
            self.first_failure_ns = r.start_unix_ns
        silent_since = max(self.last_answer_ns, self.first_failure_ns)
        if now_ns - silent_since < self.window_s * 1e9:
            return False
        self.since_unix_s = silent_since / 1e9
        self.detected_unix_s = now_ns / 1e9
        return True

    def record(self) -> dict[str, float] | None:
        """What the process file keeps (``extra.unreachable``), or None while reachable."""
        if self.since_unix_s is None:
            return None
        return {"since_unix_s": round(self.since_unix_s, 6),
                "detected_unix_s": round(self.detected_unix_s or 0.0, 6), "window_s": self.window_s}


@dataclass
class LiveCounts:
    requests: int = 0
    errors: int = 0
    throttled: int = 0
    ok: HdrHistogram = field(default_factory=new_histogram)


@dataclass
class LiveStats:
    """Measured requests of this process so far, per pattern, for the progress line. Counted
    a batch at a time, as the recorder processes its batches (``ReplayContext`` hands them
    over: one pass over a batch costs far less than the same work per request); ``add``
    keeps results of its own until BATCH or a snapshot. ``before_snapshot`` brings in what
    the recorder still holds."""

    patterns: dict[str, LiveCounts] = field(default_factory=dict)
    pending: list[tuple[str, Result]] = field(default_factory=list)
    before_snapshot: Callable[[], None] | None = None

    def add(self, pattern: str, r: Result) -> None:
        self.pending.append((pattern, r))
        if len(self.pending) >= BATCH:
            self.add_batch(self.pending)
            self.pending = []

    def add_counts(self, pattern: str, requests: int, errors: int, throttled: int,
                   ok_values: list[int]) -> None:
        """Count a batch of ``pattern``'s requests as the recorder summed it (``ok_values``:
        the successes' ``to_us`` response times)."""
        counts = self.patterns.get(pattern)
        if counts is None:
            counts = self.patterns[pattern] = LiveCounts()
        counts.requests += requests
        counts.errors += errors
        counts.throttled += throttled
        record_values(counts.ok, ok_values)

    def add_batch(self, results: list[tuple[str, Result]]) -> None:
        """Count ``results`` ((pattern, result) pairs)."""
        ok_values: dict[str, list[int]] = {}
        for pattern, r in results:
            counts = self.patterns.get(pattern)
            if counts is None:
                counts = self.patterns[pattern] = LiveCounts()
            counts.requests += 1
            if r.outcome == "ok":
                values = ok_values.get(pattern)
                if values is None:
                    values = ok_values[pattern] = []
                values.append(to_us(r.response_ns))
            else:
                counts.errors += 1
                counts.throttled += r.outcome == "throttled"
        for pattern, values in ok_values.items():
            record_values(self.patterns[pattern].ok, values)

    def snapshot(self) -> list[PatternProgress]:
        """Per pattern: requests, errors, throttles, p50 and p99 of successes (us)."""
        if self.before_snapshot is not None:
            self.before_snapshot()
        if self.pending:
            self.add_batch(self.pending)
            self.pending = []
        out = []
        for name, c in sorted(self.patterns.items()):
            has = c.ok.get_total_count() > 0
            out.append(PatternProgress(name, c.requests, c.errors, c.throttled,
                                       c.ok.get_value_at_percentile(50) if has else None,
                                       c.ok.get_value_at_percentile(99) if has else None))
        return out


@dataclass
class ReplayContext:
    scenario: Scenario
    client: Any
    factory: RequestFactory
    picker: PatternPicker
    recorder: Recorder
    on_unreachable: OnUnreachable | None = None  # called once, with the since time (unix s)
    reachability: Reachability = field(default_factory=Reachability)
    live: LiveStats = field(default_factory=LiveStats)
    users_started: int = 0
    measure_from_ns: int = 0  # requests meant to start earlier are warm-up: sent, not measured
    counters: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    epoch: float = field(default_factory=time.perf_counter)  # common anchor of user schedules
    phase_offset: float = field(default_factory=random.random)  # this process's shift
    budget: UnitBudget | None = None  # this process's --max-request-units (a lease on a worker)

    worker_index: int = 0  # this load process among the run's workers (0: the only one)
    draw_ahead: int = 1  # calls a user draws at once (``step``); 1 unless the mix is pure
    _scheduled: bool = False  # an open-model schedule has said when its measured window begins
    drawn: dict[random.Random, list[tuple[str, Call]]] = field(default_factory=dict)  # per user, reversed

    def __post_init__(self) -> None:
        if self.draw_ahead == 1 and self.factory.pure(self.picker.names):
            self.draw_ahead = DRAW_AHEAD
        # The progress line counts what the recorder records, from the recorder's batches.
        self.recorder.on_batch = self.live.add_counts
        self.live.before_snapshot = self.recorder.flush

    @classmethod
    def create(cls, scenario: Scenario, endpoint: Endpoint, run_dir: Path | None,
               pool_size: int, budget: UnitBudget | None = None, *, worker_index: int = 0,
               test_start_unix_s: float | None = None) -> ReplayContext:
        """``run_dir`` None: measurements stay in memory and travel as deltas (a worker)."""
        label = f"{socket.gethostname()}-{os.getpid()}"
        ctx = cls(
            budget=budget,
            scenario=scenario,
            client=make_client(endpoint, scenario.client, pool_size=pool_size),
            # Workers create conversations under their own ids, even when seeded (deterministic).
            factory=RequestFactory.for_scenario(
                scenario, salt=salt_for(scenario, f"replay-{worker_index}" if worker_index else "replay")),
            picker=PatternPicker(scenario.mix),
            recorder=Recorder(run_dir, label, interval_s=scenario.measurement.interval_s,
                              raw_fraction=scenario.measurement.raw_fraction,
                              test_start_unix_s=test_start_unix_s, client=scenario.client.kind),
            worker_index=worker_index,
        )
        if scenario.load.deterministic:
            ctx.phase_offset = 0.0  # the same arrival times, relative to the schedule's start
        return ctx

    def user_rng(self) -> random.Random:
        """A reproducible request stream per user: seeded by the dataset seed, the user's number
        and, past the first, the worker's index, so N workers draw N different key sequences
        from the same keyspace (identical streams would make artificial hot keys)."""
        self.users_started += 1
        seed = self.scenario.dataset.seed
        if self.worker_index > 0:
            return random.Random(f"{seed}:worker:{self.worker_index}:user:{self.users_started}")
        return random.Random(f"{seed}:user:{self.users_started}")

    def user_phase(self) -> float:
        """Phase of the user last started (call after ``user_rng``)."""
        return user_phase(self.users_started, self.phase_offset)

    def pacer(self) -> Pacer:
        """The closed-model schedule of the user last started."""
        return Pacer(self.scenario.load.rate_per_user, self.user_phase(), self.epoch,
                     time.perf_counter())

    def on_measured(self, callback: OnResults) -> None:
        """``callback`` gets every measured request's (pattern, result), in the order recorded,
        a batch at a time as the recorder processes them (``flush`` delivers what it holds: a
        caller that needs them by a deadline flushes; the recorder's close flushes the rest).
        Locust's request events go this way: fired one by one after each response, they cost
        several times as much CPU as fired back to back."""
        self.recorder.on_flush = callback

    def start_measuring_after(self, seconds: float) -> None:
        self.measure_from_ns = time.time_ns() + int(seconds * 1e9)
        self.recorder.measuring_from_unix_s = self.measure_from_ns / 1e9

    def stop_measuring(self) -> None:
        """This process sends nothing more from now on (the test is stopping, or its cap is
        spent): its measured window ends here, whatever draining and writing take (or at the
        last measured request's start, if later: an open-model user finishes its schedule).
        The first call counts."""
        if self.recorder.measuring_until_unix_s is None:
            self.recorder.measuring_until_unix_s = time.time()

    def measure_schedule_from(self, unix_s: float) -> None:
        """An open-model schedule's measured window begins at ``unix_s`` (its start plus the
        warm-up): the process's measured window begins with its earliest schedule's, which
        starts after the test start (``start_measuring_after``'s reference)."""
        if not self._scheduled or unix_s < (self.recorder.measuring_from_unix_s or unix_s):
            self.recorder.measuring_from_unix_s = unix_s
        self._scheduled = True

    def next_call(self, rng: random.Random) -> tuple[str, Call]:
        pattern = self.picker.pick(rng)
        return pattern, self.factory.make(pattern, rng)

    def send(self, pattern: str, call: Call, intended_perf_ns: int | None = None,
             measured: bool | None = None) -> Result:
        """Send and record one request. ``measured`` is decided by the caller when it knows
        (the open loop: from the arrival's place in its schedule, exactly); otherwise by the
        request's (intended) start against the warm-up cut-off."""
        result = execute(self.client, call, intended_perf_ns)
        if self.budget is not None:  # every request is billed, warm-up window included
            self.budget.add(result.capacity + result.index_capacity)
        if measured is None:
            measured = result.start_unix_ns - result.schedule_lag_ns >= self.measure_from_ns
        if measured:
            # and, batch by batch, into self.live and to ``on_measured``'s callback
            self.recorder.record(pattern, result)
        else:
            self.counters["warmup_requests"] += 1
        reach = self.reachability
        if result.outcome != CONNECTION and reach.first_failure_ns is None and reach.since_unix_s is None:
            # An answer while no failure is pending: all observe would do, without its clock read.
            end_ns = result.start_unix_ns + result.latency_ns
            if end_ns > reach.last_answer_ns:
                reach.last_answer_ns = end_ns
        elif reach.observe(result, time.time_ns()) and self.on_unreachable is not None:
            self.on_unreachable(reach.since_unix_s or 0.0)
        return result

    def step(self, rng: random.Random) -> tuple[str, Result]:
        """One closed-model request: draw, send, record. Under a pure mix the user's calls
        are drawn ``draw_ahead`` at a time (``draw``); ``forget`` drops a stopped user's."""
        if self.draw_ahead == 1:
            pattern = self.picker.pick(rng)  # next_call, one call less on the per-request path
            return pattern, self.send(pattern, self.factory.make(pattern, rng))
        queue = self.drawn.get(rng)
        if not queue:
            queue = self.drawn[rng] = self.draw(rng, self.draw_ahead)[::-1]
        pattern, call = queue.pop()
        return pattern, self.send(pattern, call)

    def draw(self, rng: random.Random, n: int) -> list[tuple[str, Call]]:
        """The next ``n`` calls of ``rng``'s stream, in order: what ``next_call`` gives
        ``n`` times."""
        pick, make = self.picker.pick, self.factory.make
        out = []
        for _ in range(n):
            pattern = pick(rng)
            out.append((pattern, make(pattern, rng)))
        return out

    def forget(self, rng: random.Random) -> None:
        """A user stopped: drop the calls it drew and did not send."""
        self.drawn.pop(rng, None)

    @property
    def capped(self) -> bool:
        """Start no request now: the request-unit cap is spent, or (a distributed worker)
        this worker's lease from the master is, until the master grants more."""
        return self.budget is not None and self.budget.blocked

    @property
    def cap_spent(self) -> bool:
        """The request-unit cap is spent for good: send nothing more."""
        return self.budget is not None and self.budget.exhausted

    def close(self) -> Path:
        return self.recorder.close(self.extra())

    def extra(self) -> dict[str, Any]:
        """What a process file records beside the measurements: counters, load model, when
        the target stopped answering, this process's request-unit budget."""
        extra: dict[str, Any] = {"counters": dict(self.counters), "model": self.scenario.load.model}
        unreachable = self.reachability.record()
        if unreachable is not None:
            extra["unreachable"] = unreachable  # read by analysis.metrics.target_unreachable
        if self.budget is not None:
            extra["request_units"] = self.budget.to_dict()
        return extra
