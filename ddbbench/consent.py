"""The cost preview of a command off DynamoDB Local, and the user's consent to it.

``plan_for`` builds the plan (``ddbbench.preview``) of a load, a warm-up and replays from the
scenario and a sample of its dataset; ``authorise`` shows it and proceeds only with
``--yes`` (or "yes" typed on a terminal), refuses a plan over ``--max-cost`` (exit 2), and
ends a ``--dry-run`` after the preview (exit 0). On DynamoDB Local nothing is billed: no
preview, no question.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.prices import Prices, load_prices
from datagen.itemsize import item_size
from datagen.model import entities
from ddbbench.budget import UnitBudget
from ddbbench.client import Endpoint
from ddbbench.designs import make_design, table_specs_for
from ddbbench.designs.base import index_entry, message_av
from ddbbench.errors import ConfigError
from ddbbench.preview import (
    DryRun,
    Phase,
    Plan,
    Sizes,
    describe_tables,
    mix_units,
    replay_requests,
    units_for_cost,
    write_units,
)
from ddbbench.scenario import Load, Scenario

SAMPLE_CONVERSATIONS = 1000
Echo = Callable[[str], None]


@dataclass(frozen=True)
class Spend:
    """The command line's say on spending: consent, dry run, dollar and unit caps."""

    yes: bool = False
    dry_run: bool = False
    max_cost: float | None = None  # USD
    max_request_units: float | None = None
    prices_file: Path | None = None
    flag: str = "--"  # option prefix in messages: "--ddb-" under plain Locust

    def __post_init__(self) -> None:
        for flag, value in (("--max-cost", self.max_cost), ("--max-request-units", self.max_request_units)):
            if value is not None and not (math.isfinite(value) and value > 0):
                raise ConfigError(f"{flag}: {value:g} is not a positive number")

    def budget(self, prices: Prices | None = None) -> UnitBudget | None:
        """The cap on consumed units: --max-request-units, and what --max-cost buys at worst."""
        limits = [self.max_request_units] if self.max_request_units is not None else []
        if self.max_cost is not None:
            limits.append(units_for_cost(self.max_cost, prices or load_prices(self.prices_file)))
        return UnitBudget(min(limits)) if limits else None


def sample_sizes(sc: Scenario, sample: int = SAMPLE_CONVERSATIONS) -> Sizes:
    """Mean sizes by the sizing rules and the load's items, bytes and write units per table,
    from the first ``sample`` conversations (and as many candidates in proportion), scaled."""
    design = make_design(sc.design, sc.tables)
    specs = {spec["TableName"]: spec for spec in design.table_specs()}
    ds = sc.dataset
    n = min(sample, ds.conversations)
    n_cand = max(1, min(ds.candidates, round(ds.candidates * n / ds.conversations)))
    scale = {"candidate": ds.candidates / n_cand}
    scale["conversation"] = scale["event"] = ds.conversations / n
    acc: dict[str, list[float]] = {k: [] for k in ("conversation", "index", "candidate", "event", "message")}
    items: dict[str, float] = {}
    size_by: dict[str, float] = {}
    units: dict[str, float] = {}
    for kind, entity in entities(ds, candidates=range(n_cand), conversations=range(n)):
        whole = index_whole = 0
        for table, item in design.entity_items(kind, entity):
            size = item_size(item)
            whole += size
            items[table] = items.get(table, 0) + scale[kind]
            size_by[table] = size_by.get(table, 0) + size * scale[kind]
            units[table] = units.get(table, 0) + write_units(size) * scale[kind]
            for gsi in specs[table].get("GlobalSecondaryIndexes", []):
                entry = index_entry(item, specs[table], gsi)
                if entry is not None:
                    index_whole += item_size(entry)
                    units[table] += write_units(item_size(entry)) * scale[kind]
        acc[kind].append(whole)
        if kind == "conversation":
            acc["index"].append(index_whole)
            acc["message"] += [item_size({"m": message_av(m)}) - 1 for m in entity.messages]
    return Sizes(conversation=_mean(acc["conversation"]), index_entry=_mean(acc["index"]),
                 candidate=_mean(acc["candidate"]), event=_mean(acc["event"]), message=_mean(acc["message"]),
                 load_items={t: round(v) for t, v in items.items()},
                 load_bytes={t: round(v) for t, v in size_by.items()},
                 load_write_units={t: round(v) for t, v in units.items()})


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def load_phase(sc: Scenario, sizes: Sizes, label: str = "load") -> Phase:
    roles = make_design(sc.design, sc.tables).roles()
    role_of = {table: role for role, table in reversed(list(roles.items()))}
    items, mb = sum(sizes.load_items.values()), sum(sizes.load_bytes.values()) / 2**20
    phase = Phase(label, f"{items:,} items, {mb:,.1f} MB into {len(sizes.load_items)} table(s) "
                         f"({', '.join(f'{t}: {n:,}' for t, n in sizes.load_items.items())})")
    for table, units in sizes.load_write_units.items():
        key = (role_of.get(table, "conversations"), "write")
        phase.units[key] = phase.units.get(key, 0.0) + units
    return phase


def warmup_phase(sc: Scenario, requests: int, sizes: Sizes, label: str = "warm-up") -> Phase:
    return Phase(label, f"{requests:,} requests of the mix (load.warmup_requests)",
                 mix_units(sc, requests, sizes) if requests else {})


def replay_phase(sc: Scenario, sizes: Sizes, label: str = "replay", load: Load | None = None) -> Phase:
    load = load or sc.load
    requests = replay_requests(load)
    if requests is None:
        return Phase(label, f"{load.users} unpaced users for {load.run_time_s:g}s: no bound "
                            "but the cap (--max-request-units or --max-cost)", bounded=False)
    return Phase(label, f"{requests:,.0f} requests over {load.run_time_s:g}s", mix_units(sc, requests, sizes))


def build_plan(sc: Scenario, target: str, region: str, phases: list[Phase], seconds: float,
               spend: Spend, specs: list[dict[str, Any]] | None = None) -> Plan:
    """The plan of ``phases`` on the scenario's tables (or ``specs``: several designs')."""
    prices = load_prices(spend.prices_file)
    own, notes = table_specs_for(sc, on_local=False)
    specs = own if specs is None else specs
    budget = spend.budget(prices)
    return Plan(target=target, tables=describe_tables(specs), phases=phases,
                roles=make_design(sc.design, sc.tables).roles(), prices=prices, region=region,
                hours=max(1, math.ceil(seconds / 3600)), cap_units=budget.limit if budget else None,
                notes=notes)


def plan_text(plan: Plan) -> str:
    """The preview as the user reads it."""
    lines = [f"Cost preview: {plan.target} (nothing is created or sent before you agree)", "tables:"]
    lines += [f"  {_table_line(row)}" for row in plan.tables]
    for phase in plan.phases:
        units = (f"~{phase.read:,.0f} read + ~{phase.write:,.0f} write request units" if phase.bounded
                 else "unbounded")
        lines.append(f"{phase.name}: {phase.detail}: {units}")
    lines.append(f"total: ~{plan.read_units:,.0f} read + ~{plan.write_units:,.0f} write request units"
                 + (f"; cap {plan.cap_units:,.0f} units (--max-request-units / --max-cost)"
                    if plan.cap_units is not None else ""))
    p = plan.prices
    cost = plan.cost()
    if cost is None:
        lines += [f"price: unknown: {why}" for why in plan.unpriced()]
    else:
        lines.append(f"price: ~${cost:,.4f} at {p.region} {p.table_class} prices as of {p.as_of} "
                     f"(analysis/prices.yaml; provisioned tables billed {plan.hours:g} h)")
        if plan.cap_cost() is not None:
            lines.append(f"  at most ~${plan.cap_cost():,.4f} of request units under the cap")
    lines += [f"note: {n}" for n in plan.notes]
    return "\n".join(lines)


def _table_line(row: dict[str, Any]) -> str:
    name = row["table"] if row["index"] is None else f"{row['table']} index {row['index']}"
    parts = [row["billing_mode"].replace("_", "-")]
    if row["billing_mode"] == "provisioned":
        parts.append(f"{row['read_capacity']} RCU / {row['write_capacity']} WCU")
    if row["on_demand_max"]:
        parts.append(f"on-demand max {row['on_demand_max']}")
    if row["warm"]:
        parts.append(f"warm {row['warm']}")
    if row["index"] is None:
        parts.append(row["table_class"])
    return f"{name}: {', '.join(parts)}"


def authorise(plan: Plan, spend: Spend, echo: Echo, ask: Callable[[str], str] | None = None) -> None:
    """Show the preview and return only with consent; refuse (exit 2) or end a dry run (exit 0)."""
    echo(plan_text(plan))
    if any(not ph.bounded for ph in plan.phases) and plan.cap_units is None:
        raise ConfigError("an unpaced closed-model replay (load.rate_per_user 0) has no bound off "
                          "DynamoDB Local; give --max-request-units or --max-cost, or pace it")
    cost = plan.cost()
    if spend.max_cost is not None and cost is None:
        raise ConfigError(f"--max-cost {spend.max_cost:g}: this plan has no price to check it against "
                          f"({'; '.join(plan.unpriced())}); use --max-request-units")
    if spend.max_cost is not None and cost is not None and cost > spend.max_cost:
        raise ConfigError(f"--max-cost {spend.max_cost:g}: the plan costs ~${cost:,.4f}; allowed: "
                          "a plan within it (shorten the run, shrink the dataset or raise --max-cost)")
    if spend.dry_run:
        raise DryRun("dry run: nothing was created or sent")
    if spend.yes:
        return
    if ask is None and sys.stdin.isatty():
        ask = input
    if ask is not None and ask("Proceed and spend this? Type yes: ").strip().lower() == "yes":
        return
    raise ConfigError(f"not confirmed: off DynamoDB Local this spends on your account; pass {spend.flag}yes"
                      + (" (or --dry-run to see the preview alone)" if spend.flag == "--" else ""))


def run_plan(sc: Scenario, endpoint: Endpoint, spend: Spend, load: bool = True, warmup: bool = True,
             replay: bool = True) -> Plan:
    """The cost preview of one run: its load, warm-up and replay (those it has)."""
    sizes = sample_sizes(sc)
    phases = [load_phase(sc, sizes)] if load else []
    if warmup:
        phases.append(warmup_phase(sc, sc.load.warmup_for(endpoint.kind), sizes))
    if replay:
        phases.append(replay_phase(sc, sizes))
    return build_plan(sc, describe_target(endpoint), endpoint.region, phases, sc.load.run_time_s, spend)


def describe_target(endpoint: Endpoint) -> str:
    """The target as a person names it (summaries and reports say the same)."""
    if endpoint.kind == "local":
        return f"DynamoDB Local at {endpoint.url}"
    if endpoint.kind == "aws":
        return f"AWS DynamoDB in {endpoint.region}"
    return f"endpoint {endpoint.url} (region {endpoint.region})"


def consent(sc: Scenario, endpoint: Endpoint, spend: Spend, echo: Echo, load: bool = True,
            warmup: bool = True, replay: bool = True) -> Plan | None:
    """Off DynamoDB Local: the preview, then proceed only with consent (nothing is billed on
    Local: no question there, but ``--dry-run`` still shows the preview and stops). Returns
    the plan agreed to (None on Local)."""
    if endpoint.kind == "local" and not spend.dry_run:
        return None
    plan = run_plan(sc, endpoint, spend, load, warmup, replay)
    authorise(plan, spend, echo)
    return plan


def replay_budget(budget: UnitBudget, processes: int) -> dict[str, Any]:
    """What is left of the cap for the replay: ``replay_per_process`` is a single load
    process's budget; with workers the master leases the same total out across them
    (``ddbbench.budget.CapLedger``), starting from equal shares."""
    return {"limit": budget.limit, "used_before_replay": round(budget.used, 3),
            "replay_per_process": round(budget.remaining / processes, 3), "processes": processes}
