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

This module prepares the tables and the load's state, then verifies; the writing is in
datagen/writer.py (chunks on threads), datagen/writebatch.py (one batch, retried) and the
accounting in datagen/loadstats.py. Their public names are importable from here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import botocore.exceptions

from datagen.checkpoint import CheckpointFile, LoadState, checkpoint_path, identity, resume_state
from datagen.chunks import DEFAULT_CHUNK_SIZE, plan_chunks
from datagen.itemsize import MAX_ITEM_BYTES, item_size
from datagen.loadstats import LoadStats, Progress, summary_line
from datagen.model import largest_conversation
from datagen.ratelimit import WriteCap
from datagen.spotcheck import spot_check
from datagen.writebatch import RETRYABLE, UNREACHABLE, BatchFailed, write_batch
from datagen.writer import SWITCH_INTERVAL_S, LoadFailed, LoadInterrupted, write_chunks
from ddbbench.budget import UnitBudget
from ddbbench.client import Endpoint
from ddbbench.designs import Design, make_design, table_specs_for
from ddbbench.errors import BenchError, ConfigError
from ddbbench.ownership import Ownership
from ddbbench.scenario import Dataset, Scenario
from ddbbench.tables import count_items, ensure_tables

# The loader's public names, wherever they live (datagen/writebatch.py, writer.py, loadstats.py).
__all__ = ["RETRYABLE", "SWITCH_INTERVAL_S", "UNREACHABLE", "BatchFailed", "Counting", "LoadFailed",
           "LoadInterrupted", "LoadStats", "Progress", "check_item_limit", "checkpoint_for",
           "described_item_count", "load_dataset", "load_scenario", "summary_line", "write_batch"]

Counting = Callable[[Any, str], int]


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
    _check_resume(resume, checkpoint, recreate)
    largest = check_item_limit(dataset, design)
    chunks = plan_chunks(dataset, chunk_size)
    replaced = not resume and checkpoint is not None and checkpoint.path.exists()
    state = _start_state(client, design, dataset, chunk_size, len(chunks), checkpoint if resume else None,
                         recreate, table_specs, owner)
    todo = [c for c in chunks if c.id not in state.done]
    stats = LoadStats(largest_possible_item=largest, resumed=resume, replaced_checkpoint=replaced,
                      budget=budget, items_skipped=sum(state.items.values()),
                      chunks={"size": chunk_size, "total": len(chunks), "skipped": len(chunks) - len(todo),
                              "written": 0})
    write_chunks(client, design, dataset, workers, cap, state, stats, checkpoint, progress, todo)
    _tally(stats, state, design.table_names())
    if stats.stopped_by_cap:
        return stats  # partial on purpose: the checkpoint stays for a later --resume
    if checkpoint is not None:
        checkpoint.remove()  # everything is written: nothing is left to resume
    if verify:
        _verify_load(client, design, dataset, stats, state.fresh_tables, count)
    return stats


def _check_resume(resume: bool, checkpoint: CheckpointFile | None, recreate: bool) -> None:
    if resume and (checkpoint is None or recreate):
        raise ConfigError("--resume: continues a load into the tables as they are; it cannot be "
                          "combined with --recreate-tables" if recreate else
                          "--resume: this target keeps no checkpoints (a DynamoDB Local started "
                          "for one run loses its tables when it stops)")


def _start_state(client: Any, design: Design, dataset: Dataset, chunk_size: int, chunks_total: int,
                 resume_from: CheckpointFile | None, recreate: bool,
                 table_specs: list[dict[str, Any]] | None, owner: Ownership | None) -> LoadState:
    """The tables made ready and the load's starting state: ``resume_from``'s checkpoint, or
    nothing written yet (``fresh_tables`` when every table is new: their counts must match)."""
    wanted = identity(dataset, design.name, design.table_names(), chunk_size)
    state = resume_state(resume_from, wanted) if resume_from is not None else None
    specs = design.table_specs() if table_specs is None else table_specs
    created = ensure_tables(client, specs, recreate=recreate and state is None,
                            owner=owner, design=design.name)
    if state is not None and created:
        raise BenchError(f"--resume: table(s) {', '.join(created)} did not exist (now created empty): "
                         "the items the checkpoint records are gone; load without --resume")
    if state is None:
        fresh = recreate or set(created) == set(design.table_names())
        state = LoadState(wanted, chunks_total, fresh_tables=fresh)
    return state


def described_item_count(client: Any, table: str) -> int:
    """A table's ItemCount from DescribeTable: exact and immediate on DynamoDB Local (equal to
    a COUNT scan in tests/test_loader_local.py), where a COUNT scan's time grows with the
    square of the table (16 s for 30,000 conversations, hours for a million: its first pages
    time out). On the service ItemCount lags by hours: count with a scan there."""
    return int(client.describe_table(TableName=table)["Table"]["ItemCount"])


def _tally(stats: LoadStats, state: LoadState, tables: list[str]) -> None:
    """The whole dataset's figures per table (also the chunks written before a resume)."""
    stats.tables = {t: state.items.get(t, 0) for t in tables}
    stats.bytes, stats.max_item = dict(state.bytes), dict(state.max_item)
    stats.items_total = sum(stats.tables.values())


def _verify_load(client: Any, design: Design, dataset: Dataset, stats: LoadStats, exact: bool,
                 count: Counting | None) -> None:
    if count is None:
        stats.verified = dict(stats.tables)  # acknowledged by the server, item by item
        stats.spot_reads = spot_check(client, design, dataset)
    else:
        _verify(client, stats, exact, count)


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
