"""A knee's steps and its result as typed objects (knee.json's ``steps`` and ``result``).

``analysis.knee`` builds them from each step's summary; ``to_dict`` gives the documents
knee.json held before these classes existed, key for key (``analysis.plain``): a step's
overall percentiles (``p50_ms``, ``p99_ms``) sit between ``achieved_rps`` and
``worst_pattern`` and are left out when the step measured nothing, as are ``run_dir`` and
``verdict`` until the orchestration sets them.

Example::

    >>> v = StepVerdict("fail", ["error rate 1.50% > budget 1.00%"])
    >>> KneeStep(index=1, offered_rps=50.0, verdict=v).to_dict()["verdict"]
    {'status': 'fail', 'reasons': ['error rate 1.50% > budget 1.00%']}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from analysis.plain import Plain, from_fields, to_fields

_OVERALL = "overall_ms"  # spliced into the step's document in place
_AFTER = ("run_dir", "verdict")  # set by the orchestration: left out until then


@dataclass(frozen=True)
class StepPattern(Plain):
    """One pattern in a step: requests, its binding objective (``slo_*``: the one nearest to or
    furthest past its threshold) and why it failed or was not judged, p50, ``met``, error rate.

    >>> StepPattern.from_dict({"count": 3, "met": None}).successful
    0
    """

    count: int = 0
    successful: int = 0
    slo_ms: float | None = None
    slo_percentile: float | None = None
    slo_threshold_ms: float | None = None
    reason: str = ""
    p50_ms: float | None = None
    met: bool | None = None
    error_rate: float = 0.0


@dataclass(frozen=True)
class StepVerdict(Plain):
    """``status``: pass, fail, insufficient or saturated; ``reasons`` (empty for a pass).

    >>> StepVerdict.from_dict({"status": "pass", "reasons": []}) == StepVerdict("pass")
    True
    """

    status: str
    reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class KneeStep:
    """What the knee keeps of one step: its rate, requests and errors, arrivals and completions
    per second, overall and worst-pattern latency, the patterns failing, not judged or with few
    samples, each pattern, the load generator's health; then its run directory and verdict.

    >>> step = KneeStep(index=2, offered_rps=100.0, overall_ms={"p50_ms": 2.0, "p99_ms": 5.0})
    >>> doc = step.to_dict()
    >>> list(doc)[9:13], KneeStep.from_dict(doc) == step
    (['achieved_rps', 'p50_ms', 'p99_ms', 'worst_pattern'], True)
    """

    index: int = 0
    offered_rps: float = 0.0
    run_id: str = ""
    slo: dict[str, float] = field(default_factory=dict)  # the scenario's default objective
    measured_s: float = 0.0
    count: int = 0
    errors: int = 0
    error_rate: float = 0.0
    arrivals_rps: float = 0.0
    achieved_rps: float | None = None
    overall_ms: dict[str, float] = field(default_factory=dict)  # p50_ms, p99_ms over every pattern
    worst_pattern: str | None = None
    worst_slo_ms: float | None = None
    failing: list[str] = field(default_factory=list)
    insufficient: list[str] = field(default_factory=list)
    few_samples: list[str] = field(default_factory=list)
    patterns: dict[str, StepPattern] = field(default_factory=dict)
    saturated: bool = False
    trustworthy: bool = True
    cpu_mean_pct: float = 0.0
    threshold_pct: float = 0.0
    machine_cpu_mean_pct: float | None = None
    cap_waits: int = 0
    not_started: int = 0
    run_dir: str | None = None
    verdict: StepVerdict | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in to_fields(self).items():
            if key == _OVERALL:
                out.update(value)
            elif not (key in _AFTER and value is None):
                out[key] = value
        return out

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> KneeStep:
        overall = {k: v for k, v in doc.items() if k in ("p50_ms", "p99_ms")}
        return from_fields(cls, {**doc, _OVERALL: overall}, {
            "patterns": lambda ps: {n: StepPattern.from_dict(p) for n, p in ps.items()},
            "verdict": lambda v: None if v is None else StepVerdict.from_dict(v)})


@dataclass(frozen=True)
class KneeResult(Plain):
    """The verdict over the steps: ``outcome`` (knee_found, below_start, not_reached,
    generator_saturated, insufficient_data, interrupted, stopped_by_cap), the highest passing
    and first failing rates, and the sentence that says it.

    >>> KneeResult("not_reached", 100.0, None, "raise --max").to_dict()["first_failing_rps"] is None
    True
    """

    outcome: str
    highest_passing_rps: float | None
    first_failing_rps: float | None
    message: str
