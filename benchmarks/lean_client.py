"""The lean client (ddbbench/lean) against boto3: client CPU per GetItem, and requests/s of
one Locust process at saturation.

CPU: both clients send the same pre-built GetItem calls to the same stub (its own process, no
delay), sequentially, in alternating rounds; the figure is the median over rounds of boto3's
CPU per request divided by the lean client's (process CPU time, so the stub's share and other
people's processes on a shared machine are not counted).

Loader: the harness's loader (``datagen.loader.load_dataset``, as ``benchmarks/loading.py``
runs it) writes the same dataset into fresh tables of one DynamoDB Local with each client,
alternating; the figure is boto3's CPU per item over lean's.

Locust: one Locust process (a subprocess, gevent-patched as Locust is) runs ``users`` users
sending GetItem as fast as they can against the stub for ``seconds``, once per client kind;
the figure is lean's requests/s over boto3's. A third kind, ``harness-lean``, runs ddbbench's
replay in the same Locust process setting (a user stepping a ``ReplayContext`` with the lean
client, its measured requests delivered to Locust's statistics as the plugin wires them): its
requests/s over the bare lean user's is the harness's cost in a Locust process at saturation.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.loading import harness_load
from datagen.chunks import dataset_items as _dataset_items
from ddbbench.client import Endpoint, make_client
from ddbbench.designs import SeedDesign
from ddbbench.local import LocalServer
from ddbbench.patterns import RequestFactory
from ddbbench.scenario import Client, Dataset, Mix, Scenario, Tables
from ddbbench.stub import StubServer

GOALS = {"cpu_ratio": (">=", 3.0), "locust_rps_ratio": (">=", 2.0), "loader_cpu_ratio": (">=", 2.0),
         "locust_harness_ratio": (">=", 0.9)}
ROOT = Path(__file__).resolve().parents[1]


def _cpu_per_call(client: Any, calls: Any, n: int) -> float:
    cpu0 = time.process_time()
    for _ in range(n):
        client.get_item(**next(calls))
    return (time.process_time() - cpu0) / n


def cpu(requests: int, rounds: int, endpoint: Endpoint) -> dict[str, Any]:
    scenario = Scenario(name="bench", mix=Mix(1, 0, 0, 0, 0, 0))
    factory, rng = RequestFactory.for_scenario(scenario), random.Random(1)
    calls = itertools.cycle([factory.make("get_conversation", rng).kwargs for _ in range(1000)])
    pair = {kind: make_client(endpoint, Client(kind=kind)) for kind in ("boto3", "lean")}
    for client in pair.values():  # connections, caches, botocore's lazy loading
        _cpu_per_call(client, calls, 200)
    rows = []
    for k in range(rounds):
        order = ("boto3", "lean") if k % 2 == 0 else ("lean", "boto3")
        measured = {kind: _cpu_per_call(pair[kind], calls, requests) for kind in order}
        rows.append((measured["boto3"], measured["lean"]))
    med = statistics.median
    return {"boto3_cpu_us_per_request": round(med(b for b, _ in rows) * 1e6, 1),
            "lean_cpu_us_per_request": round(med(x for _, x in rows) * 1e6, 1),
            "cpu_ratio": round(med(b / x for b, x in rows), 2)}


LOCUST_SCRIPT = """
import locust  # first: gevent's monkey patching
import json, sys, time
import gevent
from locust import User, constant, events, task
from locust.env import Environment
from benchmarks.loading import harness_load
from datagen.chunks import dataset_items as _dataset_items
from ddbbench.client import Endpoint, make_client
from ddbbench.designs import SeedDesign
from ddbbench.local import LocalServer
from ddbbench.scenario import Client

url, kind, users, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
harness = kind.startswith("harness-")  # ddbbench's replay (as its plugin wires it), not a bare user
kind = kind.removeprefix("harness-")
endpoint = Endpoint("endpoint", url, "us-east-1", credentials="dynamodb-local-fixed")
client = make_client(endpoint, Client(kind=kind), pool_size=users)
flush = lambda: None

class GetItemUser(User):
    wait_time = constant(0)

    @task
    def get(self):
        t0 = time.perf_counter()
        resp = client.get_item(TableName="PoppAIChatConversations", Key={"conversationId": {"S": "c"}})
        self.environment.events.request.fire(request_type="ddb", name="GetItem",
            response_time=(time.perf_counter() - t0) * 1000, response_length=0, exception=None, context={})

class ReplayUser(User):
    wait_time = constant(0)

    def on_start(self):
        self.rng = ctx.user_rng()

    @task
    def step(self):
        ctx.step(self.rng)

env = Environment(user_classes=[ReplayUser if harness else GetItemUser], events=events)
runner = env.create_local_runner()
if harness:
    import tempfile
    from functools import partial
    from pathlib import Path
    import ddbbench.locust_plugin  # noqa: F401 (its response-time buckets)
    from ddbbench.locust_stats import deliver
    from ddbbench.replay import ReplayContext
    from ddbbench.scenario import Mix, Scenario
    scenario = Scenario(name="bench", mix=Mix(1, 0, 0, 0, 0, 0), client=Client(kind=kind))
    ctx = ReplayContext.create(scenario, endpoint, Path(tempfile.mkdtemp()), pool_size=users)
    ctx.on_measured(partial(deliver, env))
    flush = ctx.recorder.flush  # Locust's statistics are a batch behind: count all of them
runner.start(users, spawn_rate=users)
gevent.sleep(1.0)  # spawned and warm
flush()
n0, t0, c0 = env.stats.total.num_requests, time.perf_counter(), time.process_time()
gevent.sleep(seconds)
flush()
n, t, c = env.stats.total.num_requests - n0, time.perf_counter() - t0, time.process_time() - c0
runner.quit()
print(json.dumps({"rps": n / t, "cpu_share": c / t}))
"""


def locust_rps(url: str, kind: str, users: int, seconds: float) -> dict[str, float]:
    proc = subprocess.run([sys.executable, "-c", LOCUST_SCRIPT, url, kind, str(users), str(seconds)],
                          capture_output=True, text=True, timeout=seconds + 120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def loader_cpu(conversations: int, candidates: int, workers: int, rounds: int) -> dict[str, Any]:
    """CPU per item of the harness's loader with each client, into one DynamoDB Local."""
    dataset = Dataset(seed=1, candidates=candidates, conversations=conversations)
    design = SeedDesign(Tables(conversations="LeanConv", status_index="lean-idx",
                               candidates="LeanCand", events="LeanEv"))
    rows = []
    with LocalServer() as server, tempfile.TemporaryDirectory() as tmp:
        endpoint = Endpoint("local", server.endpoint, "us-east-1")
        pair = {kind: make_client(endpoint, Client(kind=kind), pool_size=workers)
                for kind in ("boto3", "lean")}
        harness_load(pair["boto3"], design, dataset, workers, Path(tmp))  # the JVM's warm-up
        for k in range(rounds):
            measured = {}
            for kind in (("boto3", "lean") if k % 2 == 0 else ("lean", "boto3")):
                cpu0 = time.process_time()
                seconds = harness_load(pair[kind], design, dataset, workers, Path(tmp))
                measured[kind] = (time.process_time() - cpu0, seconds)
            rows.append(measured)
    items = sum(1 for _ in _dataset_items(dataset, design))
    med = statistics.median
    return {"loader_items": items,
            "loader_boto3_cpu_us_per_item": round(med(r["boto3"][0] for r in rows) / items * 1e6, 1),
            "loader_lean_cpu_us_per_item": round(med(r["lean"][0] for r in rows) / items * 1e6, 1),
            "loader_boto3_items_per_s": round(med(items / r["boto3"][1] for r in rows)),
            "loader_lean_items_per_s": round(med(items / r["lean"][1] for r in rows)),
            "loader_cpu_ratio": round(med(r["boto3"][0] / r["lean"][0] for r in rows), 2)}


def run(requests: int = 2000, rounds: int = 8, users: int = 20, seconds: float = 10.0,
        locust_rounds: int = 2, conversations: int = 1500, loader_rounds: int = 2) -> dict[str, Any]:
    """CPU and Locust against one stub (the Locust runs alternate kinds ``locust_rounds``
    times), then the loader into DynamoDB Local."""
    with StubServer() as stub:
        result: dict[str, Any] = {"benchmark": "lean_client", "requests_per_round": requests,
                                  "rounds": rounds}
        result.update(cpu(requests, rounds, Endpoint("endpoint", stub.endpoint, "us-east-1",
                                                     credentials="dynamodb-local-fixed")))
        kinds = ["boto3", "lean", "harness-lean"]
        runs: dict[str, list[dict[str, float]]] = {kind: [] for kind in kinds}
        for k in range(locust_rounds):
            for kind in kinds[k % 3:] + kinds[:k % 3]:
                runs[kind].append(locust_rps(stub.endpoint, kind, users, seconds))
    med = statistics.median
    for kind, measured in runs.items():
        name = kind.replace("-", "_")
        result[f"locust_{name}_rps"] = round(med(m["rps"] for m in measured), 1)
        result[f"locust_{name}_cpu_share"] = round(med(m["cpu_share"] for m in measured), 2)
    result["locust_users"] = users
    result["locust_rps_ratio"] = round(result["locust_lean_rps"] / result["locust_boto3_rps"], 2)
    # ddbbench's replay in a Locust process against a bare lean-client Locust user (issue 15).
    result["locust_harness_ratio"] = round(result["locust_harness_lean_rps"] / result["locust_lean_rps"], 3)
    result.update(loader_cpu(conversations, conversations // 5, 4, loader_rounds))
    return result
