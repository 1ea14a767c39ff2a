"""The dataset as chunks of entities, and chunks as batches of items.

A chunk is a range of candidates, or of conversations with their events. Every entity is a
pure function of (seed, index), so any thread or process can generate any chunk alone, in any
order, and the chunks together hold exactly the items of the whole dataset, whatever the
chunk size.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from datagen.model import Generator
from ddbbench.designs import Design, TableItem
from ddbbench.errors import ConfigError
from ddbbench.scenario import Dataset

BATCH_SIZE = 25  # BatchWriteItem's limit
DEFAULT_CHUNK_SIZE = 1000  # entities per chunk: about a second of writing on DynamoDB Local


@dataclass(frozen=True)
class Chunk:
    """Entities ``start``..``stop`` (exclusive) of one kind: candidates, or conversations
    with their events."""

    id: int
    kind: str
    start: int
    stop: int

    def ranges(self) -> tuple[range, range]:
        """(candidates, conversations) of the chunk, for ``Generator.entities``."""
        span = range(self.start, self.stop)
        return (span, range(0)) if self.kind == "candidates" else (range(0), span)


def plan_chunks(dataset: Dataset, chunk_size: int = DEFAULT_CHUNK_SIZE) -> list[Chunk]:
    """The dataset as chunks of ``chunk_size`` entities: candidates first, then conversations.

    >>> [(c.id, c.kind[:4], c.start, c.stop) for c in plan_chunks(Dataset(candidates=3, conversations=5), 2)]
    [(0, 'cand', 0, 2), (1, 'cand', 2, 3), (2, 'conv', 0, 2), (3, 'conv', 2, 4), (4, 'conv', 4, 5)]
    """
    if chunk_size < 1:
        raise ConfigError(f"loader.chunk_size: {chunk_size} is not an entity count >= 1")
    chunks: list[Chunk] = []
    for kind, total in (("candidates", dataset.candidates), ("conversations", dataset.conversations)):
        for start in range(0, total, chunk_size):
            chunks.append(Chunk(len(chunks), kind, start, min(start + chunk_size, total)))
    return chunks


def chunk_items(gen: Generator, design: Design, chunk: Chunk) -> Iterator[tuple[TableItem, bool]]:
    """The chunk's items as ((table, item), ends_entity), lazily.

    ``ends_entity`` marks the last item of a candidate, or of a conversation and its events,
    so progress counts whole entities whatever the design splits them into.
    """
    pending: list[TableItem] = []  # a conversation's items, held until its events follow
    for kind, entity in gen.entities(*chunk.ranges()):
        if kind != "event" and pending:
            yield from _ending(pending)
            pending = []
        pending.extend(design.entity_items(kind, entity))
    yield from _ending(pending)


def _ending(items: list[TableItem]) -> Iterator[tuple[TableItem, bool]]:
    last = len(items) - 1
    for n, table_item in enumerate(items):
        yield table_item, n == last


def dataset_items(dataset: Dataset, design: Design) -> Iterator[tuple[TableItem, bool]]:
    """Every item of the dataset, in entity order (all chunks, in order)."""
    gen = Generator(dataset)
    for chunk in plan_chunks(dataset, max(dataset.candidates, dataset.conversations)):
        yield from chunk_items(gen, design, chunk)


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
