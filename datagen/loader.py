"""Bulk loading: generated items streamed into parallel BatchWriteItem calls.

The dataset is split into chunks of entities (``plan_chunks``) that any thread or process can
generate and write alone, in any order: every entity is a pure function of (seed, index).
Memory stays bounded (at most ``2 x workers`` batches in flight, whatever the dataset's
size); UnprocessedItems and throttling errors are retried with exponential backoff and full
jitter; an optional cap holds the write rate in items/s or WCU/s. Every item is accounted for
(written, retried, failed, per table): a load either writes everything and verifies the
tables' counts, or fails saying how many items and why. A load that stops (Ctrl-C, a failure)
keeps a checkpoint of the chunks that are completely written (datagen/checkpoint.py), and a
resumed load writes only the others.
"""

from __future__ import annotations

import contextlib
import gc
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Protocol

import botocore.exceptions

from datagen.checkpoint import CheckpointFile, LoadState, checkpoint_path, identity, resume_state
from datagen.chunks import DEFAULT_CHUNK_SIZE, Batch, Chunk, batches, chunk_items, plan_chunks
from datagen.itemsize import MAX_ITEM_BYTES, item_size
from datagen.model import Generator, largest_conversation
from datagen.ratelimit import WriteCap
from datagen.spotcheck import spot_check
from ddbbench.budget import UnitBudget, units_of
from ddbbench.client import Endpoint
from ddbbench.designs import Design, make_design, table_specs_for
from ddbbench.errors import BenchError, ConfigError, Interrupted
from ddbbench.facts import THROTTLE_CODES
from ddbbench.ownership import Ownership
from ddbbench.scenario import Dataset, Scenario
from ddbbench.tables import count_items, ensure_tables

# Throttling (the shared definition) and the server errors worth another batch.
RETRYABLE = THROTTLE_CODES | {"InternalServerError", "ServiceUnavailable"}
# botocore has already retried these (client.max_attempts): the target is gone, not busy.
UNREACHABLE = (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectionClosedError,
               botocore.exceptions.ConnectTimeoutError, botocore.exceptions.ReadTimeoutError)


class Progress(Protocol):
    def __call__(self, done: int, total: int, items: int | None = None) -> None: ...


@dataclass
class LoadStats:
    items_total: int = 0  # the whole dataset's items (also those written before a resume)
    items_written: int = 0  # written by this load
    entities_written: int = 0  # candidates and conversations (with their events) written
    batches: int = 0
    retried_items: int = 0
    seconds: float = 0.0
    tables: dict[str, int] = field(default_factory=dict)  # expected items per table
    verified: dict[str, int] = field(default_factory=dict)  # counted items per table
    bytes: dict[str, int] = field(default_factory=dict)  # item bytes per table
    max_item: dict[str, int] = field(default_factory=dict)  # largest item per table (bytes)
    largest_possible_item: int = 0  # the bound checked against 400 KB before writing
    written: Counter[str] = field(default_factory=Counter)  # per table, by this load
    retried: Counter[str] = field(default_factory=Counter)  # item writes sent again, per table
    failed: Counter[str] = field(default_factory=Counter)  # items not written, per table
    chunks: dict[str, int] = field(default_factory=dict)  # size, total, skipped, written
    items_skipped: int = 0  # items of chunks a resumed load found done
    resumed: bool = False
    replaced_checkpoint: bool = False  # a fresh load started over an unfinished one
    rate_cap: dict[str, Any] = field(default_factory=dict)
    budget: UnitBudget | None = None  # --max-request-units: what this load consumed of it
    stopped_by_cap: bool = False  # the budget ran out: the load ended early, unverified
    table_notes: list[str] = field(default_factory=list)  # table settings not applied
    spot_reads: dict[str, Any] = field(default_factory=dict)  # off DynamoDB Local: what was read back

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
                "largest_possible_item_bytes": self.largest_possible_item,
                "written_per_table": dict(self.written), "retried_per_table": dict(self.retried),
                "failed_per_table": dict(self.failed), "chunks": self.chunks,
                "items_skipped": self.items_skipped, "resumed": self.resumed,
                "rate_cap": self.rate_cap, "stopped_by_cap": self.stopped_by_cap,
                "request_units": self.budget.to_dict() if self.budget else None,
                "table_notes": self.table_notes,
                "verification": ({"method": "acknowledged counts and spot reads", **self.spot_reads}
                                 if self.spot_reads else {"method": "counted"})}


# --- writing one batch ---------------------------------------------------------------------

class BatchFailed(BenchError):
    """Items of one batch that could not be written, per table, and why."""

    def __init__(self, reason: str, failed: Counter[str], retried: Counter[str]) -> None:
        tables = ", ".join(sorted(failed))
        super().__init__(f"{sum(failed.values())} items into {tables} not written: {reason}")
        self.reason = reason
        self.failed = failed
        self.retried = retried


def write_batch(client: Any, items: Batch, max_rounds: int = 12, base_delay_s: float = 0.05,
                sleep: Callable[[float], None] = time.sleep, cap: WriteCap | None = None,
                budget: UnitBudget | None = None) -> Counter[str]:
    """Write one batch until nothing is unprocessed; return the item writes retried, per
    table. Raises ``BatchFailed`` (with what was not written) when it cannot. With a
    ``budget`` the units DynamoDB reports (ConsumedCapacity, index writes included) count
    against it."""
    extra = {"ReturnConsumedCapacity": "INDEXES"} if budget is not None else {}
    pending: dict[str, list[dict[str, Any]]] = {}
    for table, item in items:
        pending.setdefault(table, []).append({"PutRequest": {"Item": item}})
    retried: Counter[str] = Counter()
    for attempt in range(max_rounds):
        if attempt:
            retried.update(_counts(pending))
            # Full jitter (AWS architecture blog): spreads retries of parallel writers apart.
            sleep(random.uniform(0, min(5.0, base_delay_s * 2 ** (attempt - 1))))
        if cap is not None:
            cap.acquire(r["PutRequest"]["Item"] for reqs in pending.values() for r in reqs)
        try:
            resp = client.batch_write_item(RequestItems=pending, **extra)
            pending = resp.get("UnprocessedItems") or {}
            if budget is not None:
                budget.add(units_of(resp.get("ConsumedCapacity")))
        except botocore.exceptions.ClientError as exc:
            err = exc.response.get("Error", {})
            if err.get("Code") not in RETRYABLE:
                raise BatchFailed(f"BatchWriteItem: {err.get('Code')}: {err.get('Message')}",
                                  _counts(pending), retried) from None
        except UNREACHABLE as exc:
            raise BatchFailed(f"cannot reach DynamoDB: {exc}", _counts(pending), retried) from None
        if not pending:
            return retried
    raise BatchFailed(f"still unprocessed after {max_rounds} rounds of BatchWriteItem; the table "
                      "is throttling: lower loader.workers or cap the rate (loader.max_wcu_per_s)",
                      _counts(pending), retried)


def _counts(pending: dict[str, list[Any]]) -> Counter[str]:
    return Counter({t: len(v) for t, v in pending.items() if v})


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


# --- the load ------------------------------------------------------------------------------

class LoadFailed(BenchError):
    """Some items could not be written; the checkpoint (if any) records what was."""


class LoadInterrupted(Interrupted):
    """Ctrl-C during a load; the checkpoint (if any) records what was written."""


def load_dataset(client: Any, design: Design, dataset: Dataset, workers: int = 4,
                 recreate: bool = False, verify: bool = True, progress: Progress | None = None, *,
                 chunk_size: int = DEFAULT_CHUNK_SIZE, cap: WriteCap | None = None,
                 checkpoint: CheckpointFile | None = None, resume: bool = False,
                 count: Counting | None = count_items, budget: UnitBudget | None = None,
                 table_specs: list[dict[str, Any]] | None = None,
                 owner: Ownership | None = None) -> LoadStats:
    """Create the design's tables if needed, write the dataset, verify the counts.

    With ``checkpoint``, the chunks written are recorded as the load goes and kept if it stops;
    ``resume`` then writes only the chunks not recorded (the tables are kept, never recreated).
    ``count(client, table)`` counts a table for the verification (``described_item_count``
    on DynamoDB Local); with ``count=None`` nothing is counted: the loader's acknowledged
    counts and ``SPOT_READS`` GetItems of sampled items verify the load (off DynamoDB Local,
    where a COUNT scan would read and bill every item). With ``owner``, tables it does not
    own are refused and kept ones checked against the design before anything is written.
    ``budget`` (``--max-request-units``) ends the load early, cleanly, when spent: the stats
    say ``stopped_by_cap``, the checkpoint is kept, nothing is verified. ``table_specs``: the
    CreateTable arguments (default: the design's, on demand).
    """
    if resume and (checkpoint is None or recreate):
        raise ConfigError("--resume: continues a load into the tables as they are; it cannot be "
                          "combined with --recreate-tables" if recreate else
                          "--resume: this target keeps no checkpoints (a DynamoDB Local started "
                          "for one run loses its tables when it stops)")
    largest = check_item_limit(dataset, design)
    chunks = plan_chunks(dataset, chunk_size)
    wanted = identity(dataset, design.name, design.table_names(), chunk_size)
    state = resume_state(checkpoint, wanted) if resume and checkpoint else None
    specs = design.table_specs() if table_specs is None else table_specs
    created = ensure_tables(client, specs, recreate=recreate and not resume,
                            owner=owner, design=design.name)
    if state is not None and created:
        raise BenchError(f"--resume: table(s) {', '.join(created)} did not exist (now created empty): "
                         "the items the checkpoint records are gone; load without --resume")
    stats = LoadStats(largest_possible_item=largest, resumed=state is not None,
                      replaced_checkpoint=not resume and checkpoint is not None and checkpoint.path.exists(),
                      budget=budget)
    if state is None:
        fresh = recreate or set(created) == set(design.table_names())
        state = LoadState(wanted, len(chunks), fresh_tables=fresh)
    stats.items_skipped = sum(state.items.values())
    todo = [c for c in chunks if c.id not in state.done]
    stats.chunks = {"size": chunk_size, "total": len(chunks), "skipped": len(chunks) - len(todo),
                    "written": 0}
    with _tuned_for_loading():
        _write(client, design, dataset, workers, cap, state, stats, checkpoint, progress, todo)
    stats.tables = {t: state.items.get(t, 0) for t in design.table_names()}
    stats.bytes, stats.max_item = dict(state.bytes), dict(state.max_item)
    stats.items_total = sum(stats.tables.values())
    if stats.stopped_by_cap:
        return stats  # partial on purpose: the checkpoint stays for a later --resume
    if checkpoint is not None:
        checkpoint.remove()  # everything is written: nothing is left to resume
    if verify and count is None:
        stats.verified = dict(stats.tables)  # acknowledged by the server, item by item
        stats.spot_reads = spot_check(client, design, dataset)
    elif verify:
        _verify(client, stats, state.fresh_tables, count)
    return stats


def _write(client: Any, design: Design, dataset: Dataset, workers: int, cap: WriteCap | None,
           state: LoadState, stats: LoadStats, checkpoint: CheckpointFile | None,
           progress: Progress | None, todo: list[Chunk]) -> None:
    writer = _Writer(client, design, Generator(dataset), workers, cap, state, stats, checkpoint, progress,
                     dataset.candidates + dataset.conversations)
    started = time.perf_counter()
    try:
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


Counting = Callable[[Any, str], int]


def described_item_count(client: Any, table: str) -> int:
    """A table's ItemCount from DescribeTable: exact and immediate on DynamoDB Local (equal to
    a COUNT scan in tests/test_loader_local.py), where a COUNT scan's time grows with the
    square of the table (16 s for 30,000 conversations, hours for a million: its first pages
    time out). On the service ItemCount lags by hours: count with a scan there."""
    return int(client.describe_table(TableName=table)["Table"]["ItemCount"])


def _verify(client: Any, stats: LoadStats, exact: bool, count: Counting) -> None:
    """Count every table (the whole table, also after a resume) against the dataset."""
    try:
        stats.verified = {t: count(client, t) for t in stats.tables}
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        raise BenchError(f"load verification could not count the tables: {exc}; every item was "
                         "written (no failure reported), but the counts are unchecked") from None
    # Tables this load created hold exactly the dataset; kept ones may also hold older items.
    short = {t: (n, stats.verified[t]) for t, n in stats.tables.items()
             if stats.verified[t] < n or (exact and stats.verified[t] != n)}
    if short:
        detail = "; ".join(f"{t}: expected {n}, counted {got}" for t, (n, got) in short.items())
        raise BenchError(f"load verification failed: {detail}; load again without --resume")


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


# --- a scenario's load ---------------------------------------------------------------------

def checkpoint_for(endpoint: Endpoint, tables: list[str]) -> CheckpointFile | None:
    """Where a load into ``tables`` at ``endpoint`` keeps its checkpoint; None for a DynamoDB
    Local started for one run (its tables vanish with it: nothing could be resumed)."""
    if endpoint.managed:
        return None
    target = endpoint.url if endpoint.kind == "endpoint" else f"{endpoint.kind}:{endpoint.region}"
    return CheckpointFile(checkpoint_path(target or endpoint.kind, tables), target or endpoint.kind)


def load_scenario(client: Any, endpoint: Endpoint, scenario: Scenario, recreate: bool = False,
                  resume: bool = False, progress: Progress | None = None,
                  budget: UnitBudget | None = None, owner: Ownership | None = None) -> LoadStats:
    """``load_dataset`` with the scenario's design, dataset, table and loader settings, writing
    only to tables ``owner`` (default: the target's) owns."""
    design = make_design(scenario.design, scenario.tables)
    opts = scenario.loader
    cap = WriteCap(opts.max_items_per_s, opts.max_wcu_per_s)
    specs, notes = table_specs_for(scenario, on_local=endpoint.kind == "local")
    stats = load_dataset(client, design, scenario.dataset, workers=opts.workers, recreate=recreate,
                         progress=progress, chunk_size=opts.chunk_size, cap=cap if cap.active else None,
                         checkpoint=checkpoint_for(endpoint, design.table_names()), resume=resume,
                         count=described_item_count if endpoint.kind == "local" else None,
                         budget=budget, table_specs=specs,
                         owner=owner or Ownership.for_target(endpoint, scenario))
    stats.table_notes = notes
    return stats


def summary_line(stats: LoadStats) -> str:
    """One line for the user: what was written, how fast, what was skipped or waited for."""
    parts = [f"loaded {stats.items_written:,} items in {stats.seconds:.1f}s "
             f"({stats.items_per_s:,.0f} items/s, {stats.retried_items:,} retried)"]
    if stats.resumed:
        parts.append(f"resumed: {stats.chunks['skipped']} of {stats.chunks['total']} chunks "
                     f"({stats.items_skipped:,} items) were already written")
    elif stats.replaced_checkpoint:
        parts.append("an unfinished earlier load's checkpoint was discarded (--resume continues one)")
    for name, cap in stats.rate_cap.items():
        parts.append(f"capped at {cap['cap']:g} {name.replace('_per_s', '')}/s "
                     f"(threads waited {cap['waited_s']:.1f}s in all)")
    if stats.stopped_by_cap and stats.budget is not None:
        parts.append(f"STOPPED by --max-request-units after {stats.budget.used:,.1f} of "
                     f"{stats.budget.limit:,.0f} units (partial load, not verified)")
    if stats.spot_reads:
        parts.append(f"verified: {stats.verified} acknowledged, {stats.spot_reads['found']} of "
                     f"{stats.spot_reads['read']} sampled items read back")
    else:
        parts.append(f"verified: {stats.verified}")
    return "; ".join(parts)
