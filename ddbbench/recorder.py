"""Per-process measurements of a run: microsecond HDR histograms, raw records, CPU samples.

Each load process owns one ``Recorder`` and writes ``histograms/<label>.json`` (a
``ddbbench.runformat.ProcessRecord``, format version 2) and ``requests/<label>.csv`` into the
run directory when it stops; ``analysis`` merges the processes. Successful and failed requests
are kept apart: one latency histogram per outcome class, and per interval one for successes and
one for failures, so a fast failure never improves a percentile.
"""

from __future__ import annotations

import io
import os
import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from hdrh.histogram import HdrHistogram

from ddbbench.execute import Result
from ddbbench.runformat import (
    COUNTERS,
    CSV_COLUMNS,
    DEFAULT_CLIENT,
    FAILED,
    FORMAT_VERSION,
    HIST_DIGITS,
    HIST_MAX_US,
    OK,
    GeneratorCounters,
    LatencyStats,
    PatternRecord,
    ProcessRecord,
    new_histogram,
    to_us,
    write_process_file,
)

__all__ = ["BATCH", "COUNTERS", "CSV_COLUMNS", "FORMAT_VERSION", "HIST_DIGITS", "HIST_MAX_US",
           "LATE_NS", "Recorder", "new_histogram", "to_us"]

BATCH = 256  # results processed together (see Recorder.record)
LATE_NS = 1_000_000  # an open-model request starting > 1 ms after its intended time is late
_ROW = "%s,%s,%.3f,%.3f,%.3f,%s,%s,%s,%s,%s,%s,%s,%s,%s\n"  # a raw row, CSV_COLUMNS' order


_ROW_ON_TIME = "%s,%s,%s,%s,0.000,%s,%s,%s,%s,%s,%s,%s,%s,%s\n"  # lag 0: response time = latency


def _row(pattern: str, r: Result) -> str:
    """One raw CSV row. Formatted by hand (no field needs quoting): the csv module costs more
    per row, an f-string with format specs about twice this. A request with no schedule lag
    (every closed-model one) formats its latency once: two float formats less, same text."""
    lat, lag = r.latency_ns, r.schedule_lag_ns
    if lag == 0:
        ms = "%.3f" % (lat / 1000)
        return _ROW_ON_TIME % (r.start_unix_ns // 1000, pattern, ms, ms, r.outcome, r.error_code, r.retries,
                               r.capacity, r.index_capacity, r.items, r.response_bytes, r.items_written,
                               r.bytes_written)
    return _ROW % (r.start_unix_ns // 1000, pattern, (lat + lag) / 1000, lat / 1000, lag / 1000, r.outcome,
                   r.error_code, r.retries, r.capacity, r.index_capacity, r.items, r.response_bytes,
                   r.items_written, r.bytes_written)


# hdrh's index arithmetic (HdrHistogram._counts_index_for), with the constants of our one
# histogram layout (new_histogram) read once: see record_values.
_LAYOUT = new_histogram()
_SUB_MASK = _LAYOUT.sub_bucket_mask
_UNIT = _LAYOUT.unit_magnitude
_HALF_MAGNITUDE = _LAYOUT.sub_bucket_half_count_magnitude
_HALF = _LAYOUT.sub_bucket_half_count
_BUCKET_OFFSET = _UNIT + _HALF_MAGNITUDE + 1
del _LAYOUT


def record_values(hist: HdrHistogram, values: list[int]) -> None:
    """``hist.record_value(v)`` for each of ``values`` (1 <= v <= HIST_MAX_US, as ``to_us``
    gives; ``hist`` from ``new_histogram``), the same counts, total, min and max. hdrh's
    record_value costs five Python calls per value; here it is a few integer operations."""
    if not values:
        return
    counts = hist.counts
    for v in values:
        bucket = (v | _SUB_MASK).bit_length() - _BUCKET_OFFSET
        counts[((bucket + 1) << _HALF_MAGNITUDE) + (v >> (bucket + _UNIT)) - _HALF] += 1
    hist.total_count += len(values)
    hist.min_value = min(hist.min_value, min(values))
    hist.max_value = max(hist.max_value, max(values))


@dataclass
class PatternStats:
    """A pattern's record while it is being written: finished intervals are merged into the
    whole-run histograms as they close, so memory does not grow with the run's length.
    Histogram values wait in ``pending`` (per interval and OK/FAILED) until ``commit``, which
    the recorder calls once per batch."""

    record: PatternRecord = field(default_factory=PatternRecord)
    open_intervals: dict[int, dict[str, HdrHistogram]] = field(default_factory=dict)
    pending: dict[tuple[int, str], list[int]] = field(default_factory=dict)

    def add_batch(self, results: list[Result], intervals: list[int]) -> list[int]:
        """Account ``results`` (completed in ``intervals``, in that order). The sums run in
        local variables (from the record's totals, in request order: float capacity sums
        come out the same as added one by one) and are stored once per batch. Returns the
        successes' histogram values (``to_us`` of their response times), for the progress
        line: the same values, without a second pass over the results."""
        rec, consumed, pending = self.record, self.record.consumed, self.pending
        latencies: dict[str, list[int]] = {}
        ok_values: list[int] = []
        by_name = consumed.by_name
        table, index = consumed.table_units, consumed.index_units
        retries = items = response_bytes = items_written = bytes_written = lag_sum = late = 0
        for r, interval in zip(results, intervals, strict=True):
            lag = r.schedule_lag_ns
            latency_ns = r.latency_ns + lag  # from the intended start: coordinated omission corrected
            outcome = r.outcome
            same = latencies.get(outcome)
            if same is None:
                same = latencies[outcome] = []
            same.append(latency_ns)
            value = min(max(1, round(latency_ns / 1000)), HIST_MAX_US)  # to_us, inlined
            if outcome == OK:
                key = (interval, OK)
                ok_values.append(value)
            else:
                key = (interval, FAILED)
            values = pending.get(key)
            if values is None:
                values = pending[key] = []
            values.append(value)
            if outcome != OK and r.error_code:
                rec.error_codes[r.error_code] += 1
            if lag:
                lag_sum += lag
                late += lag > LATE_NS
            retries += r.retries
            table += r.capacity
            index += r.index_capacity
            for name, units in r.capacity_by:
                by_name[name] = by_name.get(name, 0.0) + units
            items += r.items
            response_bytes += r.response_bytes
            items_written += r.items_written
            bytes_written += r.bytes_written
        consumed.table_units, consumed.index_units = table, index
        rec.retries += retries
        rec.items += items
        rec.response_bytes += response_bytes
        rec.items_written += items_written
        rec.bytes_written += bytes_written
        rec.schedule_lag_ns += lag_sum
        rec.late += late
        for outcome, same in latencies.items():
            self._add_latencies(outcome, same)
        return ok_values

    def _add_latencies(self, outcome: str, latencies_ns: list[int]) -> None:
        """LatencyStats.add of each of ``latencies_ns`` (one outcome class), at once."""
        rec = self.record
        stats = rec.latency.get(outcome)
        if stats is None:
            stats = rec.latency[outcome] = LatencyStats()
        low = min(latencies_ns)
        stats.min_ns = low if stats.count == 0 else min(stats.min_ns, low)
        stats.max_ns = max(stats.max_ns, max(latencies_ns))
        stats.count += len(latencies_ns)
        stats.sum_ns += sum(latencies_ns)
        limit = HIST_MAX_US * 1000
        stats.clamped += sum(1 for v in latencies_ns if v >= limit)
        rec.outcomes[outcome] += len(latencies_ns)
        if outcome != OK:  # successes reach their total when their interval closes
            record_values(stats.hist, [to_us(v) for v in latencies_ns])

    def commit(self) -> None:
        """Record the pending values into their intervals' histograms."""
        for (interval, key), values in self.pending.items():
            hists = self.open_intervals.get(interval)
            if hists is None:
                hists = self.open_intervals[interval] = {}
            hist = hists.get(key)
            if hist is None:
                hist = hists[key] = new_histogram()
            record_values(hist, values)
        self.pending = {}

    def close_intervals(self, before: int, interval_s: float) -> None:
        if self.pending:
            self.commit()
        for index in sorted(k for k in self.open_intervals if k < before):
            hists = self.open_intervals.pop(index)
            if OK in hists:
                self.record.latency[OK].hist.add(hists[OK])
            # A straggler completing after its interval closed reopens it: add, never replace.
            closed = self.record.intervals.setdefault(round(index * interval_s, 6), {})
            for key, hist in hists.items():
                if key in closed:
                    closed[key].add(hist)
                else:
                    closed[key] = hist


class Recorder:
    """Collects every request of one load process. Example::

        >>> rec = Recorder(Path("/tmp/run"), "p0", raw=False)    # doctest: +SKIP
        >>> rec.record("get_conversation", result)               # doctest: +SKIP
        >>> rec.close()                                           # doctest: +SKIP

    ``test_start_unix_s``: the test's start, shared by the processes of a run when the caller
    knows it (intervals and CPU samples are timed from it); default: when the recorder starts.
    ``client``: the client kind that sent the requests ("boto3").
    """

    def __init__(self, run_dir: Path | None, label: str, interval_s: float = 5.0, raw: bool = True,
                 raw_fraction: float = 1.0, *, test_start_unix_s: float | None = None,
                 client: str = DEFAULT_CLIENT) -> None:
        # run_dir None: nothing is written here; raw rows are kept for ``take_rows`` (a worker
        # that sends its measurements to the master instead of a shared disk).
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.label = label
        self.interval_s = interval_s
        self.raw_fraction = raw_fraction if raw else 0.0
        self.client = client
        self._sample = random.Random(label)  # reproducible per process, independent of requests
        self.patterns: dict[str, PatternStats] = {}
        self.cpu: list[tuple[float, float]] = []
        self.machine_cpu: list[tuple[float, float]] = []
        self.started = time.time()
        # When the measured window begins (the warm-up window's end); None: when recording began.
        # The record's started_s is this, so a run's rates are over the seconds it measured.
        self.measuring_from_unix_s: float | None = None
        # When it ends: the process was told to stop sending (the test stopping, or its
        # request-unit cap spent), or the last measured request started, whichever is later
        # (an open-model schedule runs to its end); None: when the record is made. Draining, a
        # worker's final delta and writing the files come after, and on a busy machine take
        # seconds: not measured time.
        self.measuring_until_unix_s: float | None = None
        self._last_start_ns = 0
        self.test_start_unix_s = self.started if test_start_unix_s is None else test_start_unix_s
        self._start_ns = round(self.test_start_unix_s * 1e9)
        self._interval_ns = round(interval_s * 1e9)
        self._last_interval: int | None = None
        self._pending: list[tuple[str, Result]] = []
        # Called per pattern of each processed batch (the progress line's counts): its
        # requests, errors, throttles and the successes' histogram values.
        self.on_batch: Callable[[str, int, int, int, list[int]], None] | None = None
        # Called with each processed batch's (pattern, result) pairs, in recording order (Locust's
        # request events: fired a batch at a time, warm, instead of one by one after each read).
        self.on_flush: Callable[[list[tuple[str, Result]]], None] | None = None
        self._raw: TextIO | None = None
        if raw and raw_fraction > 0 and self.run_dir is None:
            self._raw = io.StringIO()
        elif raw and raw_fraction > 0 and self.run_dir is not None:
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
        if not pending:
            return
        groups: dict[str, tuple[list[Result], list[int]]] = {}
        rows: list[str] = []
        start_ns, interval_ns = self._start_ns, self._interval_ns
        sample = self._raw is not None and self.raw_fraction > 0
        last_start = max(r.start_unix_ns for _, r in pending)
        if last_start > self._last_start_ns:
            self._last_start_ns = last_start
        for pattern, r in pending:
            # Intervals by completion time, counted from the test start.
            interval = (r.start_unix_ns + r.latency_ns - start_ns) // interval_ns
            group = groups.get(pattern)
            if group is None:
                group = groups[pattern] = ([], [])
            group[0].append(r)
            group[1].append(interval)
            if sample and (self.raw_fraction >= 1 or self._sample.random() < self.raw_fraction):
                rows.append(_row(pattern, r))
        for pattern, (results, intervals) in groups.items():
            stats = self.patterns.get(pattern)
            if stats is None:
                stats = self.patterns[pattern] = PatternStats()
            ok_values = stats.add_batch(results, intervals)
            if self.on_batch is not None:
                errors = len(results) - len(ok_values)
                throttled = sum(1 for r in results if r.outcome == "throttled") if errors else 0
                self.on_batch(pattern, len(results), errors, throttled, ok_values)
        # In one process completions arrive in time order, so an interval is complete once a
        # later one has begun (a straggler reopens its interval: see close_intervals).
        latest = max(i for _, intervals in groups.values() for i in intervals)
        if self._last_interval is None or latest > self._last_interval:
            self._last_interval = latest
        for stats in self.patterns.values():
            stats.close_intervals(self._last_interval, self.interval_s)
        if rows and self._raw is not None:
            self._raw.write("".join(rows))
        if self.on_flush is not None:
            self.on_flush(pending)

    def sample_cpu(self, percent: float, machine_percent: float | None = None) -> None:
        """This process's CPU (% of one core) and, if given, the machine's (% of all cores)."""
        t = round(time.time() - self.test_start_unix_s, 3)
        self.cpu.append((t, percent))
        if machine_percent is not None:
            self.machine_cpu.append((t, machine_percent))

    def to_record(self, extra: dict[str, Any] | None = None, *, delta: bool = False) -> ProcessRecord:
        """Everything measured so far as a ``ProcessRecord`` (intervals still open are closed).
        ``extra``: ``counters`` (GeneratorCounters fields) and ``model`` (closed or open); any
        other key is kept in the record's ``extra``. ``delta``: a span of a process still
        running, whose measured window may not have begun yet: its started_s is when that
        window begins, even if later than its ended_s (the merge keeps the earliest start and
        the latest end, ``ddbbench.deltas.merge_records``)."""
        extra = dict(extra or {})
        counters = GeneratorCounters.from_dict(extra.pop("counters", {}))
        model = str(extra.pop("model", ""))
        self.flush()
        for s in self.patterns.values():
            s.close_intervals(1 << 62, self.interval_s)
        start, now = self.test_start_unix_s, time.time()
        if self.measuring_until_unix_s is not None:
            now = min(now, max(self.measuring_until_unix_s, self._last_start_ns / 1e9))
        began = self.started if self.measuring_from_unix_s is None else self.measuring_from_unix_s
        began = max(began, self.started)
        if not delta:
            began = min(began, now)  # a run stopped inside its warm-up measured 0 s
        return ProcessRecord(
            self.label, start, round(began - start, 6), round(now - start, 6),
            client=self.client, model=model, interval_s=self.interval_s,
            raw_fraction=self.raw_fraction, pid=os.getpid(), host=socket.gethostname(),
            machine_cpus=os.cpu_count(), cpu_samples=list(self.cpu),
            machine_cpu_samples=list(self.machine_cpu), counters=counters,
            patterns={p: s.record for p, s in sorted(self.patterns.items())}, extra=extra)

    def take_delta(self, extra: dict[str, Any] | None = None) -> ProcessRecord:
        """Everything measured since the previous delta, as a record of its own; the recorder
        starts over (intervals are additive: a later delta adds to an interval this one had
        begun). Merged with ``ddbbench.deltas.merge_records``, the deltas equal ``to_record``
        of a recorder that never took one."""
        delta = self.to_record(extra, delta=True)
        self.patterns = {}
        self.cpu = []
        self.machine_cpu = []
        self._last_interval = None
        return delta

    def take_rows(self) -> list[str]:
        """Raw rows (CSV lines, no header) recorded since the last call, when kept in memory."""
        if not isinstance(self._raw, io.StringIO):
            return []
        self.flush()
        text = self._raw.getvalue()
        self._raw = io.StringIO()
        return text.splitlines()

    def close(self, extra: dict[str, Any] | None = None) -> Path:
        """Write this process's histograms file (atomically) and close the raw records."""
        if self.run_dir is None:
            raise ValueError("a recorder without a run directory sends deltas; it writes nothing")
        record = self.to_record(extra)
        if self._raw is not None:
            self._raw.close()
            self._raw = None
        return write_process_file(self.run_dir / "histograms" / f"{self.label}.json", record)
