"""Run-directory schema, version 2: what a load process writes and analysis reads, in one place.

Each load process writes ``histograms/<label>.json``: one ``ProcessRecord``, built by the
recorder and read back by ``analysis.rundata`` through the same dataclasses. Latency: HDR
histograms of whole microseconds, 3 significant digits, per outcome class, with the exact count,
min, max and sum (ns) beside each. Times are seconds since ``test_start_unix_s``. Version-1
files (failures mixed into one histogram per pattern) are read as ``mixed_outcomes`` records.

Example::

    >>> rec = ProcessRecord("p0", test_start_unix_s=1_790_000_000.0)
    >>> ProcessRecord.from_dict(rec.to_dict()) == rec
    True
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from hdrh.histogram import HdrHistogram

from ddbbench.errors import UnusableInput

FORMAT = "ddbbench-measurements"
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
HIST_MAX_US = 60_000_000  # 60 s: longer latencies are clamped to this and counted
HIST_DIGITS = 3
OK = "ok"
FAILED = "failed"  # interval histograms: every failed request, whatever its class
MIXED = "all"  # version-1 histograms: every request, failed ones included
INDEX_SEPARATOR = "/"  # capacity names: "Table" or "Table/Index" (neither name may hold "/")
DEFAULT_CLIENT = "boto3"
# requests/<label>.csv, one row per request (or a sample): start_unix_us is absolute (the
# process file's test_start_unix_s gives the test start); latency_us, from the intended start,
# is service_us + schedule_lag_us. items_written and bytes_written are new in version 2.
CSV_COLUMNS = ("start_unix_us", "pattern", "latency_us", "service_us", "schedule_lag_us", "outcome",
               "error_code", "retries", "capacity", "index_capacity", "items", "response_bytes",
               "items_written", "bytes_written")


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


@dataclass
class GeneratorCounters:
    """What the load generator did besides measured requests (summed over processes).

    >>> (GeneratorCounters(scheduled=3) + GeneratorCounters(scheduled=2, not_started=1)).to_dict()
    {'warmup_requests': 0, 'late_starts': 0, 'scheduled': 5, 'not_started': 1, 'cap_waits': 0}
    """

    warmup_requests: int = 0  # sent before the measured window: not recorded
    late_starts: int = 0  # closed model: paced requests that started late
    scheduled: int = 0  # open model: arrivals sent
    not_started: int = 0  # open model: arrivals due but never sent (the test stopped)
    cap_waits: int = 0  # open model: arrivals that waited for an in-flight slot

    def __add__(self, other: GeneratorCounters) -> GeneratorCounters:
        return GeneratorCounters(**{k: getattr(self, k) + getattr(other, k) for k in COUNTERS})

    def to_dict(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in COUNTERS}

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> GeneratorCounters:
        unknown = set(doc) - set(COUNTERS)
        if unknown:
            raise ValueError(f"unknown counters {sorted(unknown)}; known: {', '.join(COUNTERS)}")
        return cls(**{k: int(v) for k, v in doc.items()})


COUNTERS = tuple(f.name for f in fields(GeneratorCounters))
Samples = list[tuple[float, float]]


@dataclass
class ProcessRecord:
    """One load process's file: who measured, when (``test_start_unix_s`` and seconds since
    it), with what client, its CPU, counters and per-pattern records.

    >>> rec = ProcessRecord("host-1", 100.0, ended_s=60.0, cpu_samples=[(5.0, 42.0)])
    >>> (rec.ended_unix_s, rec.client, rec.format_version)
    (160.0, 'boto3', 2)
    """

    label: str
    test_start_unix_s: float
    started_s: float = 0.0  # when this process began measuring, since the test start
    ended_s: float = 0.0
    client: str = DEFAULT_CLIENT
    model: str = ""  # load model: closed or open ("" when not said)
    interval_s: float = 5.0
    raw_fraction: float = 1.0
    pid: int = 0
    host: str = ""
    machine_cpus: int | None = None
    cpu_samples: Samples = field(default_factory=list)  # (s since test start, % of one core)
    machine_cpu_samples: Samples = field(default_factory=list)  # (s, % of all cores)
    counters: GeneratorCounters = field(default_factory=GeneratorCounters)
    patterns: dict[str, PatternRecord] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION  # 1 when translated from a version-1 file
    extra: dict[str, Any] = field(default_factory=dict)  # other fields a writer gave: kept as is

    @property
    def started_unix_s(self) -> float:
        return self.test_start_unix_s + self.started_s

    @property
    def ended_unix_s(self) -> float:
        return self.test_start_unix_s + self.ended_s

    def to_dict(self) -> dict[str, Any]:
        head = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in _NESTED}
        return {"format": FORMAT, **head, "format_version": FORMAT_VERSION, "unit": "us",
                "significant_digits": HIST_DIGITS, "hist_max_us": HIST_MAX_US,
                "cpu_samples": [list(s) for s in self.cpu_samples],
                "machine_cpu_samples": [list(s) for s in self.machine_cpu_samples],
                "counters": self.counters.to_dict(),
                "patterns": {p: r.to_dict() for p, r in sorted(self.patterns.items())}}

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> ProcessRecord:
        """A version-2 document (see ``from_any`` for either version)."""
        if (doc.get("unit"), doc.get("significant_digits")) != ("us", HIST_DIGITS):
            raise ValueError(f"histograms in {doc.get('unit')!r} with {doc.get('significant_digits')!r} "
                             f"digits; readable: us with {HIST_DIGITS}")
        head = {f.name: doc[f.name] for f in fields(cls)  # KeyError names a missing required one
                if f.name not in _NESTED and (f.name in doc or f.name in _REQUIRED)}
        return cls(**head, cpu_samples=_samples(doc["cpu_samples"]),
                   machine_cpu_samples=_samples(doc["machine_cpu_samples"]),
                   counters=GeneratorCounters.from_dict(doc["counters"]),
                   patterns={p: PatternRecord.from_dict(r) for p, r in doc["patterns"].items()})

    @classmethod
    def from_any(cls, doc: dict[str, Any]) -> ProcessRecord:
        """A version-1 or version-2 document as version-2 objects."""
        version = doc.get("format_version")
        if version == FORMAT_VERSION:
            return cls.from_dict(doc)
        if version == 1:
            return from_v1(doc)
        raise ValueError(f"measurements format version {version!r}; readable: "
                         f"{', '.join(map(str, READABLE_VERSIONS))}")


_NESTED = ("cpu_samples", "machine_cpu_samples", "counters", "patterns")
_REQUIRED = ("label", "test_start_unix_s", "started_s", "ended_s", "client", "interval_s")


def _samples(rows: list[list[float]]) -> Samples:
    return [(float(t), float(v)) for t, v in rows]


def from_v1(doc: dict[str, Any]) -> ProcessRecord:
    """A version-1 file as version-2 objects. Version 1 kept one histogram per pattern with
    failures mixed in (kept under ``all``, ``mixed_outcomes``) and absolute times: the test
    start becomes the interval boundary at or before the process start, so the intervals,
    aligned to absolute multiples of ``interval_s`` in version 1, stay on the grid."""
    interval_s = float(doc.get("interval_s", 5.0))
    start = math.floor(doc["started_unix_s"] / interval_s) * interval_s
    patterns = {}
    for name, p in doc["patterns"].items():
        stats = LatencyStats(decode(p["hist"]), p["count"], p["min_ns"], p["max_ns"], p["sum_ns"],
                             p["clamped"])
        intervals = {round(iv["start_unix_s"] - start, 6): {MIXED: decode(iv["hist"])}
                     for iv in p["intervals"]}
        patterns[name] = PatternRecord(
            latency={MIXED: stats} if p["count"] else {}, intervals=intervals,
            outcomes=Counter(p["outcomes"]), error_codes=Counter(p["error_codes"]),
            retries=p["retries"], consumed=ConsumedCapacity(p["capacity"], p["index_capacity"]),
            items=p["items"], response_bytes=p["response_bytes"],
            schedule_lag_ns=p["schedule_lag_ns"], late=p["late"], mixed_outcomes=True)
    return ProcessRecord(
        doc["label"], start, doc["started_unix_s"] - start, doc["ended_unix_s"] - start,
        client=DEFAULT_CLIENT, model=doc.get("model", ""), interval_s=interval_s,
        raw_fraction=doc.get("raw_fraction", 1.0), pid=doc.get("pid", 0), host=doc.get("host", ""),
        machine_cpus=doc.get("machine_cpus"),
        cpu_samples=[(t - start, v) for t, v in doc["cpu_samples"]],
        machine_cpu_samples=[(t - start, v) for t, v in doc.get("machine_cpu_samples", [])],
        counters=GeneratorCounters.from_dict(doc.get("counters", {})), patterns=patterns,
        format_version=1)


def write_process_file(path: Path, record: ProcessRecord) -> Path:
    """Write ``record`` to ``path`` atomically (readers never see half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record.to_dict()))
    tmp.replace(path)
    return path


def read_process_file(path: Path) -> ProcessRecord:
    """A process file of either version; UnusableInput (exit 2) naming the file otherwise."""
    try:
        doc = json.loads(Path(path).read_text())
        return ProcessRecord.from_any(doc)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        detail = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
        raise UnusableInput(f"{path}: unreadable measurements ({detail}); re-run, or refresh the "
                            "baseline with a current ddbbench") from None
