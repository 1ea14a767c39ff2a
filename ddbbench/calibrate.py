"""Client-overhead calibration: what the load process itself costs per request.

A run times each request around the SDK call, so its latencies include the client's own work
(signing, serialising, parsing: about 1.1-1.3 ms of CPU here with boto3, about 0.12 ms with
the lean client). Sending the same kind of call with the run's client kind to a local stub that
answers at once measures that floor, reported beside the results (with the kind measured: the
two floors differ tenfold) so a reader can tell the database's share from the client's.
"""

from __future__ import annotations

import random
import statistics
import time
from typing import Any

from ddbbench.client import Endpoint, make_client
from ddbbench.execute import execute
from ddbbench.patterns import RequestFactory
from ddbbench.scenario import Scenario
from ddbbench.stub import StubServer

WARM = 50


def calibrate(scenario: Scenario, requests: int) -> dict[str, Any]:
    """Time ``requests`` sequential get_conversation calls (GetItem, or the design's call)
    against a local stub with the run's client (``scenario.client``: its kind is ``client`` in
    the result)."""
    if requests <= 0:
        return {"requests": 0, "client": scenario.client.kind}
    factory = RequestFactory.for_scenario(scenario)
    rng = random.Random(0)
    with StubServer() as stub:
        client = make_client(Endpoint("endpoint", stub.endpoint, scenario.region), scenario.client)
        for _ in range(WARM):
            execute(client, factory.make("get_conversation", rng))
        cpu0 = time.process_time()
        latencies = sorted(execute(client, factory.make("get_conversation", rng)).latency_ns / 1e6
                           for _ in range(requests))
        cpu_ms = (time.process_time() - cpu0) * 1000 / requests
    return {
        "requests": requests, "client": scenario.client.kind,
        "operation": _api_name(factory.make("get_conversation", rng).operation),
        "server": "ddbbench.stub (no delay)",
        "p50_ms": round(statistics.median(latencies), 3),
        "p99_ms": round(latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))], 3),
        "client_cpu_ms_per_request": round(cpu_ms, 3),
    }


def _api_name(method: str) -> str:
    """boto3's method name as DynamoDB's API name: get_item -> GetItem."""
    return "".join(part.capitalize() for part in method.split("_"))
