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
from datagen.model import Conversation, Message, candidate_messages, iso
from ddbbench.client import Endpoint, make_client
from ddbbench.designs import DESIGNS, make_design
from ddbbench.errors import ConfigError
from ddbbench.execute import execute
from ddbbench.run import RunRequest, run_scenario
from ddbbench.rundir import create_run_dir
from ddbbench.scenario import Scenario, with_design

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
    return {"table_sizes": table_sizes(client, design.table_names()),
            "append_growth": append_growth(client, sc, appends)}


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
            "conversation_id": probe_id, "appends": rows}


@dataclasses.dataclass(frozen=True)
class DesignsRequest:
    scenario: Scenario
    designs: tuple[str, ...]
    scenarios_file: Path
    reports_root: Path
    growth_appends: int = GROWTH_APPENDS
    recreate_tables: bool = False  # required off DynamoDB Local: each design replaces the tables


def compare_designs(req: DesignsRequest, echo: Echo) -> tuple[Path, dict[str, Any]]:
    """Run the scenario on each design; return the comparison directory and its summary."""
    scenarios = {d: with_design(req.scenario, d) for d in req.designs}  # all refused up front
    if req.scenario.target != "local" and not req.recreate_tables:
        raise ConfigError(f"--target {req.scenario.target}: compare-designs deletes and recreates "
                          "each design's tables (they share names); pass --recreate-tables to allow it")
    root = create_run_dir(req.reports_root, f"{req.scenario.name}-designs")
    echo(f"comparison directory: {root}")
    meta = {"scenario": req.scenario.name, "designs": list(req.designs),
            "created_at": datetime.now(UTC).isoformat(timespec="seconds")}
    (root / "designs").mkdir()
    for k, (name, sc) in enumerate(scenarios.items(), start=1):
        echo(f"--- design {k}/{len(scenarios)}: {name} ({DESIGNS[name].summary})")
        run_scenario(RunRequest(
            scenario=sc, scenarios_file=req.scenarios_file, reports_root=root / "designs",
            run_name=name, recreate_tables=True,
            after_replay=lambda endpoint, s: after_replay(endpoint, s, req.growth_appends)), echo)
    return root, build_design_comparison(root, meta)
