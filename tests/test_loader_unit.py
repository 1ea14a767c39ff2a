"""Unit tests for the pure parts of the bulk loader (datagen/loader.py): batching, item stream, retries."""

from __future__ import annotations

import copy
import types
from typing import Any

import botocore.exceptions
import pytest

from datagen.keyspace import Keyspace
from datagen.loader import BATCH_SIZE, RETRYABLE, LoadStats, batches, dataset_items, write_batch
from ddbbench.design import Item, SeedDesign
from ddbbench.errors import BenchError
from ddbbench.scenario import Dataset, Range, Tables

TABLE = "PoppAIChatConversations"


def items_of(table: str, n: int, start: int = 0) -> list[tuple[str, Item]]:
    return [(table, {"id": {"S": f"{table}-{i}"}}) for i in range(start, start + n)]


def put(item: Item) -> dict[str, Any]:
    return {"PutRequest": {"Item": item}}


def client_error(code: str, status: int = 400) -> botocore.exceptions.ClientError:
    return botocore.exceptions.ClientError(
        {"Error": {"Code": code, "Message": "One or more parameter values were invalid"},
         "ResponseMetadata": {"HTTPStatusCode": status}}, "BatchWriteItem")


class FakeBatchClient:
    """``batch_write_item`` answers from a script, one step per call; the last step repeats.

    A step is an int (leave that many of the sent requests unprocessed, from the end of the
    request list) or an exception to raise.
    """

    def __init__(self, script: list[int | Exception]) -> None:
        self.script = script
        self.requests: list[dict[str, list[dict[str, Any]]]] = []

    def batch_write_item(self, RequestItems: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
        self.requests.append(copy.deepcopy(RequestItems))
        step = self.script[min(len(self.requests) - 1, len(self.script) - 1)]
        if isinstance(step, Exception):
            raise step
        (table, sent), = RequestItems.items()
        unprocessed = sent[len(sent) - step:] if step else []
        return {"UnprocessedItems": {table: unprocessed} if unprocessed else {},
                "ResponseMetadata": {"HTTPStatusCode": 200}}


class SleepRecorder:
    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


# --- batches -------------------------------------------------------------------------------


def test_batches_split_by_table_and_size() -> None:
    items = items_of("A", 30) + items_of("B", 3)
    result = list(batches(items))
    assert [len(b) for _, b in result] == [25, 5, 3]
    assert [t for t, _ in result] == ["A", "A", "B"]
    assert [it for _, b in result for it in b] == [it for _, it in items]  # order kept, nothing lost


def test_batches_exact_multiple() -> None:
    result = list(batches(items_of("A", 50)))
    assert [(t, len(b)) for t, b in result] == [("A", 25), ("A", 25)]


def test_batches_do_not_merge_non_adjacent_runs() -> None:
    items = items_of("A", 2) + items_of("B", 1) + items_of("A", 2, start=2)
    assert [(t, len(b)) for t, b in batches(items)] == [("A", 2), ("B", 1), ("A", 2)]


def test_batches_custom_size_and_empty() -> None:
    assert [(t, len(b)) for t, b in batches(items_of("A", 5), size=2)] == [("A", 2), ("A", 2), ("A", 1)]
    assert list(batches([])) == []
    assert BATCH_SIZE == 25


def test_batches_is_lazy() -> None:
    def endless() -> Any:
        i = 0
        while True:
            yield "A", {"id": {"S": str(i)}}
            i += 1

    gen = batches(endless())
    table, first = next(gen)
    assert (table, len(first)) == ("A", 25)
    assert first[0] == {"id": {"S": "0"}}
    assert next(gen)[1][0] == {"id": {"S": "25"}}


# --- dataset_items -------------------------------------------------------------------------


def test_dataset_items_candidates_then_conversations() -> None:
    dataset = Dataset(seed=3, candidates=7, conversations=11, jobs=2, messages=Range(1, 3))
    stream = dataset_items(dataset, SeedDesign(Tables()))
    assert isinstance(stream, types.GeneratorType)
    items = list(stream)
    assert len(items) == 18
    assert [t for t, _ in items] == ["PoppAICandidateProfiles"] * 7 + ["PoppAIChatConversations"] * 11
    ks = Keyspace.of(dataset)
    assert [it["candidateId"]["S"] for _, it in items[:7]] == [ks.candidate_id(c) for c in range(7)]
    assert [it["conversationId"]["S"] for _, it in items[7:]] == [
        ks.conversation(i).conversation_id for i in range(11)]


def test_dataset_items_batched() -> None:
    dataset = Dataset(seed=3, candidates=30, conversations=3, jobs=2)
    result = list(batches(dataset_items(dataset, SeedDesign(Tables()))))
    assert [len(b) for _, b in result] == [25, 5, 3]
    assert [t for t, _ in result] == ["PoppAICandidateProfiles", "PoppAICandidateProfiles",
                                      "PoppAIChatConversations"]


# --- write_batch ---------------------------------------------------------------------------


def test_write_batch_all_processed_first_time() -> None:
    items = [it for _, it in items_of("T", 4)]
    client = FakeBatchClient([0])
    sleep = SleepRecorder()
    assert write_batch(client, TABLE, items, sleep=sleep) == 0
    assert client.requests == [{TABLE: [put(it) for it in items]}]
    assert sleep.delays == []


def test_write_batch_retries_unprocessed_until_done() -> None:
    items = [it for _, it in items_of("T", 5)]
    client = FakeBatchClient([3, 1, 0])
    sleep = SleepRecorder()
    assert write_batch(client, TABLE, items, sleep=sleep) == 4  # 3 in round 2, 1 in round 3
    assert len(client.requests) == 3
    assert client.requests[1] == {TABLE: [put(it) for it in items[2:]]}
    assert client.requests[2] == {TABLE: [put(items[4])]}
    # Full-jitter backoff: round k sleeps uniform(0, base * 2**k), never longer.
    assert len(sleep.delays) == 2
    assert 0 <= sleep.delays[0] <= 0.05
    assert 0 <= sleep.delays[1] <= 0.1


def test_write_batch_gives_up_after_max_rounds() -> None:
    items = [it for _, it in items_of("T", 6)]
    client = FakeBatchClient([2])
    with pytest.raises(BenchError) as info:
        write_batch(client, TABLE, items, max_rounds=4, sleep=lambda s: None)
    assert str(info.value) == (f"2 items into {TABLE} still unprocessed after 4 rounds of BatchWriteItem; "
                               "the table is throttling: lower loader.workers")
    assert len(client.requests) == 4


def test_write_batch_backoff_is_capped() -> None:
    client = FakeBatchClient([1])
    sleep = SleepRecorder()
    with pytest.raises(BenchError):
        write_batch(client, TABLE, [{"id": {"S": "x"}}], max_rounds=12, base_delay_s=1.0, sleep=sleep)
    assert len(sleep.delays) == 12
    assert all(0 <= d <= 5.0 for d in sleep.delays)


def test_write_batch_non_retryable_error_fails_immediately() -> None:
    items = [it for _, it in items_of("T", 3)]
    client = FakeBatchClient([client_error("ValidationException")])
    sleep = SleepRecorder()
    with pytest.raises(BenchError) as info:
        write_batch(client, TABLE, items, sleep=sleep)
    assert str(info.value) == (f"BatchWriteItem into {TABLE} failed for 3 items: ValidationException: "
                               "One or more parameter values were invalid")
    assert len(client.requests) == 1
    assert sleep.delays == []


def test_write_batch_non_retryable_error_after_partial_progress() -> None:
    items = [it for _, it in items_of("T", 5)]
    client = FakeBatchClient([2, client_error("ResourceNotFoundException")])
    with pytest.raises(BenchError, match=r"failed for 2 items: ResourceNotFoundException: "):
        write_batch(client, TABLE, items, sleep=lambda s: None)
    assert len(client.requests) == 2


@pytest.mark.parametrize("code", sorted(RETRYABLE))
def test_write_batch_retryable_error_is_retried(code: str) -> None:
    items = [it for _, it in items_of("T", 3)]
    status = 500 if code.startswith(("Internal", "Service")) else 400
    client = FakeBatchClient([client_error(code, status), 0])
    assert write_batch(client, TABLE, items, sleep=lambda s: None) == 3
    assert len(client.requests) == 2
    assert client.requests[1] == client.requests[0] == {TABLE: [put(it) for it in items]}


def test_write_batch_retryable_error_forever_gives_up() -> None:
    client = FakeBatchClient([client_error("ProvisionedThroughputExceededException")])
    with pytest.raises(BenchError) as info:
        write_batch(client, TABLE, [{"id": {"S": "x"}}] * 2, max_rounds=3, sleep=lambda s: None)
    assert str(info.value).startswith(f"2 items into {TABLE} still unprocessed after 3 rounds")
    assert len(client.requests) == 3


def test_retryable_codes() -> None:
    assert {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
            "InternalServerError"} <= RETRYABLE
    assert "ValidationException" not in RETRYABLE
    assert "ConditionalCheckFailedException" not in RETRYABLE


# --- LoadStats -----------------------------------------------------------------------------


def test_load_stats() -> None:
    stats = LoadStats(items_total=100, items_written=100, batches=4, retried_items=7, seconds=4.00049,
                      tables={"A": 60, "B": 40}, verified={"A": 60, "B": 40},
                      bytes={"A": 6000, "B": 1000}, max_item={"A": 150, "B": 30},
                      largest_possible_item=900)
    assert stats.items_per_s == pytest.approx(24.997, abs=1e-3)
    assert stats.to_dict() == {"items_total": 100, "items_written": 100, "batches": 4, "retried_items": 7,
                               "seconds": 4.0, "items_per_s": 25.0, "tables": {"A": 60, "B": 40},
                               "verified": {"A": 60, "B": 40},
                               "bytes_per_table": {"A": 6000, "B": 1000},
                               "max_item_bytes": {"A": 150, "B": 30},
                               "mean_item_bytes": {"A": 100.0, "B": 25.0},
                               "largest_possible_item_bytes": 900}
    assert LoadStats(items_written=5).items_per_s == 0.0
