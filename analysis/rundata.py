"""Loading a run directory: merged measurements per pattern, processes, raw records.

The per-process files are read through ``ddbbench.runformat`` (versions 1 and 2) and merged:
counts add exactly, histograms merge exactly, intervals are re-keyed to the run's test start
(the earliest process's) so that every process's interval N lands in the same slot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd
from hdrh.histogram import HdrHistogram

from ddbbench.errors import BenchError, ConfigError
from ddbbench.rundir import read_manifest
from ddbbench.runformat import (
    CSV_COLUMNS,
    FAILED,
    OK,
    LatencyStats,
    PatternRecord,
    ProcessRecord,
    read_process_file,
)

ProcessData = ProcessRecord  # one load process (its ``patterns`` emptied once merged)


class PatternData(PatternRecord):
    """One pattern's measurements merged over every load process, with the views analysis
    uses. Latency views (``hist``, ``min_ns`` ...) are of successful requests only (for
    version-1 data, of every request: ``mixed_outcomes``); ``count`` is every request.

    >>> d = PatternData()
    >>> d.latency["ok"] = LatencyStats(count=2, min_ns=1, max_ns=3, sum_ns=4)
    >>> d.outcomes.update(ok=2, connection=5)
    >>> (d.count, d.successful, d.failed_count, d.success.max_ns)
    (7, 2, 5, 3)
    """

    @property
    def success(self) -> LatencyStats:
        return self.latency.get(self.success_key) or LatencyStats()

    @property
    def successful(self) -> int:
        return self.outcomes.get(OK, 0)

    @property
    def failed_count(self) -> int:
        return self.count - self.successful

    @property
    def failed(self) -> LatencyStats:
        """Every failed request's latency (empty for version-1 data: not kept apart)."""
        out = LatencyStats()
        if not self.mixed_outcomes:
            for key, stats in self.latency.items():
                if key != OK:
                    out.merge(stats)
        return out

    # Views under the names analysis used before format 2 (knee, plan, charts read them).
    @property
    def hist(self) -> HdrHistogram:
        return self.success.hist

    @property
    def min_ns(self) -> int:
        return self.success.min_ns

    @property
    def max_ns(self) -> int:
        return self.success.max_ns

    @property
    def sum_ns(self) -> int:
        return self.success.sum_ns

    @property
    def clamped(self) -> int:
        return sum(s.clamped for s in self.latency.values())

    @property
    def capacity(self) -> float:
        return self.consumed.table_units

    @property
    def index_capacity(self) -> float:
        return self.consumed.index_units

    def success_intervals(self) -> dict[float, HdrHistogram]:
        """Per interval start (s since the test start): the successful requests' histogram."""
        key = self.success_key
        return {start: h[key] for start, h in sorted(self.intervals.items()) if key in h}

    def failed_intervals(self) -> dict[float, HdrHistogram]:
        return {start: h[FAILED] for start, h in sorted(self.intervals.items()) if FAILED in h}


@dataclass
class RunData:
    run_dir: Path
    manifest: dict[str, Any]
    patterns: dict[str, PatternData]
    processes: list[ProcessRecord]

    @property
    def run_id(self) -> str:
        return str(self.manifest["run_id"])

    @property
    def design(self) -> str:
        return design_name(self.manifest)

    @property
    def interval_s(self) -> float:
        return self.processes[0].interval_s if self.processes else 5.0

    @property
    def raw_fraction(self) -> float:
        """The smallest of the processes' fractions (they share the scenario's setting)."""
        return min((p.raw_fraction for p in self.processes), default=0.0)

    @property
    def test_start_unix_s(self) -> float:
        """The run's test start: interval starts are seconds since it."""
        return min((p.test_start_unix_s for p in self.processes), default=0.0)

    @property
    def clients(self) -> list[str]:
        return sorted({p.client for p in self.processes})

    @property
    def measurements_version(self) -> int:
        """The oldest process file's format version (1: failures mixed into latency)."""
        return min((p.format_version for p in self.processes), default=2)

    @property
    def duration_s(self) -> float:
        if not self.processes:
            return 0.0
        return (max(p.ended_unix_s for p in self.processes)
                - min(p.started_unix_s for p in self.processes))


def merge_processes(records: Sequence[ProcessRecord]) -> dict[str, PatternData]:
    """Every process's patterns merged, intervals keyed by seconds since the earliest test start."""
    t0 = min((r.test_start_unix_s for r in records), default=0.0)
    patterns: dict[str, PatternData] = {}
    for rec in records:
        for name, data in rec.patterns.items():
            moved = replace(data, intervals=data.shifted(rec.test_start_unix_s - t0, rec.interval_s))
            patterns.setdefault(name, PatternData()).merge(moved)
    return patterns


def load_run(run_dir: str | Path) -> RunData:
    """Read a run directory and merge its load processes' measurements."""
    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir)
    files = sorted((run_dir / "histograms").glob("*.json"))
    if not files:
        raise BenchError(f"{run_dir}: no measurements (histograms/*.json); did the load run?")
    records = [read_process_file(path) for path in files]
    patterns = merge_processes(records)
    return RunData(run_dir, manifest, patterns, [replace(r, patterns={}) for r in records])


def load_runs(run_dirs: Sequence[str | Path]) -> list[RunData]:
    """Several run directories at once, in the order given (for comparisons)."""
    seen: set[Path] = set()
    for d in run_dirs:
        if Path(d).resolve() in seen:
            raise ConfigError(f"{d}: run directory given twice; allowed: each run once")
        seen.add(Path(d).resolve())
    return [load_run(d) for d in run_dirs]


def design_name(manifest: dict[str, Any]) -> str:
    """The key design a run used: the scenario's ``design`` (a name, or a mapping with a
    ``name``); runs from before designs were selectable used the seed design."""
    design = manifest.get("scenario", {}).get("design") or "seed"
    return str(design.get("name", "seed")) if isinstance(design, dict) else str(design)


def requests_frame(run_dir: str | Path) -> pd.DataFrame:
    """Every recorded request as one row (all load processes), for pandas analysis.
    Columns added since version 1 (items_written, bytes_written) are 0 in older files."""
    files = sorted((Path(run_dir) / "requests").glob("*.csv"))
    if not files:
        return pd.DataFrame(columns=list(CSV_COLUMNS))
    frames = [pd.read_csv(f, dtype={"error_code": "string"}, keep_default_na=False)
              for f in files]
    frame = pd.concat(frames, ignore_index=True)
    for column in CSV_COLUMNS:
        if column not in frame:
            frame[column] = 0
    return frame
