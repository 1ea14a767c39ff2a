"""Loading a run directory: merged histograms per pattern, processes, raw records."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from hdrh.histogram import HdrHistogram

from ddbbench.errors import BenchError, ConfigError
from ddbbench.recorder import CSV_COLUMNS, FORMAT_VERSION, new_histogram
from ddbbench.rundir import read_manifest

_SUMMED = ("count", "sum_ns", "clamped", "retries", "capacity", "index_capacity", "items",
           "response_bytes", "schedule_lag_ns", "late")


@dataclass
class PatternData:
    """One pattern's measurements merged over every load process (counts add exactly)."""

    hist: HdrHistogram = field(default_factory=new_histogram)
    intervals: dict[float, HdrHistogram] = field(default_factory=dict)
    outcomes: Counter[str] = field(default_factory=Counter)
    error_codes: Counter[str] = field(default_factory=Counter)
    count: int = 0
    sum_ns: int = 0
    min_ns: int = 0
    max_ns: int = 0
    clamped: int = 0
    retries: int = 0
    capacity: float = 0.0
    index_capacity: float = 0.0
    items: int = 0
    response_bytes: int = 0
    schedule_lag_ns: int = 0
    late: int = 0

    def merge(self, doc: dict[str, Any]) -> None:
        if doc["count"] == 0:
            return
        self.min_ns = doc["min_ns"] if self.count == 0 else min(self.min_ns, doc["min_ns"])
        self.max_ns = max(self.max_ns, doc["max_ns"])
        for name in _SUMMED:
            setattr(self, name, getattr(self, name) + doc[name])
        self.outcomes.update(doc["outcomes"])
        self.error_codes.update(doc["error_codes"])
        self.hist.add(HdrHistogram.decode(doc["hist"]))
        for iv in doc["intervals"]:
            target = self.intervals.setdefault(iv["start_unix_s"], new_histogram())
            target.add(HdrHistogram.decode(iv["hist"]))


@dataclass(frozen=True)
class ProcessData:
    label: str
    started_unix_s: float
    ended_unix_s: float
    cpu_samples: list[tuple[float, float]]
    counters: dict[str, int] = field(default_factory=dict)  # warm-up, late starts, not started
    machine_cpu_samples: list[tuple[float, float]] = field(default_factory=list)
    interval_s: float = 5.0  # length of the histogram intervals
    raw_fraction: float = 1.0  # fraction of requests kept as raw records


@dataclass
class RunData:
    run_dir: Path
    manifest: dict[str, Any]
    patterns: dict[str, PatternData]
    processes: list[ProcessData]

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
    def duration_s(self) -> float:
        if not self.processes:
            return 0.0
        return (max(p.ended_unix_s for p in self.processes)
                - min(p.started_unix_s for p in self.processes))


def load_run(run_dir: str | Path) -> RunData:
    """Read a run directory and merge its load processes' histograms."""
    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir)
    files = sorted((run_dir / "histograms").glob("*.json"))
    if not files:
        raise BenchError(f"{run_dir}: no measurements (histograms/*.json); did the load run?")
    patterns: dict[str, PatternData] = {}
    processes = []
    for path in files:
        doc = _read_process_file(path)
        processes.append(ProcessData(doc["label"], doc["started_unix_s"], doc["ended_unix_s"],
                                     [tuple(s) for s in doc["cpu_samples"]], doc.get("counters", {}),
                                     [tuple(s) for s in doc.get("machine_cpu_samples", [])],
                                     doc.get("interval_s", 5.0), doc.get("raw_fraction", 1.0)))
        for name, pdoc in doc["patterns"].items():
            patterns.setdefault(name, PatternData()).merge(pdoc)
    return RunData(run_dir, manifest, patterns, processes)


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


def _read_process_file(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text())
    except ValueError as exc:
        raise BenchError(f"{path}: unreadable measurements ({exc})") from None
    if doc.get("format_version") != FORMAT_VERSION:
        raise BenchError(f"{path}: measurements format {doc.get('format_version')!r} is not "
                         f"supported ({FORMAT_VERSION})")
    return doc


def requests_frame(run_dir: str | Path) -> pd.DataFrame:
    """Every recorded request as one row (all load processes), for pandas analysis."""
    files = sorted((Path(run_dir) / "requests").glob("*.csv"))
    if not files:
        return pd.DataFrame(columns=list(CSV_COLUMNS))
    frames = [pd.read_csv(f, dtype={"error_code": "string"}, keep_default_na=False)
              for f in files]
    return pd.concat(frames, ignore_index=True)
