"""Everything a load process needs to replay a scenario, built once per process.

Kept free of Locust so it can be unit-tested; ``locustfiles/`` wires it to Locust's events.
The open-model loop lives in ``ddbbench.openloop`` (it needs gevent).
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

from ddbbench.client import Endpoint, make_client
from ddbbench.designs import Call
from ddbbench.execute import Result, execute
from ddbbench.pacing import Pacer, user_phase
from ddbbench.patterns import PatternPicker, RequestFactory
from ddbbench.patterns.state import salt_for
from ddbbench.recorder import COUNTERS, Recorder
from ddbbench.scenario import Scenario

OnResult = Callable[[str, Result], None]


@dataclass
class ReplayContext:
    scenario: Scenario
    client: Any
    factory: RequestFactory
    picker: PatternPicker
    recorder: Recorder
    on_result: OnResult | None = None  # e.g. fire Locust's request event (measured only)
    users_started: int = 0
    measure_from_ns: int = 0  # requests meant to start earlier are warm-up: sent, not measured
    counters: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    epoch: float = field(default_factory=time.perf_counter)  # common anchor of user schedules
    phase_offset: float = field(default_factory=random.random)  # this process's shift

    @classmethod
    def create(cls, scenario: Scenario, endpoint: Endpoint, run_dir: Path,
               pool_size: int) -> ReplayContext:
        label = f"{socket.gethostname()}-{os.getpid()}"
        ctx = cls(
            scenario=scenario,
            client=make_client(endpoint, scenario.client, pool_size=pool_size),
            factory=RequestFactory.for_scenario(scenario, salt=salt_for(scenario, "replay")),
            picker=PatternPicker(scenario.mix),
            recorder=Recorder(run_dir, label, interval_s=scenario.measurement.interval_s,
                              raw_fraction=scenario.measurement.raw_fraction),
        )
        if scenario.load.deterministic:
            ctx.phase_offset = 0.0  # the same arrival times, relative to the schedule's start
        return ctx

    def user_rng(self) -> random.Random:
        """A reproducible request stream per user: seeded by dataset seed and user number."""
        self.users_started += 1
        return random.Random(f"{self.scenario.dataset.seed}:user:{self.users_started}")

    def user_phase(self) -> float:
        """Phase of the user last started (call after ``user_rng``)."""
        return user_phase(self.users_started, self.phase_offset)

    def pacer(self) -> Pacer:
        """The closed-model schedule of the user last started."""
        return Pacer(self.scenario.load.rate_per_user, self.user_phase(), self.epoch,
                     time.perf_counter())

    def start_measuring_after(self, seconds: float) -> None:
        self.measure_from_ns = time.time_ns() + int(seconds * 1e9)

    def next_call(self, rng: random.Random) -> tuple[str, Call]:
        pattern = self.picker.pick(rng)
        return pattern, self.factory.make(pattern, rng)

    def send(self, pattern: str, call: Call, intended_perf_ns: int | None = None,
             measured: bool | None = None) -> Result:
        """Send and record one request. ``measured`` is decided by the caller when it knows
        (the open loop: from the arrival's place in its schedule, exactly); otherwise by the
        request's (intended) start against the warm-up cut-off."""
        result = execute(self.client, call, intended_perf_ns)
        if measured is None:
            measured = result.start_unix_ns - result.schedule_lag_ns >= self.measure_from_ns
        if measured:
            self.recorder.record(pattern, result)
            if self.on_result is not None:
                self.on_result(pattern, result)
        else:
            self.counters["warmup_requests"] += 1
        return result

    def step(self, rng: random.Random) -> tuple[str, Result]:
        """One closed-model request: draw, send, record."""
        pattern, call = self.next_call(rng)
        return pattern, self.send(pattern, call)

    def close(self) -> Path:
        return self.recorder.close({"counters": dict(self.counters),
                                    "model": self.scenario.load.model})
