"""The loader's chunks, accounting, interruption and resume, against an in-memory table store.

The store (``MemoryDynamo``) answers the few calls the loader makes (ListTables, CreateTable,
DescribeTable, BatchWriteItem, COUNT scans) and keeps every item, so these tests see exactly
what a load wrote. The same behaviours against a real DynamoDB Local: tests/test_loader_local.py.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest

from datagen.checkpoint import CheckpointFile, LoadState, checkpoint_path, identity
from datagen.chunks import Chunk, chunk_items, dataset_items, plan_chunks
from datagen.loader import LoadFailed, LoadInterrupted, load_dataset
from datagen.model import Generator
from ddbbench.designs import Design, MessagesAsItemsDesign, SeedDesign
from ddbbench.errors import BenchError, ConfigError
from ddbbench.scenario import Dataset, Range, Tables

DATASET = Dataset(seed=5, candidates=23, conversations=61, jobs=4, messages=Range(0, 5))


def key(table: str, item: dict[str, Any]) -> tuple[str, str]:
    return table, json.dumps(item, sort_keys=True)


def expected(dataset: Dataset, design: Design) -> Counter[tuple[str, str]]:
    return Counter(key(t, it) for (t, it), _ in dataset_items(dataset, design))


class MemoryDynamo:
    """An in-memory stand-in for the loader's DynamoDB calls. ``fail(n, request)`` may
    return an exception for the n-th BatchWriteItem (counted from 1)."""

    def __init__(self, fail: Callable[[int, dict[str, Any]], Exception | None] | None = None) -> None:
        self.tables: dict[str, dict[str, dict[str, Any]]] = {}
        self.puts: Counter[str] = Counter()  # item writes per table, rewrites included
        self.calls = 0
        self.fail = fail
        self.lock = threading.Lock()

    def contents(self) -> Counter[tuple[str, str]]:
        return Counter((t, k) for t, items in self.tables.items() for k in items)

    def get_paginator(self, op: str) -> Any:
        store = self

        class Pager:
            def paginate(self, TableName: str = "", **_: Any) -> Iterator[dict[str, Any]]:
                if op == "list_tables":
                    yield {"TableNames": sorted(store.tables)}
                else:
                    yield {"Count": len(store.tables[TableName])}

        return Pager()

    def create_table(self, TableName: str, **_: Any) -> None:
        self.tables[TableName] = {}

    def delete_table(self, TableName: str) -> None:
        del self.tables[TableName]

    def get_waiter(self, _: str) -> Any:
        return type("Waiter", (), {"wait": lambda self, **kw: None})()

    def describe_table(self, TableName: str) -> dict[str, Any]:
        return {"Table": {"TableStatus": "ACTIVE"}}

    def batch_write_item(self, RequestItems: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
        with self.lock:
            self.calls += 1
            error = self.fail(self.calls, RequestItems) if self.fail else None
            if error is not None:
                raise error
            for table, requests in RequestItems.items():
                for r in requests:
                    item = r["PutRequest"]["Item"]
                    self.tables[table][json.dumps(item, sort_keys=True)] = item
                    self.puts[table] += 1
        return {"UnprocessedItems": {}}


def client_error(code: str) -> botocore.exceptions.ClientError:
    return botocore.exceptions.ClientError({"Error": {"Code": code, "Message": "no such table"}},
                                           "BatchWriteItem")


# --- chunks --------------------------------------------------------------------------------


def test_plan_chunks_covers_every_entity_once() -> None:
    chunks = plan_chunks(DATASET, 10)
    assert [c.id for c in chunks] == list(range(len(chunks)))
    assert chunks[:3] == [Chunk(0, "candidates", 0, 10), Chunk(1, "candidates", 10, 20),
                          Chunk(2, "candidates", 20, 23)]
    assert chunks[3] == Chunk(3, "conversations", 0, 10) and chunks[-1] == Chunk(9, "conversations", 60, 61)
    assert len(plan_chunks(DATASET, 1)) == 23 + 61
    assert len(plan_chunks(DATASET, 1000)) == 2


@pytest.mark.parametrize("size", [0, -3])
def test_plan_chunks_refuses_a_nonsense_size(size: int) -> None:
    with pytest.raises(ConfigError, match=rf"loader.chunk_size: {size} is not an entity count >= 1"):
        plan_chunks(DATASET, size)


@pytest.mark.parametrize("design", [SeedDesign(Tables()), MessagesAsItemsDesign(Tables())],
                         ids=lambda d: d.name)
@pytest.mark.parametrize("size", [1, 7, 60, 5000])
def test_chunks_hold_exactly_the_datasets_items_whatever_the_size(design: Design, size: int) -> None:
    whole = [it for it, _ in dataset_items(DATASET, design)]
    gen = Generator(DATASET)
    chunks = plan_chunks(DATASET, size)
    in_order = [it for c in chunks for it, _ in chunk_items(gen, design, c)]
    assert in_order == whole  # same items, same bytes, same order
    # Any order, any generator instance (another thread or process): the same multiset.
    shuffled = [it for c in reversed(chunks) for it, _ in chunk_items(Generator(DATASET), design, c)]
    assert Counter(key(*it) for it in shuffled) == Counter(key(*it) for it in whole)


def test_chunk_items_mark_the_end_of_each_candidate_and_conversation_with_its_events() -> None:
    design = MessagesAsItemsDesign(tables := Tables())
    gen = Generator(DATASET)
    marked = [(t, it, ends) for c in plan_chunks(DATASET, 9) for (t, it), ends in chunk_items(gen, design, c)]
    assert sum(ends for *_, ends in marked) == DATASET.candidates + DATASET.conversations
    # After every end mark comes a candidate or a new conversation's header, never an event.
    for (_, _, ends), (t, it, _) in itertools.pairwise(marked):
        if ends:
            assert t == tables.candidates or (t == tables.conversations and it["sk"]["S"] == "#HEADER")
    assert marked[-1][2]


# --- loads into the in-memory store ----------------------------------------------------------


@pytest.mark.parametrize(("workers", "chunk_size"), [(1, 1000), (3, 7), (8, 1)])
def test_same_items_whatever_the_workers_and_chunk_size(workers: int, chunk_size: int) -> None:
    design = SeedDesign(Tables())
    client = MemoryDynamo()
    stats = load_dataset(client, design, DATASET, workers=workers, chunk_size=chunk_size)
    assert client.contents() == expected(DATASET, design)
    assert stats.items_written == stats.items_total == sum(client.puts.values())
    assert stats.written == stats.tables == stats.verified == {t: len(v) for t, v in client.tables.items()}
    assert stats.entities_written == DATASET.candidates + DATASET.conversations
    assert stats.chunks == {"size": chunk_size, "total": len(plan_chunks(DATASET, chunk_size)),
                            "skipped": 0, "written": len(plan_chunks(DATASET, chunk_size))}
    assert not stats.failed and not stats.resumed


def test_a_failed_batch_fails_the_load_saying_how_many_and_why(tmp_path: Path) -> None:
    design = SeedDesign(tables := Tables())
    client = MemoryDynamo(fail=lambda n, req: client_error("ResourceNotFoundException") if n >= 6 else None)
    checkpoint = CheckpointFile(tmp_path / "cp.json", "test")
    with pytest.raises(LoadFailed) as info:
        load_dataset(client, design, DATASET, workers=1, chunk_size=10, checkpoint=checkpoint)
    message = str(info.value)
    assert message.startswith("load failed: ")
    assert "items not written (" in message and "ResourceNotFoundException: no such table" in message
    assert "continue with `ddbbench load` with the same options plus --resume" in message
    failed = int(message.split("load failed: ")[1].split(" items")[0].replace(",", ""))
    assert failed >= 25  # the 6th batch, and the one queued behind it
    # Calls 1-5 wrote chunks 0-3 (candidates 0-9, 10-19, 20-22: a batch each; conversations
    # 0-9 with their events: two batches). The checkpoint claims those, and the store holds
    # exactly their items: nothing claimed that was not written.
    gen = Generator(DATASET)
    first_four = Counter(key(*it) for c in plan_chunks(DATASET, 10)[:4]
                         for it, _ in chunk_items(gen, design, c))
    assert client.contents() == first_four
    state = checkpoint.read()
    assert state is not None and state.done == {0, 1, 2, 3}
    assert state.items == Counter(t for t, _ in first_four.elements())
    assert tables.candidates in state.items


def test_unreachable_server_fails_with_the_reason() -> None:
    gone = botocore.exceptions.EndpointConnectionError(endpoint_url="http://127.0.0.1:9")
    client = MemoryDynamo(fail=lambda n, req: gone)
    with pytest.raises(LoadFailed, match=r'cannot reach DynamoDB: Could not connect to the endpoint URL: '
                                         r'"http://127.0.0.1:9"'):
        load_dataset(client, SeedDesign(Tables()), DATASET, workers=2, chunk_size=10)


class InterruptAfter:
    """A progress callback that raises KeyboardInterrupt (Ctrl-C, in the loading thread)
    once ``items`` items are written."""

    def __init__(self, items: int) -> None:
        self.items = items

    def __call__(self, done: int, total: int, items: int | None = None) -> None:
        if items is not None and items >= self.items:
            raise KeyboardInterrupt


def test_interrupted_load_resumes_without_rewriting_completed_chunks(tmp_path: Path) -> None:
    design = SeedDesign(Tables())
    client = MemoryDynamo()
    checkpoint = CheckpointFile(tmp_path / "cp.json", "test", every_s=0.0)
    with pytest.raises(LoadInterrupted, match=r"load interrupted: [\d,]+ items written by this load; "
                                              r"\d+ of 10 chunks are completely written"):
        load_dataset(client, design, DATASET, workers=2, chunk_size=10, checkpoint=checkpoint,
                     progress=InterruptAfter(60))
    state = checkpoint.read()
    assert state is not None and 0 < len(state.done) < 10
    before = sum(client.puts.values())
    stats = load_dataset(client, design, DATASET, workers=2, chunk_size=10, checkpoint=checkpoint,
                         resume=True)
    assert client.contents() == expected(DATASET, design)  # nothing missing, nothing extra
    assert stats.resumed and stats.chunks["skipped"] == len(state.done)
    assert stats.items_skipped == sum(state.items.values())
    # Only the chunks not recorded were written again; the whole table was counted.
    rewritten = sum(client.puts.values()) - before
    assert rewritten == stats.items_written == stats.items_total - stats.items_skipped
    assert stats.verified == stats.tables == {t: len(v) for t, v in client.tables.items()}
    assert not checkpoint.path.exists()  # a completed load leaves no checkpoint


def test_resume_refuses_another_dataset(tmp_path: Path) -> None:
    design = SeedDesign(Tables())
    checkpoint = CheckpointFile(tmp_path / "cp.json", "test")
    state = LoadState(identity(DATASET, design.name, design.table_names(), 10), 10, fresh_tables=True)
    checkpoint.save(state, force=True)
    other = Dataset(seed=6, candidates=23, conversations=61, jobs=4, messages=Range(0, 7))
    with pytest.raises(ConfigError) as info:
        load_dataset(MemoryDynamo(), design, other, chunk_size=10, checkpoint=checkpoint, resume=True)
    assert str(info.value) == (
        f"--resume: the checkpoint {checkpoint.path} is for another dataset (dataset.messages.max: 5 in "
        "the checkpoint, 7 now; dataset.seed: 5 in the checkpoint, 6 now); resuming would mix two "
        "datasets in one table. Load without --resume to start over (same keys are overwritten)")
    with pytest.raises(ConfigError, match=r"chunk_size: 10 in the checkpoint, 20 now"):
        load_dataset(MemoryDynamo(), design, DATASET, chunk_size=20, checkpoint=checkpoint, resume=True)


def test_resume_needs_a_checkpoint_and_the_tables_it_filled(tmp_path: Path) -> None:
    design = SeedDesign(Tables())
    checkpoint = CheckpointFile(tmp_path / "cp.json", "http://127.0.0.1:8000")
    with pytest.raises(ConfigError, match=r"^--resume: no interrupted load into these tables at "
                                          r"http://127.0.0.1:8000 to resume \(no checkpoint .*cp.json\)"):
        load_dataset(MemoryDynamo(), design, DATASET, checkpoint=checkpoint, resume=True)
    with pytest.raises(ConfigError, match=r"cannot be combined with --recreate-tables"):
        load_dataset(MemoryDynamo(), design, DATASET, checkpoint=checkpoint, resume=True, recreate=True)
    state = LoadState(identity(DATASET, design.name, design.table_names(), 1000), 2, fresh_tables=True)
    checkpoint.save(state, force=True)
    with pytest.raises(BenchError, match=r"did not exist \(now created empty\): the items the checkpoint "
                                         r"records are gone; load without --resume"):
        load_dataset(MemoryDynamo(), design, DATASET, checkpoint=checkpoint, resume=True)


@pytest.mark.parametrize(("text", "problem"), [
    ("{not json", "cannot read the checkpoint"),
    ('{"format": "something-else"}', "is not a version-1 load checkpoint"),
    ('{"format": "ddbbench-load-checkpoint", "format_version": 1}', "is incomplete (missing 'done_below')"),
])
def test_unreadable_checkpoint_is_a_clear_error(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "cp.json"
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"^--resume: .*" + problem.replace("(", r"\(").replace(")", r"\)")):
        CheckpointFile(path, "t").read()


def test_checkpoint_records_a_low_water_mark_and_the_chunks_done_above_it(tmp_path: Path) -> None:
    state = LoadState({"x": 1}, 10, fresh_tables=False)
    for chunk_id in (0, 1, 2, 5, 7):
        state.complete(chunk_id, Counter(A=3), Counter(A=300), {"A": 120}, 2)
    doc = state.to_json()
    assert (doc["done_below"], doc["done_above"], doc["chunks_done"]) == (3, [5, 7], 5)
    assert doc["items"] == {"A": 15} and doc["bytes"] == {"A": 1500} and doc["entities"] == 10
    file = CheckpointFile(tmp_path / "sub" / "cp.json", "t")
    file.save(state, force=True)
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["cp.json"]  # no temporary left
    again = file.read()
    assert again is not None and again.done == {0, 1, 2, 5, 7} and again.items == state.items
    assert not again.finished and again.identity == {"x": 1}


def test_checkpoint_saves_are_rate_limited_unless_forced(tmp_path: Path) -> None:
    file = CheckpointFile(tmp_path / "cp.json", "t", every_s=3600)
    state = LoadState({}, 3, fresh_tables=True)
    file.save(state)
    state.complete(0, Counter(), Counter(), {}, 1)
    file.save(state)  # within the period: skipped
    assert json.loads(file.path.read_text())["chunks_done"] == 0
    file.save(state, force=True)
    assert json.loads(file.path.read_text())["chunks_done"] == 1


def test_checkpoint_path_is_keyed_by_target_and_tables(tmp_path: Path) -> None:
    a = checkpoint_path("local:us-east-1", ["T1", "T2"], tmp_path)
    assert a == checkpoint_path("local:us-east-1", ["T2", "T1"], tmp_path)
    assert a.parent == tmp_path and a.name.startswith("T1-") and a.suffix == ".json"
    assert a != checkpoint_path("aws:us-east-1", ["T1", "T2"], tmp_path)
    assert a != checkpoint_path("local:us-east-1", ["T1", "T3"], tmp_path)


def test_a_count_that_fails_is_a_clear_error_not_a_traceback() -> None:
    def timing_out(client: Any, table: str) -> int:
        raise botocore.exceptions.ReadTimeoutError(endpoint_url="http://127.0.0.1:9")

    with pytest.raises(BenchError, match=r"^load verification could not count the tables: Read timeout on "
                                         r"endpoint URL: \"http://127.0.0.1:9\"; every item was written"):
        load_dataset(MemoryDynamo(), SeedDesign(Tables()), DATASET, count=timing_out)


def test_a_short_count_fails_the_verification() -> None:
    design = SeedDesign(tables := Tables())
    events = Counter(t for t, _ in expected(DATASET, design).elements())[tables.events]
    with pytest.raises(BenchError) as info:
        load_dataset(MemoryDynamo(), design, DATASET, recreate=True,
                     count=lambda client, table: len(client.tables[table]) - 1)
    assert str(info.value) == (
        f"load verification failed: {tables.conversations}: expected 61, counted 60; {tables.candidates}: "
        f"expected 23, counted 22; {tables.events}: expected {events}, counted {events - 1}; load again "
        "without --resume")
