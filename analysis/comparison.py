"""The design comparison (comparison.json, ``ddbbench-design-comparison`` version 1) as typed
objects: one ``DesignRow`` per pattern and design, one ``DesignVerdict`` per pattern, and the
``DesignComparison`` around them. ``analysis.designs`` computes them; ``to_dict`` gives the
document written before these classes existed, key for key (``analysis.plain``).

Example::

    >>> row = DesignRow("get_conversation", "seed", 100, 100, 0.0, 1.0, 2.0, None, 3.0, "read", 0.5, 0.0, 0.5)
    >>> DesignRow.from_dict(row.to_dict()) == row, row.to_dict()["units"]
    (True, 0.5)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from analysis.plain import Plain, from_fields, to_fields

FORMAT = "ddbbench-design-comparison"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class DesignRow(Plain):
    """One pattern on one design: requests, latency (ms, of successful requests; the p99's
    confidence interval or None) and capacity units per logical request (table, index, both).

    >>> row = DesignRow("update_status", "seed", 10, 10, 0.0, 1.0, 2.0, [1.5, 2.5], 3.0, "write",
    ...                 2.0, 2.5, 4.5)
    >>> row.units, row.p99_ci_ms
    (4.5, [1.5, 2.5])
    """

    pattern: str
    design: str
    count: int
    successful: int
    error_rate: float
    p50_ms: float | None
    p99_ms: float | None
    p99_ci_ms: list[float] | None
    p99_9_ms: float | None
    kind: str  # read or write
    table_units: float
    index_units: float
    units: float


@dataclass(frozen=True)
class DesignVerdict(Plain):
    """Per pattern: the cheapest design (fewest units, and its ratio to the baseline) and the
    fastest (None with ``fastest_note`` saying why none is named).

    >>> v = DesignVerdict("get_conversation", "seed", 0.5, 1.0, None, "one design", None, None)
    >>> DesignVerdict.from_dict(v.to_dict()) == v
    True
    """

    pattern: str
    cheapest: str
    units: float
    units_vs_baseline: float | None
    fastest: str | None
    fastest_note: str
    p99_ms: float | None
    p99_vs_baseline: float | None


@dataclass
class DesignComparison:
    """comparison.json: what ``compare-designs`` says about the comparison (``meta``: scenario,
    designs, created_at; first in the document), the design runs' directories, the rows, the
    price table used, units and cost per million operations, storage, append growth, the
    verdicts and warnings.

    >>> c = DesignComparison(meta={"scenario": "designs"}, warnings=["x"])
    >>> list(c.to_dict())[:3], DesignComparison.from_dict(c.to_dict()) == c
    (['scenario', 'format', 'format_version'], True)
    """

    meta: dict[str, Any] = field(default_factory=dict)
    format: str = FORMAT
    format_version: int = FORMAT_VERSION
    runs: dict[str, str] = field(default_factory=dict)
    patterns: list[DesignRow] = field(default_factory=list)
    prices: dict[str, Any] = field(default_factory=dict)
    per_million_operations: dict[str, dict[str, float]] = field(default_factory=dict)
    storage: dict[str, dict[str, Any]] = field(default_factory=dict)
    append_growth: dict[str, Any] = field(default_factory=dict)
    verdicts: list[DesignVerdict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        body = to_fields(self)
        return {**body.pop("meta"), **body}

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> DesignComparison:
        """A comparison.json document: keys this class does not name are ``meta``."""
        names = {"format", "format_version", "runs", "patterns", "prices", "per_million_operations",
                 "storage", "append_growth", "verdicts", "warnings"}
        meta = {k: v for k, v in doc.items() if k not in names}
        return from_fields(cls, {**{k: v for k, v in doc.items() if k in names}, "meta": meta}, {
            "patterns": lambda rows: [DesignRow.from_dict(r) for r in rows],
            "verdicts": lambda vs: [DesignVerdict.from_dict(v) for v in vs]})
