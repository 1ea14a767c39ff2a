"""Verdicts on latency objectives: one per (pattern, objective), and several as one.

The objectives themselves, and the one rule that decides whether a percentile can be judged
at all, are the scenario model's (``ddbbench.objectives``: ``Slo``, ``Objective``,
``judgeable``); a run directory's recorded ``slo`` section is read with ``Slo.from_dict``.

Example::

    >>> goal = Objective("get_conversation", 99.0, 10.0, error_budget=0.001)
    >>> verdict(8.0, None, goal, Counts(1000, 0)).status, verdict(8.0, None, goal, Counts(18, 0)).reason
    ('pass', 'not enough data (n=18; p99 needs 1,000)')
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from analysis.plain import Plain, from_fields, to_fields
from ddbbench.objectives import MIN_BEYOND, Objective, Slo, insufficient_message, judgeable, required_requests

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


@dataclass(frozen=True)
class Verdict(Plain):
    """The verdict on one objective of one pattern, as summary.json's ``slo.verdicts`` hold it:
    what it was judged on (requests, failures), the objective, the value and its interval,
    ``status`` (pass, fail or insufficient), ``met`` (True, False or None: not judged),
    ``confident`` and ``reason`` (empty for a pass); ``needed``: requests the percentile needs.

    >>> v = verdict(12.0, None, Objective("update_status", 99.0, 10.0), Counts(1000, 0))
    >>> v.status, v.met, v.reason, Verdict.from_dict(v.to_dict()) == v
    ('fail', False, 'p99 12.000 ms >= 10 ms', True)
    """

    pattern: str
    requests: int
    successful: int
    errors: int
    error_rate: float
    percentile: float
    threshold_ms: float
    error_budget: float
    value_ms: float | None
    ci_ms: list[float] | None
    status: str
    met: bool | None
    confident: bool | None
    reason: str
    needed: int
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def objective(self) -> Objective:
        return Objective(self.pattern, self.percentile, self.threshold_ms, self.error_budget)


def verdict(value_ms: float | None, ci_ms: tuple[float, float] | None, objective: Objective,
            counts: Counts) -> Verdict:
    """The verdict on one objective (its pattern's ``counts`` of requests and failures).

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
    return Verdict(objective.pattern, counts.requests, counts.successful, counts.errors,
                   round(counts.error_rate, 6), objective.percentile, objective.threshold_ms,
                   objective.budget, value_ms, list(ci_ms) if ci_ms else None, status, MET[status],
                   confident, reason, required_requests(objective.percentile))


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


def objectives_by_pattern(slo: Mapping[str, Any], patterns: Iterable[str]) -> dict[str, list[Objective]]:
    """Each pattern's objectives from a run's recorded ``slo`` section (the notebooks read
    analysis only): ``Slo.from_dict(slo).objectives_by_pattern(patterns)``."""
    return Slo.from_dict(slo).objectives_by_pattern(patterns)


def combined_status(statuses: Iterable[str]) -> str:
    """Several verdicts as one: any fail fails; else any not judged is not judged; else pass.
    No verdict at all fails (nothing was shown to hold)."""
    seen = set(statuses)
    if not seen or FAIL in seen:
        return FAIL
    return INSUFFICIENT if INSUFFICIENT in seen else PASS


@dataclass(frozen=True)
class SloSection:
    """summary.json's ``slo``: the scenario's default objective and error budget, ``min_beyond``
    (the sample-size rule), the objectives as recorded, every verdict, and the combined status
    per pattern (``pattern_status``; ``patterns``: its ``met``) and overall.

    >>> v = verdict(8.0, None, Objective("update_status", 99.0, 10.0), Counts(1000, 0))
    >>> section = SloSection.of(Slo(), [v])
    >>> section.status, section.patterns, SloSection.from_dict(section.to_dict()) == section
    ('pass', {'update_status': True}, True)
    """

    percentile: float
    threshold_ms: float
    error_budget: float
    min_beyond: int
    objectives: list[dict[str, Any]]
    verdicts: list[Verdict]
    patterns: dict[str, bool | None]
    pattern_status: dict[str, str]
    met: bool | None
    status: str
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def of(cls, slo: Slo, verdicts: list[Verdict]) -> SloSection:
        names = sorted({v.pattern for v in verdicts})
        status = {n: combined_status(v.status for v in verdicts if v.pattern == n) for n in names}
        overall = combined_status(v.status for v in verdicts)
        return cls(slo.percentile, slo.threshold_ms, slo.error_budget, MIN_BEYOND,
                   [dataclasses.asdict(o) for o in slo.objectives], verdicts,
                   {n: MET[s] for n, s in status.items()}, status, MET[overall], overall)

    def to_dict(self) -> dict[str, Any]:
        return to_fields(self)

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> SloSection:
        return from_fields(cls, doc, {"verdicts": lambda vs: [Verdict.from_dict(v) for v in vs]})
