"""Comparing two runs for a CI regression gate.

A pattern regresses when, with 95% confidence, its percentile grew by more than the allowed
fraction, or when the candidate breaks the absolute limit. The confidence interval comes from
a block bootstrap over the raw records: time slices of the run are resampled whole, because
latencies close in time are correlated (a GC pause, a stall) and treating them as independent
would give intervals too narrow and builds that fail on noise (``analysis.bootstrap``, shared
with the summaries' confidence intervals).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis.bootstrap import BlockSample, confidence_interval

BLOCKS_TARGET = 30  # time slices per run for the block bootstrap
MIN_REQUESTS = 20  # fewer than this per pattern: no verdict on relative change


@dataclass(frozen=True)
class Thresholds:
    percentile: float = 99.0
    max_increase: float = 0.15  # candidate / baseline may grow by this fraction
    absolute_ms: float | None = None  # the candidate's percentile must stay below (None: SLO)
    confidence: float = 0.95
    resamples: int = 1000
    seed: int = 0


@dataclass
class PatternComparison:
    pattern: str
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
                    absolute_ms: float | None) -> PatternComparison:
    p = th.percentile
    b_blocks, c_blocks = _blocks(base), _blocks(cand)
    b_ms, c_ms = b_blocks.percentile(p) / 1000, c_blocks.percentile(p) / 1000
    result = PatternComparison(pattern, round(b_ms, 3), round(c_ms, 3), round(c_ms / b_ms, 3),
                               round(c_ms / b_ms, 3), round(c_ms / b_ms, 3), absolute_ms)
    if min(len(base), len(cand)) >= MIN_REQUESTS:
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
        result.notes.append(f"fewer than {MIN_REQUESTS} requests: relative change not judged")
    if absolute_ms is not None and c_ms >= absolute_ms:
        result.regressions.append(f"p{p:g} {c_ms:.3f} ms >= {absolute_ms:g} ms limit")
    return result


def comparability_problems(base: dict[str, Any], cand: dict[str, Any],
                           base_summary: dict[str, Any], cand_summary: dict[str, Any]) -> list[str]:
    """Why two runs cannot be compared (empty when they can)."""
    problems = []
    for path in (("scenario", "name"), ("scenario", "dataset"), ("scenario", "mix"),
                 ("scenario", "keys"), ("scenario", "tables"), ("scenario", "load"),
                 ("target", "kind")):
        b, c = _get(base, path), _get(cand, path)
        if b != c:
            problems.append(f"{'.'.join(path)} differs: {b!r} vs {c!r}")
    for name, summary in (("baseline", base_summary), ("candidate", cand_summary)):
        if summary["generator"]["saturated"]:
            problems.append(f"the {name} run's load generator was saturated: its latencies "
                            "measure the client's queueing")
    return problems


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

    @property
    def regression(self) -> bool:
        return any(p.regression for p in self.patterns)


def compare_frames(base: pd.DataFrame, cand: pd.DataFrame, th: Thresholds,
                   absolute_ms: Mapping[str, float | None]) -> list[PatternComparison]:
    """Per pattern present in both runs; patterns missing from the candidate regress.
    ``absolute_ms``: the limit per pattern (a pattern not in it has none)."""
    results = []
    for pattern in sorted(set(base["pattern"])):
        c = cand[cand["pattern"] == pattern]
        limit = absolute_ms.get(pattern)
        if c.empty:
            missing = PatternComparison(pattern, 0.0, 0.0, 0.0, 0.0, 0.0, limit)
            missing.regressions.append("no requests in the candidate run")
            results.append(missing)
            continue
        results.append(compare_pattern(pattern, base[base["pattern"] == pattern], c, th, limit))
    return results
