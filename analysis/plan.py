"""Capacity planning: project a run's measured capacity to a target traffic, and price it.

Pure functions only (no files): ``analysis.planrun`` reads a run directory into the inputs
defined here and writes the results (``project`` gives them typed: ``analysis.plan_results``).
The model (docs/capacity-planning.md):

- Units per request are the ones the target *reported* (ConsumedCapacity, table and indexes
  apart), never re-derived from item sizes. Where a run cannot tell (no requests, or a target
  that reports no capacity) the pattern is marked unmeasured and left out of the totals.
  One documented correction: DynamoDB Local reports 0 units for a read that finds nothing,
  where the service charges the minimum (0.5 RCU eventually consistent, 1 strongly).
- Units per second = rate x units per request; on-demand cost = units/s x seconds per month x
  price per unit; provisioned cost = whole units of capacity (units/s / utilisation, rounded
  up, at least 1 per table and index) x hours per month x price per unit-hour.
- Break-even utilisation: the utilisation at which provisioned capacity costs what on-demand
  does for the same traffic (ignoring whole-unit rounding).
- Storage: items x (mean item bytes + 100 bytes overhead), once for the table and once more
  for each GSI projecting ALL (AWS: every table or index item carries 100 bytes of overhead).
- Hot keys: the share of requests that reaches the hottest key under the run's key
  distribution, times the units, against the per-partition limits (3,000 RCU, 1,000 WCU).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from analysis.plan_results import CapacityPlan, HotKey, PlanPattern, PlanTotals, ProvisionRow, StorageRow
from analysis.prices import Prices
from ddbbench.errors import ConfigError
from ddbbench.facts import ITEM_OVERHEAD_BYTES

READ_LIMIT = 3000.0  # RCU per second per partition (and so per key)
WRITE_LIMIT = 1000.0  # WCU per second per partition
GB = 2**30
SECONDS_PER_DAY = 86_400
HOT_KEY_CAUTION = 0.5  # share of a partition limit from which a key is reported as warm
PLAN_FORMAT_VERSION = 1


@dataclass(frozen=True)
class PatternInput:
    """One access pattern: what its requests are (from the key design) and what they cost
    in the run (from summary.json; ``empty_reads``/``rows`` from the raw request rows)."""

    name: str
    kind: str  # "read" or "write"
    table: str
    index: str | None  # where the request's index units go (a GSI), None if it touches none
    count: int
    table_units: float  # measured, per request
    index_units: float
    items_per_request: float = 1.0
    error_rate: float = 0.0
    min_read_units: float = 0.5  # the service's minimum charge for one read of this kind
    empty_reads: int = 0  # successful reads reported as 0 units that returned no item
    rows: int = 0  # raw rows of this pattern examined for empty reads


@dataclass(frozen=True)
class TableInput:
    name: str
    items: int
    mean_item_bytes: float | None  # None: not measured (the run did not load the data)
    indexes: tuple[tuple[str, str], ...] = ()  # (GSI name, projection type)


@dataclass(frozen=True)
class KeySkew:
    """Where a pattern's load concentrates: probability that one request touches the hottest
    table key / hottest index partition key, and the fraction of the request's table units
    that land on that one key (a BatchGetItem of 10 items puts 1/10 of its units on each)."""

    table_p: float
    index_p: float
    table_share: float = 1.0
    basis: str = ""


@dataclass(frozen=True)
class Units:
    table: float | None  # per request; None when not measured
    index: float | None
    status: str
    note: str = ""


def resolve_units(p: PatternInput) -> Units:
    """The units per request to plan with, and how they were obtained."""
    if p.count == 0:
        return Units(None, None, "not measured", "no requests of this pattern in the run")
    floor = 0.0
    if p.kind == "read" and p.rows and p.empty_reads:
        floor = p.empty_reads / p.rows * p.min_read_units
    if p.table_units == 0 and p.index_units == 0 and floor == 0:
        return Units(None, None, "not measured",
                     "the target reported no consumed capacity for these requests")
    if floor == 0:
        return Units(p.table_units, p.index_units, "measured")
    note = (f"{p.empty_reads} of {p.rows} reads found nothing and were reported as 0 units; "
            f"the service charges {p.min_read_units:g} each: +{floor:.4f} per request")
    if p.index:
        return Units(p.table_units, p.index_units + floor, "measured + minimum", note)
    return Units(p.table_units + floor, p.index_units, "measured + minimum", note)


# --- target traffic -----------------------------------------------------------------------

def parse_rates(specs: Iterable[str], known: Iterable[str]) -> dict[str, float]:
    """``["get_conversation=100", ...]`` to rates; ``known`` are the patterns allowed."""
    allowed = list(known)
    rates: dict[str, float] = {}
    for spec in specs:
        name, sep, value = spec.partition("=")
        name = name.strip()
        if not sep:
            raise ConfigError(f"--rate: {spec!r} is not PATTERN=REQUESTS_PER_S")
        if name not in allowed:
            raise ConfigError(f"--rate: unknown pattern {name!r}; allowed: {', '.join(allowed)}")
        if name in rates:
            raise ConfigError(f"--rate: {name} given twice")
        rates[name] = _rate(value, f"--rate {name}")
    if not rates:
        raise ConfigError("--rate: no rates given")
    return rates


def _rate(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{where}: {text!r} is not a number of requests per second") from None
    if not math.isfinite(value) or value < 0:
        raise ConfigError(f"{where}: {text} is not a rate >= 0 (requests per second)")
    return value


def split_total(total_rps: float, mix: Mapping[str, float]) -> dict[str, float]:
    """A total rate split by the mix's relative weights (patterns of weight 0 left out)."""
    if not math.isfinite(total_rps) or total_rps <= 0:
        raise ConfigError(f"--total-rps: {total_rps:g} is not a rate > 0 (requests per second)")
    weights = {p: w for p, w in mix.items() if w > 0}
    total_weight = sum(weights.values())
    return {p: total_rps * w / total_weight for p, w in weights.items()}


def conversation_rates(per_day: float, messages: float, mix: Mapping[str, float]) -> dict[str, float]:
    """Conversations per day to rates: each conversation's ``messages`` are one append_message
    each; every other pattern keeps its ratio to append_message in the mix."""
    if not math.isfinite(per_day) or per_day <= 0:
        raise ConfigError(f"--conversations-per-day: {per_day:g} is not a count > 0")
    if not math.isfinite(messages) or messages <= 0:
        raise ConfigError(f"--messages-per-conversation: {messages:g} is not a count > 0")
    appends = mix.get("append_message", 0.0)
    if appends <= 0:
        raise ConfigError("--conversations-per-day: the run's mix has no append_message (weight 0), "
                          "so conversations cannot be mapped to requests; use --rate or --total-rps")
    append_rps = per_day * messages / SECONDS_PER_DAY
    return {p: append_rps * w / appends for p, w in mix.items() if w > 0}


# --- projection ---------------------------------------------------------------------------

def pattern_row(p: PatternInput, rate: float, prices: Prices, utilisation: float) -> PlanPattern:
    """One pattern at ``rate`` requests/s: units per second and its monthly costs."""
    units = resolve_units(p)
    row = PlanPattern(p.name, p.kind, rate, p.table, p.index, units.status, units.note, p.error_rate)
    if units.table is None or units.index is None:
        return row
    per_s = rate * (units.table + units.index)
    return dataclasses.replace(
        row, measured=True, table_units_per_request=units.table, index_units_per_request=units.index,
        table_units_per_s=rate * units.table, index_units_per_s=rate * units.index, units_per_s=per_s,
        on_demand_month=on_demand_month(per_s, p.kind, prices),
        provisioned_month_share=per_s / utilisation * _hour_price(p.kind, prices) * prices.hours_per_month)


def on_demand_month(units_per_s: float, kind: str, prices: Prices) -> float:
    per_million = (prices.on_demand.read_per_million if kind == "read"
                   else prices.on_demand.write_per_million)
    return units_per_s * prices.seconds_per_month * per_million / 1e6


def _hour_price(kind: str, prices: Prices) -> float:
    return prices.provisioned.rcu_hour if kind == "read" else prices.provisioned.wcu_hour


def capacity_buckets(rows: list[PlanPattern], tables: Iterable[TableInput]) -> dict[str, dict[str, float]]:
    """Units per second per table and per GSI (each is provisioned apart), read and write."""
    buckets: dict[str, dict[str, float]] = {}
    for t in tables:
        buckets.setdefault(t.name, {"read": 0.0, "write": 0.0})
        for index, _ in t.indexes:
            buckets.setdefault(index, {"read": 0.0, "write": 0.0})
    for row in rows:
        if not row.measured:
            continue
        buckets.setdefault(row.table, {"read": 0.0, "write": 0.0})[row.kind] += row.table_units_per_s or 0.0
        if row.index_units_per_s:
            where = row.index or row.table
            buckets.setdefault(where, {"read": 0.0, "write": 0.0})[row.kind] += row.index_units_per_s
    return buckets


def whole_units(units_per_s: float, utilisation: float) -> int:
    """Provisioned units for a load at a target utilisation: whole units, at least 1."""
    # The tolerance keeps float noise (28 / 0.7 = 40.000000000000004) from adding a unit.
    return max(1, math.ceil(units_per_s / utilisation - 1e-9))


def provision(buckets: Mapping[str, Mapping[str, float]], utilisation: float,
              prices: Prices) -> list[ProvisionRow]:
    rows = []
    for name, load in buckets.items():
        rcu, wcu = whole_units(load["read"], utilisation), whole_units(load["write"], utilisation)
        hourly = rcu * prices.provisioned.rcu_hour + wcu * prices.provisioned.wcu_hour
        cost = hourly * prices.hours_per_month
        rows.append(ProvisionRow(name, load["read"], load["write"], rcu, wcu, cost))
    return rows


def break_even_utilisation(rcu_per_s: float, wcu_per_s: float, prices: Prices) -> float | None:
    """Utilisation at which provisioned capacity costs what on-demand does; provisioned is
    cheaper when its average utilisation stays above it. None without traffic."""
    provisioned_full = (rcu_per_s * prices.provisioned.rcu_hour
                        + wcu_per_s * prices.provisioned.wcu_hour) * prices.hours_per_month
    on_demand = on_demand_month(rcu_per_s, "read", prices) + on_demand_month(wcu_per_s, "write", prices)
    return provisioned_full / on_demand if on_demand > 0 else None


def storage_rows(tables: Iterable[TableInput]) -> list[StorageRow]:
    """Bytes stored per table and per GSI: items x (mean item bytes + 100 B overhead)."""
    rows = []
    for t in tables:
        if t.mean_item_bytes is None:
            rows.append(StorageRow(t.name, None, t.items, None, None,
                                   "item size not measured (the run loaded no data)"))
            continue
        per_item = t.mean_item_bytes + ITEM_OVERHEAD_BYTES
        rows.append(StorageRow(t.name, None, t.items, t.mean_item_bytes, t.items * per_item, ""))
        for index, projection in t.indexes:
            if projection == "ALL":  # the index holds the whole item again (+ its overhead)
                rows.append(StorageRow(index, t.name, t.items, t.mean_item_bytes, t.items * per_item,
                                       "projection ALL; every item assumed in the index"))
            else:
                rows.append(StorageRow(index, t.name, t.items, None, None,
                                       f"projection {projection}: size not estimated"))
    return rows


def storage_cost(total_bytes: float, prices: Prices) -> float:
    billable_gb = max(0.0, total_bytes / GB - prices.storage.free_gb)
    return billable_gb * prices.storage.gb_month


# --- hot keys -----------------------------------------------------------------------------

def hot_key_rows(rows: list[PlanPattern], skew: Mapping[str, KeySkew]) -> list[HotKey]:
    """Units per second on the hottest key of each table and index, against the partition
    limits. Patterns' hottest keys are added up: exact when they are the same key (the
    Zipfian, hotspot and latest distributions all favour the same first or newest items),
    an upper bound otherwise."""
    loads: dict[tuple[str, str], dict[str, float]] = {}
    for row in rows:
        s = skew.get(row.pattern)
        if not row.measured or s is None:
            continue
        rate = row.rate_rps
        on_table = rate * s.table_p * (row.table_units_per_request or 0.0) * s.table_share
        on_index = rate * s.index_p * (row.index_units_per_request or 0.0)
        for where, value in ((row.table, on_table), (row.index or row.table, on_index)):
            if value > 0:
                per_pattern = loads.setdefault((where, row.kind), {})
                per_pattern[row.pattern] = per_pattern.get(row.pattern, 0.0) + value
    result = []
    for (where, kind), per_pattern in sorted(loads.items()):
        total = sum(per_pattern.values())
        limit = READ_LIMIT if kind == "read" else WRITE_LIMIT
        share = total / limit
        status = "over limit" if share > 1 else "warm" if share >= HOT_KEY_CAUTION else "ok"
        result.append(HotKey(where, kind, total, limit, share, status, per_pattern))
    return result


def hot_key_warnings(hot: list[HotKey]) -> list[str]:
    unit = {"read": "RCU", "write": "WCU"}
    out = []
    for h in hot:
        if h.status == "ok":
            continue
        verdict = ("HOT KEY: will be throttled whatever the table's capacity"
                   if h.status == "over limit" else "warm key: over half the partition limit")
        out.append(f"{verdict}: the hottest key of {h.where} takes {h.units_per_s:,.1f} "
                   f"{unit[h.kind]}/s, {h.share:.0%} of the {h.limit:,.0f} {unit[h.kind]}/s "
                   f"a partition (and so one key) can serve")
    return out


# --- the whole plan -----------------------------------------------------------------------

def check_utilisation(u: float) -> float:
    if not math.isfinite(u) or not 0 < u <= 1:
        raise ConfigError(f"--utilisation: {u:g} is not a fraction in (0, 1] (0.7 = 70%)")
    return u


def build_plan(patterns: Mapping[str, PatternInput], rates: Mapping[str, float],
               tables: Iterable[TableInput], skew: Mapping[str, KeySkew], prices: Prices,
               utilisation: float) -> dict[str, Any]:
    """``project`` as plan.json's plain data; the caller adds where inputs came from."""
    return project(patterns, rates, tables, skew, prices, utilisation).to_dict()


def project(patterns: Mapping[str, PatternInput], rates: Mapping[str, float],
            tables: Iterable[TableInput], skew: Mapping[str, KeySkew], prices: Prices,
            utilisation: float) -> CapacityPlan:
    """Every projected number of a plan: per pattern, capacity, storage, hot keys, totals."""
    check_utilisation(utilisation)
    unknown = [p for p in rates if p not in patterns]
    if unknown:
        raise ConfigError(f"target pattern {unknown[0]!r} is not one of {', '.join(patterns)}")
    tables = tuple(tables)
    rows = [pattern_row(patterns[p], r, prices, utilisation) for p, r in rates.items()]
    capacity = provision(capacity_buckets(rows, tables), utilisation, prices)
    storage = storage_rows(tables)
    hot = hot_key_rows(rows, skew)
    return CapacityPlan(rows, capacity, storage, hot, totals(rows, capacity, storage, prices),
                        _warnings(rows, storage, hot))


def totals(rows: list[PlanPattern], capacity: list[ProvisionRow], storage: list[StorageRow],
           prices: Prices) -> PlanTotals:
    measured = [r for r in rows if r.measured]
    rcu = sum(r.units_per_s or 0.0 for r in measured if r.kind == "read")
    wcu = sum(r.units_per_s or 0.0 for r in measured if r.kind == "write")
    stored = sum(s.bytes for s in storage if s.bytes is not None)
    storage_month = storage_cost(stored, prices)
    on_demand = sum(r.on_demand_month or 0.0 for r in measured)
    provisioned = sum(c.provisioned_month for c in capacity)
    on_demand_total, provisioned_total = on_demand + storage_month, provisioned + storage_month
    return PlanTotals(
        sum(r.rate_rps for r in rows), rcu, wcu, on_demand, provisioned, stored, stored / GB,
        storage_month, on_demand_total, provisioned_total,
        "provisioned" if provisioned_total < on_demand_total else "on-demand",
        break_even_utilisation(rcu, wcu, prices),
        len(measured) == len(rows) and all(s.bytes is not None for s in storage))


def _warnings(rows: list[PlanPattern], storage: list[StorageRow], hot: list[HotKey]) -> list[str]:
    out = [f"{r.pattern}: not measured ({r.note}); left out of every total"
           for r in rows if not r.measured and r.rate_rps > 0]
    out += [f"storage of {s.name}: {s.note}; left out of the storage total"
            for s in storage if s.bytes is None]
    out += [f"{r.pattern}: {r.error_rate_in_run:.1%} of its requests failed in the run; "
            "their units are averaged in" for r in rows if r.error_rate_in_run > 0]
    return out + hot_key_warnings(hot)
