"""Key-choice distributions: which item (index ``0..n-1``) each request touches.

A chooser is built once per load process and access pattern, then called once per request, so
``choose`` must be cheap (about a microsecond in pure Python) and a chooser must hold O(1) state
whatever ``n`` is: tables of 10 million cumulative weights would cost memory in every process and
seconds to build. Item ids are hashes of the index, so index order carries no locality; a hot
index range is not a hot key range in DynamoDB.

- ``uniform``: every index equally likely.
- ``zipfian``: index ``k`` with probability proportional to ``1/(k+1)**s`` (rank 0 hottest),
  drawn exactly by rejection-inversion (Hörmann & Derflinger 1996).
- ``hotspot``: a fraction of requests on a fraction of keys, uniform within each part.
- ``latest``: Zipfian counted back from the newest item, for "recently created is busiest".

``expected_probability`` gives each chooser's exact probability mass, for tests and docs.
"""

from __future__ import annotations

import math
import operator
import random
from typing import Protocol, runtime_checkable

KINDS = ("uniform", "zipfian", "hotspot", "latest")

# Below this |argument| the log1p(x)/x and expm1(x)/x helpers switch to their Taylor expansions,
# where the quotients would otherwise be 0/0 (exponent exactly 1) or lose digits (near 1).
# Same threshold as Apache Commons RNG; the truncated series error there is O(x**4) < 1e-32.
_TAYLOR_THRESHOLD = 1e-8


@runtime_checkable
class Chooser(Protocol):
    """Anything that maps a random source to an item index."""

    def choose(self, rng: random.Random) -> int:
        """An index in ``[0, n)``."""
        ...


def _check_n(n: int, name: str = "n") -> int:
    if isinstance(n, bool):
        raise ValueError(f"{name} must be an integer >= 1 (got {n!r})")
    try:
        value = operator.index(n)
    except TypeError:
        raise ValueError(f"{name} must be an integer >= 1 (got {n!r})") from None
    if value < 1:
        raise ValueError(f"{name} must be an integer >= 1 (got {n!r})")
    return value


def _check_exponent(s: float, name: str = "s") -> float:
    # NaN fails the comparison; inf is refused because x**-inf makes every rank but 0 impossible
    # and the sampler's integrals meaningless.
    if isinstance(s, bool) or not isinstance(s, int | float) or not (0 < s < math.inf):
        raise ValueError(f"{name} must be a finite number > 0 (got {s!r})")
    return float(s)


def _check_fraction(value: float, name: str, low_open: bool) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    ok = ok and ((0 < value <= 1) if low_open else (0 <= value <= 1))
    if not ok:
        allowed = "(0, 1]" if low_open else "[0, 1]"
        raise ValueError(f"{name} must be a number in {allowed} (got {value!r})")
    return float(value)


def _helper1(x: float) -> float:
    """log1p(x)/x, continuous at 0 (where it is 1)."""
    if abs(x) > _TAYLOR_THRESHOLD:
        return math.log1p(x) / x
    return 1.0 - x * (0.5 - x * (1.0 / 3.0 - 0.25 * x))


def _helper2(x: float) -> float:
    """expm1(x)/x, continuous at 0 (where it is 1)."""
    if abs(x) > _TAYLOR_THRESHOLD:
        return math.expm1(x) / x
    return 1.0 + x * 0.5 * (1.0 + x * (1.0 / 3.0) * (1.0 + 0.25 * x))


def _h_integral(x: float, one_minus_s: float) -> float:
    """H(x) = (x**(1-s) - 1)/(1-s), an antiderivative of x**-s, equal to log(x) when s == 1.

    Hörmann & Derflinger use x**(1-s)/(1-s), which is undefined at s == 1; subtracting the
    constant 1/(1-s) (as Commons RNG does) gives a form with a limit at s == 1 and lets the
    method work for every s > 0, not only s > 1 as in the paper.
    """
    log_x = math.log(x)
    return _helper2(one_minus_s * log_x) * log_x


def _h_integral_inverse(u: float, one_minus_s: float) -> float:
    """Inverse of ``_h_integral``: (1 + (1-s) u)**(1/(1-s)), exp(u) at s == 1."""
    t = u * one_minus_s
    if t <= -1.0:
        # Only reachable through rounding at the ends of H's range: x -> 0 when s < 1, x -> inf
        # when s > 1 (log1p(-1) would raise in Python, where Java gets -inf).
        return 0.0 if one_minus_s > 0 else math.inf
    return math.exp(_helper1(t) * u)


def _harmonic(n: int, s: float) -> float:
    """Generalised harmonic number sum(k**-s for k in 1..n), to ~1e-15 relative, in O(1) time.

    Exact (compensated) sum of the first terms, Euler-Maclaurin for the rest: with the tail
    starting at 1001 the first omitted correction term is below 1e-25 in absolute value.
    """
    head = min(n, 1000)
    total = math.fsum(k**-s for k in range(1, head + 1))
    if n == head:
        return total
    a, b = float(head + 1), float(n)
    one_minus_s = 1.0 - s

    def d1(x: float) -> float:  # f'(x) of f(x) = x**-s
        return -s * x ** (-s - 1)

    def d3(x: float) -> float:
        return -s * (s + 1) * (s + 2) * x ** (-s - 3)

    def d5(x: float) -> float:
        return -s * (s + 1) * (s + 2) * (s + 3) * (s + 4) * x ** (-s - 5)

    tail = (
        (_h_integral(b, one_minus_s) - _h_integral(a, one_minus_s))
        + (a**-s + b**-s) / 2
        + (d1(b) - d1(a)) / 12  # B2/2!
        - (d3(b) - d3(a)) / 720  # B4/4!
        + (d5(b) - d5(a)) / 30240  # B6/6!
    )
    return total + tail


class Uniform:
    """Every index in ``[0, n)`` equally likely.

    >>> c = Uniform(10)
    >>> rng = random.Random(1)
    >>> [c.choose(rng) for _ in range(5)]
    [2, 9, 1, 4, 1]
    """

    def __init__(self, n: int) -> None:
        self.n = _check_n(n)
        self._bits = self.n.bit_length()

    def choose(self, rng: random.Random) -> int:
        # rng.randrange(n), as CPython computes it for a random.Random (randrange calls
        # _randbelow_with_getrandbits: draw bit_length(n) bits until below n), without its
        # argument checks and two Python calls: the same draws (tests compare them).
        n, bits = self.n, self._bits
        r = rng.getrandbits(bits)
        while r >= n:
            r = rng.getrandbits(bits)
        return r

    def __repr__(self) -> str:
        return f"Uniform(n={self.n})"


class Zipfian:
    """Index ``k`` with probability ``(k+1)**-s / sum(j**-s for j in 1..n)``: rank 0 hottest.

    Exact discrete Zipf (not a continuous approximation) for any ``s > 0``, including ``s <= 1``,
    by rejection-inversion (W. Hörmann, G. Derflinger, "Rejection-inversion to generate variates
    from monotone discrete distributions", ACM TOMACS 6(3), 1996, algorithm ZRI), in the form of
    Apache Commons RNG's ``RejectionInversionZipfSampler``. O(1) set-up and memory, no tables;
    at most about 1.02 uniform draws per sample on average. Ranks are exact while ``n`` is below
    2**53; beyond that ``x + 0.5`` is rounded to a double and the far tail becomes granular.

    >>> z = Zipfian(1000, 0.99)
    >>> rng = random.Random(7)
    >>> [z.choose(rng) for _ in range(8)]
    [93, 333, 7, 591, 18, 68, 656, 23]
    >>> round(expected_probability(z, 0), 4), round(expected_probability(z, 9), 4)
    (0.1294, 0.0132)
    """

    def __init__(self, n: int, s: float) -> None:
        self.s = _check_exponent(s)
        self._one_minus_s = 1.0 - self.s
        oms = self._one_minus_s
        # The hat function h(x) = x**-s is integrated over [1/2, n+1/2] with 1-based ranks; the
        # piece for rank 1 is replaced by a unit-width block [H(1.5)-1, H(1.5)] of exactly
        # h(1) = 1 so that rank 1 is always accepted (Commons RNG's shift of the paper's v).
        self._h_integral_x1 = _h_integral(1.5, oms) - 1.0
        # Squeeze: when k - x <= cut the acceptance test is certainly passed (Theorem 2 of the
        # paper holds for every s > 0), so most draws skip the second log/exp pair.
        self._cut = 2.0 - _h_integral_inverse(_h_integral(2.5, oms) - 2.0**-self.s, oms)
        self._resize(_check_n(n))

    def _resize(self, n: int) -> None:
        """Set the number of keys in place: only the upper end of the hat's integral depends on
        n, so ``Latest`` can follow a growing item count for the price of one log and exp."""
        self.n = n
        self._h_integral_n = _h_integral(n + 0.5, self._one_minus_s)
        self._span = self._h_integral_x1 - self._h_integral_n  # negative: u runs downwards
        self._normaliser: float | None = None  # computed on demand by expected_probability

    def choose(self, rng: random.Random) -> int:
        # Locals and inlined helpers: this is the per-request hot path.
        n, s, oms, cut = self.n, self.s, self._one_minus_s, self._cut
        top, span = self._h_integral_n, self._span
        rand, exp, log, log1p = rng.random, math.exp, math.log, math.log1p
        while True:
            # u uniform in (H(1.5) - 1, H(n + 1/2)].
            u = top + rand() * span
            t = u * oms
            if t > _TAYLOR_THRESHOLD or t < -_TAYLOR_THRESHOLD:
                x = exp(log1p(t) / t * u) if t > -1.0 else (0.0 if oms > 0 else math.inf)
            else:
                x = exp((1.0 - t * (0.5 - t * (1.0 / 3.0 - 0.25 * t))) * u)
            # Rounding x to the nearest integer gives rank k with probability proportional to
            # H(k+1/2) - H(k-1/2) >= h(k); accepting with ratio h(k) / (that) leaves exactly h(k).
            k = int(x + 0.5) if x < n else n  # also keeps int() away from inf
            if k < 1:
                k = 1
            if k - x <= cut:
                return k - 1
            log_k_half = log(k + 0.5)
            y = oms * log_k_half
            if y > _TAYLOR_THRESHOLD or y < -_TAYLOR_THRESHOLD:
                h_int = math.expm1(y) / y * log_k_half
            else:
                h_int = (1.0 + y * 0.5 * (1.0 + y * (1.0 / 3.0) * (1.0 + 0.25 * y))) * log_k_half
            if u >= h_int - exp(-s * log(k)):
                return k - 1

    def probability(self, k: int) -> float:
        """Exact probability of index ``k`` (0 outside ``[0, n)``)."""
        if not 0 <= k < self.n:
            return 0.0
        if self._normaliser is None:
            self._normaliser = _harmonic(self.n, self.s)
        return (k + 1) ** -self.s / self._normaliser

    def __repr__(self) -> str:
        return f"Zipfian(n={self.n}, s={self.s})"


class Hotspot:
    """A hot set (the first ``max(1, round(n*hot_keys))`` indices) gets ``hot_requests`` of the
    draws, uniform inside; the remaining draws are uniform over the other indices. If the hot set
    is every key, draws are uniform over all of them.

    >>> h = Hotspot(1000, hot_keys=0.01, hot_requests=0.9)
    >>> h.hot_count
    10
    >>> rng = random.Random(3)
    >>> [h.choose(rng) for _ in range(8)]
    [8, 9, 9, 0, 490, 3, 7, 8]
    >>> expected_probability(h, 0), round(expected_probability(h, 500), 6)
    (0.09, 0.000101)
    """

    def __init__(self, n: int, hot_keys: float, hot_requests: float) -> None:
        self.n = _check_n(n)
        self.hot_keys = _check_fraction(hot_keys, "hot_keys", low_open=True)
        self.hot_requests = _check_fraction(hot_requests, "hot_requests", low_open=False)
        # min(): n * hot_keys is a float and can round above n when n > 2**53.
        self.hot_count = min(self.n, max(1, round(self.n * self.hot_keys)))
        self._cold_count = self.n - self.hot_count
        # With no cold keys every draw must land in the hot set, whatever hot_requests says.
        self._p_hot = self.hot_requests if self._cold_count else 1.0

    def choose(self, rng: random.Random) -> int:
        # random() is in [0, 1): hot_requests 0 never picks the hot set, 1 always does.
        if rng.random() < self._p_hot:
            return rng.randrange(self.hot_count)
        return self.hot_count + rng.randrange(self._cold_count)

    def probability(self, k: int) -> float:
        """Exact probability of index ``k`` (0 outside ``[0, n)``)."""
        if not 0 <= k < self.n:
            return 0.0
        if k < self.hot_count:
            return self._p_hot / self.hot_count
        return (1.0 - self._p_hot) / self._cold_count

    def __repr__(self) -> str:
        return f"Hotspot(n={self.n}, hot_keys={self.hot_keys}, hot_requests={self.hot_requests})"


class Latest:
    """Zipfian counted back from the newest item: ``high_water - 1 - r``, r a Zipfian rank.

    ``high_water`` is the number of items that exist (indices ``>=`` the initial count are items
    created during the run); the caller raises it as it creates items, and the newest item stays
    the most likely. The inner Zipfian is resized only when ``high_water`` has changed since the
    last draw (about a microsecond), so setting it to the same value before every draw costs
    nothing.

    >>> c = Latest(0.99, high_water=100)
    >>> rng = random.Random(5)
    >>> [c.choose(rng) for _ in range(5)]
    [96, 98, 98, 99, 98]
    >>> c.high_water = 120
    >>> [c.choose(rng) for _ in range(5)]
    [119, 17, 110, 119, 116]
    """

    def __init__(self, s: float, high_water: int) -> None:
        self.s = _check_exponent(s)
        self.high_water = _check_n(high_water, "high_water")
        self._zipf = Zipfian(self.high_water, self.s)

    def _zipfian(self) -> Zipfian:
        zipf = self._zipf
        if zipf.n != self.high_water:
            zipf._resize(_check_n(self.high_water, "high_water"))
        return zipf

    def choose(self, rng: random.Random) -> int:
        hw = self.high_water
        zipf = self._zipf
        if zipf.n != hw:  # the caller created items since the last draw
            zipf = self._zipfian()
        return hw - 1 - zipf.choose(rng)

    def probability(self, k: int) -> float:
        """Exact probability of index ``k`` at the current ``high_water``."""
        hw = self.high_water
        if not 0 <= k < hw:
            return 0.0
        return self._zipfian().probability(hw - 1 - k)

    def __repr__(self) -> str:
        return f"Latest(s={self.s}, high_water={self.high_water})"


def make_chooser(
    kind: str, n: int, zipf_s: float = 0.99, hot_keys: float = 0.01, hot_requests: float = 0.9
) -> Chooser:
    """The chooser for a distribution name; only the parameters ``kind`` uses are checked.

    >>> make_chooser("zipfian", 1000, zipf_s=1.2)
    Zipfian(n=1000, s=1.2)
    >>> make_chooser("zipf", 10)
    Traceback (most recent call last):
    ...
    ValueError: unknown key distribution 'zipf'; allowed: uniform, zipfian, hotspot, latest
    """
    if kind not in KINDS:
        raise ValueError(f"unknown key distribution {kind!r}; allowed: {', '.join(KINDS)}")
    n = _check_n(n)
    if kind == "uniform":
        return Uniform(n)
    if kind == "hotspot":
        return Hotspot(
            n,
            _check_fraction(hot_keys, "hot_keys", low_open=True),
            _check_fraction(hot_requests, "hot_requests", low_open=False),
        )
    s = _check_exponent(zipf_s, "zipf_s")
    return Zipfian(n, s) if kind == "zipfian" else Latest(s, n)


def expected_probability(chooser: Chooser, k: int) -> float:
    """Exact probability that ``chooser.choose`` returns ``k`` (``Latest``: at its current
    ``high_water``). Zipfian normalisers are exact sums up to n = 1000, beyond that a partial sum
    plus Euler-Maclaurin tail accurate to about 1e-15 relative; computed once per chooser.
    """
    if isinstance(chooser, Uniform):
        return 1.0 / chooser.n if 0 <= k < chooser.n else 0.0
    if isinstance(chooser, Zipfian | Hotspot | Latest):
        return chooser.probability(k)
    raise TypeError(f"no known distribution for {chooser!r}")
