"""Run-directory schema, version 2: what a load process writes and analysis reads, in one place.

Each load process writes ``histograms/<label>.json``: one ``ProcessRecord``, built by the
recorder and read back by ``analysis.rundata`` through the same dataclasses; its per-pattern
records (latency histograms, capacity) are in ddbbench/patternrecord.py, and every name is
importable from here. Times are seconds since ``test_start_unix_s``. Version-1
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

from ddbbench.errors import UnusableInput
from ddbbench.patternrecord import (
    FAILED,
    HIST_DIGITS,
    HIST_MAX_US,
    INDEX_SEPARATOR,
    MIXED,
    OK,
    ConsumedCapacity,
    Intervals,
    LatencyStats,
    PatternRecord,
    decode,
    encode,
    new_histogram,
    split_capacity_name,
    to_us,
)

# The schema's public names, the per-pattern ones included (they live in ddbbench/patternrecord.py).
__all__ = ["COUNTERS", "CSV_COLUMNS", "DEFAULT_CLIENT", "FAILED", "FORMAT", "FORMAT_VERSION", "HIST_DIGITS",
           "HIST_MAX_US", "INDEX_SEPARATOR", "MIXED", "OK", "READABLE_VERSIONS", "ConsumedCapacity",
           "GeneratorCounters", "Intervals", "LatencyStats", "PatternRecord", "ProcessRecord", "Samples",
           "decode", "encode", "from_v1", "new_histogram", "read_process_file", "split_capacity_name",
           "to_us", "write_process_file"]

FORMAT = "ddbbench-measurements"
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
DEFAULT_CLIENT = "boto3"
# requests/<label>.csv, one row per request (or a sample): start_unix_us is absolute (the
# process file's test_start_unix_s gives the test start); latency_us, from the intended start,
# is service_us + schedule_lag_us. items_written and bytes_written are new in version 2.
CSV_COLUMNS = ("start_unix_us", "pattern", "latency_us", "service_us", "schedule_lag_us", "outcome",
               "error_code", "retries", "capacity", "index_capacity", "items", "response_bytes",
               "items_written", "bytes_written")


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
