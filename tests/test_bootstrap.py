"""Block-bootstrap percentiles and confidence intervals against hand-computed values."""

from __future__ import annotations

import math
import random
from statistics import NormalDist

import numpy as np
import pytest

from analysis import bootstrap
from analysis.bootstrap import BlockSample, CiSettings, confidence_interval, nearest_rank
from ddbbench.recorder import new_histogram


def test_nearest_rank_is_hdrs_round_half_up() -> None:
    # rank = round(p/100 * n) with halves up, at least 1
    assert [nearest_rank(4, p) for p in (0.1, 25, 50, 60, 62.5, 75, 100)] == [1, 1, 2, 2, 3, 3, 4]
    assert nearest_rank(1000, 99.9) == 999 and nearest_rank(1000, 99.95) == 1000


def test_percentiles_of_two_small_blocks() -> None:
    s = BlockSample.from_blocks([np.array([3.0, 1.0]), np.array([4.0, 2.0])])
    assert s.n_blocks == 2 and s.total == 4
    assert [s.percentile(p) for p in (0.1, 50, 62.5, 75, 100)] == [1.0, 2.0, 3.0, 3.0, 4.0]
    assert math.isnan(BlockSample.from_blocks([np.array([])]).percentile(50))


def test_histogram_blocks_reproduce_hdr_percentiles_exactly() -> None:
    rng = random.Random(3)
    hists, merged = [], new_histogram()
    for _ in range(12):
        h = new_histogram()
        for _ in range(400):
            h.record_value(max(1, round(rng.lognormvariate(8, 0.9))))
        hists.append(h)
        merged.add(h)
    s = BlockSample.from_histograms(hists)
    assert s.total == 4800 and s.n_blocks == 12
    for p in (1, 50, 90, 99, 99.9, 100):
        assert s.percentile(p) == merged.get_value_at_percentile(p), p


def test_replicates_of_two_blocks_follow_the_draws() -> None:
    # Blocks A = [10, 10], B = [20, 20]. The median of a resample is 10 unless both draws are
    # B (then 20): P(10) = 3/4.
    s = BlockSample.from_blocks([np.array([10.0, 10.0]), np.array([20.0, 20.0])])
    reps = s.replicates([50.0], 4000, np.random.default_rng(1))[:, 0]
    assert set(reps) == {10.0, 20.0}
    assert np.mean(reps == 10.0) == pytest.approx(0.75, abs=0.03)


def lognormal_blocks(per_block: int, seed: int) -> BlockSample:
    g = np.random.default_rng(seed)
    return BlockSample.from_blocks([g.lognormal(7.0, 0.5, per_block) for _ in range(12)])


def test_interval_contains_the_true_percentile_and_narrows_with_more_data() -> None:
    true = {p: math.exp(7.0 + 0.5 * NormalDist().inv_cdf(p / 100)) for p in (50.0, 90.0)}
    widths = {}
    for per_block in (50, 2000):
        sample = lognormal_blocks(per_block, seed=per_block)
        reps = sample.replicates(list(true), 1000, np.random.default_rng(0))
        for j, (p, value) in enumerate(true.items()):
            low, high = confidence_interval(reps[:, j], 0.95)
            assert low <= value <= high, (per_block, p, low, value, high)
            assert low <= sample.percentile(p) <= high
            widths[per_block, p] = high - low
    for p in true:  # 40x the data: about sqrt(40) = 6.3x narrower
        assert widths[2000, p] < widths[50, p] / 3, widths


def test_same_seed_same_interval_other_seed_other_interval() -> None:
    sample = lognormal_blocks(100, seed=5)

    def ci(settings: CiSettings, key: str) -> tuple[float, float]:
        return confidence_interval(sample.replicates([90.0], 500, settings.rng(key))[:, 0], 0.95)

    assert ci(CiSettings(seed=0), "get_conversation") == ci(CiSettings(seed=0), "get_conversation")
    assert ci(CiSettings(seed=0), "get_conversation") != ci(CiSettings(seed=1), "get_conversation")
    assert ci(CiSettings(seed=0), "get_conversation") != ci(CiSettings(seed=0), "update_status")


def test_chunked_evaluation_gives_the_same_replicates(monkeypatch: pytest.MonkeyPatch) -> None:
    sample = lognormal_blocks(30, seed=2)
    whole = sample.replicates([50.0, 99.0], 200, np.random.default_rng(4))
    monkeypatch.setattr(bootstrap, "CHUNK_CELLS", 7 * len(sample.values))  # 7 resamples a chunk
    assert np.array_equal(sample.replicates([50.0, 99.0], 200, np.random.default_rng(4)), whole)


def test_an_interval_needs_enough_blocks_and_enough_tail() -> None:
    settings = CiSettings(min_blocks=10, min_tail=10)
    ten = BlockSample.from_blocks([np.arange(100.0) for _ in range(10)])  # 1,000 observations
    nine = BlockSample.from_blocks([np.arange(100.0) for _ in range(9)])
    assert settings.supports(ten, 99.0)  # 10 observations beyond p99
    assert not settings.supports(ten, 99.9)  # 1 beyond p99.9
    assert not settings.supports(nine, 50.0)
