"""Verify a load off DynamoDB Local by reading back a few sampled items, never by a Scan.

The loader counts every item the server acknowledged (BatchWriteItem answers item by item
through UnprocessedItems). On top of that, ``SPOT_READS`` items sampled from the whole dataset
(deterministically, from the seed; every table gets its share) are read back with strongly
consistent GetItems and compared with what the generator makes: a bounded read of about
``SPOT_READS`` read units, whatever the table's size. A COUNT Scan would read, and bill, every
item of the table.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import botocore.exceptions

from datagen.model import entities
from ddbbench.designs import Design, TableItem
from ddbbench.errors import BenchError
from ddbbench.scenario import Dataset

SPOT_READS = 20


def sample_items(design: Design, dataset: Dataset, n: int = SPOT_READS) -> list[TableItem]:
    """About ``n`` of the dataset's items, spread over the design's tables (round robin)."""
    rng = random.Random(f"{dataset.seed}:spot-check")
    picks = max(1, n // 2)
    cands = sorted(rng.sample(range(dataset.candidates), min(picks, dataset.candidates)))
    convs = sorted(rng.sample(range(dataset.conversations), min(picks, dataset.conversations)))
    by_table: dict[str, list[TableItem]] = {}
    for k in cands:
        for kind, entity in entities(dataset, candidates=range(k, k + 1), conversations=range(0)):
            for table, item in design.entity_items(kind, entity):
                by_table.setdefault(table, []).append((table, item))
    for k in convs:
        for kind, entity in entities(dataset, candidates=range(0), conversations=range(k, k + 1)):
            for table, item in design.entity_items(kind, entity):
                by_table.setdefault(table, []).append((table, item))
    for items in by_table.values():
        rng.shuffle(items)
    out: list[TableItem] = []
    while len(out) < n and any(by_table.values()):
        for items in by_table.values():
            if items and len(out) < n:
                out.append(items.pop())
    return out


def key_of(design: Design, table: str, item: dict[str, Any]) -> dict[str, Any]:
    spec = next(s for s in design.table_specs() if s["TableName"] == table)
    return {k["AttributeName"]: item[k["AttributeName"]] for k in spec["KeySchema"]}


def spot_check(client: Any, design: Design, dataset: Dataset, n: int = SPOT_READS) -> dict[str, Any]:
    """Read back ``n`` sampled items; raise naming the missing or different ones, per table."""
    missing: Counter[str] = Counter()
    differ: Counter[str] = Counter()
    read: Counter[str] = Counter()
    example = ""
    for table, item in sample_items(design, dataset, n):
        key = key_of(design, table, item)
        try:
            got = client.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise BenchError(f"load verification could not read back sampled items: {exc}; every "
                             "item was acknowledged (no failure reported), but none was read back") from None
        read[table] += 1
        if got != item:
            (missing if got is None else differ)[table] += 1
            example = example or f"{table} {key}"
    if missing or differ:
        detail = "; ".join([f"{t}: {n} of {read[t]} missing" for t, n in missing.items()]
                           + [f"{t}: {n} of {read[t]} differ" for t, n in differ.items()])
        raise BenchError(f"load verification failed: sampled items read back: {detail} (e.g. {example}); "
                         "load again without --resume")
    return {"read": sum(read.values()), "found": sum(read.values()), "per_table": dict(read)}
