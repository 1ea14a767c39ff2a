"""Key-choice distributions: ranges, exact probabilities, determinism, validation, O(1) memory.

Statistical checks use Bernstein's inequality rather than a normal approximation, because some
compared frequencies are small (a few dozen expected hits) where the normal tail is optimistic:
for a sum S of N independent terms each within ``b`` of its mean and of total variance V,
P(|S - E S| >= t) <= 2 exp(-t**2 / (2V + 2bt/3)). Each comparison is allowed a failure
probability DELTA = 1e-10 (about 7 standard errors for large counts); the file makes well under
a thousand comparisons, so a correct implementation fails with probability below 1e-7. Draws use
seeded generators, so any run is reproducible anyway.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import math
import random
import re
import tracemalloc
from collections import Counter

import pytest

from ddbbench.keydist import (
    KINDS,
    Chooser,
    Hotspot,
    Latest,
    Uniform,
    Zipfian,
    expected_probability,
    make_chooser,
)

DELTA = 1e-10
DRAWS = 200_000


def bernstein_tolerance(variance: float, bound: float, delta: float = DELTA) -> float:
    """t such that P(|S - E S| >= t) <= delta (Bernstein's inequality, solved for t)."""
    log_term = math.log(2 / delta)
    return bound * log_term / 3 + math.sqrt((bound * log_term / 3) ** 2 + 2 * variance * log_term)


def assert_frequency(count: int, draws: int, p: float, what: str) -> None:
    """``count`` hits out of ``draws`` is compatible with probability ``p``."""
    tolerance = bernstein_tolerance(draws * p * (1 - p), 1.0)
    assert abs(count - draws * p) <= tolerance, (
        f"{what}: {count} hits in {draws} draws, expected {draws * p:.1f} +- {tolerance:.1f}"
    )


def draw(chooser: Chooser, count: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    return [chooser.choose(rng) for _ in range(count)]


# --- Independent reference for the Zipf normaliser ------------------------------------------------
# Deliberately not the module's Euler-Maclaurin code: an exact compensated sum of the first
# HEAD terms, then the tail sum_{k=HEAD+1}^{m} k**-s approximated by the integral of x**-s over
# [HEAD + 1/2, m + 1/2] (midpoint rule). Its error is about s/24 * HEAD**-(s+1) absolute, below
# 1e-10 relative for the exponents tested, far inside the 1e-6 the statistical tests need.
HEAD = 10_000


@functools.cache
def head_terms(s: float) -> tuple[float, ...]:
    return tuple(k**-s for k in range(1, HEAD + 1))


def reference_harmonic(m: int, s: float) -> float:
    """sum(k**-s for k in 1..m): exact up to HEAD, partial sum + integral tail beyond."""
    terms = head_terms(s)
    if m <= HEAD:
        return math.fsum(terms[:m])
    lo, hi = HEAD + 0.5, m + 0.5
    tail = math.log(hi / lo) if s == 1 else (hi ** (1 - s) - lo ** (1 - s)) / (1 - s)
    return math.fsum(terms) + tail


def reference_zipf_p(n: int, s: float, k: int) -> float:
    return (k + 1) ** -s / reference_harmonic(n, s)


def log_bins(n: int) -> list[tuple[int, int]]:
    """Rank ranges [lo, hi): ranks 0..9 alone, then doubling widths up to n."""
    edges = list(range(min(n, 10) + 1))
    while edges[-1] < n:
        edges.append(min(n, edges[-1] * 2))
    return list(itertools.pairwise(edges))


@functools.cache
def zipf_counts(n: int, s: float) -> Counter[int]:
    """Draws shared by the Zipfian tests of one (n, s), so each configuration is sampled once."""
    return Counter(draw(Zipfian(n, s), DRAWS, seed=n + round(s * 100)))


ZIPF_EXPONENTS = (0.5, 0.99, 1.0, 1.2)


# --- Ranges -------------------------------------------------------------------------------------------


def all_choosers(n: int) -> list[Chooser]:
    return [
        Uniform(n),
        Zipfian(n, 0.99),
        Zipfian(n, 0.01),
        Zipfian(n, 1.0),
        Zipfian(n, 1 - 1e-12),  # Taylor branches of the log1p/expm1 helpers
        Zipfian(n, 1 + 1e-9),
        Zipfian(n, 5.0),
        Zipfian(n, 50.0),
        Hotspot(n, 0.01, 0.9),
        Hotspot(n, 0.5, 0.0),
        Hotspot(n, 0.5, 1.0),
        Hotspot(n, 1.0, 0.9),
        Latest(0.99, n),
        Latest(1.2, n),
        *(make_chooser(kind, n) for kind in KINDS),
    ]


@pytest.mark.parametrize("n", [1, 2, 3, 1000, 10**12])
def test_every_chooser_stays_in_range(n: int) -> None:
    for chooser in all_choosers(n):
        assert isinstance(chooser, Chooser)
        picks = draw(chooser, 3000, seed=n)
        assert all(type(k) is int and 0 <= k < n for k in picks), chooser
        if n == 1:
            assert set(picks) == {0}


@pytest.mark.parametrize("n", [1, 2, 7, 1000])
def test_expected_probabilities_sum_to_one(n: int) -> None:
    for chooser in all_choosers(n):
        total = math.fsum(expected_probability(chooser, k) for k in range(n))
        assert total == pytest.approx(1.0, rel=1e-12), chooser
        assert expected_probability(chooser, -1) == expected_probability(chooser, n) == 0.0


# --- Zipfian ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("s", ZIPF_EXPONENTS)
@pytest.mark.parametrize("n", [1000, 10_000_000])
def test_zipfian_normaliser_matches_an_independent_computation(n: int, s: float) -> None:
    z = Zipfian(n, s)
    for k in (0, 1, 9, n // 2, n - 1):
        assert expected_probability(z, k) == pytest.approx(reference_zipf_p(n, s, k), rel=1e-9)


@pytest.mark.parametrize("s", ZIPF_EXPONENTS)
@pytest.mark.parametrize("n", [1000, 10_000_000])
def test_zipfian_top_ranks_follow_the_exact_pmf(n: int, s: float) -> None:
    counts = zipf_counts(n, s)
    assert min(counts) >= 0 and max(counts) < n
    for k in range(10):
        assert_frequency(counts[k], DRAWS, reference_zipf_p(n, s, k), f"Zipfian({n}, {s}) rank {k}")
    if n == 1000:  # at 10M keys and s = 0.5 ranks 0 and 1 get too few hits to order reliably
        assert max(counts, key=counts.__getitem__) == 0  # rank 0 is the hottest key


@pytest.mark.parametrize("s", ZIPF_EXPONENTS)
@pytest.mark.parametrize("n", [1000, 10_000_000])
def test_zipfian_rank_bins_follow_the_exact_pmf(n: int, s: float) -> None:
    """The whole range, tail included: doubling-width bins of ranks."""
    counts = zipf_counts(n, s)
    norm = reference_harmonic(n, s)
    for lo, hi in log_bins(n):
        p = (reference_harmonic(hi, s) - reference_harmonic(lo, s)) / norm
        hits = sum(c for k, c in counts.items() if lo <= k < hi)
        assert_frequency(hits, DRAWS, p, f"Zipfian({n}, {s}) ranks [{lo}, {hi})")


@pytest.mark.parametrize("s", ZIPF_EXPONENTS)
def test_zipfian_mean_rank_matches_the_exact_mean(s: float) -> None:
    n = 1000
    counts = zipf_counts(n, s)
    pmf = [reference_zipf_p(n, s, k) for k in range(n)]
    mean = math.fsum(k * p for k, p in enumerate(pmf))
    variance = math.fsum((k - mean) ** 2 * p for k, p in enumerate(pmf))
    empirical = sum(k * c for k, c in counts.items()) / DRAWS
    tolerance = bernstein_tolerance(DRAWS * variance, n - 1) / DRAWS
    assert abs(empirical - mean) <= tolerance, (empirical, mean, tolerance)


@pytest.mark.parametrize("s", [0.01, 1 - 1e-12, 1.0, 1 + 1e-9, 2.0, 3.0])
def test_zipfian_small_n_is_exact_including_exponents_at_and_near_one(s: float) -> None:
    """Few ranks, many hits each: sensitive to the rejection step. Without it ranks would follow
    the hat (H(k+1/2) - H(k-1/2), about 1 + s(s+1)/(24k**2) times too much for k >= 2), the
    error a continuous approximation makes."""
    n, draws = 3, 100_000
    counts = Counter(draw(Zipfian(n, s), draws, seed=11))
    norm = sum(j**-s for j in range(1, n + 1))
    for k in range(n):
        p = (k + 1) ** -s / norm
        assert expected_probability(Zipfian(n, s), k) == pytest.approx(p, rel=1e-12)
        assert_frequency(counts[k], draws, p, f"Zipfian(3, {s}) rank {k}")


class _Rejected(Exception):
    pass


class OneShot(random.Random):
    """Hands out one chosen uniform, then signals that the sampler asked for another (a
    rejection)."""

    value = 0.0
    fresh = False

    def random(self) -> float:
        if not self.fresh:
            raise _Rejected
        self.fresh = False
        return self.value


def big_h(x: float, s: float) -> float:
    """(x**(1-s) - 1)/(1-s), log(x) at s == 1: the integral of the hat x**-s from 1 to x."""
    return math.log(x) if s == 1 else (x ** (1 - s) - 1) / (1 - s)


@pytest.mark.parametrize(("n", "s"), [(3, 0.5), (3, 1.0), (3, 2.0), (3, 3.0), (1000, 0.99), (10**7, 1.2)])
def test_zipfian_first_round_acceptance_is_exactly_proportional_to_the_pmf(n: int, s: float) -> None:
    """Deterministic check of the rejection-inversion step (Hörmann & Derflinger 1996): feed a
    fine grid of uniforms and count which rank each one yields on the first try. Each rank's
    accepted uniforms form one interval whose length is h(k) = k**-s (1-based) over the total
    hat area H(n + 1/2) - H(3/2) + 1, so grid counts must match to about one point; retries are
    independent repeats, so the output pmf is proportional to h(k) exactly."""
    grid = 50_000
    z, rng = Zipfian(n, s), OneShot()
    accepted: Counter[int] = Counter()
    for i in range(grid):
        rng.value, rng.fresh = (i + 0.5) / grid, True
        with contextlib.suppress(_Rejected):
            accepted[z.choose(rng)] += 1
    area = big_h(n + 0.5, s) - big_h(1.5, s) + 1
    for k in range(min(n, 30)):
        assert abs(accepted[k] - grid * (k + 1) ** -s / area) <= 2, f"rank {k}"


def test_zipfian_exponent_one_and_its_neighbours_agree() -> None:
    """s == 1 uses the limit forms; s = 1 +- 1e-12 must give practically the same pmf."""
    for k in (0, 5, 999):
        p = expected_probability(Zipfian(1000, 1.0), k)
        for s in (1 - 1e-12, 1 + 1e-12):
            assert expected_probability(Zipfian(1000, s), k) == pytest.approx(p, rel=1e-9)


def test_huge_zipfian_is_constant_size_and_draws_in_range() -> None:
    tracemalloc.start()
    try:
        choosers: list[Chooser] = [
            Zipfian(10**9, 0.99),
            Latest(0.99, 10**9),
            Hotspot(10**9, 0.01, 0.9),
            Uniform(10**9),
        ]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024  # a handful of floats each, no per-key tables
    for chooser in choosers:
        assert all(0 <= k < 10**9 for k in draw(chooser, 2000, seed=5))
    # The normaliser of a huge Zipfian is O(1) too (partial sum + Euler-Maclaurin tail).
    p0 = expected_probability(choosers[0], 0)
    assert 0 < p0 < 0.1


# --- Hotspot ------------------------------------------------------------------------------------------


def hot_and_cold(counts: Counter[int], hot: int) -> tuple[int, int]:
    hot_hits = sum(c for k, c in counts.items() if k < hot)
    return hot_hits, sum(counts.values()) - hot_hits


@pytest.mark.parametrize("hot_requests", [0.9, 0.5, 0.0, 1.0])
def test_hotspot_sends_hot_requests_to_the_hot_set_uniformly(hot_requests: float) -> None:
    n, draws = 1000, 100_000
    h = Hotspot(n, hot_keys=0.01, hot_requests=hot_requests)
    assert h.hot_count == 10
    counts = Counter(draw(h, draws, seed=21))
    hot_hits, _ = hot_and_cold(counts, h.hot_count)
    assert_frequency(hot_hits, draws, hot_requests, "hot set")
    # Uniform inside the hot set: every hot key, first and last included, gets its share.
    for k in range(h.hot_count):
        assert expected_probability(h, k) == pytest.approx(hot_requests / 10)
        assert_frequency(counts[k], draws, hot_requests / 10, f"hot key {k}")
    # Uniform over the cold keys: nine blocks of 110 keys.
    for lo in range(10, n, 110):
        hits = sum(counts[k] for k in range(lo, lo + 110))
        assert_frequency(hits, draws, (1 - hot_requests) * 110 / 990, f"cold keys [{lo}, {lo + 110})")


@pytest.mark.parametrize(("n", "hot_keys", "expected_hot"), [(10, 0.01, 1), (1000, 0.0004, 1), (7, 0.5, 4)])
def test_hotspot_size_is_rounded_and_at_least_one(n: int, hot_keys: float, expected_hot: int) -> None:
    h = Hotspot(n, hot_keys, 0.8)
    assert h.hot_count == expected_hot
    assert expected_probability(h, 0) == pytest.approx(0.8 / expected_hot)
    assert expected_probability(h, n - 1) == pytest.approx(0.2 / (n - expected_hot))


@pytest.mark.parametrize(("n", "hot_keys"), [(50, 1.0), (3, 0.9)])  # 0.9 * 3 rounds to every key
def test_hotspot_over_every_key_is_uniform(n: int, hot_keys: float) -> None:
    draws = 50_000
    h = Hotspot(n, hot_keys, 0.3)
    assert h.hot_count == n
    counts = Counter(draw(h, draws, seed=4))
    for k in range(n):
        assert expected_probability(h, k) == pytest.approx(1 / n)
        assert_frequency(counts[k], draws, 1 / n, f"key {k}")


# --- Latest -------------------------------------------------------------------------------------------


def test_latest_follows_the_high_water_mark() -> None:
    s, draws = 0.99, 100_000
    latest = Latest(s, high_water=100)
    rng = random.Random(8)
    assert all(0 <= latest.choose(rng) <= 99 for _ in range(5000))

    latest.high_water = 150  # 50 items created since start: indices 100..149
    counts = Counter(latest.choose(rng) for _ in range(draws))
    assert max(counts) == 149 and min(counts) >= 0
    assert max(counts, key=counts.__getitem__) == 149  # the newest item is the most likely
    for age in range(10):
        p = reference_zipf_p(150, s, age)
        assert expected_probability(latest, 149 - age) == pytest.approx(p, rel=1e-9)
        assert_frequency(counts[149 - age], draws, p, f"item {age} from the newest")
    assert expected_probability(latest, 150) == 0.0


def test_latest_is_a_zipfian_rank_counted_from_the_newest() -> None:
    latest = Latest(1.2, high_water=10)
    latest.high_water = 1234
    ranks = draw(Zipfian(1234, 1.2), 2000, seed=99)
    assert draw(latest, 2000, seed=99) == [1233 - r for r in ranks]


def test_latest_setting_the_same_high_water_changes_nothing() -> None:
    a, b = Latest(0.99, 500), Latest(0.99, 500)
    ra, rb = random.Random(3), random.Random(3)
    seq_a = [a.choose(ra) for _ in range(1000)]
    seq_b = []
    for _ in range(1000):
        b.high_water = 500  # what a caller does before every draw
        seq_b.append(b.choose(rb))
    assert seq_a == seq_b


def test_latest_refuses_an_empty_high_water() -> None:
    latest = Latest(0.99, 5)
    latest.high_water = 0
    with pytest.raises(ValueError, match=r"high_water must be an integer >= 1 \(got 0\)"):
        latest.choose(random.Random(1))


# --- Determinism --------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_same_seed_same_sequence(kind: str) -> None:
    first = draw(make_chooser(kind, 10_000_000), 500, seed=42)
    again = draw(make_chooser(kind, 10_000_000), 500, seed=42)
    other = draw(make_chooser(kind, 10_000_000), 500, seed=43)
    assert first == again
    assert first != other


# --- make_chooser -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "cls"), [("uniform", Uniform), ("zipfian", Zipfian), ("hotspot", Hotspot), ("latest", Latest)]
)
def test_make_chooser_builds_each_kind(kind: str, cls: type) -> None:
    chooser = make_chooser(kind, 1000, zipf_s=1.2, hot_keys=0.05, hot_requests=0.7)
    assert isinstance(chooser, cls)
    if isinstance(chooser, Zipfian | Latest):
        assert chooser.s == 1.2
    if isinstance(chooser, Hotspot):
        assert (chooser.hot_count, chooser.hot_requests) == (50, 0.7)
    if isinstance(chooser, Latest):
        assert chooser.high_water == 1000


@pytest.mark.parametrize("kind", ["zipf", "", "Uniform", "hot spot"])
def test_make_chooser_rejects_unknown_kinds(kind: str) -> None:
    message = f"unknown key distribution {kind!r}; allowed: uniform, zipfian, hotspot, latest"
    with pytest.raises(ValueError, match=re.escape(message)):
        make_chooser(kind, 10)


@pytest.mark.parametrize(
    ("kind", "params", "fragment"),
    [
        ("uniform", {"n": 0}, "n must be an integer >= 1 (got 0)"),
        ("zipfian", {"n": -5}, "n must be an integer >= 1 (got -5)"),
        ("hotspot", {"n": 2.5}, "n must be an integer >= 1 (got 2.5)"),
        ("latest", {"n": True}, "n must be an integer >= 1 (got True)"),
        ("zipfian", {"zipf_s": 0}, "zipf_s must be a finite number > 0 (got 0)"),
        ("zipfian", {"zipf_s": -1.0}, "zipf_s must be a finite number > 0 (got -1.0)"),
        ("latest", {"zipf_s": math.nan}, "zipf_s must be a finite number > 0 (got nan)"),
        ("zipfian", {"zipf_s": math.inf}, "zipf_s must be a finite number > 0 (got inf)"),
        ("zipfian", {"zipf_s": "1"}, "zipf_s must be a finite number > 0 (got '1')"),
        ("hotspot", {"hot_keys": 0}, "hot_keys must be a number in (0, 1] (got 0)"),
        ("hotspot", {"hot_keys": 1.5}, "hot_keys must be a number in (0, 1] (got 1.5)"),
        ("hotspot", {"hot_keys": math.nan}, "hot_keys must be a number in (0, 1] (got nan)"),
        ("hotspot", {"hot_requests": -0.1}, "hot_requests must be a number in [0, 1] (got -0.1)"),
        ("hotspot", {"hot_requests": 1.01}, "hot_requests must be a number in [0, 1] (got 1.01)"),
    ],
)
def test_make_chooser_rejects_bad_parameters(kind: str, params: dict, fragment: str) -> None:
    args = {"n": 100, **params}
    n = args.pop("n")
    with pytest.raises(ValueError, match=re.escape(fragment)):
        make_chooser(kind, n, **args)


def test_make_chooser_checks_only_the_parameters_its_kind_uses() -> None:
    assert isinstance(make_chooser("uniform", 10, zipf_s=-1, hot_keys=5), Uniform)
    assert isinstance(make_chooser("zipfian", 10, hot_requests=7), Zipfian)


def test_constructors_validate_too() -> None:
    with pytest.raises(ValueError, match=re.escape("s must be a finite number > 0 (got 0.0)")):
        Zipfian(10, 0.0)
    with pytest.raises(ValueError, match=re.escape("hot_requests must be a number in [0, 1] (got 2)")):
        Hotspot(10, 0.1, 2)
    with pytest.raises(ValueError, match=re.escape("high_water must be an integer >= 1 (got 0)")):
        Latest(1.0, 0)
    with pytest.raises(TypeError, match="no known distribution"):
        expected_probability(object(), 0)  # type: ignore[arg-type]


@pytest.mark.parametrize("n", [1, 2, 3, 7, 64, 65, 1000, 5000, 2**31 + 11])
def test_uniform_draws_exactly_what_randrange_draws(n: int) -> None:
    # The key sequence of a seed must not change: Uniform inlines randrange's draw.
    ours, theirs = random.Random(f"u{n}"), random.Random(f"u{n}")
    chooser = Uniform(n)
    assert [chooser.choose(ours) for _ in range(2000)] == [theirs.randrange(n) for _ in range(2000)]
    assert ours.random() == theirs.random()  # and leaves the generator in the same state
