"""A run's summary as typed objects: ``Summary`` (summary.json, format 3) and its per-pattern
``PatternSummary``; the verdicts are ``analysis.slo.Verdict`` in a ``SloSection``.

``analysis.metrics.summarize_run`` builds them; ``to_dict`` gives the summary.json document
(``analysis.plain``: the fields are its keys, in order) and ``from_dict`` reads one back,
from this or an older ddbbench (format 3; a missing field takes its default, an unknown key
is kept in ``extra``). ``overall`` and ``generator`` are typed too (``Overall``,
``GeneratorHealth``); the other sections (``target``, ``capacity``, ``ci``, ...) stay plain
mappings, as documented in docs/run-directory.md.

Example::

    >>> row = PatternSummary(count=3, successful=3, p99_ms=1.5)
    >>> row.percentile_ms(99), PatternSummary.from_dict(row.to_dict()) == row
    (1.5, True)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from analysis.plain import Plain, from_fields, to_fields
from analysis.slo import SloSection
from ddbbench.errors import UnusableInput
from ddbbench.runformat import COUNTERS

FORMAT = "ddbbench-summary"
FORMAT_VERSION = 3


def pct_key(p: float) -> str:
    """Summary key of a percentile: 99 -> 'p99_ms', 99.9 -> 'p99_9_ms'."""
    text = f"{p:g}".replace(".", "_")
    return f"p{text}_ms"


@dataclass
class PatternSummary(Plain):
    """One pattern's row of the summary: counts and rates of every request; latency (ms) of the
    successful ones, with confidence intervals (``ci``, keyed like the percentiles); failed
    requests' own latency; consumed capacity (table and indexes apart, and per name); items
    read and written; the open model's late starts; the pattern's combined verdict (``slo_met``).

    >>> PatternSummary.from_dict({"count": 4, "successful": 3, "p50_ms": 1.25}).percentile_ms(50)
    1.25
    """

    count: int = 0
    successful: int = 0
    errors: int = 0
    error_rate: float = 0.0
    throttled: int = 0
    throttle_rate: float = 0.0
    outcomes: dict[str, int] = field(default_factory=dict)
    outcome_rates: dict[str, float] = field(default_factory=dict)
    error_codes: dict[str, int] = field(default_factory=dict)
    throughput_rps: float = 0.0
    mixed_outcomes: bool = False  # version-1 measurements: failures are in the latency
    p50_ms: float | None = None  # the percentiles of analysis.metrics.PERCENTILES
    p90_ms: float | None = None
    p99_ms: float | None = None
    p99_9_ms: float | None = None
    min_ms: float | None = None
    max_ms: float | None = None
    mean_ms: float | None = None
    ci: dict[str, list[float] | None] = field(default_factory=dict)
    ci_blocks: int = 0
    failed: dict[str, Any] = field(default_factory=dict)
    failed_by_outcome: dict[str, dict[str, Any]] = field(default_factory=dict)
    retries: int = 0
    clamped: int = 0
    capacity_kind: str = "read"
    capacity_per_request: float = 0.0
    index_capacity_per_request: float = 0.0
    capacity_per_s: float = 0.0
    index_capacity_per_s: float = 0.0
    capacity_total: float = 0.0
    index_capacity_total: float = 0.0
    capacity_by_name: dict[str, dict[str, Any]] = field(default_factory=dict)
    items_per_request: float = 0.0
    items_written: int = 0
    bytes_written: int = 0
    items_written_per_request: float = 0.0
    bytes_written_per_request: float = 0.0
    late: int = 0
    mean_schedule_lag_ms: float = 0.0
    slo_met: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def percentile_ms(self, p: float) -> float | None:
        """The latency at percentile ``p`` of the successful requests (None: none succeeded)."""
        return getattr(self, pct_key(p))


@dataclass
class Overall(Plain):
    """Every pattern's requests together: counts, rates, throughput and the overall verdict.

    >>> Overall(10, 9, 1, 0.1, 0.0, {"ok": 9, "throttled": 1}).to_dict()["slo_met"] is None
    True
    """

    count: int = 0
    successful: int = 0
    errors: int = 0
    error_rate: float = 0.0
    throttle_rate: float = 0.0
    outcomes: dict[str, int] = field(default_factory=dict)
    throughput_rps: float = 0.0
    slo_met: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class GeneratorHealth:
    """The load generator's health: CPU per process (``processes``, plain mappings), the
    saturation threshold, the generator's counters summed (``ddbbench.runformat.COUNTERS``,
    written in place as top-level keys), the whole machine's CPU, when the target became
    unreachable, and whether the run's latencies can be trusted.

    >>> doc = GeneratorHealth(counters={"scheduled": 5}, trustworthy=False).to_dict()
    >>> doc["scheduled"], GeneratorHealth.from_dict(doc).counters
    (5, {'scheduled': 5})
    """

    processes: list[dict[str, Any]] = field(default_factory=list)
    threshold_pct: float = 0.0
    saturated: bool = False
    counters: dict[str, int] = field(default_factory=dict)
    machine_cpu_mean_pct: float | None = None
    unreachable_since_unix_s: float | None = None
    unreachable_since_s: float | None = None
    trustworthy: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in to_fields(self).items():
            if key == "counters":  # written in place: the document predates this class
                out.update(value)
            else:
                out[key] = value
        return out

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> GeneratorHealth:
        counters = {k: v for k, v in doc.items() if k in COUNTERS}
        rest = {k: v for k, v in doc.items() if k not in COUNTERS}
        return from_fields(cls, {**rest, "counters": counters})


@dataclass
class Summary:
    """summary.json: the run and what it measured, the objectives' verdicts (``slo``), one
    ``PatternSummary`` per pattern, and the whole run's rates, capacity and generator health.

    >>> doc = {"format": FORMAT, "format_version": 3, "run_id": "r1", "patterns": {"get": {"count": 2}}}
    >>> s = Summary.from_dict(doc)
    >>> s.patterns["get"].count, s.to_dict()["patterns"]["get"]["count"]
    (2, 2)
    """

    format: str = FORMAT
    format_version: int = FORMAT_VERSION
    run_id: str = ""
    scenario: str = ""
    design: str | None = None
    target: dict[str, Any] = field(default_factory=dict)
    measured: dict[str, Any] = field(default_factory=dict)
    stopped_by_cap: bool = False
    duration_s: float = 0.0
    client: str = ""
    measurements_format_version: int = 2
    test_start_unix_s: float = 0.0
    latency_of: str = "successful requests"
    slo: SloSection | None = None
    ci: dict[str, Any] | None = None
    patterns: dict[str, PatternSummary] = field(default_factory=dict)
    overall: Overall = field(default_factory=Overall)
    capacity: dict[str, Any] = field(default_factory=dict)
    generator: GeneratorHealth = field(default_factory=GeneratorHealth)
    calibration: dict[str, Any] = field(default_factory=lambda: {"requests": 0})
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return to_fields(self)

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> Summary:
        """A summary.json document of format 3; UnusableInput (exit 2) for another format or a
        document missing what format 3 requires (the verdicts' fields)."""
        if (doc.get("format"), doc.get("format_version")) != (FORMAT, FORMAT_VERSION):
            raise UnusableInput(f"summary format {doc.get('format')!r} version "
                                f"{doc.get('format_version')!r}; readable: {FORMAT} {FORMAT_VERSION} "
                                "(ddbbench report RUN_DIR rewrites it)")
        try:
            return from_fields(cls, doc, {
                "slo": lambda d: None if d is None else SloSection.from_dict(d),
                "overall": Overall.from_dict, "generator": GeneratorHealth.from_dict,
                "patterns": lambda ps: {name: PatternSummary.from_dict(p) for name, p in ps.items()}})
        except (KeyError, TypeError, AttributeError) as exc:  # a section missing a key, or not a mapping
            detail = f"missing {exc}" if isinstance(exc, KeyError) else "a section is not what format 3 holds"
            raise UnusableInput(f"summary: unreadable ({detail}); "
                                "`ddbbench report RUN_DIR` rebuilds it") from None
