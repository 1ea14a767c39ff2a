"""Comparing two runs for a CI regression gate.

A pattern regresses when, with 95% confidence, its percentile grew by more than the allowed
fraction, or when the candidate breaks the absolute limit. The confidence interval comes from
a block bootstrap over the raw records: time slices of the run are resampled whole, because
latencies close in time are correlated (a GC pause, a stall) and treating them as independent
would give intervals too narrow and builds that fail on noise (``analysis.bootstrap``, shared
with the summaries' confidence intervals).

A percentile is judged only with enough successful requests beyond it (the one rule,
``ddbbench.objectives.not_enough_data``): a p99 of 50 requests is their maximum, and says
nothing about the p99.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis.bootstrap import BlockSample, confidence_interval
from analysis.capacity_gate import CapacityRow
from ddbbench.objectives import not_enough_data
from ddbbench.runformat import OK

BLOCKS_TARGET = 30  # time slices per run for the block bootstrap


@dataclass(frozen=True)
class Thresholds:
    percentile: float | None = None  # None: each pattern's objective percentile (scenario SLO)
    max_increase: float = 0.15  # candidate / baseline may grow by this fraction
    absolute_ms: float | None = None  # the candidate's percentile must stay below this
    absolute_slo: bool = False  # ... or below each pattern's objective (off: CI machines vary)
    capacity_tolerance: float = 0.02  # capacity/request may grow by this fraction
    latency: bool = True  # judge latency (relatively) at all
    capacity: bool = True  # judge capacity
    busy_machine: bool = False  # judge latency even when a run's machine was saturated
    confidence: float = 0.95
    resamples: int = 1000
    seed: int = 0


@dataclass
class PatternComparison:
    pattern: str
    percentile: float
    baseline_ms: float
    candidate_ms: float
    ratio: float
    ci_low: float
    ci_high: float
    absolute_ms: float | None
    regressions: list[str] = field(default_factory=list)  # why it fails the gate
    notes: list[str] = field(default_factory=list)  # informational

    @property
    def regression(self) -> bool:
        return bool(self.regressions)


def _blocks(frame: pd.DataFrame) -> BlockSample:
    """Latencies (us) in time slices of about duration/BLOCKS_TARGET (at least 1 s)."""
    t = (frame["start_unix_us"] - frame["start_unix_us"].min()) / 1e6
    width = max(1.0, float(t.max()) / BLOCKS_TARGET)
    keys = (t // width).astype(int)
    return BlockSample.from_blocks([g.to_numpy() for _, g in frame["latency_us"].groupby(keys)])


def compare_pattern(pattern: str, base: pd.DataFrame, cand: pd.DataFrame, th: Thresholds,
                    absolute_ms: float | None, percentile: float) -> PatternComparison:
    """``base`` and ``cand``: the pattern's successful requests."""
    p = percentile
    b_blocks, c_blocks = _blocks(base), _blocks(cand)
    b_ms, c_ms = b_blocks.percentile(p) / 1000, c_blocks.percentile(p) / 1000
    ratio = round(c_ms / b_ms, 3) if b_ms else math.nan
    result = PatternComparison(pattern, p, round(b_ms, 3), round(c_ms, 3), ratio, ratio, ratio, absolute_ms)
    # The maximum is exact (judged against a threshold with few requests) but no bootstrap of
    # whole blocks can bound how it changes between runs: its relative change is never judged.
    lacking = "p100 is the maximum" if p >= 100 else not_enough_data(min(len(base), len(cand)), p)
    if lacking is None:
        rng = np.random.default_rng(th.seed)
        ratios = (c_blocks.replicates([p], th.resamples, rng)[:, 0]
                  / b_blocks.replicates([p], th.resamples, rng)[:, 0])
        low, high = (round(x, 3) for x in confidence_interval(ratios, th.confidence))
        result.ci_low, result.ci_high = low, high
        if low > 1 + th.max_increase:
            result.regressions.append(
                f"p{p:g} grew x{c_ms / b_ms:.3f} ({th.confidence:.0%} CI {low:.3f}-{high:.3f}) "
                f"> x{1 + th.max_increase:.2f} allowed")
    else:
        result.notes.append(f"{lacking}: relative change not judged")
    if absolute_ms is not None and c_ms >= absolute_ms:
        result.regressions.append(f"p{p:g} {c_ms:.3f} ms >= {absolute_ms:g} ms limit")
    return result


def comparability_problems(base: dict[str, Any], cand: dict[str, Any],
                           base_summary: dict[str, Any], cand_summary: dict[str, Any]) -> list[str]:
    """Why two runs cannot be compared (empty when they can): a different scenario, dataset,
    mix, key choice, tables, load, target kind or client kind.
    The key design may differ: that is what a CI check judges (``design_note``)."""
    problems = []
    for path in (("scenario", "name"), ("scenario", "dataset"), ("scenario", "mix"),
                 ("scenario", "keys"), ("scenario", "tables"), ("scenario", "load"),
                 ("target", "kind")):
        b, c = _without_new_defaults(_get(base, path), _get(cand, path))
        if path == ("scenario", "tables"):  # the names as written: the prefix keys the design too
            b, c = _logical_tables(b), _logical_tables(c)
        if b != c:
            problems.append(f"{'.'.join(path)} differs: {b!r} vs {c!r}")
    if base_summary.get("client") != cand_summary.get("client"):
        problems.append(f"client kind differs: {base_summary.get('client')!r} vs "
                        f"{cand_summary.get('client')!r}")
    return problems


MACHINE_BUSY_PCT = 90.0  # mean CPU of all cores at or above this: the machine was saturated


def saturation_notes(base_summary: dict[str, Any], cand_summary: dict[str, Any],
                     busy_machine: bool = False) -> tuple[list[str], list[str]]:
    """Why latency cannot be judged (the first list) and what is only worth saying (the
    second). A saturated load generator's latencies measure the client's own queueing: never
    judged. On a saturated machine (DynamoDB Local shares it with the load generator and, on
    CI runners, with other jobs) they measure whoever else was running: not judged unless
    ``busy_machine`` (the user knows what shares the machine and judges anyway). Capacity is
    still judged: it does not depend on timing."""
    blocking, info = [], []
    for name, summary in (("baseline", base_summary), ("candidate", cand_summary)):
        gen = summary["generator"]
        if gen["saturated"]:
            blocking.append(f"the {name} run's load generator was saturated: its latencies measure "
                            "the client's queueing; latency not judged")
        elif (busy := gen.get("machine_cpu_mean_pct") or 0) >= MACHINE_BUSY_PCT:
            said = (f"the {name} run's machine was saturated (all cores {busy:g}% busy on average, "
                    f">= {MACHINE_BUSY_PCT:g}%)")
            if busy_machine:
                info.append(f"{said}: latency judged anyway (--judge-busy-machine)")
            else:
                blocking.append(f"{said}: latency not judged")
    return blocking, info


def design_note(base_summary: dict[str, Any], cand_summary: dict[str, Any]) -> str | None:
    b, c = base_summary.get("design"), cand_summary.get("design")
    return None if b == c else f"key design differs: {b} -> {c} (compared as the change under test)"


def _logical_tables(tables: Any) -> Any:
    """Table names without the dataset prefix a run off DynamoDB Local adds (``ddbbench-<id>-``,
    where the id covers the design too): two designs' runs of one scenario compare.

    >>> _logical_tables({"conversations": "ddbbench-1a-Conv", "prefix": "ddbbench-1a-"})
    {'conversations': 'Conv'}
    """
    if not isinstance(tables, dict):
        return tables
    prefix = tables.get("prefix") or ""
    return {k: v[len(prefix):] if prefix and isinstance(v, str) and v.startswith(prefix) else v
            for k, v in tables.items() if k != "prefix"}


def _without_new_defaults(b: Any, c: Any) -> tuple[Any, Any]:
    """Settings a newer ddbbench records and an older run lacks (``load.deterministic``), left
    out when the run that has them keeps them off (false, empty): the runs did the same."""
    if not isinstance(b, dict) or not isinstance(c, dict):
        return b, c
    new = {k for k in set(b) ^ set(c) if not (b.get(k) or c.get(k))}
    return ({k: v for k, v in b.items() if k not in new}, {k: v for k, v in c.items() if k not in new})


def _get(doc: dict[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        doc = doc.get(key, {}) if isinstance(doc, dict) else {}
    return doc


@dataclass
class GateResult:
    baseline: str
    candidate: str
    thresholds: Thresholds
    patterns: list[PatternComparison]
    capacity: list[CapacityRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # about the whole comparison

    @property
    def regression(self) -> bool:
        return any(p.regression for p in self.patterns) or any(r.regression for r in self.capacity)


def compare_frames(base: pd.DataFrame, cand: pd.DataFrame, th: Thresholds,
                   absolute_ms: Mapping[str, float | None],
                   percentiles: Mapping[str, float]) -> list[PatternComparison]:
    """Per pattern of the baseline, on successful requests; patterns missing from the
    candidate regress. ``absolute_ms``: the limit per pattern (a pattern not in it has none);
    ``percentiles``: the percentile judged per pattern (default 99)."""
    base, cand = (f[f["outcome"] == OK] if "outcome" in f else f for f in (base, cand))
    results = []
    for pattern in sorted(set(base["pattern"])):
        c = cand[cand["pattern"] == pattern]
        limit, p = absolute_ms.get(pattern), percentiles.get(pattern, 99.0)
        if c.empty:
            missing = PatternComparison(pattern, p, 0.0, 0.0, 0.0, 0.0, 0.0, limit)
            missing.regressions.append("no successful requests in the candidate run")
            results.append(missing)
            continue
        results.append(compare_pattern(pattern, base[base["pattern"] == pattern], c, th, limit, p))
    return results
