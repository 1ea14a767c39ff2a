"""The executor re-sends a BatchWriteItem's UnprocessedItems with backoff (ddbbench/execute.py).

DynamoDB Local never leaves items unprocessed, so the client here is a stand-in that does.
"""

from __future__ import annotations

from typing import Any

import pytest

from ddbbench import execute as execute_module
from ddbbench.designs import Call
from ddbbench.execute import MAX_BATCH_ROUNDS, execute

ITEM_A = {"PutRequest": {"Item": {"conversationId": {"S": "a"}, "eventKey": {"S": "1"}}}}
ITEM_B = {"PutRequest": {"Item": {"conversationId": {"S": "b"}, "eventKey": {"S": "2"}}}}
WRITE = Call("batch_write_item", {"RequestItems": {"Ev": [ITEM_A, ITEM_B]},
                                  "ReturnConsumedCapacity": "INDEXES"})


def capacity(units: float) -> list[dict[str, Any]]:
    return [{"TableName": "Ev", "CapacityUnits": units, "Table": {"CapacityUnits": units}}]


class UnprocessingClient:
    """Leaves ``ITEM_B`` unprocessed for the first ``stubborn`` calls, then writes it."""

    def __init__(self, stubborn: int) -> None:
        self.stubborn = stubborn
        self.calls: list[dict[str, Any]] = []

    def batch_write_item(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        written = sum(len(v) for v in kwargs["RequestItems"].values())
        if len(self.calls) <= self.stubborn:
            return {"UnprocessedItems": {"Ev": [ITEM_B]}, "ConsumedCapacity": capacity(written - 1.0)}
        return {"UnprocessedItems": {}, "ConsumedCapacity": capacity(float(written))}


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(execute_module.time, "sleep", slept.append)
    return slept


def test_unprocessed_items_are_resent_until_written(sleeps: list[float]) -> None:
    client = UnprocessingClient(stubborn=2)
    result = execute(client, WRITE)
    assert (result.outcome, result.error_code) == ("ok", "")
    assert result.retries == 2  # two extra rounds
    # The first call sends both items, every later round only what was left unprocessed.
    assert [c["RequestItems"] for c in client.calls] == [
        {"Ev": [ITEM_A, ITEM_B]}, {"Ev": [ITEM_B]}, {"Ev": [ITEM_B]}]
    assert all(c["ReturnConsumedCapacity"] == "INDEXES" for c in client.calls)
    assert sleeps == [0.05, 0.1]  # exponential backoff between rounds
    assert result.capacity == 1.0 + 0.0 + 1.0  # every round's units counted
    assert result.index_capacity == 0.0


def test_items_still_unprocessed_after_every_round_are_throttled(sleeps: list[float]) -> None:
    client = UnprocessingClient(stubborn=100)
    result = execute(client, WRITE)
    assert (result.outcome, result.error_code) == ("throttled", "UnprocessedItems")
    assert result.retries == MAX_BATCH_ROUNDS
    assert len(client.calls) == 1 + MAX_BATCH_ROUNDS
    assert sleeps == [0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0]  # doubling, capped at 1 s


def test_a_batch_written_at_once_is_one_round(sleeps: list[float]) -> None:
    client = UnprocessingClient(stubborn=0)
    result = execute(client, WRITE)
    assert (result.outcome, result.retries, len(client.calls), sleeps) == ("ok", 0, 1, [])
    assert result.capacity == 2.0


def test_a_throttled_batch_ends_its_chain(sleeps: list[float]) -> None:
    # A logical operation of two batches: the second is not sent once the first failed.
    second = Call("batch_write_item", {"RequestItems": {"Ev": [ITEM_A]}, "ReturnConsumedCapacity": "INDEXES"})
    chained = Call(WRITE.operation, WRITE.kwargs, then=lambda _resp: second)
    client = UnprocessingClient(stubborn=100)
    result = execute(client, chained)
    assert result.outcome == "throttled"
    assert len(client.calls) == 1 + MAX_BATCH_ROUNDS
