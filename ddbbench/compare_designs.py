"""``ddbbench compare-designs``: one logical workload on several key designs, side by side.

Each design runs the whole main job in turn (a fresh DynamoDB Local, fresh tables, the same
seed, mix and load), so differences come from the design alone. After each replay an
append-growth probe measures what one more message costs as a conversation grows. The
comparison directory holds every design's normal run directory under ``designs/`` and the
derived comparison (analysis/designs.py).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from analysis.designs import build_design_comparison
from analysis.prices import load_prices
from datagen.itemsize import MAX_ITEM_BYTES, item_size
from datagen.model import Conversation, Message, candidate_messages, entities, iso
from ddbbench.client import Endpoint, check_reachable, make_client, open_target
from ddbbench.consent import (
    Spend,
    authorise,
    build_plan,
    describe_target,
    load_phase,
    replay_phase,
    sample_sizes,
    warmup_phase,
)
from ddbbench.designs import DESIGNS, Design, make_design, table_specs_for
from ddbbench.designs.base import ITEM_OVERHEAD_BYTES, index_entry
from ddbbench.errors import ConfigError
from ddbbench.execute import execute
from ddbbench.resolved import redesigned
from ddbbench.run import RunRequest, run_scenario
from ddbbench.rundir import create_run_dir
from ddbbench.scenario import Scenario

GROWTH_APPENDS = 60
Echo = Callable[[str], None]


def parse_designs(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in DESIGNS]
    if unknown or not names:
        raise ConfigError(f"--designs: {','.join(unknown) or repr(text)} is not a list of key designs; "
                          f"known: {', '.join(DESIGNS)}")
    if len(set(names)) != len(names):
        raise ConfigError(f"--designs: {text!r} names a design twice")
    return names


def after_replay(endpoint: Endpoint, sc: Scenario, appends: int = GROWTH_APPENDS) -> dict[str, Any]:
    """What the comparison measures on the live target once a design's replay is done."""
    client = make_client(endpoint, sc.client)
    design = make_design(sc.design, sc.tables)
    return {"server_table_sizes": table_sizes(client, design.table_names()),
            "storage": storage_by_rules(sc),
            "append_growth": append_growth(client, sc, appends)}


STORAGE_SAMPLE = 20_000


def storage_by_rules(sc: Scenario, sample: int = STORAGE_SAMPLE) -> dict[str, Any]:
    """Bytes per table and per index of the loaded dataset by DynamoDB's sizing rules, with
    the 100-byte per-entry overhead; from the first ``sample`` conversations (and their
    candidates' share), scaled to the dataset. DynamoDB Local's IndexSizeBytes counts whole
    items whatever the projection (seen here: a KEYS_ONLY index as large as an ALL one), so
    index storage is computed, not read from the server."""
    design = make_design(sc.design, sc.tables)
    specs = {spec["TableName"]: spec for spec in design.table_specs()}
    n = min(sample, sc.dataset.conversations)
    part = dataclasses.replace(sc.dataset, conversations=n,
                               candidates=max(1, round(sc.dataset.candidates * n / sc.dataset.conversations)))
    scale = sc.dataset.conversations / n
    tables: dict[str, dict[str, float]] = {}
    indexes: dict[str, dict[str, float]] = {}
    for kind, entity in entities(part):
        for table, item in design.entity_items(kind, entity):
            _add_entry(tables, table, item)
            for gsi in specs[table].get("GlobalSecondaryIndexes", []):
                entry = index_entry(item, specs[table], gsi)
                if entry is not None:
                    _add_entry(indexes, gsi["IndexName"], entry)
    for sizes in (*tables.values(), *indexes.values()):
        for key in sizes:
            sizes[key] = round(sizes[key] * scale)
    return {"tables": tables, "indexes": indexes, "sampled_conversations": n,
            "overhead_bytes_per_entry": ITEM_OVERHEAD_BYTES}


def _add_entry(acc: dict[str, dict[str, float]], name: str, item: dict[str, Any]) -> None:
    sizes = acc.setdefault(name, {"items": 0, "bytes": 0})
    sizes["items"] += 1
    sizes["bytes"] += item_size(item) + ITEM_OVERHEAD_BYTES


def table_sizes(client: Any, tables: list[str]) -> dict[str, Any]:
    """Items and bytes per table and index as the server reports them (DescribeTable; the
    service refreshes these about every six hours, DynamoDB Local at once)."""
    out = {}
    for name in tables:
        t = client.describe_table(TableName=name)["Table"]
        out[name] = {"items": t.get("ItemCount", 0), "bytes": t.get("TableSizeBytes", 0),
                     "indexes": {ix["IndexName"]: {"items": ix.get("ItemCount", 0),
                                                   "bytes": ix.get("IndexSizeBytes", 0)}
                                 for ix in t.get("GlobalSecondaryIndexes", [])}}
    return out


def append_growth(client: Any, sc: Scenario, appends: int = GROWTH_APPENDS) -> dict[str, Any]:
    """Create one conversation, append ``appends`` messages of the dataset's median length,
    and record the write units of each append (base table and indexes)."""
    design = make_design(sc.design, sc.tables)
    pool = sorted(candidate_messages(sc.dataset.seed, sc.dataset.message_length), key=len)
    text = pool[len(pool) // 2]
    start = datetime.now(UTC)
    probe_id = f"growth-probe-{sc.design}-{int(time.time())}"
    created = execute(client, design.create_conversation(Conversation(
        probe_id, "growth-probe-candidate", "JOB-PROBE", "ONGOING", iso(start), ())))
    rows = []
    for n in range(1, appends + 1):
        msg = Message("candidate", iso(start + timedelta(seconds=n)), text)
        r = execute(client, design.append_message(probe_id, msg))
        rows.append({"messages": n, "outcome": r.outcome, "wcu": r.capacity, "index_wcu": r.index_capacity,
                     "latency_us": r.latency_ns // 1000})
    return {"message_chars": len(text), "create_outcome": created.outcome,
            "conversation_id": probe_id, "appends": rows,
            "messages_to_item_limit": messages_to_item_limit(design, Message("candidate", iso(start), text))}


def messages_to_item_limit(design: Design, message: Message) -> int | None:
    """How many messages like ``message`` a conversation holds before one of its items would
    pass 400 KB (None: the design's items do not grow with the conversation)."""
    def largest(k: int) -> int:
        conv = Conversation("x" * 36, "y" * 36, "JOB-00000000", "COMPLETED", message.timestamp,
                            (message,) * k)
        return max(item_size(item) for _, item in design.conversation_items(conv))

    base, per_message = largest(0), largest(1) - largest(0)
    if largest(2) - largest(1) == 0:
        return None
    return (MAX_ITEM_BYTES - base) // per_message


@dataclasses.dataclass(frozen=True)
class DesignsRequest:
    scenario: Scenario
    designs: tuple[str, ...]
    scenarios_file: Path
    reports_root: Path
    growth_appends: int = GROWTH_APPENDS
    recreate_tables: bool = False  # required off DynamoDB Local: each design replaces the tables
    prices_file: Path | None = None  # default: analysis/prices.yaml
    spend: Spend = dataclasses.field(default_factory=Spend)
    profile: str | None = None


def designs_consent(req: DesignsRequest, scenarios: dict[str, Scenario], echo: Echo) -> None:
    """Off DynamoDB Local: one preview of every design's load, warm-up and replay, one consent."""
    sc = req.scenario
    if sc.target == "local":
        return
    with open_target(sc.target, sc.region, start_local=False, profile=req.profile) as endpoint:
        check_reachable(endpoint, sc.client)
        phases, specs = [], []
        for name, design_sc in scenarios.items():
            sizes = sample_sizes(design_sc)
            phases += [load_phase(design_sc, sizes, f"{name}: load"),
                       warmup_phase(design_sc, design_sc.load.warmup_for(endpoint.kind), sizes,
                                    f"{name}: warm-up"),
                       replay_phase(design_sc, sizes, f"{name}: replay")]
            specs += table_specs_for(design_sc, on_local=False)[0]
        seconds = sc.load.run_time_s * len(scenarios)
        plan = build_plan(sc, describe_target(endpoint), endpoint.region, phases, seconds, req.spend, specs)
        authorise(plan, req.spend, echo)


def compare_designs(req: DesignsRequest, echo: Echo) -> tuple[Path, dict[str, Any]]:
    """Run the scenario on each design; return the comparison directory and its summary."""
    # All refused up front; each design's tables get their own automatic prefix off Local.
    scenarios = {d: redesigned(req.scenario, d) for d in req.designs}
    load_prices(req.prices_file)  # a bad price table fails now, not after the runs
    if req.scenario.target != "local" and not req.recreate_tables:
        raise ConfigError(f"--target {req.scenario.target}: compare-designs deletes and recreates "
                          "each design's tables (owned ones only), so every design starts from fresh "
                          "tables; pass --recreate-tables to allow it")
    designs_consent(req, scenarios, echo)
    budget = req.spend.budget()  # one cap for every design's run
    root = create_run_dir(req.reports_root, f"{req.scenario.name}-designs")
    echo(f"comparison directory: {root}")
    meta = {"scenario": req.scenario.name, "designs": list(req.designs),
            "created_at": datetime.now(UTC).isoformat(timespec="seconds")}
    (root / "designs").mkdir()
    for k, (name, sc) in enumerate(scenarios.items(), start=1):
        echo(f"--- design {k}/{len(scenarios)}: {name} ({DESIGNS[name].summary})")
        run_scenario(RunRequest(
            scenario=sc, scenarios_file=req.scenarios_file, reports_root=root / "designs",
            run_name=name, recreate_tables=True, spend=req.spend, consented=True, budget=budget,
            profile=req.profile,
            after_replay=lambda endpoint, s: after_replay(endpoint, s, req.growth_appends)), echo)
    return root, build_design_comparison(root, meta, req.prices_file)
