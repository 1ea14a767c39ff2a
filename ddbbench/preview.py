"""What a command will spend off DynamoDB Local, said before it spends: the cost preview.

Everything here is arithmetic on the scenario (tables and their settings, dataset size, mix,
rate and duration), item sizes by DynamoDB's sizing rules (a sample of the generated
dataset, as ``compare_designs.storage_by_rules`` takes it) and the price table
(``analysis/prices.yaml``). It sends no request. The figures are estimates by the sizing
rules at the dataset's mean item sizes, reads strongly consistent (GSI reads eventually
consistent); ``--max-request-units`` is the hard bound (ddbbench/budget.py).

Example::

    >>> read_units(5000), write_units(1500), write_units(1024)
    (2, 2, 1)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from analysis.prices import Prices
from ddbbench.errors import BenchError
from ddbbench.facts import PATTERN_FACTS
from ddbbench.scenario import Load, Scenario
from ddbbench.table_settings import describe_specs

KB, READ_BLOCK = 1024, 4096
# The logical role each pattern's units land on (table_settings roles; ddbbench/designs).
PATTERN_ROLE = {"batch_get_candidates": "candidates", "log_events": "events"}


class DryRun(BenchError):
    """``--dry-run``: the preview was shown, nothing was done (exit code 0)."""

    exit_code = 0


def read_units(size: float, strongly: bool = True) -> float:
    """Read request units of ``size`` bytes read at once: 4 KB blocks, half when eventually consistent."""
    units = max(1, math.ceil(size / READ_BLOCK))
    return units if strongly else units / 2


def write_units(size: float) -> int:
    """Write request units of one item write: 1 KB blocks, at least 1."""
    return max(1, math.ceil(size / KB))


@dataclass(frozen=True)
class Sizes:
    """Mean sizes (bytes, by the sizing rules) that price a request, and what the load writes."""

    conversation: float  # one conversation's base-table items together
    index_entry: float  # its entry in the status index (0: the design has none)
    candidate: float
    event: float
    message: float
    load_items: dict[str, int] = field(default_factory=dict)  # per table
    load_bytes: dict[str, int] = field(default_factory=dict)  # per table
    load_write_units: dict[str, float] = field(default_factory=dict)  # per table, its indexes included


def pattern_units(pattern: str, s: Sizes, batch_get: int, log_batch: int) -> float:
    """Estimated request units of one request of ``pattern`` (reads RRU, writes WRU).

    >>> s = Sizes(conversation=3000, index_entry=3000, candidate=200, event=300, message=500)
    >>> [pattern_units(p, s, 10, 5) for p in ("get_conversation", "update_status", "log_events")]
    [1, 9, 5]
    """
    index_writes = write_units(s.index_entry) if s.index_entry else 0
    units = {
        "get_conversation": read_units(s.conversation),
        "query_by_candidate_status": read_units(s.index_entry or s.conversation, strongly=False),
        "batch_get_candidates": batch_get * read_units(s.candidate),
        "update_status": write_units(s.conversation) + 2 * index_writes,  # index delete + put
        "append_message": write_units(s.conversation + s.message)
        + (write_units(s.index_entry + s.message) if s.index_entry else 0),
        "create_conversation": write_units(s.conversation) + index_writes,
        "log_events": log_batch * write_units(s.event),
    }
    return units[pattern]


def replay_requests(load: Load) -> float | None:
    """Requests the replay sends (its unmeasured first seconds included); None when unbounded
    (a closed model with unpaced users sends as fast as the target answers)."""
    if load.model == "open":
        return sum(st.rate * st.duration_s for st in load.arrival_stages())
    if load.rate_per_user == 0:
        return None
    return load.users * load.rate_per_user * load.run_time_s


def mix_units(sc: Scenario, requests: float, s: Sizes) -> dict[tuple[str, str], float]:
    """(role, read|write) -> units of ``requests`` requests split by the mix's weights."""
    weights = sc.mix.weights()
    total = sum(weights.values())
    out: dict[tuple[str, str], float] = {}
    for fact in PATTERN_FACTS:
        share = weights[fact.name] / total
        if share == 0:
            continue
        key = (PATTERN_ROLE.get(fact.name, "conversations"), fact.kind)
        units = requests * share * pattern_units(fact.name, s, sc.keys.batch_get_size,
                                                 sc.keys.log_events_batch_size)
        out[key] = out.get(key, 0.0) + units
    return out


@dataclass
class Phase:
    """One step of the plan (load, warm-up, replay): its request units by role and kind."""

    name: str
    detail: str
    units: dict[tuple[str, str], float] = field(default_factory=dict)
    bounded: bool = True  # False: an unpaced closed replay; only the cap bounds it

    @property
    def read(self) -> float:
        return sum(u for (_, kind), u in self.units.items() if kind == "read")

    @property
    def write(self) -> float:
        return sum(u for (_, kind), u in self.units.items() if kind == "write")


@dataclass
class Plan:
    """What a command will create and send, and its price (None where there is none)."""

    target: str
    tables: list[dict[str, Any]]
    phases: list[Phase]
    roles: dict[str, str]  # role -> table
    prices: Prices
    region: str
    hours: float  # how long provisioned tables are billed for (the run, rounded up to an hour)
    cap_units: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def read_units(self) -> float:
        return sum(p.read for p in self.phases)

    @property
    def write_units(self) -> float:
        return sum(p.write for p in self.phases)

    def unpriced(self) -> list[str]:
        """Why the plan has no price, if it has none (said plainly, never guessed)."""
        why = []
        if self.region != self.prices.region:
            why.append(f"no price for region {self.region} (the price table is for {self.prices.region})")
        for cls in sorted({t["table_class"] for t in self.tables} - {self.prices.table_class}):
            why.append(f"no price for table class {cls} (the price table is for {self.prices.table_class})")
        return why

    def cost(self) -> float | None:
        """USD: request units on on-demand tables, capacity-hours on provisioned ones."""
        if self.unpriced():
            return None
        p = self.prices
        billing = {row["table"]: row["billing_mode"] for row in self.tables if row["index"] is None}
        per_million = {"read": p.on_demand.read_per_million, "write": p.on_demand.write_per_million}
        usd = 0.0
        for phase in self.phases:
            for (role, kind), units in phase.units.items():
                if billing.get(self.roles.get(role, ""), "on_demand") == "on_demand":
                    usd += units * per_million[kind] / 1e6
        for row in self.tables:
            if row["billing_mode"] == "provisioned":
                usd += self.hours * ((row["read_capacity"] or 0) * p.provisioned.rcu_hour
                                     + (row["write_capacity"] or 0) * p.provisioned.wcu_hour)
        return usd

    def to_dict(self) -> dict[str, Any]:
        """What a run's manifest records of the preview it was given consent on."""
        cost = self.cost()
        return {"target": self.target, "read_units": round(self.read_units, 1),
                "write_units": round(self.write_units, 1),
                "phases": [{"name": p.name, "read_units": round(p.read, 1), "write_units": round(p.write, 1),
                            "bounded": p.bounded} for p in self.phases],
                "cost_usd": None if cost is None else round(cost, 6), "unpriced": self.unpriced(),
                "prices_as_of": self.prices.as_of, "cap_units": self.cap_units}

    def cap_cost(self) -> float | None:
        """The most ``cap_units`` can cost: every unit at the dearer (write) on-demand price."""
        if self.cap_units is None or self.unpriced():
            return None
        return self.cap_units * max(self.prices.on_demand.write_per_million,
                                    self.prices.on_demand.read_per_million) / 1e6


def units_for_cost(usd: float, prices: Prices) -> float:
    """Request units ``usd`` buys at worst (every unit at the dearer on-demand price):
    ``--max-cost`` as a cap on consumed units."""
    return usd * 1e6 / max(prices.on_demand.write_per_million, prices.on_demand.read_per_million)


def describe_tables(specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return describe_specs(specs)
