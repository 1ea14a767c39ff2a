"""One access pattern's measurements (run-directory schema v2, ddbbench/runformat.py).

Latency: HDR histograms of whole microseconds, 3 significant digits, per outcome class, with
the exact count, min, max and sum (ns) beside each (``LatencyStats``); consumed capacity per
table and index (``ConsumedCapacity``); both in a ``PatternRecord`` with its counts and its
intervals over time. Everything here merges exactly across processes. Import these names from
``ddbbench.runformat``, which re-exports them beside the process file that holds them.

Example::

    >>> a, b = PatternRecord(), PatternRecord()
    >>> b.outcomes["ok"] += 2
    >>> a.merge(b); a.count
    2
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram

HIST_MAX_US = 60_000_000  # 60 s: longer latencies are clamped to this and counted
HIST_DIGITS = 3
OK = "ok"
FAILED = "failed"  # interval histograms: every failed request, whatever its class
MIXED = "all"  # version-1 histograms: every request, failed ones included
INDEX_SEPARATOR = "/"  # capacity names: "Table" or "Table/Index" (neither name may hold "/")


def new_histogram() -> HdrHistogram:
    return HdrHistogram(1, HIST_MAX_US, HIST_DIGITS)


def to_us(latency_ns: int) -> int:
    """Histogram value for a latency: whole microseconds, at least 1, at most 60 s."""
    return min(max(1, round(latency_ns / 1000)), HIST_MAX_US)


def encode(hist: HdrHistogram) -> str:
    return hist.encode().decode()


def decode(text: str) -> HdrHistogram:
    return HdrHistogram.decode(text)


def split_capacity_name(name: str) -> tuple[str, str | None]:
    """``"T/ix"`` -> ("T", "ix"); ``"T"`` -> ("T", None)."""
    table, _, index = name.partition(INDEX_SEPARATOR)
    return table, index or None


@dataclass
class LatencyStats:
    """Latency of one outcome class: the histogram and the exact figures beside it.

    >>> s = LatencyStats()
    >>> s.add(2_000_000)
    >>> _ = s.hist.record_value(to_us(2_000_000))
    >>> (s.count, s.max_ns, s.hist.get_total_count())
    (1, 2000000, 1)
    """

    hist: HdrHistogram = field(default_factory=new_histogram, compare=False)
    count: int = 0
    min_ns: int = 0
    max_ns: int = 0
    sum_ns: int = 0
    clamped: int = 0  # latencies at or above HIST_MAX_US (recorded as HIST_MAX_US)

    def add(self, latency_ns: int) -> None:
        """The exact figures of one request (the caller records its histogram value)."""
        self.min_ns = latency_ns if self.count == 0 else min(self.min_ns, latency_ns)
        self.max_ns = max(self.max_ns, latency_ns)
        self.count += 1
        self.sum_ns += latency_ns
        self.clamped += latency_ns >= HIST_MAX_US * 1000

    def merge(self, other: LatencyStats) -> None:
        if other.count == 0:
            return
        self.min_ns = other.min_ns if self.count == 0 else min(self.min_ns, other.min_ns)
        self.max_ns = max(self.max_ns, other.max_ns)
        self.count += other.count
        self.sum_ns += other.sum_ns
        self.clamped += other.clamped
        self.hist.add(other.hist)

    def __eq__(self, other: object) -> bool:  # histograms compared by their encoding
        return isinstance(other, LatencyStats) and self.to_dict() == other.to_dict()

    def to_dict(self) -> dict[str, Any]:
        return {"count": self.count, "min_ns": self.min_ns, "max_ns": self.max_ns,
                "sum_ns": self.sum_ns, "clamped": self.clamped, "hist": encode(self.hist)}

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> LatencyStats:
        return cls(decode(doc["hist"]), doc["count"], doc["min_ns"], doc["max_ns"], doc["sum_ns"],
                   doc.get("clamped", 0))


@dataclass
class ConsumedCapacity:
    """Consumed capacity units summed over requests: base tables, indexes, and per name.

    ``by_name`` keys are "Table" and "Table/Index"; under ReturnConsumedCapacity=TOTAL a
    table's figure includes its indexes (no breakdown given).

    >>> c = ConsumedCapacity()
    >>> c.add(1.0, 0.5, (("T", 1.0), ("T/ix", 0.5)))
    >>> c.by_name
    {'T': 1.0, 'T/ix': 0.5}
    """

    table_units: float = 0.0
    index_units: float = 0.0
    by_name: dict[str, float] = field(default_factory=dict)

    def add(self, table: float, index: float, pairs: tuple[tuple[str, float], ...] = ()) -> None:
        self.table_units += table
        self.index_units += index
        for name, units in pairs:
            self.by_name[name] = self.by_name.get(name, 0.0) + units

    def merge(self, other: ConsumedCapacity) -> None:
        self.add(other.table_units, other.index_units, tuple(other.by_name.items()))

    def to_dict(self) -> dict[str, Any]:
        return {"table_units": self.table_units, "index_units": self.index_units,
                "by_name": dict(sorted(self.by_name.items()))}

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> ConsumedCapacity:
        return cls(doc["table_units"], doc["index_units"], dict(doc.get("by_name", {})))


Intervals = dict[float, dict[str, HdrHistogram]]  # start (s since test start) -> {ok|failed: hist}


@dataclass
class PatternRecord:
    """One access pattern's measurements in one process (or merged over several).

    ``latency`` holds one ``LatencyStats`` per outcome class seen (``ok``, ``throttled``, ...);
    ``intervals`` the same requests over time, ``ok`` and ``failed`` apart, by completion time.
    ``items``/``response_bytes``: returned; ``items_written``/``bytes_written``: sent by writes.

    >>> p = PatternRecord()
    >>> p.outcomes["ok"] += 1; p.latency["ok"] = LatencyStats(count=1, min_ns=5, max_ns=5, sum_ns=5)
    >>> PatternRecord.from_dict(p.to_dict()) == p
    True
    """

    latency: dict[str, LatencyStats] = field(default_factory=dict)
    intervals: Intervals = field(default_factory=dict)
    outcomes: Counter[str] = field(default_factory=Counter)
    error_codes: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    consumed: ConsumedCapacity = field(default_factory=ConsumedCapacity)
    items: int = 0
    response_bytes: int = 0
    items_written: int = 0
    bytes_written: int = 0
    schedule_lag_ns: int = 0
    late: int = 0  # open model: started > 1 ms after its intended time
    mixed_outcomes: bool = False  # version 1: latency["all"] holds failed requests too

    @property
    def count(self) -> int:
        """Every request, whatever its outcome."""
        return sum(self.outcomes.values())

    @property
    def success_key(self) -> str:
        """Where successful requests' latency is: ``ok``, or ``all`` for version-1 data."""
        return MIXED if self.mixed_outcomes else OK

    def merge(self, other: PatternRecord) -> None:
        """Add ``other`` (another process's record of the same pattern): counts add exactly."""
        for key, stats in other.latency.items():
            self.latency.setdefault(key, LatencyStats()).merge(stats)
        for start, hists in other.intervals.items():
            mine = self.intervals.setdefault(start, {})
            for key, hist in hists.items():
                mine.setdefault(key, new_histogram()).add(hist)
        self.outcomes.update(other.outcomes)
        self.error_codes.update(other.error_codes)
        self.consumed.merge(other.consumed)
        for name in _SUMMED:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.mixed_outcomes = self.mixed_outcomes or other.mixed_outcomes

    def shifted(self, offset_s: float, interval_s: float) -> Intervals:
        """Intervals keyed by seconds since a test start ``offset_s`` earlier, snapped to its
        grid of ``interval_s`` (processes of one run started their clocks a moment apart)."""
        if offset_s == 0:
            return self.intervals
        out: Intervals = {}
        for start, hists in self.intervals.items():
            key = round(round((start + offset_s) / interval_s) * interval_s, 6)
            mine = out.setdefault(key, {})
            for k, hist in hists.items():
                mine.setdefault(k, new_histogram()).add(hist)
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PatternRecord) and self.to_dict() == other.to_dict()

    def to_dict(self) -> dict[str, Any]:
        scalars = {name: getattr(self, name) for name in _SUMMED}
        return {"outcomes": dict(sorted(self.outcomes.items())),
                "error_codes": dict(sorted(self.error_codes.items())),
                "latency": {k: s.to_dict() for k, s in sorted(self.latency.items())},
                "intervals": [{"start_s": start, **{k: encode(h) for k, h in sorted(hists.items())}}
                              for start, hists in sorted(self.intervals.items())],
                "consumed_capacity": self.consumed.to_dict(), **scalars,
                "mixed_outcomes": self.mixed_outcomes}

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> PatternRecord:
        intervals = {float(iv["start_s"]): {k: decode(v) for k, v in iv.items() if k != "start_s"}
                     for iv in doc["intervals"]}
        return cls(latency={k: LatencyStats.from_dict(v) for k, v in doc["latency"].items()},
                   intervals=intervals, outcomes=Counter(doc["outcomes"]),
                   error_codes=Counter(doc["error_codes"]),
                   consumed=ConsumedCapacity.from_dict(doc["consumed_capacity"]),
                   mixed_outcomes=bool(doc.get("mixed_outcomes", False)),
                   **{name: doc[name] for name in _SUMMED})


_SUMMED = ("retries", "items", "response_bytes", "items_written", "bytes_written",
           "schedule_lag_ns", "late")
