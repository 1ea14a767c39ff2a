"""What the distributed channel costs per request, against what a request costs a worker.

A worker's CPU per request is measured in the same run: sequential harness requests (draw,
send, record) against a local stub, with the configured client. The channel's cost per request
is measured on deltas of realistic size: requests recorded into a recorder and taken out as a
delta every ``per_delta`` requests (a 3 s stats report at ~330 requests/s). Each delta is then
serialised as Locust's channel does it (msgpack), decoded on the master and merged. The goal
(issue 14) is that merging on the master costs at most 1% of a worker's CPU per request. The
worker's own cost (taking the delta and packing it) is reported beside it.

Scaling, a master with 2 workers against one process, needs at least 3 free cores (a master
and two generators, none sharing a core with another). On a smaller machine the figure is
reported as not measurable, rather than faked.
"""

from __future__ import annotations

import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import msgpack

from ddbbench.client import Endpoint
from ddbbench.deltas import Delta, DeltaMerger
from ddbbench.execute import Result
from ddbbench.recorder import Recorder
from ddbbench.replay import ReplayContext
from ddbbench.scenario import Mix, Scenario
from ddbbench.stub import StubServer

GOALS = {"master_merge_over_worker_cpu": ("<=", 0.01)}
PATTERNS = ("get_conversation", "query_by_candidate_status", "update_status", "append_message")


def worker_cpu_per_request(requests: int) -> float:
    """CPU seconds per harness request against the stub (what a worker spends per request)."""
    scenario = Scenario(name="bench", mix=Mix(40, 30, 15, 15, 0, 0))
    with StubServer() as stub, tempfile.TemporaryDirectory() as tmp:
        ctx = ReplayContext.create(scenario, Endpoint("endpoint", stub.endpoint, scenario.region),
                                   Path(tmp), pool_size=1)
        rng = random.Random(1)
        for _ in range(200):
            ctx.step(rng)
        cpu0 = time.process_time()
        for _ in range(requests):
            ctx.step(rng)
        return (time.process_time() - cpu0) / requests


def synthetic(n: int, start_unix_s: float, seed: int = 1) -> list[tuple[str, Result]]:
    rng = random.Random(seed)
    return [(rng.choice(PATTERNS),
             Result(int((start_unix_s + k / 330) * 1e9), int(rng.lognormvariate(14.5, 0.7)),
                    "ok" if rng.random() < 0.99 else "throttled", capacity=0.5,
                    capacity_by=(("PoppAIChatConversations", 0.5),), items=1, response_bytes=900))
            for k in range(n)]


def channel_cost(deltas: int, per_delta: int) -> tuple[float, float]:
    """(worker seconds, master seconds) per request for ``deltas`` deltas of ``per_delta``."""
    start = time.time()
    recorder = Recorder(None, "bench-1", interval_s=5.0, raw_fraction=0.0, test_start_unix_s=start)
    merger = DeltaMerger()
    worker = master = 0.0
    results = synthetic(deltas * per_delta, start)
    for d in range(deltas):
        for pattern, r in results[d * per_delta:(d + 1) * per_delta]:
            recorder.record(pattern, r)
        t0 = time.process_time()
        wire = msgpack.packb(Delta("bench-1", d + 1, recorder.take_delta({"counters": {}})).to_message())
        t1 = time.process_time()
        merger.add(Delta.from_message(msgpack.unpackb(wire, raw=False)))
        t2 = time.process_time()
        worker += t1 - t0
        master += t2 - t1
    n = deltas * per_delta
    return worker / n, master / n


def run(requests: int = 2000, deltas: int = 40, per_delta: int = 1000) -> dict[str, Any]:
    per_request = worker_cpu_per_request(requests)
    worker, master = channel_cost(deltas, per_delta)
    cores = os.cpu_count() or 1
    return {"benchmark": "distributed_merge",
            "worker_cpu_us_per_request": round(per_request * 1e6, 1),
            "worker_delta_us_per_request": round(worker * 1e6, 2),
            "master_merge_us_per_request": round(master * 1e6, 2),
            "master_merge_over_worker_cpu": round(master / per_request, 4),
            "worker_delta_over_worker_cpu": round(worker / per_request, 4),
            "requests_per_delta": per_delta,
            "scaling_2_workers_vs_1": (f"not measurable here ({cores} cores; needs 3 free)"
                                       if cores < 4 else "not run: see docs/benchmarks.md")}
