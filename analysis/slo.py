"""Latency objectives of a run, as the scenario's ``slo`` section states them.

The section's ``percentile`` and ``threshold_ms`` are the default objective of every pattern;
``objectives`` (a list of {pattern, percentile, threshold_ms}) replace the default for the
patterns they name, so a pattern can have a looser, a stricter or several objectives. Older
run directories have no ``objectives``: the default then applies to every pattern.

Example::

    >>> slo = {"percentile": 99, "threshold_ms": 10,
    ...        "objectives": [{"pattern": "query", "percentile": 99.9, "threshold_ms": 25}]}
    >>> [o.label for o in objectives_for(slo, "query")], [o.label for o in objectives_for(slo, "get")]
    (['p99.9 < 25 ms'], ['p99 < 10 ms'])
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Objective:
    """A pattern's ``percentile`` must stay below ``threshold_ms``."""

    percentile: float
    threshold_ms: float

    @property
    def label(self) -> str:
        return f"p{self.percentile:g} < {self.threshold_ms:g} ms"


def default_objective(slo: dict[str, Any]) -> Objective:
    return Objective(float(slo["percentile"]), float(slo["threshold_ms"]))


def objectives_for(slo: dict[str, Any], pattern: str) -> list[Objective]:
    """The objectives a pattern is judged by: its own, else the default."""
    own = [Objective(float(o["percentile"]), float(o["threshold_ms"]))
           for o in slo.get("objectives", ()) if o["pattern"] == pattern]
    return own or [default_objective(slo)]


def objectives_by_pattern(slo: dict[str, Any], patterns: Iterable[str]) -> dict[str, list[Objective]]:
    return {p: objectives_for(slo, p) for p in patterns}


def judged_patterns(slo: dict[str, Any], measured: Iterable[str]) -> list[str]:
    """Every pattern with a verdict: the measured ones and any named by an objective (a named
    pattern without requests fails: its objective was not shown to hold)."""
    named = {o["pattern"] for o in slo.get("objectives", ())}
    return sorted(set(measured) | named)


def verdict(value_ms: float | None, ci_ms: tuple[float, float] | None,
            objective: Objective) -> dict[str, Any]:
    """Met when the point estimate is below the threshold; ``confident`` when the whole
    confidence interval lies on the same side (None without an interval)."""
    met = value_ms is not None and value_ms < objective.threshold_ms
    confident = None
    if ci_ms is not None:
        confident = ci_ms[1] < objective.threshold_ms if met else ci_ms[0] >= objective.threshold_ms
    return {"percentile": objective.percentile, "threshold_ms": objective.threshold_ms,
            "value_ms": value_ms, "ci_ms": list(ci_ms) if ci_ms else None, "met": met,
            "confident": confident}
