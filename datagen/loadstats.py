"""What a bulk load did (``LoadStats``), and the one line that tells the user.

Every item is accounted for: written, retried, failed, per table; with the chunks skipped by a
resume, the rate cap's waits, the request units spent and how the tables were verified.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Protocol

from ddbbench.budget import UnitBudget


class Progress(Protocol):
    """Told the entities written of the total (and the items) as a load goes."""

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
