"""Verdicts on latency objectives: one per (pattern, objective), and several as one.

The objectives themselves, and the one rule that decides whether a percentile can be judged
at all, are the scenario model's (``ddbbench.objectives``: ``Slo``, ``Objective``,
``judgeable``); a run directory's recorded ``slo`` section is read with ``Slo.from_dict``.

Example::

    >>> goal = Objective("get_conversation", 99.0, 10.0, error_budget=0.001)
    >>> verdict(8.0, None, goal, Counts(1000, 0))["status"], verdict(8.0, None, goal, Counts(18, 0))["reason"]
    ('pass', 'not enough data (n=18; p99 needs 1,000)')
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ddbbench.objectives import Objective, insufficient_message, judgeable, required_requests

PASS, FAIL, INSUFFICIENT = "pass", "fail", "insufficient"
MET = {PASS: True, FAIL: False, INSUFFICIENT: None}  # status -> ``met`` (None: not judged)


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
            "error_budget": objective.budget, "value_ms": value_ms,
            "ci_ms": list(ci_ms) if ci_ms else None, "status": status, "met": MET[status],
            "confident": confident, "reason": reason,
            "needed": required_requests(objective.percentile)}


def _status(value_ms: float | None, o: Objective, counts: Counts) -> tuple[str, str]:
    if counts.requests == 0:
        return FAIL, "no requests"
    if counts.error_rate > o.budget:
        return FAIL, (f"error rate {counts.error_rate:.2%} > budget {o.budget:.2%} "
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
