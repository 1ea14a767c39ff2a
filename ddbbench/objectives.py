"""Latency objectives (the scenario's ``slo`` section) and the one rule that decides whether a
percentile can be judged at all.

The section's ``percentile`` and ``threshold_ms`` are the default objective of every pattern;
``objectives`` replace the default for the patterns they name, so a pattern can have a looser,
a stricter or several objectives. Every objective has an error budget (``slo.error_budget``,
default 0.1% of requests; an objective's own ``error_budget`` wins). A run directory records
the section as plain data: ``Slo.from_dict`` reads it back (older runs lack ``objectives``
and ``error_budget``: the defaults then apply).

Example::

    >>> slo = Slo(99.0, 10.0, objectives=(Objective("update_status", 99.9, 25.0),))
    >>> [o.label for o in slo.objectives_for("update_status")]
    ['p99.9 < 25 ms']
    >>> slo.objectives_for("get_conversation")[0].full_label
    'p99 < 10 ms, errors <= 0.10%'

    >>> judgeable(999, 99), judgeable(1000, 99), insufficient_message(18, 99)
    (False, True, 'not enough data (n=18; p99 needs 1,000)')
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ddbbench.errors import ConfigError
from ddbbench.facts import PATTERNS
from ddbbench.typed import rule

# The product's one error budget: the share of requests an objective allows to fail (0.1%);
# scenarios (slo.error_budget), objectives and `ddbbench knee --error-budget` may change it.
DEFAULT_ERROR_BUDGET = 0.001
MIN_BEYOND = 10  # requests beyond a percentile before it is judged (p99: 1,000 requests)


def required_requests(percentile: float, beyond: int = MIN_BEYOND) -> int:
    """Requests needed to judge ``percentile``: ``beyond`` of them above it.

    >>> [required_requests(p) for p in (50, 90, 95, 99, 99.9)]
    [20, 100, 200, 1000, 10000]

    The maximum (p100) is exact rather than estimated: it needs ``beyond`` requests.
    """
    if percentile >= 100:
        return beyond
    # Rounded before the ceiling: 10 / (1 - 0.99) is 1000.0000000000009 in floating point.
    return math.ceil(round(beyond * 100.0 / (100.0 - percentile), 6))


def judgeable(n: int, percentile: float, beyond: int = MIN_BEYOND) -> bool:
    """Whether ``n`` requests can support a verdict on ``percentile`` (at least ``beyond``
    requests beyond it). Below that a pXX is about the sample's maximum, not the pXX."""
    return n >= required_requests(percentile, beyond)


def insufficient_message(n: int, percentile: float, beyond: int = MIN_BEYOND) -> str:
    """'not enough data (n=18; p99 needs 1,000)'."""
    return f"not enough data (n={n:,}; p{percentile:g} needs {required_requests(percentile, beyond):,})"


def not_enough_data(n: int, percentile: float) -> str | None:
    """None when ``n`` requests can judge ``percentile``, else why not (``insufficient_message``).

    >>> not_enough_data(1000, 99) is None, not_enough_data(999, 99)
    (True, 'not enough data (n=999; p99 needs 1,000)')
    """
    return None if judgeable(n, percentile) else insufficient_message(n, percentile)


@dataclass(frozen=True)
class Objective:
    """One pattern's latency objective: its ``percentile`` below ``threshold_ms`` (all three
    required in a scenario: a default silently applied here would be easy to misread), and its
    failed requests within ``error_budget`` (a fraction; None: the scenario's
    ``slo.error_budget``, which ``Slo.objectives_for`` fills in).

    >>> o = Objective("get_conversation", 99.9, 5.0, error_budget=0.01)
    >>> o.label, o.full_label
    ('p99.9 < 5 ms', 'p99.9 < 5 ms, errors <= 1.00%')
    """

    pattern: str = rule("", what="an access pattern", choices=PATTERNS)
    percentile: float | None = rule(None, what="a percentile", gt=0, le=100)
    threshold_ms: float | None = rule(None, what="a latency in ms", gt=0)
    error_budget: float | None = rule(None, what="a fraction of requests (0.001 = 0.1%)", ge=0, le=1)

    def validate(self, path: str) -> None:
        if not self.pattern:
            raise ConfigError(f"{path}.pattern: missing; name one of {', '.join(PATTERNS)}")
        for name, what in (("percentile", "a percentile > 0 <= 100"),
                           ("threshold_ms", "a latency in ms > 0")):
            if getattr(self, name) is None:
                raise ConfigError(f"{path}.{name}: missing; give {what}")

    @property
    def budget(self) -> float:
        """The error budget in force: this objective's, else the product default."""
        return DEFAULT_ERROR_BUDGET if self.error_budget is None else self.error_budget

    @property
    def label(self) -> str:
        return f"p{self.percentile:g} < {self.threshold_ms:g} ms"

    @property
    def full_label(self) -> str:
        return f"{self.label}, errors <= {self.budget:.2%}"

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> Objective:
        """A recorded objective (a run's manifest), numbers as floats; not validated again."""
        budget = doc.get("error_budget")
        return cls(str(doc.get("pattern", "")), float(doc["percentile"]), float(doc["threshold_ms"]),
                   None if budget is None else float(budget))


@dataclass(frozen=True)
class Slo:
    """``percentile``/``threshold_ms`` apply to every pattern; ``objectives`` replace them for
    the patterns they name (one or more objectives per pattern, at different percentiles).
    ``error_budget``: the share of a pattern's requests allowed to fail (every objective's,
    unless it sets its own); over it, the objective fails whatever the latency.

    >>> Slo.from_dict({"percentile": 99, "threshold_ms": 5}).objectives_for("update_status")
    [Objective(pattern='update_status', percentile=99.0, threshold_ms=5.0, error_budget=0.001)]
    """

    percentile: float = rule(99.0, what="a percentile", gt=0, le=100)
    threshold_ms: float = rule(10.0, what="a latency in ms", gt=0)
    error_budget: float = rule(DEFAULT_ERROR_BUDGET, what="a fraction of requests (0.001 = 0.1%)",
                               ge=0, le=1)
    objectives: tuple[Objective, ...] = ()

    def validate(self, path: str) -> None:
        seen: set[tuple[str, float]] = set()
        for i, o in enumerate(self.objectives):
            key = (o.pattern, float(o.percentile or 0))
            if key in seen:
                raise ConfigError(f"{path}.objectives[{i}]: a second objective for {o.pattern} "
                                  f"p{key[1]:g}; allowed: one per pattern and percentile")
            seen.add(key)

    def check_mix(self, weights: Mapping[str, float], path: str) -> None:
        """An objective for a pattern that never runs could only fail: refuse it."""
        for i, o in enumerate(self.objectives):
            if weights[o.pattern] == 0:
                raise ConfigError(f"{path}.objectives[{i}].pattern: {o.pattern!r} has weight 0 in "
                                  "the mix; allowed: a pattern with a weight > 0")

    def default_objective(self, pattern: str) -> Objective:
        return Objective(pattern, self.percentile, self.threshold_ms, self.error_budget)

    def objectives_for(self, pattern: str) -> list[Objective]:
        """The objectives a pattern is judged by, budgets filled in: its own, else the default."""
        own = [o if o.error_budget is not None else dataclasses.replace(o, error_budget=self.error_budget)
               for o in self.objectives if o.pattern == pattern]
        return own or [self.default_objective(pattern)]

    def objectives_by_pattern(self, patterns: Iterable[str]) -> dict[str, list[Objective]]:
        return {p: self.objectives_for(p) for p in patterns}

    def judged_patterns(self, measured: Iterable[str]) -> list[str]:
        """Every pattern with a verdict: the measured ones and any named by an objective (a named
        pattern without requests fails: its objective was not shown to hold)."""
        return sorted(set(measured) | {o.pattern for o in self.objectives})

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> Slo:
        """The section as a run directory recorded it (``Scenario.to_dict``); a run from before
        error budgets has none: the product default."""
        budget = doc.get("error_budget")
        return cls(float(doc["percentile"]), float(doc["threshold_ms"]),
                   DEFAULT_ERROR_BUDGET if budget is None else float(budget),
                   tuple(Objective.from_dict(o) for o in doc.get("objectives", ())))
