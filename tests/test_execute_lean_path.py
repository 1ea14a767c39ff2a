"""``execute`` gives the same Result with the lean client (its ``call``, the operation's name and
arguments as they are; one-step reads by a short path with the accounting inlined) as with a
boto3-like client (its methods, the general path) for the same responses or failures, field by
field (types included): reads, writes, chains, batches re-sent, failures."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import botocore.exceptions
import pytest

from ddbbench import execute as execute_module
from ddbbench.designs import Call
from ddbbench.execute import Result, execute
from ddbbench.lean import LeanClient

HEADERS = {"content-type": "application/x-amz-json-1.0", "content-length": "649"}
ONE_TABLE = {"TableName": "T", "CapacityUnits": 1.0, "Table": {"CapacityUnits": 1.0}}
RESPONSES: list[dict[str, Any]] = [
    {"Item": {"pk": {"S": "a"}}, "ConsumedCapacity": ONE_TABLE},
    {"ConsumedCapacity": {"TableName": "T", "CapacityUnits": 1, "Table": {"CapacityUnits": 1}}},  # ints
    {"Item": {}, "ConsumedCapacity": {"TableName": "T", "CapacityUnits": 1.5, "Table": {"CapacityUnits": 0.5},
                                      "GlobalSecondaryIndexes": {"g": {"CapacityUnits": 1.0}}}},
    {"Attributes": {"s": {"S": "x"}}, "ConsumedCapacity": {
        "TableName": "T", "CapacityUnits": 3.0, "LocalSecondaryIndexes": {"l": {"CapacityUnits": 3.0}}}},
    {"Items": [{}, {}], "Count": 2,
     "ConsumedCapacity": [ONE_TABLE, {"TableName": "U", "CapacityUnits": 2.0}]},
    {"Items": [], "Count": 0, "ConsumedCapacity": []},
    {"Responses": {"T": [{}, {}, {}], "U": [{}]}, "ConsumedCapacity": ONE_TABLE},
    {"Item": {}, "UnprocessedKeys": {"T": {"Keys": [{}]}}},
    {"Item": {}, "UnprocessedItems": {"T": [{}]}},
    {"Item": {}, "UnprocessedKeys": {}, "UnprocessedItems": {}},
    {"Item": {}, "ConsumedCapacity": {"TableName": "T", "Table": {}}},
]
METAS: list[dict[str, Any]] = [
    {"HTTPStatusCode": 200, "HTTPHeaders": HEADERS, "RetryAttempts": 0},
    {"HTTPStatusCode": 200, "HTTPHeaders": {"content-length": "x1"}, "RetryAttempts": 2},
    {"HTTPStatusCode": 200},
]
KEY = {"pk": {"S": "conversation-1"}}
CALLS: list[Call] = [
    Call("get_item", {"TableName": "T", "Key": KEY}),
    Call("get_item", {"TableName": "T", "Key": KEY}, counts_items=False),
    Call("query", {"TableName": "T", "IndexName": "g"}),
    Call("scan", {"TableName": "T"}),
    Call("transact_get_items", {"TransactItems": [{"Get": {"TableName": "T", "Key": KEY}}]}),
    Call("put_item", {"TableName": "T", "Item": {**KEY, "text": {"S": "hello"}}}),
    Call("update_item", {"TableName": "T", "Key": KEY,
                         "ExpressionAttributeValues": {":s": {"S": "ONGOING"}}}),
    Call("delete_item", {"TableName": "T", "Key": KEY}),
    Call("transact_write_items", {"TransactItems": [{"Put": {"TableName": "T", "Item": KEY}},
                                                    {"ConditionCheck": {"TableName": "T", "Key": KEY}}]}),
    # A chain: a put, then an update of another table (as append_message does).
    Call("put_item", {"TableName": "M", "Item": {**KEY, "n": {"N": "1"}}},
         then=lambda _resp: Call("update_item", {"TableName": "T", "Key": KEY})),
]
OPERATIONS = {"get_item", "query", "scan", "transact_get_items", "put_item", "update_item", "delete_item",
              "transact_write_items", "batch_get_item", "batch_write_item"}


class Boto3Like:
    """A client that is not the lean one: boto3's methods, the same answers."""

    def __init__(self, answer: Callable[[], dict[str, Any]]) -> None:
        self.answer = answer

    def __getattr__(self, name: str) -> Any:
        if name not in OPERATIONS:
            raise AttributeError(name)
        return lambda **_kwargs: self.answer()


def lean_with(answer: Callable[[], dict[str, Any]]) -> LeanClient:
    client = object.__new__(LeanClient)  # no connection: only ``call`` and the batch methods are used
    client.call = lambda operation, params: answer()  # type: ignore[method-assign]
    return client


def fields(r: Result) -> list[tuple[str, Any, type]]:
    return [(name, getattr(r, name), type(getattr(r, name))) for name in Result.__slots__]


def compare(call: Call, answers: Callable[[], Iterator[dict[str, Any]]]) -> Result:
    """The Result of ``call`` with the lean client, after checking it equals the boto3-like
    client's against the same answers (times zeroed)."""
    lean = execute(lean_with(answers().__next__), call)
    boto3_like = execute(Boto3Like(answers().__next__), call)
    for r in (lean, boto3_like):
        assert r.start_unix_ns > 0 and r.latency_ns > 0
        r.start_unix_ns = r.latency_ns = 0
    assert fields(lean) == fields(boto3_like)
    return lean


@pytest.mark.parametrize("call", CALLS, ids=lambda c: f"{c.operation}{'+then' if c.then else ''}")
def test_both_clients_give_the_same_result_over_response_shapes(call: Call) -> None:
    for resp, meta in itertools.product(RESPONSES, METAS):
        def answers(resp: dict[str, Any] = resp, meta: dict[str, Any] = meta) -> Iterator[dict[str, Any]]:
            return iter(lambda: {**resp, "ResponseMetadata": dict(meta)}, None)

        result = compare(call, answers)
        assert result.outcome == ("throttled" if resp.get("UnprocessedKeys") or resp.get("UnprocessedItems")
                                  else "ok"), resp


def test_the_comparison_sees_every_field() -> None:
    """The accounting fills every field it owns for these shapes (a field left at its default on
    both sides would compare equal without being tested)."""
    resp = {**RESPONSES[2], "ResponseMetadata": METAS[0]}
    r = compare(CALLS[-1], lambda: iter(lambda: resp, None))
    assert r.capacity == 1.0 and r.index_capacity == 2.0 and r.items == 2
    assert r.retries == 0 and r.response_bytes == 2 * 649
    assert r.capacity_by == (("T", 0.5), ("T/g", 1.0), ("T", 0.5), ("T/g", 1.0))
    assert r.items_written == 2 and r.bytes_written > 0


FAILURES = [
    botocore.exceptions.ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"},
                                     "ResponseMetadata": {"HTTPStatusCode": 400, "RetryAttempts": 3}},
                                    "GetItem"),
    botocore.exceptions.ClientError({"Error": {"Code": "ConditionalCheckFailedException"},
                                     "ResponseMetadata": {"HTTPStatusCode": 400}}, "PutItem"),
    botocore.exceptions.ClientError({"Error": {"Code": "InternalServerError"},
                                     "ResponseMetadata": {"HTTPStatusCode": 500}}, "GetItem"),
    botocore.exceptions.ClientError({}, "GetItem"),
    botocore.exceptions.EndpointConnectionError(endpoint_url="http://x"),
    botocore.exceptions.ReadTimeoutError(endpoint_url="http://x"),
]


@pytest.mark.parametrize("exc", FAILURES, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("call", [CALLS[0], CALLS[5], CALLS[-1]], ids=["get", "put", "chain"])
def test_failures_give_the_same_result(exc: Exception, call: Call) -> None:
    """A failure of the first call, and of a chain's second call after a success (whose
    accounting is kept)."""
    first = {**RESPONSES[2], "ResponseMetadata": {"HTTPHeaders": HEADERS, "RetryAttempts": 1}}

    def answers() -> Iterator[dict[str, Any]]:
        if call.then is not None:
            yield first
        raise exc

    r = compare(call, answers)
    assert r.outcome != "ok"
    chained = call.then is not None
    assert (r.capacity_by != (), r.response_bytes) == ((True, 649) if chained else (False, 0))


def test_batch_rounds_are_accounted_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    """BatchGetItem and BatchWriteItem re-send what was left unprocessed; the merged response's
    capacity, items and written items and the rounds are the same with either client."""
    monkeypatch.setattr(execute_module.time, "sleep", lambda _s: None)
    item_a = {"PutRequest": {"Item": {"pk": {"S": "a"}}}}
    item_b = {"PutRequest": {"Item": {"pk": {"S": "bb"}}}}
    write = Call("batch_write_item", {"RequestItems": {"T": [item_a, item_b]}})
    read = Call("batch_get_item", {"RequestItems": {"T": {"Keys": [KEY, KEY]}}})
    cc = [ONE_TABLE]
    rounds = [
        (write, [{"UnprocessedItems": {"T": [item_b]}, "ConsumedCapacity": cc},
                 {"UnprocessedItems": {}, "ConsumedCapacity": cc}]),
        (read, [{"Responses": {"T": [{}]}, "UnprocessedKeys": {"T": {"Keys": [KEY]}}, "ConsumedCapacity": cc},
                {"Responses": {"T": [{}]}, "UnprocessedKeys": {}, "ConsumedCapacity": cc}]),
    ]
    stubborn = [{"UnprocessedItems": {"T": [item_b]}, "ConsumedCapacity": cc}] * 20
    for call, answers in rounds:
        r = compare(call, lambda answers=answers: iter(answers))
        assert (r.outcome, r.retries, r.capacity) == ("ok", 1, 2.0)
    r = compare(write, lambda: iter(stubborn))
    assert (r.outcome, r.error_code, r.items_written) == ("throttled", "UnprocessedItems", 1)
    assert r.retries == execute_module.MAX_BATCH_ROUNDS


def test_schedule_lag_is_measured() -> None:
    client = lean_with(lambda: {"Item": {}, "ResponseMetadata": {}})
    r = execute(client, CALLS[0], intended_perf_ns=0)
    assert r.schedule_lag_ns > 0 and r.items == 1
