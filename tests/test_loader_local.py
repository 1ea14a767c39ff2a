"""The loader against a real DynamoDB Local: table contents whatever the chunking, an
interrupted then failed then resumed load, and the write-rate cap on a real load."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest

from datagen.checkpoint import CheckpointFile
from datagen.chunks import dataset_items
from datagen.itemsize import item_size
from datagen.loader import LoadFailed, LoadInterrupted, checkpoint_for, described_item_count, load_dataset
from datagen.ratelimit import WriteCap
from ddbbench.client import Endpoint
from ddbbench.designs import Design, MessagesAsItemsDesign, SeedDesign
from ddbbench.scenario import Dataset, Range, Tables
from ddbbench.tables import count_items

pytestmark = pytest.mark.integration

SMALL = Dataset(seed=4, candidates=30, conversations=100, jobs=5, messages=Range(1, 4))


def tables_for(tag: str) -> Tables:
    return Tables(conversations=f"LConv-{tag}", status_index=f"lidx-{tag}", candidates=f"LCand-{tag}",
                  events=f"LEv-{tag}")


def logical(design: Design, table: str) -> str:
    """The role of a table in its design (conversations, candidates, events)."""
    t = design.tables
    return {t.conversations: "conversations", t.candidates: "candidates", t.events: "events"}[table]


def table_contents(client: Any, design: Design) -> Counter[tuple[str, str]]:
    """Every item of the design's tables, read back by Scan."""
    out: Counter[tuple[str, str]] = Counter()
    for table in design.table_names():
        for page in client.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
            out.update((logical(design, table), json.dumps(it, sort_keys=True)) for it in page["Items"])
    return out


def expected(dataset: Dataset, design: Design) -> Counter[tuple[str, str]]:
    return Counter((logical(design, t), json.dumps(it, sort_keys=True))
                   for (t, it), _ in dataset_items(dataset, design))


def test_same_table_contents_whatever_the_workers_and_chunk_size(ddb_client: Any) -> None:
    one = MessagesAsItemsDesign(tables_for("one"))
    many = MessagesAsItemsDesign(tables_for("many"))
    a = load_dataset(ddb_client, one, SMALL, workers=1, chunk_size=1000, recreate=True)
    b = load_dataset(ddb_client, many, SMALL, workers=6, chunk_size=7, recreate=True)
    assert table_contents(ddb_client, one) == table_contents(ddb_client, many) == expected(SMALL, one)
    assert a.chunks["total"] == 2 and b.chunks["total"] == math.ceil(30 / 7) + math.ceil(100 / 7)
    assert a.items_total == b.items_total == sum(a.verified.values()) == sum(b.verified.values())
    # On DynamoDB Local, DescribeTable's ItemCount is exact at once (what `ddbbench load` counts
    # with there): the same as a COUNT scan.
    for table in many.table_names():
        assert described_item_count(ddb_client, table) == count_items(ddb_client, table) > 0


class Flaky:
    """The real client, whose BatchWriteItem fails as if the server were gone from call ``after``."""

    def __init__(self, client: Any, after: int) -> None:
        self.client, self.after, self.calls = client, after, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def batch_write_item(self, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls >= self.after:
            raise botocore.exceptions.EndpointConnectionError(endpoint_url="http://127.0.0.1:1")
        return self.client.batch_write_item(**kwargs)


def test_interrupted_then_failed_load_resumes_to_exactly_the_dataset(ddb_client: Any, tmp_path: Path) -> None:
    design = SeedDesign(tables_for("resume"))
    checkpoint = CheckpointFile(tmp_path / "cp.json", "local:test", every_s=0.0)

    def ctrl_c(done: int, total: int, items: int | None = None) -> None:
        if items and items >= 100:
            raise KeyboardInterrupt

    with pytest.raises(LoadInterrupted):  # Ctrl-C after about 100 items
        load_dataset(ddb_client, design, SMALL, workers=2, chunk_size=10, recreate=True,
                     checkpoint=checkpoint, progress=ctrl_c)
    first = checkpoint.read()
    assert first is not None and 0 < len(first.done) < first.chunks_total and first.fresh_tables
    with pytest.raises(LoadFailed, match=r"items not written .*cannot reach DynamoDB"):  # server gone
        load_dataset(Flaky(ddb_client, after=4), design, SMALL, workers=2, chunk_size=10,
                     checkpoint=checkpoint, resume=True)
    second = checkpoint.read()
    assert second is not None and first.done < second.done
    stats = load_dataset(ddb_client, design, SMALL, workers=3, chunk_size=10, checkpoint=checkpoint,
                         resume=True)
    assert stats.resumed and stats.chunks["skipped"] == len(second.done)
    assert stats.items_written == stats.items_total - stats.items_skipped < stats.items_total
    assert stats.verified == stats.tables  # the whole tables, counted exactly (they were fresh)
    assert table_contents(ddb_client, design) == expected(SMALL, design)
    assert not checkpoint.path.exists()


def test_write_cap_lets_every_item_through_at_the_capped_rate(ddb_client: Any) -> None:
    # A frozen clock: no real waiting, and every reservation is told how long the capped load
    # must take up to it. The last one: all items (or WCU) divided by the rate.
    cap = WriteCap(items_per_s=250.0, wcu_per_s=300.0, clock=lambda: 0.0, sleep=lambda s: None)
    design = SeedDesign(tables_for("cap"))
    stats = load_dataset(ddb_client, design, SMALL, workers=3, recreate=True, cap=cap)
    assert cap.items is not None and cap.wcu is not None
    assert cap.items.granted == stats.items_written == stats.items_total
    wcu = sum(max(1, math.ceil(item_size(it) / 1024)) for (_, it), _ in dataset_items(SMALL, design))
    assert cap.wcu.granted == wcu > stats.items_total  # some conversations are over 1 KB
    assert cap.items.reserve(0) == pytest.approx(stats.items_total / 250.0)
    assert cap.wcu.reserve(0) == pytest.approx(wcu / 300.0)
    assert stats.rate_cap["items_per_s"]["granted"] == stats.items_total


def test_checkpoints_are_kept_per_target_except_for_a_server_started_for_one_run(
        isolated_cache: Path) -> None:
    tables = ["A-t", "B-t"]
    assert checkpoint_for(Endpoint("local", "http://127.0.0.1:5", "us-east-1", managed=True), tables) is None
    detached = checkpoint_for(Endpoint("local", "http://127.0.0.1:5", "us-east-1"), tables)
    moved = checkpoint_for(Endpoint("local", "http://127.0.0.1:6", "us-east-1"), tables)
    aws = checkpoint_for(Endpoint("aws", None, "eu-west-1"), tables)
    url = checkpoint_for(Endpoint("endpoint", "http://127.0.0.1:5", "us-east-1"), tables)
    assert detached is not None and moved is not None and aws is not None and url is not None
    # A detached DynamoDB Local may come back on another port (with --db-path): same checkpoint.
    assert detached.path == moved.path and detached.target == "local:us-east-1"
    assert detached.path.parent == isolated_cache / "load-checkpoints"
    assert aws.target == "aws:eu-west-1" and url.target == "http://127.0.0.1:5"
    assert len({detached.path, aws.path, url.path}) == 3
