"""Comparing two runs for a CI regression gate.

A pattern regresses when, with 95% confidence, its percentile grew by more than the allowed
fraction, or when the candidate breaks the absolute limit. The confidence interval comes from
a block bootstrap over the raw records: time slices of the run are resampled whole, because
latencies close in time are correlated (a GC pause, a stall) and treating them as independent
would give intervals too narrow and builds that fail on noise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

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


def _blocks(frame: pd.DataFrame) -> list[np.ndarray]:
    """Latencies (ms) per time slice of about duration/BLOCKS_TARGET (at least 1 s)."""
    t = (frame["start_unix_us"] - frame["start_unix_us"].min()) / 1e6
    width = max(1.0, float(t.max()) / BLOCKS_TARGET)
    keys = (t // width).astype(int)
    return [g.to_numpy() / 1000 for _, g in frame["latency_us"].groupby(keys)]


def bootstrap_percentile(blocks: list[np.ndarray], p: float, resamples: int,
                         rng: np.random.Generator) -> np.ndarray:
    """``resamples`` bootstrap replicates of the p-th percentile, resampling whole blocks."""
    out = np.empty(resamples)
    for k in range(resamples):
        picks = rng.integers(0, len(blocks), len(blocks))
        out[k] = np.percentile(np.concatenate([blocks[i] for i in picks]), p, method="inverted_cdf")
    return out


def compare_pattern(pattern: str, base: pd.DataFrame, cand: pd.DataFrame, th: Thresholds,
                    absolute_ms: float | None) -> PatternComparison:
    p = th.percentile
    b_ms = float(np.percentile(base["latency_us"] / 1000, p, method="inverted_cdf"))
    c_ms = float(np.percentile(cand["latency_us"] / 1000, p, method="inverted_cdf"))
    result = PatternComparison(pattern, round(b_ms, 3), round(c_ms, 3), round(c_ms / b_ms, 3),
                               round(c_ms / b_ms, 3), round(c_ms / b_ms, 3), absolute_ms)
    if min(len(base), len(cand)) >= MIN_REQUESTS:
        rng = np.random.default_rng(th.seed)
        ratios = (bootstrap_percentile(_blocks(cand), p, th.resamples, rng)
                  / bootstrap_percentile(_blocks(base), p, th.resamples, rng))
        tail = (1 - th.confidence) / 2 * 100
        low, high = (round(float(x), 3) for x in np.percentile(ratios, [tail, 100 - tail]))
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
                   absolute_ms: float | None) -> list[PatternComparison]:
    """Per pattern present in both runs; patterns missing from the candidate regress."""
    results = []
    for pattern in sorted(set(base["pattern"])):
        c = cand[cand["pattern"] == pattern]
        if c.empty:
            missing = PatternComparison(pattern, 0.0, 0.0, 0.0, 0.0, 0.0, absolute_ms)
            missing.regressions.append("no requests in the candidate run")
            results.append(missing)
            continue
        results.append(compare_pattern(pattern, base[base["pattern"] == pattern], c, th, absolute_ms))
    return results
