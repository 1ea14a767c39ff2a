"""Measurement deltas: what a load process sends while it runs, and their exact merge.

A process that cannot write into the run directory (a Locust worker on another machine) sends
what it measured since its last delta; whoever writes the run directory merges the deltas of
each process into the same ``ProcessRecord`` the process would have written itself. Every
figure of the format adds exactly (histogram counts per bucket, exact counts and sums,
capacity, counters), so the merge of the deltas equals the whole, and a delta carries
(process, sequence number) so one received twice is ignored.

Example::

    >>> a = ProcessRecord("w1", 100.0, ended_s=3.0)
    >>> b = ProcessRecord("w1", 100.0, ended_s=6.0, counters=GeneratorCounters(scheduled=5))
    >>> merger = DeltaMerger()
    >>> merger.add(Delta("w1", 1, a)), merger.add(Delta("w1", 2, b)), merger.add(Delta("w1", 2, b))
    (True, True, False)
    >>> merger.record("w1").counters.scheduled, merger.record("w1").ended_s
    (5, 6.0)
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import Any

from ddbbench.runformat import GeneratorCounters, PatternRecord, ProcessRecord


@dataclass(frozen=True)
class Delta:
    """Measurements of process ``process`` since its previous delta (``seq`` counts from 1);
    ``final`` marks the last one, sent after the process drained its in-flight requests;
    ``rows`` are the raw request records (CSV lines) sampled in the same span."""

    process: str
    seq: int
    record: ProcessRecord
    rows: tuple[str, ...] = ()
    final: bool = False

    def to_message(self) -> dict[str, Any]:
        """Plain data for Locust's channel (msgpack: str, numbers, lists, dicts)."""
        return {"process": self.process, "seq": self.seq, "final": self.final,
                "record": self.record.to_dict(), "rows": list(self.rows)}

    @classmethod
    def from_message(cls, doc: dict[str, Any]) -> Delta:
        return cls(str(doc["process"]), int(doc["seq"]), ProcessRecord.from_dict(doc["record"]),
                   tuple(doc.get("rows", ())), bool(doc.get("final", False)))


def merge_records(into: ProcessRecord, other: ProcessRecord) -> ProcessRecord:
    """``into`` with ``other`` (a later span of the same process) added; ``into`` changes."""
    for name, pattern in other.patterns.items():
        into.patterns.setdefault(name, PatternRecord()).merge(pattern)
    into.counters = into.counters + other.counters
    into.cpu_samples.extend(other.cpu_samples)
    into.machine_cpu_samples.extend(other.machine_cpu_samples)
    into.started_s = min(into.started_s, other.started_s)
    into.ended_s = max(into.ended_s, other.ended_s)
    into.extra.update(other.extra)
    return into


@dataclass
class DeltaMerger:
    """Per process: the merged record, the raw rows, the sequence numbers seen and whether
    the final delta arrived."""

    records: dict[str, ProcessRecord] = field(default_factory=dict)
    rows: dict[str, list[str]] = field(default_factory=dict)
    seen: dict[str, set[int]] = field(default_factory=dict)
    finished: set[str] = field(default_factory=set)

    def add(self, delta: Delta) -> bool:
        """Merge ``delta``; False (and nothing changes) when it was merged before."""
        seen = self.seen.setdefault(delta.process, set())
        if delta.seq in seen:
            return False
        seen.add(delta.seq)
        if delta.process in self.records:
            merge_records(self.records[delta.process], delta.record)
        else:  # a copy: the caller's delta stays as it was sent
            self.records[delta.process] = copy.deepcopy(delta.record)
        self.rows.setdefault(delta.process, []).extend(delta.rows)
        if delta.final:
            self.finished.add(delta.process)
        return True

    def record(self, process: str) -> ProcessRecord:
        """The merged record. A delta sent during the warm-up window starts when that window
        ends, after its own end (``Recorder.to_record``); merged, the earliest start and the
        latest end remain, and a process stopped inside its warm-up measured 0 s, as its own
        record would say. The stored merge is left as it is: more deltas may come."""
        record = self.records[process]
        return dataclasses.replace(record, started_s=min(record.started_s, record.ended_s))

    def missing_seqs(self, process: str) -> list[int]:
        """Sequence numbers below the highest seen that never arrived (a lost delta)."""
        seen = self.seen.get(process, set())
        return [n for n in range(1, max(seen, default=0)) if n not in seen]


__all__ = ["Delta", "DeltaMerger", "GeneratorCounters", "merge_records"]
