"""``execute``'s short path for one-step reads with the lean client gives the Result the
general path gives for the same response or failure, field by field (types included)."""

from __future__ import annotations

from typing import Any

import botocore.exceptions
import pytest

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
    {"Items": [{}, {}], "Count": 2,
     "ConsumedCapacity": [ONE_TABLE, {"TableName": "U", "CapacityUnits": 2.0}]},
    {"Items": [], "Count": 0},
    {"Responses": {"T": [{}, {}, {}]}, "ConsumedCapacity": ONE_TABLE},
    {"Item": {}, "UnprocessedKeys": {"T": {"Keys": [{}]}}},
    {"Item": {}, "UnprocessedItems": {"T": [{}]}},
    {"Item": {}, "ConsumedCapacity": {"TableName": "T", "Table": {}}},
]
METAS: list[dict[str, Any]] = [
    {"HTTPStatusCode": 200, "HTTPHeaders": HEADERS, "RetryAttempts": 0},
    {"HTTPStatusCode": 200, "HTTPHeaders": {"content-length": "x1"}, "RetryAttempts": 2},
    {"HTTPStatusCode": 200},
]


class Boto3Like:
    """A client that takes the general path: boto3's methods, the same answers."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer

    def _call(self, **kwargs: Any) -> dict[str, Any]:
        return self.answer()

    get_item = query = scan = transact_get_items = _call


def lean_with(answer: Any) -> LeanClient:
    client = object.__new__(LeanClient)  # no connection: only ``call`` is used
    client.call = lambda operation, params: answer()  # type: ignore[method-assign]
    return client


def both(call: Call, answer: Any) -> tuple[Result, Result]:
    fast, general = execute(lean_with(answer), call), execute(Boto3Like(answer), call)
    fast.start_unix_ns = general.start_unix_ns = fast.latency_ns = general.latency_ns = 0
    return fast, general


def fields(r: Result) -> list[tuple[str, Any, type]]:
    return [(name, getattr(r, name), type(getattr(r, name))) for name in Result.__slots__]


@pytest.mark.parametrize("operation", ["get_item", "query", "scan", "transact_get_items"])
@pytest.mark.parametrize("counts_items", [True, False])
def test_one_step_reads_give_the_general_paths_result(operation: str, counts_items: bool) -> None:
    for resp in RESPONSES:
        for meta in METAS:
            fast, general = both(Call(operation, {"TableName": "T"}, counts_items=counts_items),
                                 lambda resp=resp, meta=meta: {**resp, "ResponseMetadata": dict(meta)})
            assert fields(fast) == fields(general), (resp, meta)


@pytest.mark.parametrize("exc", [
    botocore.exceptions.ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"},
                                     "ResponseMetadata": {"HTTPStatusCode": 400, "RetryAttempts": 3}},
                                    "GetItem"),
    botocore.exceptions.ClientError({"Error": {"Code": "InternalServerError"},
                                     "ResponseMetadata": {"HTTPStatusCode": 500}}, "GetItem"),
    botocore.exceptions.ClientError({}, "GetItem"),
    botocore.exceptions.EndpointConnectionError(endpoint_url="http://x"),
    botocore.exceptions.ReadTimeoutError(endpoint_url="http://x"),
])
def test_failures_give_the_general_paths_result(exc: Exception) -> None:
    def fail() -> dict[str, Any]:
        raise exc

    fast, general = both(Call("get_item", {"TableName": "T"}), fail)
    assert fields(fast) == fields(general)
    assert fast.outcome != "ok"


def test_schedule_lag_is_measured_on_the_short_path_too() -> None:
    client = lean_with(lambda: {"Item": {}, "ResponseMetadata": {}})
    r = execute(client, Call("get_item", {}), intended_perf_ns=0)
    assert r.schedule_lag_ns > 0 and r.items == 1
