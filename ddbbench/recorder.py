"""Per-process measurements of a run: microsecond HDR histograms, raw records, CPU samples.

Each load process owns one ``Recorder`` and writes ``histograms/<label>.json`` (and
``requests/<label>.csv``) into the run directory when it stops; ``analysis`` merges the
processes. Histograms hold latency in whole microseconds with 3 significant digits (a value
is known to within 0.1%); exact count, min, max and sum are kept beside them in nanoseconds.
"""

from __future__ import annotations

import json
import os
import random
import socket
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from hdrh.histogram import HdrHistogram

from ddbbench.execute import Result

FORMAT_VERSION = 1
HIST_MAX_US = 60_000_000  # 60 s: longer latencies are clamped to this and counted
HIST_DIGITS = 3
# Per-process generator counters written beside the histograms (summed by analysis).
COUNTERS = ("warmup_requests", "late_starts", "scheduled", "not_started", "cap_waits")
BATCH = 256  # results processed together (see Recorder.record)
LATE_NS = 1_000_000  # an open-model request starting > 1 ms after its intended time is late
# latency_us: from the intended start (what percentiles use) = service_us + schedule_lag_us.
CSV_COLUMNS = ("start_unix_us", "pattern", "latency_us", "service_us", "schedule_lag_us", "outcome",
               "error_code", "retries", "capacity", "index_capacity", "items", "response_bytes")


def new_histogram() -> HdrHistogram:
    return HdrHistogram(1, HIST_MAX_US, HIST_DIGITS)


def to_us(latency_ns: int) -> int:
    """Histogram value for a latency: whole microseconds, at least 1."""
    return min(max(1, round(latency_ns / 1000)), HIST_MAX_US)


@dataclass
class PatternStats:
    hist: HdrHistogram = field(default_factory=new_histogram)
    count: int = 0
    min_ns: int = 0
    max_ns: int = 0
    sum_ns: int = 0
    clamped: int = 0
    retries: int = 0
    capacity: float = 0.0
    index_capacity: float = 0.0
    items: int = 0
    response_bytes: int = 0
    schedule_lag_ns: int = 0
    late: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    error_codes: Counter[str] = field(default_factory=Counter)
    open_intervals: dict[int, HdrHistogram] = field(default_factory=dict)
    closed_intervals: list[dict[str, Any]] = field(default_factory=list)

    def add(self, r: Result, interval: int) -> None:
        latency_ns = r.response_ns  # from the intended start: coordinated omission corrected
        value = to_us(latency_ns)
        self.clamped += value == HIST_MAX_US
        # Recorded once, into its interval; intervals are added into ``hist`` as they close.
        hist = self.open_intervals.get(interval)
        if hist is None:
            hist = self.open_intervals[interval] = new_histogram()
        hist.record_value(value)
        self.min_ns = latency_ns if self.count == 0 else min(self.min_ns, latency_ns)
        self.max_ns = max(self.max_ns, latency_ns)
        self.count += 1
        self.sum_ns += latency_ns
        self.schedule_lag_ns += r.schedule_lag_ns
        self.late += r.schedule_lag_ns > LATE_NS
        self.retries += r.retries
        self.capacity += r.capacity
        self.index_capacity += r.index_capacity
        self.items += r.items
        self.response_bytes += r.response_bytes
        self.outcomes[r.outcome] += 1
        if r.error_code:
            self.error_codes[r.error_code] += 1

    def close_intervals(self, before: int, interval_s: float) -> None:
        """Encode finished intervals so memory does not grow with the run's length."""
        for start in sorted(k for k in self.open_intervals if k < before):
            hist = self.open_intervals.pop(start)
            self.hist.add(hist)
            self.closed_intervals.append({"start_unix_s": start * interval_s,
                                          "hist": hist.encode().decode()})

    def to_dict(self) -> dict[str, Any]:
        return {"count": self.count, "min_ns": self.min_ns, "max_ns": self.max_ns,
                "sum_ns": self.sum_ns, "clamped": self.clamped, "retries": self.retries,
                "capacity": self.capacity, "index_capacity": self.index_capacity,
                "items": self.items, "response_bytes": self.response_bytes,
                "schedule_lag_ns": self.schedule_lag_ns, "late": self.late,
                "outcomes": dict(self.outcomes), "error_codes": dict(self.error_codes),
                "hist": self.hist.encode().decode(), "intervals": self.closed_intervals}


class Recorder:
    """Collects every request of one load process. Example::

        >>> rec = Recorder(Path("/tmp/run"), "p0", raw=False)    # doctest: +SKIP
        >>> rec.record("get_conversation", result)               # doctest: +SKIP
        >>> rec.close()                                           # doctest: +SKIP
    """

    def __init__(self, run_dir: Path, label: str, interval_s: float = 5.0, raw: bool = True,
                 raw_fraction: float = 1.0) -> None:
        self.run_dir = Path(run_dir)
        self.label = label
        self.interval_s = interval_s
        self.raw_fraction = raw_fraction if raw else 0.0
        self._sample = random.Random(label)  # reproducible per process, independent of requests
        self.patterns: dict[str, PatternStats] = {}
        self.cpu: list[tuple[float, float]] = []
        self.machine_cpu: list[tuple[float, float]] = []
        self.started = time.time()
        self._last_interval = -1
        self._pending: list[tuple[str, Result]] = []
        self._raw: TextIO | None = None
        if raw and raw_fraction > 0:
            path = self.run_dir / "requests" / f"{label}.csv"
            path.parent.mkdir(parents=True, exist_ok=True)
            self._raw = open(path, "w", buffering=1 << 20)  # noqa: SIM115 (closed in close())
            self._raw.write(",".join(CSV_COLUMNS) + "\n")

    def record(self, pattern: str, r: Result) -> None:
        """Keep one result. Processing is batched: interleaved with boto3's large working set,
        per-request bookkeeping runs with cold caches (measured: ~4x its cost in a tight loop);
        a batch of BATCH results is processed together, warm. Nothing is lost: every result
        carries its own times, and ``close`` flushes what is pending."""
        self._pending.append((pattern, r))
        if len(self._pending) >= BATCH:
            self.flush()

    def flush(self) -> None:
        pending, self._pending = self._pending, []
        for pattern, r in pending:
            self._process(pattern, r)

    def _process(self, pattern: str, r: Result) -> None:
        # Intervals by completion time: in one process completions arrive in time order, so
        # an interval is complete once a later one has begun.
        interval = int((r.start_unix_ns + r.latency_ns) / 1e9 // self.interval_s)
        stats = self.patterns.get(pattern)
        if stats is None:
            stats = self.patterns[pattern] = PatternStats()
        stats.add(r, interval)
        if interval > self._last_interval:
            for s in self.patterns.values():
                s.close_intervals(interval, self.interval_s)
            self._last_interval = interval
        if self._raw is not None and (self.raw_fraction >= 1 or self._sample.random() < self.raw_fraction):
            # Formatted by hand (no field needs quoting): the csv module costs more per row.
            self._raw.write(f"{r.start_unix_ns // 1000},{pattern},{r.response_ns / 1000:.3f},"
                            f"{r.latency_ns / 1000:.3f},{r.schedule_lag_ns / 1000:.3f},"
                            f"{r.outcome},{r.error_code},{r.retries},{r.capacity},"
                            f"{r.index_capacity},{r.items},{r.response_bytes}\n")

    def sample_cpu(self, percent: float, machine_percent: float | None = None) -> None:
        """This process's CPU (% of one core) and, if given, the machine's (% of all cores)."""
        self.cpu.append((round(time.time(), 3), percent))
        if machine_percent is not None:
            self.machine_cpu.append((round(time.time(), 3), machine_percent))

    def close(self, extra: dict[str, Any] | None = None) -> Path:
        """Write this process's histograms file (atomically) and close the raw records."""
        self.flush()
        for s in self.patterns.values():
            s.close_intervals(1 << 62, self.interval_s)
        if self._raw is not None:
            self._raw.close()
            self._raw = None
        doc = {"format_version": FORMAT_VERSION, "label": self.label, "pid": os.getpid(),
               "host": socket.gethostname(), "unit": "us", "significant_digits": HIST_DIGITS,
               "interval_s": self.interval_s, "raw_fraction": self.raw_fraction,
               "started_unix_s": self.started,
               "ended_unix_s": time.time(), "cpu_samples": self.cpu,
               "machine_cpu_samples": self.machine_cpu, "machine_cpus": os.cpu_count(),
               "patterns": {p: s.to_dict() for p, s in sorted(self.patterns.items())},
               **(extra or {})}
        path = self.run_dir / "histograms" / f"{self.label}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc))
        tmp.replace(path)
        return path
