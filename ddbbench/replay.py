"""Everything a load process needs to replay a scenario, built once per process.

Kept free of Locust so it can be unit-tested; ``locustfiles/`` wires it to Locust's events.
"""

from __future__ import annotations

import os
import random
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ddbbench import local
from ddbbench.client import Endpoint, make_client
from ddbbench.errors import BenchError
from ddbbench.execute import Result, execute
from ddbbench.pacing import Pacer, user_phase
from ddbbench.patterns import PatternPicker, RequestFactory
from ddbbench.recorder import Recorder
from ddbbench.scenario import Scenario


def resolve_endpoint(scenario: Scenario, endpoint_url: str | None) -> Endpoint:
    """The endpoint a load process talks to: given explicitly, or from the scenario target."""
    if endpoint_url:
        kind = "local" if scenario.target == "local" else "endpoint"
        return Endpoint(kind, endpoint_url, scenario.region)
    if scenario.target == "local":
        running = local.read_state()
        if running is None:
            raise BenchError("scenario target is local but no DynamoDB Local is running; start "
                             "one with `ddbbench local start` (and `ddbbench load`), or use "
                             "`ddbbench run`, which manages it")
        return Endpoint("local", running.endpoint, scenario.region)
    if scenario.target == "aws":
        return Endpoint("aws", None, scenario.region)
    return Endpoint("endpoint", scenario.target, scenario.region)


@dataclass
class ReplayContext:
    scenario: Scenario
    client: Any
    factory: RequestFactory
    picker: PatternPicker
    recorder: Recorder
    users_started: int = 0
    measure_from_ns: int = 0  # requests starting earlier are warm-up: sent, not measured
    warmup_requests: int = 0
    late_starts: int = 0  # paced requests that could not start on schedule
    epoch: float = field(default_factory=time.perf_counter)  # common anchor of user schedules
    phase_offset: float = field(default_factory=random.random)  # this process's shift

    @classmethod
    def create(cls, scenario: Scenario, endpoint: Endpoint, run_dir: Path,
               pool_size: int) -> ReplayContext:
        label = f"{socket.gethostname()}-{os.getpid()}"
        return cls(
            scenario=scenario,
            client=make_client(endpoint, scenario.client, pool_size=pool_size),
            factory=RequestFactory.for_scenario(scenario),
            picker=PatternPicker(scenario.mix),
            recorder=Recorder(run_dir, label),
        )

    def user_rng(self) -> random.Random:
        """A reproducible request stream per user: seeded by dataset seed and user number."""
        self.users_started += 1
        return random.Random(f"{self.scenario.dataset.seed}:user:{self.users_started}")

    def pacer(self) -> Pacer:
        """The schedule of the user last started (call after ``user_rng``)."""
        phase = user_phase(self.users_started, self.phase_offset)
        return Pacer(self.scenario.load.rate_per_user, phase, self.epoch, time.perf_counter())

    def start_measuring_after(self, seconds: float) -> None:
        self.measure_from_ns = time.time_ns() + int(seconds * 1e9)

    def step(self, rng: random.Random) -> tuple[str, Result]:
        pattern = self.picker.pick(rng)
        result = execute(self.client, self.factory.make(pattern, rng))
        if result.start_unix_ns >= self.measure_from_ns:
            self.recorder.record(pattern, result)
        else:
            self.warmup_requests += 1
        return pattern, result

    def close(self) -> Path:
        return self.recorder.close({"warmup_requests": self.warmup_requests,
                                    "late_starts": self.late_starts})
