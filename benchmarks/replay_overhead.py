"""Instrumentation overhead and throughput of the replay path against a bare client loop.

Both loops send GetItem to the same local stub (no delay) with identically configured
clients, alternating in rounds so that machine noise hits both alike. The bare loop draws its
own calls the cheapest way (a key from a list, the request built per call). The harness loop does
what a load process does per request: pick a pattern, draw a key, build the call, send it,
classify the outcome, record into the HDR histograms and the raw CSV, and count it in Locust's
statistics. A third loop sends pre-drawn calls through the harness (``send``: execute,
classify, account, record, Locust's statistics): the difference from the harness is what
drawing a call costs, the rest of the overhead is the instrumentation's, so the figures say
where the harness's time goes.

The loops run in a process of their own set up as a Locust process is (gevent's monkey
patching, so the sockets are gevent's; a Locust environment whose runner listens for request
events; the replay delivering its measured requests to Locust as the plugin wires it), since
that is where the replay runs; the bare loop shares that process and its sockets.
"""

from __future__ import annotations

import gc
import itertools
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

from ddbbench.client import Endpoint, make_client
from ddbbench.replay import ReplayContext
from ddbbench.scenario import Client, Mix, Scenario
from ddbbench.stub import StubServer

GOALS = {"cpu_ratio": ("<=", 1.05), "throughput_ratio": (">=", 0.9)}
# The lean client's call is ~10x cheaper, so the same bookkeeping is a larger share of it.
GOALS_LEAN = {"cpu_ratio": ("<=", 1.15), "throughput_ratio": (">=", 0.9)}


def _loop(fn: Any, n: int) -> tuple[float, float, int]:
    """(CPU seconds per request, requests per second, garbage collections) of ``n`` calls of
    ``fn``. The collections say whether a loop keeps objects alive: a loop whose objects all
    die young (a bare loop, the harness when it works as it should) triggers almost none."""
    gc0 = sum(s["collections"] for s in gc.get_stats())
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(n):
        fn()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return cpu / n, n / wall, sum(s["collections"] for s in gc.get_stats()) - gc0


ROOT = Path(__file__).resolve().parent.parent
IN_LOCUST = """
import locust  # first: gevent's monkey patching, as in a Locust process
import json, sys
from benchmarks.replay_overhead import measure
print(json.dumps(measure(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], locust_process=True)))
"""


def run(requests: int = 150, pairs: int = 40, kind: str = "boto3") -> dict[str, Any]:
    """``measure`` in a process set up as a Locust process is."""
    proc = subprocess.run([sys.executable, "-c", IN_LOCUST, str(requests), str(pairs), kind],
                          capture_output=True, text=True, timeout=1800, check=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure(requests: int, pairs: int, kind: str, locust_process: bool = False) -> dict[str, Any]:
    """Median over ``pairs`` rounds of back-to-back bare, harness and pre-drawn batches of
    ``requests`` each, in rotating order. ``locust_process``: Locust is imported (gevent has
    patched this process) and the replay's requests reach Locust's statistics, as in a run.

    Short alternating batches and the median of per-pair ratios: on a shared 2-core machine,
    CPU speed drifts by 10-20% over seconds, far more than the effect being measured.
    """
    scenario = Scenario(name="bench", mix=Mix(1, 0, 0, 0, 0, 0), client=Client(kind=kind))
    with StubServer() as stub, tempfile.TemporaryDirectory() as tmp:
        endpoint = Endpoint("endpoint", stub.endpoint, scenario.region)
        ctx = ReplayContext.create(scenario, endpoint, Path(tmp), pool_size=1)
        stats = _locust_stats(ctx) if locust_process else None
        bare = make_client(endpoint, scenario.client)
        rng = random.Random(1)
        # The baseline is a bare loop of the same client drawing its own calls (as issue 15
        # defines it), the least a hand-written one does: a key picked from a list, the
        # request built, the client's method called; no harness work around it.
        sample = [ctx.factory.make("get_conversation", rng).kwargs for _ in range(1000)]
        table, capacity = sample[0]["TableName"], sample[0]["ReturnConsumedCapacity"]
        ids = [kw["Key"]["conversationId"]["S"] for kw in sample]
        pick = random.Random(2).choice

        def bare_call() -> None:
            bare.get_item(TableName=table, Key={"conversationId": {"S": pick(ids)}},
                          ReturnConsumedCapacity=capacity)

        def harness_call() -> None:
            ctx.step(rng)

        drawn = itertools.cycle([ctx.next_call(rng) for _ in range(1000)])

        def predrawn_call() -> None:
            ctx.send(*next(drawn))

        loops = (bare_call, harness_call, predrawn_call)
        for fn in loops:  # warm every client's connections and caches
            _loop(fn, 300)
        rows = []
        orders = list(itertools.permutations(loops))
        for k in range(pairs):
            measured = {fn: _loop(fn, requests) for fn in orders[k % len(orders)]}
            rows.append(tuple(measured[fn] for fn in loops))
        ctx.close()
    if stats is not None:  # every measured request reached Locust's statistics
        assert stats.total.num_requests == (300 + pairs * requests) * 2, stats.total.num_requests
    med = statistics.median
    bare_us, harness_us, predrawn_us = (med(r[i][0] for r in rows) * 1e6 for i in range(3))
    return {
        "benchmark": "replay_overhead" if kind == "boto3" else f"replay_overhead_{kind}",
        "locust_process": locust_process,
        "requests_per_batch": requests, "pairs": pairs,
        "bare_cpu_us_per_request": round(bare_us, 1),
        "harness_cpu_us_per_request": round(harness_us, 1),
        "predrawn_cpu_us_per_request": round(predrawn_us, 1),
        "cpu_ratio": round(med(h[0] / b[0] for b, h, _ in rows), 3),
        "bare_requests_per_s": round(med(b[1] for b, _, _ in rows), 1),
        "harness_requests_per_s": round(med(h[1] for _, h, _ in rows), 1),
        "throughput_ratio": round(med(h[1] / b[1] for b, h, _ in rows), 3),
        # Where the overhead goes (medians of per-round differences, us per request).
        "drawing_us_per_request": round(med((h[0] - p[0]) for _, h, p in rows) * 1e6, 1),
        "instrumentation_us_per_request": round(med((p[0] - b[0]) for b, _, p in rows) * 1e6, 1),
        # Garbage collections (all generations) per 1,000 requests of each loop.
        "gc_per_1000_requests": {name: round(sum(r[i][2] for r in rows) * 1000 / (requests * pairs), 2)
                                 for i, name in enumerate(("bare", "harness", "predrawn"))},
    }


def _locust_stats(ctx: ReplayContext) -> Any:
    """A Locust environment with its runner (whose listener keeps Locust's statistics), the
    replay's measured requests delivered to it as ``ddbbench.locust_plugin`` does."""
    from locust import User
    from locust.env import Environment

    import ddbbench.locust_plugin  # noqa: F401 (its response-time buckets, as in a run)
    from ddbbench.locust_stats import deliver

    class Bench(User):
        pass

    environment = Environment(user_classes=[Bench])
    environment.create_local_runner()
    ctx.on_measured(partial(deliver, environment))
    return environment.stats
