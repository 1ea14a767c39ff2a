"""The parallel writer: chunks generated in the calling thread, their batches written on threads.

Memory stays bounded (at most ``2 x workers`` batches in flight, whatever the dataset's size).
A chunk is recorded in the load state (and its checkpoint) only once all its batches are
written, so a stopped load (Ctrl-C, a failure, the unit budget spent) resumes exactly.
"""

from __future__ import annotations

import contextlib
import gc
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from datagen.checkpoint import CheckpointFile, LoadState
from datagen.chunks import Chunk, batches, chunk_items
from datagen.itemsize import item_size
from datagen.loadstats import LoadStats, Progress
from datagen.model import Generator
from datagen.ratelimit import WriteCap
from datagen.writebatch import BatchFailed, write_batch
from ddbbench.designs import Design
from ddbbench.errors import BenchError, Interrupted
from ddbbench.scenario import Dataset


class LoadFailed(BenchError):
    """Some items could not be written; the checkpoint (if any) records what was."""


class LoadInterrupted(Interrupted):
    """Ctrl-C during a load; the checkpoint (if any) records what was written."""


def write_chunks(client: Any, design: Design, dataset: Dataset, workers: int, cap: WriteCap | None,
                 state: LoadState, stats: LoadStats, checkpoint: CheckpointFile | None,
                 progress: Progress | None, todo: list[Chunk]) -> None:
    """Write the chunks ``todo`` on ``workers`` threads, recording each complete one in
    ``state`` (and ``checkpoint``) and counting everything in ``stats``; raises ``LoadFailed``
    or ``LoadInterrupted`` (after saving the checkpoint) when the load stops early."""
    writer = _Writer(client, design, Generator(dataset), workers, cap, state, stats, checkpoint, progress,
                     dataset.candidates + dataset.conversations)
    started = time.perf_counter()
    try:
        with _tuned_for_loading():
            writer.run(todo)
    finally:
        stats.seconds = time.perf_counter() - started
        stats.rate_cap = cap.describe() if cap is not None else {}


SWITCH_INTERVAL_S = 0.0005  # the GIL hand-over interval while loading (Python's default: 5 ms)


@contextlib.contextmanager
def _tuned_for_loading() -> Iterator[None]:
    """Tune the interpreter for the load, and restore it after.

    - GIL hand-over every 0.5 ms instead of 5: a writer thread whose response has arrived
      waits for the GIL while this thread generates items; for up to 5 ms by default, and
      meanwhile the server idles. Measured on DynamoDB Local: +12-35% items/s (the bare
      BatchWriteItem loop of benchmarks/loading.py gains too, less: it generates nothing).
    - The cyclic garbage collector runs ~70x less often: loading allocates millions of small
      dicts and lists that reference counting frees (no cycles), yet each one counts towards
      the collector's next pass over the whole young heap (boto3's, pandas's): 12% of the
      loader's own CPU (median of 10 interleaved pairs). Cycles still get collected, in passes
      50,000 allocations apart instead of 700.
    """
    interval, thresholds = sys.getswitchinterval(), gc.get_threshold()
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    gc.set_threshold(50_000, 20, 100)
    try:
        yield
    finally:
        sys.setswitchinterval(interval)
        gc.set_threshold(*thresholds)


@dataclass
class _OpenChunk:
    """A chunk being written: its batches in flight, and what it holds once complete."""

    chunk: Chunk
    pending: int = 0
    generated: bool = False
    items: Counter[str] = field(default_factory=Counter)
    bytes: Counter[str] = field(default_factory=Counter)
    max_item: dict[str, int] = field(default_factory=dict)
    entities: int = 0


@dataclass
class _InFlight:
    owner: _OpenChunk
    tables: Counter[str]
    ended: int


class _Writer:
    """Generates chunks in this thread and writes their batches on ``workers`` threads."""

    def __init__(self, client: Any, design: Design, gen: Generator, workers: int, cap: WriteCap | None,
                 state: LoadState, stats: LoadStats, checkpoint: CheckpointFile | None,
                 progress: Progress | None, entities_total: int) -> None:
        self.client, self.design, self.gen, self.workers, self.cap = client, design, gen, workers, cap
        self.state, self.stats, self.checkpoint, self.progress = state, stats, checkpoint, progress
        self.entities_total = entities_total
        self.skipped_entities = state.entities  # done before this load (a resume)
        self.inflight: dict[Future[Counter[str]], _InFlight] = {}
        self.failures: list[BatchFailed] = []
        self.interrupted = False
        self.budget = stats.budget

    def run(self, todo: list[Chunk]) -> None:
        pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="ddbbench-load")
        try:
            try:
                self._report()
                for chunk in todo:
                    self._write_chunk(pool, chunk)
                    if self.failures or self.stats.stopped_by_cap:
                        break
                self._drain()
            except KeyboardInterrupt:
                self.interrupted = True
                self.progress = None  # the user has stopped watching; a bar would garble the message
                for fut in [f for f in self.inflight if f.cancel()]:  # queued: never sent
                    del self.inflight[fut]
                self._drain()  # the batches being sent finish (seconds at most)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            if self.checkpoint is not None and not self.state.finished:
                self.checkpoint.save(self.state, force=True)
        if self.interrupted:
            raise LoadInterrupted(f"load interrupted: {self._where()}")
        if self.failures:
            raise LoadFailed(self._failure())

    def _write_chunk(self, pool: ThreadPoolExecutor, chunk: Chunk) -> None:
        open_chunk = _OpenChunk(chunk)
        for batch, ended in batches(chunk_items(self.gen, self.design, chunk)):
            tables: Counter[str] = Counter()
            for table, item in batch:
                size = item_size(item)
                tables[table] += 1
                open_chunk.bytes[table] += size
                if size > open_chunk.max_item.get(table, 0):
                    open_chunk.max_item[table] = size
            open_chunk.items.update(tables)
            open_chunk.entities += ended
            while len(self.inflight) >= 2 * self.workers and not self.failures:
                self._collect()
            if self.failures:
                return
            if self.budget is not None and self.budget.exhausted:
                self.stats.stopped_by_cap = True  # batches in flight finish; no new one starts
                return
            fut = pool.submit(write_batch, self.client, batch, cap=self.cap, budget=self.budget)
            self.inflight[fut] = _InFlight(open_chunk, tables, ended)
            open_chunk.pending += 1
        open_chunk.generated = True
        self._maybe_complete(open_chunk)

    def _collect(self) -> None:
        done, _ = wait(list(self.inflight), return_when=FIRST_COMPLETED)
        for fut in done:
            sent = self.inflight.pop(fut)
            try:
                retried = fut.result()
            except BatchFailed as exc:
                self.failures.append(exc)
                self.stats.failed.update(exc.failed)
                self.stats.retried.update(exc.retried)
                self.stats.written.update(sent.tables - exc.failed)
                continue
            self.stats.retried.update(retried)
            self.stats.written.update(sent.tables)
            self.stats.entities_written += sent.ended
            self.stats.batches += 1
            sent.owner.pending -= 1
            self._maybe_complete(sent.owner)
        self.stats.items_written = sum(self.stats.written.values())
        self.stats.retried_items = sum(self.stats.retried.values())
        self._report()

    def _drain(self) -> None:
        while self.inflight:
            self._collect()

    def _maybe_complete(self, c: _OpenChunk) -> None:
        if c.generated and c.pending == 0:
            self.state.complete(c.chunk.id, c.items, c.bytes, c.max_item, c.entities)
            self.stats.chunks["written"] += 1
            if self.checkpoint is not None and not self.state.finished:
                self.checkpoint.save(self.state)

    def _report(self) -> None:
        if self.progress is not None:
            done = min(self.skipped_entities + self.stats.entities_written, self.entities_total)
            self.progress(done, self.entities_total, items=self.stats.items_written)

    def _where(self) -> str:
        s = self.stats
        kept = (f"{len(self.state.done)} of {self.state.chunks_total} chunks are completely written, "
                f"as recorded in {self.checkpoint.path}: continue with `ddbbench load` with the same "
                "options plus --resume" if self.checkpoint is not None
                else "no checkpoint on this target (its tables do not outlive the run)")
        return f"{s.items_written:,} items written by this load; {kept}"

    def _failure(self) -> str:
        failed = self.stats.failed
        per_table = ", ".join(f"{t}: {n:,}" for t, n in sorted(failed.items()))
        reasons = Counter(f.reason for f in self.failures)
        why = "; ".join(r if n == 1 else f"{r} (in {n} batches)" for r, n in reasons.most_common(3))
        total = sum(failed.values())
        return f"load failed: {total:,} items not written ({per_table}): {why}. {self._where()}"
