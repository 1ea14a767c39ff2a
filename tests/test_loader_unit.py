"""Unit tests for the pure parts of the bulk loader (datagen/loader.py): batching, item stream, retries."""

from __future__ import annotations

import ast
import copy
import inspect
import types
from typing import Any

import botocore.exceptions
import pytest

from datagen import loader, loadstats, writebatch, writer
from datagen.chunks import BATCH_SIZE, batches, dataset_items
from datagen.keyspace import Keyspace
from datagen.loader import RETRYABLE, BatchFailed, LoadStats, write_batch
from ddbbench.designs import Item, SeedDesign
from ddbbench.errors import BenchError
from ddbbench.scenario import Dataset, Range, Tables

TABLE = "PoppAIChatConversations"


def items_of(table: str, n: int, start: int = 0) -> list[tuple[str, Item]]:
    return [(table, {"id": {"S": f"{table}-{i}"}}) for i in range(start, start + n)]


def on(items: list[Item]) -> list[tuple[str, Item]]:
    return [(TABLE, it) for it in items]


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


def ends(items: list[tuple[str, Item]]) -> list[tuple[tuple[str, Item], bool]]:
    """Each item an entity of its own."""
    return [(it, True) for it in items]


def test_batches_split_by_size_mixing_tables() -> None:
    items = items_of("A", 30) + items_of("B", 3)
    result = list(batches(ends(items)))
    assert [len(b) for b, _ in result] == [25, 8]
    assert [n for _, n in result] == [25, 8]
    assert [t for t, _ in result[1][0]] == ["A"] * 5 + ["B"] * 3
    assert [it for b, _ in result for it in b] == items  # order kept, nothing lost


def test_batches_exact_multiple() -> None:
    result = list(batches(ends(items_of("A", 50))))
    assert [(len(b), n) for b, n in result] == [(25, 25), (25, 25)]


def test_batches_count_only_completed_entities() -> None:
    # An entity of three items (e.g. a header and two messages) ending in the next batch.
    items = [(it, False) for it in items_of("A", 2)] + [(items_of("A", 1, start=2)[0], True)]
    assert [(len(b), n) for b, n in batches(items, size=2)] == [(2, 0), (1, 1)]


def test_batches_custom_size_and_empty() -> None:
    assert [len(b) for b, _ in batches(ends(items_of("A", 5)), size=2)] == [2, 2, 1]
    assert list(batches([])) == []
    assert BATCH_SIZE == 25


def test_batches_is_lazy() -> None:
    def endless() -> Any:
        i = 0
        while True:
            yield ("A", {"id": {"S": str(i)}}), True
            i += 1

    gen = batches(endless())
    first, _ = next(gen)
    assert len(first) == 25
    assert first[0] == ("A", {"id": {"S": "0"}})
    assert next(gen)[0][0] == ("A", {"id": {"S": "25"}})


# --- dataset_items -------------------------------------------------------------------------


def test_dataset_items_candidates_then_conversations_with_their_events() -> None:
    dataset = Dataset(seed=3, candidates=7, conversations=11, jobs=2, messages=Range(1, 3))
    stream = dataset_items(dataset, SeedDesign(Tables()))
    assert isinstance(stream, types.GeneratorType)
    items = [it for it, _ in stream]
    tables = [t for t, _ in items]
    assert tables[:7] == ["PoppAICandidateProfiles"] * 7
    assert tables.count("PoppAIChatConversations") == 11
    ks = Keyspace.of(dataset)
    assert [it["candidateId"]["S"] for _, it in items[:7]] == [ks.candidate_id(c) for c in range(7)]
    conversations = [it for t, it in items if t == "PoppAIChatConversations"]
    assert [it["conversationId"]["S"] for it in conversations] == [
        ks.conversation(i).conversation_id for i in range(11)]
    # Each conversation is followed by its own events: 1 created + 1 per status step.
    steps = {"CREATED": 1, "ONGOING": 2, "COMPLETED": 3}
    assert tables.count("PoppAIEventLog") == sum(steps[ks.conversation(i).status] for i in range(11))
    owner = None
    for t, it in items[7:]:
        if t == "PoppAIChatConversations":
            owner = it["conversationId"]["S"]
        else:
            assert it["conversationId"]["S"] == owner


def test_dataset_items_without_events() -> None:
    dataset = Dataset(seed=3, candidates=2, conversations=5, jobs=2, events=False)
    assert [t for (t, _), _ in dataset_items(dataset, SeedDesign(Tables()))] == (
        ["PoppAICandidateProfiles"] * 2 + ["PoppAIChatConversations"] * 5)


def test_dataset_items_batched() -> None:
    dataset = Dataset(seed=3, candidates=30, conversations=3, jobs=2, events=False)
    result = list(batches(dataset_items(dataset, SeedDesign(Tables()))))
    assert [(len(b), n) for b, n in result] == [(25, 25), (8, 8)]


# --- write_batch ---------------------------------------------------------------------------


def test_write_batch_all_processed_first_time() -> None:
    items = [it for _, it in items_of("T", 4)]
    client = FakeBatchClient([0])
    sleep = SleepRecorder()
    assert write_batch(client, on(items), sleep=sleep) == {}
    assert client.requests == [{TABLE: [put(it) for it in items]}]
    assert sleep.delays == []


def test_write_batch_retries_unprocessed_until_done() -> None:
    items = [it for _, it in items_of("T", 5)]
    client = FakeBatchClient([3, 1, 0])
    sleep = SleepRecorder()
    assert write_batch(client, on(items), sleep=sleep) == {TABLE: 4}  # 3 in round 2, 1 in round 3
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
    with pytest.raises(BatchFailed) as info:
        write_batch(client, on(items), max_rounds=4, sleep=lambda s: None)
    assert str(info.value) == (f"2 items into {TABLE} not written: still unprocessed after 4 rounds of "
                               "BatchWriteItem; the table is throttling: lower loader.workers or cap the "
                               "rate (loader.max_wcu_per_s)")
    assert info.value.failed == {TABLE: 2}
    assert info.value.retried == {TABLE: 4 * 2 - 2}  # rounds 2-4 resent the same 2 items
    assert len(client.requests) == 4


def test_write_batch_backoff_is_capped() -> None:
    client = FakeBatchClient([1])
    sleep = SleepRecorder()
    with pytest.raises(BenchError):
        write_batch(client, on([{"id": {"S": "x"}}]), max_rounds=12, base_delay_s=1.0, sleep=sleep)
    assert len(sleep.delays) == 11  # between rounds only
    assert all(0 <= d <= 5.0 for d in sleep.delays)


def test_write_batch_non_retryable_error_fails_immediately() -> None:
    items = [it for _, it in items_of("T", 3)]
    client = FakeBatchClient([client_error("ValidationException")])
    sleep = SleepRecorder()
    with pytest.raises(BenchError) as info:
        write_batch(client, on(items), sleep=sleep)
    assert str(info.value) == (f"3 items into {TABLE} not written: BatchWriteItem: ValidationException: "
                               "One or more parameter values were invalid")
    assert len(client.requests) == 1
    assert sleep.delays == []


def test_write_batch_non_retryable_error_after_partial_progress() -> None:
    items = [it for _, it in items_of("T", 5)]
    client = FakeBatchClient([2, client_error("ResourceNotFoundException")])
    with pytest.raises(BatchFailed, match=r"^2 items into .* not written: BatchWriteItem: "
                       r"ResourceNotFoundException: ") as info:
        write_batch(client, on(items), sleep=lambda s: None)
    assert info.value.failed == {TABLE: 2} and info.value.retried == {TABLE: 2}
    assert len(client.requests) == 2


@pytest.mark.parametrize("code", sorted(RETRYABLE))
def test_write_batch_retryable_error_is_retried(code: str) -> None:
    items = [it for _, it in items_of("T", 3)]
    status = 500 if code.startswith(("Internal", "Service")) else 400
    client = FakeBatchClient([client_error(code, status), 0])
    assert write_batch(client, on(items), sleep=lambda s: None) == {TABLE: 3}
    assert len(client.requests) == 2
    assert client.requests[1] == client.requests[0] == {TABLE: [put(it) for it in items]}


def test_write_batch_retryable_error_forever_gives_up() -> None:
    client = FakeBatchClient([client_error("ProvisionedThroughputExceededException")])
    with pytest.raises(BenchError) as info:
        write_batch(client, on([{"id": {"S": "x"}}] * 2), max_rounds=3, sleep=lambda s: None)
    assert str(info.value).startswith(f"2 items into {TABLE} not written: still unprocessed after 3 rounds")
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
                               "largest_possible_item_bytes": 900, "written_per_table": {},
                               "retried_per_table": {}, "failed_per_table": {}, "chunks": {},
                               "items_skipped": 0, "resumed": False, "rate_cap": {},
                               "stopped_by_cap": False, "request_units": None, "table_notes": [],
                               "verification": {"method": "counted"}}
    assert LoadStats(items_written=5).items_per_s == 0.0


def test_write_batch_mixes_tables_and_retries_each_tables_unprocessed() -> None:
    class TwoTables:
        def __init__(self) -> None:
            self.requests: list[dict[str, Any]] = []

        def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
            self.requests.append(copy.deepcopy(RequestItems))
            # First round: the last item of each table comes back unprocessed.
            left = {t: reqs[-1:] for t, reqs in RequestItems.items()} if len(self.requests) == 1 else {}
            return {"UnprocessedItems": left}

    client = TwoTables()
    items = items_of("A", 3) + items_of("B", 2)
    assert write_batch(client, items, sleep=lambda s: None) == {"A": 1, "B": 1}
    assert client.requests[0] == {"A": [put(it) for _, it in items[:3]],
                                  "B": [put(it) for _, it in items[3:]]}
    assert client.requests[1] == {"A": [put(items[2][1])], "B": [put(items[4][1])]}


@pytest.mark.parametrize("module", ["datagen.chunks", "datagen.ratelimit", "datagen.model",
                                    "datagen.itemsize", "ddbbench.progress"])
def test_docstring_examples_hold(module: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("part", [writebatch, writer, loadstats])
def test_the_loaders_parts_are_importable_from_datagen_loader(part: types.ModuleType) -> None:
    # Callers import from datagen.loader; its split into modules must not show.
    body = ast.parse(inspect.getsource(part)).body
    assigned = {t.id for node in body if isinstance(node, ast.Assign) for t in node.targets
                if isinstance(t, ast.Name)}
    declared = {node.name for node in body if isinstance(node, ast.FunctionDef | ast.ClassDef)}
    # write_chunks, the writer's entry point, is for load_dataset alone.
    public = {name for name in assigned | declared if not name.startswith("_")} - {"write_chunks"}
    assert public and public <= set(loader.__all__)
    assert all(getattr(loader, name) is getattr(part, name) for name in public)
