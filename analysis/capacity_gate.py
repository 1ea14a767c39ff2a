"""The capacity gate: what each request consumes and writes, baseline against candidate.

Consumed capacity per request is what a design or code change really changes on DynamoDB, what
it costs, and the one figure from DynamoDB Local that carries over to the service. Unlike
latency it hardly moves between runs of the same code (the `ci` scenario is seeded and its
request count fixed: docs/ci-gate.md), so the tolerance can be small and fixed.

Compared per pattern (summary format 3, ``analysis.metrics``):

- capacity units per request on all tables and on all indexes together, and on every table
  ``"T"`` and index ``"T/ix"`` (``capacity_by_name``); when the key design differs, tables and
  indexes have other names: the totals are judged, the named rows are shown for information;
- items and bytes written per request (DynamoDB's item sizing);
- item growth per append: ``append_message``'s bytes written per request, i.e. what each
  append adds to the conversation by DynamoDB's sizing rules (the appended message under the
  seed design; the new message item where messages are items).

A figure that grows by more than the tolerance, or appears where the baseline had none, is a
regression; one that falls by more is reported as lower ("refresh the baseline"), not failed.

    >>> base = {"update_status": {"capacity_kind": "write", "items_written_per_request": 1.0,
    ...     "bytes_written_per_request": 80.0,
    ...     "capacity_by_name": {"T/ix": {"per_request": 1.92}}}}
    >>> cand = {"update_status": {**base["update_status"],
    ...     "capacity_by_name": {"T/ix": {"per_request": 3.0}}}}
    >>> [r.message for r in compare_capacity(base, cand, 0.02) if r.regression]
    ['update_status: WCU/request on T/ix 1.92 -> 3.00 (+56%)']

(the summaries' ``index_capacity_per_request`` totals, left out here, give an "all indexes" row)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

DEFAULT_TOLERANCE = 0.02
GROWTH_PATTERN = "append_message"
# Items and bytes written: (summary key, label)
_TOTALS = (("capacity_per_request", "all tables"), ("index_capacity_per_request", "all indexes"))
_WRITTEN = (("items_written_per_request", "items written/request"),
            ("bytes_written_per_request", "bytes written/request"))


@dataclass(frozen=True)
class CapacityRow:
    """One figure of one pattern in both runs; ``change`` is relative (None from 0 or absent)."""

    pattern: str
    what: str  # e.g. "WCU/request", "bytes written/request"
    on: str  # a table or "T/index"; "" for figures of the whole request
    baseline: float | None
    candidate: float | None
    tolerance: float
    judged: bool = True  # False: shown, never a regression (a name under another key design)

    @property
    def change(self) -> float | None:
        if self.baseline is None or self.candidate is None or self.baseline == 0:
            return None
        return self.candidate / self.baseline - 1

    @property
    def regression(self) -> bool:
        """Grew beyond the tolerance, or appeared (from nothing to something)."""
        if not self.judged or self.candidate is None or self.candidate == 0:
            return False
        if self.baseline is None or self.baseline == 0:
            return True
        return self.candidate > self.baseline * (1 + self.tolerance)

    @property
    def lower(self) -> bool:
        """Fell beyond the tolerance (or disappeared): not a failure, but the baseline is stale."""
        if not self.judged or self.baseline is None or self.baseline == 0:
            return False
        return self.candidate is None or self.candidate < self.baseline * (1 - self.tolerance)

    @property
    def verdict(self) -> str:
        if not self.judged:
            return "info"
        return "REGRESSION" if self.regression else "lower" if self.lower else "pass"

    @property
    def change_text(self) -> str:
        if self.change == 0:
            return "="
        if self.change is not None:
            return f"{self.change:+.0%}" if abs(self.change) >= 0.01 else f"{self.change:+.2%}"
        if self.baseline in (None, 0) and self.candidate:
            return "new"
        return "gone" if self.baseline and not self.candidate else "="

    @property
    def message(self) -> str:
        where = f" on {self.on}" if self.on else ""
        return (f"{self.pattern}: {self.what}{where} {_num(self.baseline)} -> {_num(self.candidate)} "
                f"({self.change_text})")


def _num(value: float | None) -> str:
    if value is None:
        return "none"
    return f"{value:.1f}" if abs(value) >= 100 else f"{value:.2f}" if abs(value) >= 0.1 else f"{value:.4f}"


def pattern_rows(pattern: str, base: dict[str, Any] | None, cand: dict[str, Any] | None,
                 tolerance: float, same_design: bool = True) -> list[CapacityRow]:
    """The capacity rows of one pattern (either side may be missing: None)."""
    either = cand or base or {}
    unit = "WCU/request" if either.get("capacity_kind") == "write" else "RCU/request"
    rows = []
    for key, on in _TOTALS:
        b, c = (base or {}).get(key), (cand or {}).get(key)
        if (b or 0) != 0 or (c or 0) != 0:
            rows.append(CapacityRow(pattern, unit, on, b, c, tolerance))
    b_names = (base or {}).get("capacity_by_name", {})
    c_names = (cand or {}).get("capacity_by_name", {})
    for name in sorted(set(b_names) | set(c_names)):
        b, c = b_names.get(name, {}).get("per_request"), c_names.get(name, {}).get("per_request")
        if (b or 0) == 0 and (c or 0) == 0:
            continue  # e.g. a query's base table: 0 units in both
        rows.append(CapacityRow(pattern, unit, name, b, c, tolerance, judged=same_design))
    for key, label in _WRITTEN:
        b, c = (base or {}).get(key), (cand or {}).get(key)
        if (b or 0) == 0 and (c or 0) == 0:
            continue  # a read pattern writes nothing
        if pattern == GROWTH_PATTERN and key == "bytes_written_per_request":
            label = "item growth/append (bytes)"
        rows.append(CapacityRow(pattern, label, "", b, c, tolerance))
    return rows


def compare_capacity(base: dict[str, dict[str, Any]], cand: dict[str, dict[str, Any]],
                     tolerance: float = DEFAULT_TOLERANCE, same_design: bool = True) -> list[CapacityRow]:
    """Rows for every pattern of either summary's ``patterns``."""
    return [row for pattern in sorted(set(base) | set(cand))
            for row in pattern_rows(pattern, base.get(pattern), cand.get(pattern), tolerance, same_design)]


def capacity_input_problems(summary: dict[str, Any], name: str) -> list[str]:
    """Why a summary cannot be capacity-gated (empty when it can): it must keep capacity per
    table and index and the bytes written (run directory format 2, summary format 3)."""
    if summary.get("measurements_format_version", 1) < 2 or summary.get("format_version", 0) < 3:
        return [f"the {name} run was recorded by an older ddbbench (measurements format "
                f"{summary.get('measurements_format_version', 1)}): it has no capacity per table "
                "and index or bytes written; refresh the baseline (re-run it with this ddbbench)"]
    return []


def unstable_rows(rows: list[CapacityRow], cand_patterns: dict[str, dict[str, Any]]) -> list[str]:
    """Notes on what makes a candidate's figures not comparable as they stand: failed requests
    consume no capacity, so a pattern with errors looks cheaper than it is."""
    notes = []
    for pattern in sorted({r.pattern for r in rows}):
        errors = cand_patterns.get(pattern, {}).get("errors", 0)
        if errors:
            notes.append(f"{pattern}: {errors} failed request(s) in the candidate consume no "
                         "capacity: its per-request figures are understated")
    return notes


CALIBRATION_FACTOR = 3.0
CALIBRATION_FLOOR = 0.001  # 0.1%: identical baselines would otherwise allow no change at all


def calibrated_tolerance(baselines: list[dict[str, dict[str, Any]]], factor: float = CALIBRATION_FACTOR,
                         floor: float = CALIBRATION_FLOOR) -> tuple[float, str]:
    """A tolerance from several baseline runs of the same code (their summaries' ``patterns``):
    ``factor`` x the largest relative spread (max / min - 1) of any figure among them, at least
    ``floor``; and a sentence saying how it was found.

    >>> b = [{"p": {"capacity_kind": "read", "capacity_by_name": {"T": {"per_request": v}}}}
    ...      for v in (0.50, 0.501, 0.5005)]
    >>> calibrated_tolerance(b)[0]
    0.006
    """
    values: dict[tuple[str, str, str], list[float]] = {}
    for patterns in baselines:
        for row in compare_capacity(patterns, patterns):
            if row.baseline:
                values.setdefault((row.pattern, row.what, row.on), []).append(row.baseline)
    spreads = {key: max(v) / min(v) - 1 for key, v in values.items() if len(v) == len(baselines)}
    worst = max(spreads, key=lambda k: spreads[k], default=None)
    spread = spreads[worst] if worst else 0.0
    tolerance = round(max(floor, factor * spread), 6)
    where = f" ({worst[0]} {worst[1]}{' on ' + worst[2] if worst[2] else ''})" if worst and spread else ""
    return tolerance, (f"capacity tolerance calibrated on {len(baselines)} baselines: {factor:g} x the "
                       f"largest spread {spread:.3%}{where}, at least {floor:.1%}")


def prefix_patterns(frame: pd.DataFrame, n: int, kinds: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Per-pattern capacity figures of the first ``n`` requests by intended start (raw records:
    ``analysis.rundata.requests_frame``), in the shape of a summary's ``patterns``, without the
    rows per table and index (the raw records keep only table and all-index units).

    Two ``load.deterministic`` runs send the same request sequence; when one fell behind and
    never sent its tail, comparing the whole of each would compare different requests (item
    sizes and query results drift over a run), so the gate compares their common prefix."""
    intended = frame["start_unix_us"] - frame["schedule_lag_us"]
    first = frame.assign(_intended=intended).sort_values("_intended", kind="stable").head(n)
    out: dict[str, dict[str, Any]] = {}
    for pattern, g in first.groupby("pattern"):
        k = len(g)
        out[str(pattern)] = {
            "capacity_kind": kinds.get(str(pattern), "read"), "count": k,
            "errors": int((g["outcome"] != "ok").sum()),
            "capacity_per_request": round(float(g["capacity"].sum()) / k, 4),
            "index_capacity_per_request": round(float(g["index_capacity"].sum()) / k, 4),
            "items_written_per_request": round(float(g["items_written"].sum()) / k, 4),
            "bytes_written_per_request": round(float(g["bytes_written"].sum()) / k, 1),
            "capacity_by_name": {}}
    return out
