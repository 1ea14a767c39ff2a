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
from datagen.model import Generator, largest_conversation
from ddbbench.design import Item, SeedDesign
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


def dataset_items(dataset: Dataset, design: SeedDesign) -> Iterator[tuple[str, Item]]:
    """Every item of the dataset as (table, item), candidates first, lazily."""
    gen = Generator(dataset)
    for c in range(dataset.candidates):
        yield design.candidate_item(gen.candidate(c))
    for i in range(dataset.conversations):
        yield design.conversation_item(gen.conversation(i))


def batches(items: Iterable[tuple[str, Item]], size: int = BATCH_SIZE) -> Iterator[tuple[str, list[Item]]]:
    table, batch = None, []
    for t, item in items:
        if batch and (t != table or len(batch) == size):
            yield table, batch  # type: ignore[misc]
            batch = []
        table = t
        batch.append(item)
    if batch:
        yield table, batch  # type: ignore[misc]


def write_batch(client: Any, table: str, items: list[Item], max_rounds: int = 12,
                base_delay_s: float = 0.05, sleep: Callable[[float], None] = time.sleep) -> int:
    """Write one batch until nothing is unprocessed; return how many item writes were retried."""
    pending = [{"PutRequest": {"Item": it}} for it in items]
    retried = 0
    for attempt in range(max_rounds):
        try:
            resp = client.batch_write_item(RequestItems={table: pending})
            pending = resp.get("UnprocessedItems", {}).get(table, [])
        except botocore.exceptions.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code not in RETRYABLE:
                raise BenchError(f"BatchWriteItem into {table} failed for {len(pending)} items: "
                                 f"{code}: {exc.response['Error'].get('Message')}") from None
        if not pending:
            return retried
        retried += len(pending)
        # Full jitter (AWS architecture blog): spreads retries of parallel writers apart.
        sleep(random.uniform(0, min(5.0, base_delay_s * 2**attempt)))
    raise BenchError(f"{len(pending)} items into {table} still unprocessed after {max_rounds} "
                     "rounds of BatchWriteItem; the table is throttling: lower loader.workers")


def check_item_limit(dataset: Dataset, design: SeedDesign) -> int:
    """Refuse, before any write, a dataset whose largest conversation passes 400 KB."""
    _, item = design.conversation_item(largest_conversation(dataset))
    size = item_size(item)
    if size > MAX_ITEM_BYTES:
        per_message = size / max(dataset.messages.max, 1)
        allowed = int(MAX_ITEM_BYTES / per_message) - 1
        raise ConfigError(f"dataset.messages.max: {dataset.messages.max} messages can make a "
                          f"conversation item of {size / 1024:,.0f} KB, over DynamoDB's 400 KB "
                          f"item limit; allowed: at most about {allowed}")
    return size


def load_dataset(client: Any, design: SeedDesign, dataset: Dataset, workers: int = 4,
                 recreate: bool = False, verify: bool = True,
                 progress: Progress | None = None) -> LoadStats:
    """Create the design's tables if needed, write the whole dataset, verify the counts."""
    largest = check_item_limit(dataset, design)
    ensure_tables(client, design.table_specs(), recreate=recreate)
    stats = LoadStats(tables={design.tables.candidates: dataset.candidates,
                              design.tables.conversations: dataset.conversations})
    stats.items_total = dataset.candidates + dataset.conversations
    stats.largest_possible_item = largest
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ddbbench-load") as pool:
        inflight: dict[Future[int], int] = {}
        for table, batch in batches(dataset_items(dataset, design)):
            sizes = [item_size(it) for it in batch]
            stats.bytes[table] = stats.bytes.get(table, 0) + sum(sizes)
            stats.max_item[table] = max(stats.max_item.get(table, 0), *sizes)
            if len(inflight) >= 2 * workers:
                _collect(inflight, stats, progress)
            inflight[pool.submit(write_batch, client, table, batch)] = len(batch)
        while inflight:
            _collect(inflight, stats, progress)
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


def _collect(inflight: dict[Future[int], int], stats: LoadStats, progress: Progress | None) -> None:
    done, _ = wait(list(inflight), return_when=FIRST_COMPLETED)
    for fut in done:
        size = inflight.pop(fut)
        stats.retried_items += fut.result()  # re-raises a batch's BenchError here
        stats.items_written += size
        stats.batches += 1
    if progress is not None:
        progress(stats.items_written, stats.items_total)
