"""A capacity plan's projected numbers as typed objects (plan.json's ``patterns``,
``capacity``, ``storage``, ``hot_keys``, ``totals`` and ``warnings``).

``analysis.plan.project`` builds a ``CapacityPlan``; ``to_dict`` gives the documents plan.json
held before these classes existed, key for key (``analysis.plain``): a pattern the run did not
measure has no unit or cost keys at all.

Example::

    >>> row = PlanPattern("get_conversation", "read", 10.0, "T", None, "not measured", "no requests", 0.0)
    >>> row.to_dict()["measured"], "units_per_s" in row.to_dict()
    (False, False)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from analysis.plain import Plain, from_fields, to_fields

_MEASURED_ONLY = ("table_units_per_request", "index_units_per_request", "table_units_per_s",
                  "index_units_per_s", "units_per_s", "on_demand_month", "provisioned_month_share")


@dataclass(frozen=True)
class PlanPattern:
    """One pattern at its target rate: where its units go, how they were obtained, and (when
    ``measured``) units per request and per second, monthly on-demand cost and its share of
    provisioned cost at the plan's utilisation.

    >>> row = PlanPattern("update_status", "write", 2.0, "T", "ix", "measured", "", 0.0, True, 1.0, 1.5)
    >>> PlanPattern.from_dict(row.to_dict()) == row
    True
    """

    pattern: str
    kind: str  # read or write
    rate_rps: float
    table: str
    index: str | None
    units_source: str
    note: str
    error_rate_in_run: float
    measured: bool = False
    table_units_per_request: float | None = None
    index_units_per_request: float | None = None
    table_units_per_s: float | None = None
    index_units_per_s: float | None = None
    units_per_s: float | None = None
    on_demand_month: float | None = None
    provisioned_month_share: float | None = None

    def to_dict(self) -> dict[str, Any]:
        doc = to_fields(self)
        return doc if self.measured else {k: v for k, v in doc.items() if k not in _MEASURED_ONLY}

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> PlanPattern:
        return from_fields(cls, doc)


@dataclass(frozen=True)
class ProvisionRow(Plain):
    """One table or GSI provisioned apart: its load and whole units at the utilisation.

    >>> ProvisionRow("T", 2.5, 1.0, 4, 2, 1.33).to_dict()["provisioned_rcu"]
    4
    """

    name: str
    rcu_per_s: float
    wcu_per_s: float
    provisioned_rcu: int
    provisioned_wcu: int
    provisioned_month: float


@dataclass(frozen=True)
class StorageRow(Plain):
    """Bytes stored in a table or a GSI (``of``: its table); None when not estimated (``note``).

    >>> StorageRow("ix", "T", 10, None, None, "projection KEYS_ONLY: size not estimated").to_dict()["of"]
    'T'
    """

    name: str
    of: str | None
    items: int
    mean_item_bytes: float | None
    bytes: float | None
    note: str


@dataclass(frozen=True)
class HotKey(Plain):
    """Units per second on the hottest key of a table or index (``where``), against the
    partition limit: ``share`` of it, ``status`` ok, warm or over limit, and per pattern.

    >>> HotKey("T", "write", 1080.0, 1000.0, 1.08, "over limit", {"update_status": 1080.0}).status
    'over limit'
    """

    where: str
    kind: str
    units_per_s: float
    limit: float
    share: float
    status: str
    patterns: dict[str, float]


@dataclass(frozen=True)
class PlanTotals(Plain):
    """The whole plan: rate, units per second, monthly costs (requests, capacity, storage) of
    each billing mode, which is cheaper, the break-even utilisation, and whether every pattern
    and table was measured (``complete``).

    >>> t = PlanTotals(10.0, 5.0, 2.0, 1.0, 2.0, 0.0, 0.0, 0.0, 1.0, 2.0, "on-demand", 2.0, True)
    >>> PlanTotals.from_dict(t.to_dict()) == t
    True
    """

    rate_rps: float
    rcu_per_s: float
    wcu_per_s: float
    on_demand_requests_month: float
    provisioned_capacity_month: float
    storage_bytes: float
    storage_gb: float
    storage_month: float
    on_demand_month: float
    provisioned_month: float
    cheaper: str
    break_even_utilisation: float | None
    complete: bool


@dataclass(frozen=True)
class CapacityPlan:
    """Every projected number of a plan; ``ddbbench plan`` adds where its inputs came from.

    >>> plan = CapacityPlan(warnings=["x"])
    >>> CapacityPlan.from_dict(plan.to_dict()) == plan
    True
    """

    patterns: list[PlanPattern] = field(default_factory=list)
    capacity: list[ProvisionRow] = field(default_factory=list)
    storage: list[StorageRow] = field(default_factory=list)
    hot_keys: list[HotKey] = field(default_factory=list)
    totals: PlanTotals | None = None
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return to_fields(self)

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> CapacityPlan:
        """The projected part of a plan.json document (its other keys are ignored)."""
        return from_fields(cls, doc, {
            "patterns": lambda rows: [PlanPattern.from_dict(r) for r in rows],
            "capacity": lambda rows: [ProvisionRow.from_dict(r) for r in rows],
            "storage": lambda rows: [StorageRow.from_dict(r) for r in rows],
            "hot_keys": lambda rows: [HotKey.from_dict(r) for r in rows],
            "totals": lambda t: None if t is None else PlanTotals.from_dict(t)})
