"""Block-bootstrap confidence intervals for latency percentiles.

Latencies close in time are correlated (a GC pause, a stall, a noisy neighbour), so resampling
single requests as if independent gives intervals too narrow. Here whole blocks are resampled:
the run's 5-second HDR intervals for a summary, time slices of the raw records for the CI gate.
Both feed one representation, a ``BlockSample`` (sorted values, a count and a block per value),
and one percentile definition, the project's nearest rank (HDR's: rank round(p/100 * n), at
least 1), so a replicate computed over every block equals the reported point estimate.

Example::

    >>> import numpy as np
    >>> s = BlockSample.from_blocks([np.array([1.0, 2.0]), np.array([3.0, 4.0])])
    >>> s.percentile(50.0)
    2.0
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from hdrh.histogram import HdrHistogram

CHUNK_CELLS = 4_000_000  # resamples x values evaluated at once: bounds memory (~32 MB of float64)


@dataclass(frozen=True)
class BlockSample:
    """Observations grouped in blocks: distinct ``values`` ascending, and ``counts[b, i]``, how
    often block ``b`` holds ``values[i]`` (a block may be empty)."""

    values: np.ndarray
    counts: np.ndarray

    @classmethod
    def from_histograms(cls, hists: Sequence[HdrHistogram]) -> BlockSample:
        """One block per histogram; each bucket stands for its highest equivalent value (the
        value HDR reports for a percentile, so percentiles are never under-stated)."""
        per_block = []
        for hist in hists:
            bucket_counts = np.ctypeslib.as_array(hist.counts)[:hist.counts_len]
            nonzero = np.flatnonzero(bucket_counts)
            tops = [hist.get_highest_equivalent_value(hist.get_value_from_index(int(i))) for i in nonzero]
            per_block.append((np.array(tops, float), bucket_counts[nonzero].astype(float)))
        return cls._dense(per_block)

    @classmethod
    def from_blocks(cls, blocks: Sequence[np.ndarray]) -> BlockSample:
        """One block per array of raw observations (each counted once)."""
        return cls._dense([(np.asarray(b, float), np.ones(len(b))) for b in blocks])

    @classmethod
    def _dense(cls, per_block: list[tuple[np.ndarray, np.ndarray]]) -> BlockSample:
        values = np.unique(np.concatenate([v for v, _ in per_block])) if per_block else np.empty(0)
        counts = np.zeros((len(per_block), len(values)))
        for b, (v, c) in enumerate(per_block):
            np.add.at(counts[b], np.searchsorted(values, v), c)
        return cls(values, counts)

    @property
    def n_blocks(self) -> int:
        return len(self.counts)

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile over every block (NaN when empty)."""
        return float(self._at(self.counts.sum(axis=0, keepdims=True), [p])[0, 0])

    def replicates(self, ps: Sequence[float], resamples: int, rng: np.random.Generator) -> np.ndarray:
        """Bootstrap replicates, shape (resamples, len(ps)): each resample draws ``n_blocks``
        blocks with replacement and takes the nearest-rank percentiles of their union."""
        picks = rng.integers(0, self.n_blocks, (resamples, self.n_blocks))
        times = np.stack([np.bincount(row, minlength=self.n_blocks) for row in picks]).astype(float)
        out = np.empty((resamples, len(ps)))
        step = max(1, CHUNK_CELLS // max(len(self.values), 1))
        for start in range(0, resamples, step):
            # How often each value occurs in a resample: block counts times block draws.
            out[start:start + step] = self._at(times[start:start + step] @ self.counts, ps)
        return out

    def _at(self, weights: np.ndarray, ps: Sequence[float]) -> np.ndarray:
        """Nearest-rank percentiles per row of ``weights`` (rows x values)."""
        cum = np.cumsum(weights, axis=1)
        out = np.full((len(cum), len(ps)), np.nan)
        for i, row in enumerate(cum):
            if len(row) and row[-1] > 0:
                ranks = [nearest_rank(row[-1], p) for p in ps]
                out[i] = self.values[np.searchsorted(row, ranks, side="left")]
        return out


def nearest_rank(total: float, p: float) -> float:
    """HDR's rank of the p-th percentile among ``total`` observations: round half up, >= 1."""
    return max(float(int(min(p, 100.0) * total / 100.0 + 0.5)), 1.0)


def confidence_interval(replicates: np.ndarray, confidence: float) -> tuple[float, float]:
    """The equal-tailed percentile interval of bootstrap replicates."""
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(replicates, [tail, 100.0 - tail])
    return float(low), float(high)


@dataclass(frozen=True)
class CiSettings:
    """How summaries estimate confidence intervals. Measured on independent lognormal data
    (300 trials per case, docs/analysis.md): a nominal 95% interval covered the true
    percentile 85-94% of the time with 10-12 blocks and at least 10 observations beyond the
    percentile, 94-95% with 30 blocks, about 80% with 5 blocks, and 62-78% with one to three
    observations beyond it; hence the minimums, below which no interval is given.
    """

    confidence: float = 0.95
    resamples: int = 1000
    seed: int = 0
    min_blocks: int = 10
    min_tail: int = 10  # observations beyond the percentile: n * (1 - p/100)

    def supports(self, sample: BlockSample, p: float) -> bool:
        return (sample.n_blocks >= self.min_blocks
                and sample.total * (1.0 - p / 100.0) >= self.min_tail)

    def rng(self, key: str) -> np.random.Generator:
        """A generator per ``key`` (a pattern): one pattern's interval does not depend on which
        other patterns the run had, and the same run always gives the same report."""
        return np.random.default_rng([self.seed, zlib.crc32(key.encode())])
