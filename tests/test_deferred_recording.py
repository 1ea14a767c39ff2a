"""The replay leaves a response's accounting to the recorder's batch (``execute``'s ``defer``):
the recorder's record and raw rows equal those of results accounted at once; the request-unit
budget gets the units at once, and ``on_result`` (Locust's request event) final outcomes, times
and sizes."""

from __future__ import annotations

import dataclasses
import random
from typing import Any

from ddbbench.budget import UnitBudget
from ddbbench.client import Endpoint
from ddbbench.designs import Call
from ddbbench.execute import execute
from ddbbench.recorder import BATCH, Recorder
from ddbbench.replay import ReplayContext
from ddbbench.scenario import Mix, Scenario

T0 = 1_700_000_000 * 10**9
CC = {"TableName": "T", "CapacityUnits": 1.5, "Table": {"CapacityUnits": 0.5},
      "GlobalSecondaryIndexes": {"g": {"CapacityUnits": 1.0}}}
RESPONSES: list[dict[str, Any]] = [
    {"Item": {"pk": {"S": "a"}}, "ConsumedCapacity": {"TableName": "T", "Table": {"CapacityUnits": 0.5}}},
    {"Items": [{}, {}, {}], "Count": 3, "ConsumedCapacity": [CC, {"TableName": "U", "CapacityUnits": 0.1}]},
    {"Attributes": {}, "ConsumedCapacity": CC},
    {"Item": {}, "UnprocessedKeys": {"T": {"Keys": [{}]}}},
    {},
]
CALLS = [Call("get_item", {"TableName": "T", "Key": {"pk": {"S": "a"}}}),
         Call("update_item", {"TableName": "T", "Key": {"pk": {"S": "a"}},
                              "ExpressionAttributeValues": {":v": {"N": "12"}}})]


class Answers:
    """Every operation answers the next of ``responses`` (with metadata), round and round."""

    def __init__(self) -> None:
        self.k = 0

    def __getattr__(self, name: str) -> Any:
        def answer(**_kwargs: Any) -> dict[str, Any]:
            self.k += 1
            resp = RESPONSES[self.k % len(RESPONSES)]
            return {**resp, "ResponseMetadata": {"RetryAttempts": self.k % 3,
                                                 "HTTPHeaders": {"content-length": str(100 + self.k)}}}
        return answer


def test_a_recorder_of_deferred_results_equals_one_of_eager_results() -> None:
    eager_client, deferred_client, rng = Answers(), Answers(), random.Random(4)
    recorders = [Recorder(None, "p0", interval_s=1.0, test_start_unix_s=T0 / 1e9) for _ in range(2)]
    for k in range(2 * BATCH + 31):
        call = CALLS[k % 2]
        eager = execute(eager_client, call)
        deferred = execute(deferred_client, call, defer=True)
        assert deferred.pending is not None
        # The same times for both (times are not part of the accounting).
        eager.start_unix_ns = deferred.start_unix_ns = T0 + k * 10**7
        eager.latency_ns = deferred.latency_ns = rng.randint(50_000, 2_000_000)
        recorders[0].record(CALLS[k % 2].operation, eager)
        recorders[1].record(CALLS[k % 2].operation, deferred)
    records = [{p: r.to_dict() for p, r in rec.to_record().patterns.items()} for rec in recorders]
    assert records[0] == records[1]
    rows = [rec.take_rows() for rec in recorders]
    assert rows[0] == rows[1] and len(rows[0]) == 2 * BATCH + 31
    patterns = records[0]
    assert patterns["update_item"]["items_written"] > 0 and patterns["get_item"]["items"] > 0
    assert patterns["get_item"]["consumed_capacity"]["by_name"]["T/g"] > 0


def context(**kwargs: Any) -> ReplayContext:
    scenario = Scenario(name="t", mix=Mix(1, 0, 0, 0, 0, 0))
    ctx = ReplayContext.create(scenario, Endpoint("endpoint", "http://127.0.0.1:9", "us-east-1"), None,
                               pool_size=1)
    ctx.client = Answers()
    return dataclasses.replace(ctx, **kwargs) if kwargs else ctx


def test_send_accounts_at_once_only_what_is_needed_at_once() -> None:
    plain = context()
    r = plain.send("get_conversation", CALLS[0])
    assert r.pending is not None and r.capacity == 0.0  # waits for the recorder's batch
    plain.recorder.flush()
    assert r.pending is None and r.capacity + r.index_capacity > 0

    budget = UnitBudget(1000.0)
    capped = context(budget=budget)
    r = capped.send("get_conversation", CALLS[0])
    assert r.pending is None and budget.used == r.capacity + r.index_capacity > 0

    # Locust's request event reads the outcome, the times and the response's size: final at once.
    seen: list[tuple[Any, ...]] = []
    watched = context(on_result=lambda _pattern, r: seen.append(
        (r.outcome, r.error_code, r.ok, r.response_ns, r.response_bytes, r.pending is None)))
    for call in CALLS * 3:
        r = watched.send("get_conversation", call)
        watched.recorder.flush()
        assert seen.pop() == (r.outcome, r.error_code, r.ok, r.response_ns, r.response_bytes, False)
        assert r.pending is None and r.response_bytes > 0


def test_warmup_requests_are_billed_not_recorded() -> None:
    budget = UnitBudget(1000.0)
    ctx = context(budget=budget)
    ctx.start_measuring_after(3600)
    r = ctx.send("get_conversation", CALLS[0])
    assert budget.used == r.capacity + r.index_capacity > 0 and ctx.counters["warmup_requests"] == 1
    assert ctx.recorder.to_record().patterns == {}
