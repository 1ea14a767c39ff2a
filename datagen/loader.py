"""Bulk loading: generated items streamed into parallel BatchWriteItem calls.

Memory stays bounded (at most ``2 x workers`` batches in flight), UnprocessedItems are
retried with exponential backoff and full jitter, and every item is accounted for: a load
either writes everything and verifies the table counts, or fails saying how many and why.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import botocore.exceptions

from datagen.itemsize import MAX_ITEM_BYTES, item_size
from datagen.model import entities, expected_events, largest_conversation
from ddbbench.designs import Design, TableItem
from ddbbench.errors import BenchError, ConfigError
from ddbbench.scenario import Dataset
from ddbbench.tables import count_items, ensure_tables

BATCH_SIZE = 25  # BatchWriteItem's limit
RETRYABLE = {"ProvisionedThroughputExceededException", "ThrottlingException",
             "RequestLimitExceeded", "InternalServerError", "ServiceUnavailable"}
Progress = Callable[[int, int], None]


@dataclass
class LoadStats:
    items_total: int = 0
    items_written: int = 0
    entities_written: int = 0  # candidates, conversations and events whose items are all written
    batches: int = 0
    retried_items: int = 0
    seconds: float = 0.0
    tables: dict[str, int] = field(default_factory=dict)  # expected items per table
    verified: dict[str, int] = field(default_factory=dict)  # counted items per table
    bytes: dict[str, int] = field(default_factory=dict)  # item bytes written per table
    max_item: dict[str, int] = field(default_factory=dict)  # largest item per table (bytes)
    largest_possible_item: int = 0  # the bound checked against 400 KB before writing

    @property
    def items_per_s(self) -> float:
        return self.items_written / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"items_total": self.items_total, "items_written": self.items_written,
                "batches": self.batches, "retried_items": self.retried_items,
                "seconds": round(self.seconds, 3), "items_per_s": round(self.items_per_s, 1),
                "tables": self.tables, "verified": self.verified,
                "bytes_per_table": self.bytes, "max_item_bytes": self.max_item,
                "mean_item_bytes": {t: round(b / max(self.tables.get(t, 1), 1), 1)
                                    for t, b in self.bytes.items()},
                "largest_possible_item_bytes": self.largest_possible_item}


def dataset_items(dataset: Dataset, design: Design) -> Iterator[tuple[TableItem, bool]]:
    """Every item of the dataset as ((table, item), ends_entity), lazily, in entity order.

    ``ends_entity`` marks an entity's last item, so progress can count whole candidates,
    conversations and events whatever the design splits them into.
    """
    to_items = {"candidate": design.candidate_items, "conversation": design.conversation_items,
                "event": design.event_items}
    for kind, entity in entities(dataset):
        items = to_items[kind](entity)
        last = len(items) - 1
        for n, table_item in enumerate(items):
            yield table_item, n == last


Batch = list[TableItem]


def batches(items: Iterable[tuple[TableItem, bool]], size: int = BATCH_SIZE) -> Iterator[tuple[Batch, int]]:
    """Groups of ``size`` items (tables mixed: one BatchWriteItem may write to several), each
    with the number of entities it completes."""
    batch: Batch = []
    ended = 0
    for table_item, ends in items:
        batch.append(table_item)
        ended += ends
        if len(batch) == size:
            yield batch, ended
            batch, ended = [], 0
    if batch:
        yield batch, ended


def write_batch(client: Any, items: Batch, max_rounds: int = 12,
                base_delay_s: float = 0.05, sleep: Callable[[float], None] = time.sleep) -> int:
    """Write one batch until nothing is unprocessed; return how many item writes were retried."""
    pending: dict[str, list[dict[str, Any]]] = {}
    for table, item in items:
        pending.setdefault(table, []).append({"PutRequest": {"Item": item}})
    retried = 0
    for attempt in range(max_rounds):
        try:
            resp = client.batch_write_item(RequestItems=pending)
            pending = resp.get("UnprocessedItems") or {}
        except botocore.exceptions.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code not in RETRYABLE:
                raise BenchError(f"BatchWriteItem into {', '.join(pending)} failed for "
                                 f"{_count(pending)} items: {code}: "
                                 f"{exc.response['Error'].get('Message')}") from None
        if not pending:
            return retried
        retried += _count(pending)
        # Full jitter (AWS architecture blog): spreads retries of parallel writers apart.
        sleep(random.uniform(0, min(5.0, base_delay_s * 2**attempt)))
    raise BenchError(f"{_count(pending)} items into {', '.join(pending)} still unprocessed after "
                     f"{max_rounds} rounds of BatchWriteItem; the table is throttling: lower "
                     "loader.workers")


def _count(pending: dict[str, list[Any]]) -> int:
    return sum(len(v) for v in pending.values())


def check_item_limit(dataset: Dataset, design: Design) -> int:
    """Refuse, before any write, a dataset whose largest conversation passes 400 KB."""
    size = max(item_size(item) for _, item in design.conversation_items(largest_conversation(dataset)))
    if size > MAX_ITEM_BYTES:
        per_message = size / max(dataset.messages.max, 1)
        allowed = int(MAX_ITEM_BYTES / per_message) - 1
        raise ConfigError(f"dataset.messages.max: {dataset.messages.max} messages can make a "
                          f"conversation item of {size / 1024:,.0f} KB, over DynamoDB's 400 KB "
                          f"item limit; allowed: at most about {allowed}")
    return size


def load_dataset(client: Any, design: Design, dataset: Dataset, workers: int = 4,
                 recreate: bool = False, verify: bool = True,
                 progress: Progress | None = None) -> LoadStats:
    """Create the design's tables if needed, write the whole dataset, verify the counts."""
    largest = check_item_limit(dataset, design)
    ensure_tables(client, design.table_specs(), recreate=recreate)
    stats = LoadStats(tables=dict.fromkeys(design.table_names(), 0), largest_possible_item=largest)
    entities_total = dataset.candidates + dataset.conversations * (1 + events_per_conversation(dataset))
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ddbbench-load") as pool:
        inflight: dict[Future[int], tuple[int, int]] = {}
        for batch, ended in batches(dataset_items(dataset, design)):
            for table, item in batch:
                size = item_size(item)
                stats.tables[table] += 1
                stats.bytes[table] = stats.bytes.get(table, 0) + size
                stats.max_item[table] = max(stats.max_item.get(table, 0), size)
            if len(inflight) >= 2 * workers:
                _collect(inflight, stats, progress, entities_total)
            inflight[pool.submit(write_batch, client, batch)] = (len(batch), ended)
        while inflight:
            _collect(inflight, stats, progress, entities_total)
    stats.items_total = sum(stats.tables.values())
    stats.seconds = time.perf_counter() - started
    if verify:
        stats.verified = {t: count_items(client, t) for t in stats.tables}
        # A fresh table must hold exactly the dataset; a kept one may also hold older items.
        short = {t: (n, stats.verified[t]) for t, n in stats.tables.items()
                 if stats.verified[t] < n or (recreate and stats.verified[t] != n)}
        if short:
            detail = "; ".join(f"{t}: expected {n}, counted {got}" for t, (n, got) in short.items())
            raise BenchError(f"load verification failed: {detail}")
    return stats


def events_per_conversation(dataset: Dataset) -> float:
    """Expected events per conversation (for progress): created, plus the status changes of
    the initial status mix."""
    return expected_events(dataset) if dataset.events else 0.0


def _collect(inflight: dict[Future[int], tuple[int, int]], stats: LoadStats,
             progress: Progress | None, entities_total: float) -> None:
    done, _ = wait(list(inflight), return_when=FIRST_COMPLETED)
    for fut in done:
        size, ended = inflight.pop(fut)
        stats.retried_items += fut.result()  # re-raises a batch's BenchError here
        stats.items_written += size
        stats.entities_written += ended
        stats.batches += 1
    if progress is not None:
        progress(stats.entities_written, max(round(entities_total), stats.entities_written))
