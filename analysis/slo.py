"""Latency objectives of a run, as the scenario's ``slo`` section states them, and the one
rule that decides whether a percentile can be judged at all.

The section's ``percentile`` and ``threshold_ms`` are the default objective of every pattern;
``objectives`` (a list of {pattern, percentile, threshold_ms, error_budget}) replace the
default for the patterns they name, so a pattern can have a looser, a stricter or several
objectives. Every objective has an error budget (``slo.error_budget``, default 0.1% of
requests; an objective's own ``error_budget`` wins). Older run directories have no
``objectives``: the default then applies to every pattern.

Example::

    >>> slo = {"percentile": 99, "threshold_ms": 10,
    ...        "objectives": [{"pattern": "query", "percentile": 99.9, "threshold_ms": 25}]}
    >>> [o.label for o in objectives_for(slo, "query")], [o.label for o in objectives_for(slo, "get")]
    (['p99.9 < 25 ms'], ['p99 < 10 ms'])
    >>> judgeable(999, 99), judgeable(1000, 99), insufficient_message(18, 99)
    (False, True, 'not enough data (n=18; p99 needs 1,000)')
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ddbbench.scenario import DEFAULT_ERROR_BUDGET

MIN_BEYOND = 10  # requests beyond a percentile before it is judged (p99: 1,000 requests)
PASS, FAIL, INSUFFICIENT = "pass", "fail", "insufficient"
MET = {PASS: True, FAIL: False, INSUFFICIENT: None}  # status -> ``met`` (None: not judged)


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


@dataclass(frozen=True)
class Objective:
    """A pattern's ``percentile`` must stay below ``threshold_ms`` and its failed requests
    within ``error_budget`` (a fraction of its requests)."""

    percentile: float
    threshold_ms: float
    error_budget: float = DEFAULT_ERROR_BUDGET

    @property
    def label(self) -> str:
        return f"p{self.percentile:g} < {self.threshold_ms:g} ms"

    @property
    def full_label(self) -> str:
        return f"{self.label}, errors <= {self.error_budget:.2%}"


def default_objective(slo: dict[str, Any]) -> Objective:
    return Objective(float(slo["percentile"]), float(slo["threshold_ms"]), scenario_budget(slo))


def scenario_budget(slo: dict[str, Any]) -> float:
    """The scenario's error budget (runs from before budgets existed: the product default)."""
    budget = slo.get("error_budget")
    return DEFAULT_ERROR_BUDGET if budget is None else float(budget)


def objectives_for(slo: dict[str, Any], pattern: str) -> list[Objective]:
    """The objectives a pattern is judged by: its own, else the default."""
    own = [Objective(float(o["percentile"]), float(o["threshold_ms"]),
                     scenario_budget(slo) if o.get("error_budget") is None else float(o["error_budget"]))
           for o in slo.get("objectives", ()) if o["pattern"] == pattern]
    return own or [default_objective(slo)]


def objectives_by_pattern(slo: dict[str, Any], patterns: Iterable[str]) -> dict[str, list[Objective]]:
    return {p: objectives_for(slo, p) for p in patterns}


def judged_patterns(slo: dict[str, Any], measured: Iterable[str]) -> list[str]:
    """Every pattern with a verdict: the measured ones and any named by an objective (a named
    pattern without requests fails: its objective was not shown to hold)."""
    named = {o["pattern"] for o in slo.get("objectives", ())}
    return sorted(set(measured) | named)


@dataclass(frozen=True)
class Counts:
    """What a verdict is judged on: every request, the failed ones, the successful ones
    (the latency is of these)."""

    requests: int
    errors: int

    @property
    def successful(self) -> int:
        return self.requests - self.errors

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0


def verdict(value_ms: float | None, ci_ms: tuple[float, float] | None, objective: Objective,
            counts: Counts) -> dict[str, Any]:
    """The verdict on one objective: ``status`` pass, fail or insufficient, ``met`` True,
    False or None (not judged), and ``reason`` (empty for a pass).

    In order: no requests fails; an error rate over the budget fails whatever the latency;
    no successful request fails; fewer successful requests than the percentile needs is not
    judged; else met when the estimate is below the threshold. ``confident`` when the whole
    confidence interval lies on the verdict's side (None without an interval or verdict).
    """
    status, reason = _status(value_ms, objective, counts)
    confident = None
    if ci_ms is not None and status != INSUFFICIENT and value_ms is not None:
        met = value_ms < objective.threshold_ms
        confident = ci_ms[1] < objective.threshold_ms if met else ci_ms[0] >= objective.threshold_ms
    return {"percentile": objective.percentile, "threshold_ms": objective.threshold_ms,
            "error_budget": objective.error_budget, "value_ms": value_ms,
            "ci_ms": list(ci_ms) if ci_ms else None, "status": status, "met": MET[status],
            "confident": confident, "reason": reason,
            "needed": required_requests(objective.percentile)}


def _status(value_ms: float | None, o: Objective, counts: Counts) -> tuple[str, str]:
    if counts.requests == 0:
        return FAIL, "no requests"
    if counts.error_rate > o.error_budget:
        return FAIL, (f"error rate {counts.error_rate:.2%} > budget {o.error_budget:.2%} "
                      f"({counts.errors:,} of {counts.requests:,} failed)")
    if counts.successful == 0 or value_ms is None:
        return FAIL, "no successful requests"
    if not judgeable(counts.successful, o.percentile):
        return INSUFFICIENT, insufficient_message(counts.successful, o.percentile)
    if value_ms >= o.threshold_ms:
        return FAIL, f"p{o.percentile:g} {value_ms:.3f} ms >= {o.threshold_ms:g} ms"
    return PASS, ""


def combined_status(statuses: Iterable[str]) -> str:
    """Several verdicts as one: any fail fails; else any not judged is not judged; else pass.
    No verdict at all fails (nothing was shown to hold)."""
    seen = set(statuses)
    if not seen or FAIL in seen:
        return FAIL
    return INSUFFICIENT if INSUFFICIENT in seen else PASS
