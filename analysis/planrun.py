"""``ddbbench plan``: a run directory in, plan.json and plan.md out (the model is analysis.plan).

Inputs, all from the run directory: the measurements (consumed units summed per pattern,
table and index apart: histograms/*.json, exact, checked against summary.json),
manifest.json (the scenario: mix, key distributions, dataset; the load: bytes and items per
table) and requests/*.csv (reads that found nothing, for the DynamoDB Local correction).
What each pattern's requests are (read or write, which table and index) is asked of the key
design itself, by building one request of each pattern.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.hotkeys import scenario_skew
from analysis.plan import (
    PLAN_FORMAT_VERSION,
    PatternInput,
    TableInput,
    conversation_rates,
    parse_rates,
    project,
    split_total,
)
from analysis.planreport import plan_markdown
from analysis.prices import load_prices, prices_record
from analysis.rundata import PatternData, load_run, requests_frame
from ddbbench.errors import ConfigError
from ddbbench.patterns import RequestFactory
from ddbbench.rundir import read_manifest
from ddbbench.scenario import PATTERNS, Scenario, parse_scenarios

READ_OPERATIONS = frozenset({"get_item", "query", "scan", "batch_get_item", "transact_get_items"})


@dataclass(frozen=True)
class PlanRequest:
    """What to plan for: exactly one of ``rates``, ``total_rps``, ``conversations_per_day``."""

    run_dir: Path
    rates: tuple[str, ...] = ()  # "pattern=rps"
    total_rps: float | None = None
    conversations_per_day: float | None = None
    messages_per_conversation: float | None = None  # default: the dataset's mean
    utilisation: float = 0.7
    prices_file: Path | None = None
    items: tuple[str, ...] = ()  # "table=count" overrides of the projected item counts
    out_dir: Path | None = None


def read_run(run_dir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(summary, manifest) of a run directory, or a ConfigError saying what is missing."""
    if not run_dir.is_dir():
        raise ConfigError(f"{run_dir}: not a directory (expected a run directory under reports/)")
    if not (run_dir / "manifest.json").exists():
        raise ConfigError(f"{run_dir}: not a run directory (no manifest.json)")
    manifest = read_manifest(run_dir)
    path = run_dir / "summary.json"
    if not path.exists():
        raise ConfigError(f"{path}: missing; build it with `ddbbench report {run_dir}`")
    try:
        summary = json.loads(path.read_text())
    except ValueError:
        raise ConfigError(f"{path}: not JSON; rebuild it with `ddbbench report {run_dir}`") from None
    if summary.get("format") != "ddbbench-summary" or summary.get("run_id") != manifest["run_id"]:
        raise ConfigError(f"{path}: not the summary of run {manifest['run_id']}; rebuild it with "
                          f"`ddbbench report {run_dir}`")
    return summary, manifest


def scenario_of(manifest: dict[str, Any]) -> Scenario:
    doc = dict(manifest["scenario"])
    name = doc.pop("name") or "run"
    return parse_scenarios({"version": 1, "scenarios": {name: doc}}, "manifest.json")[name]


def measured_sums(run_dir: Path, summary: dict[str, Any]) -> dict[str, PatternData]:
    """Exact per-pattern sums from the histogram files (summary.json rounds units per request
    to 4 decimals); refused when summary.json no longer matches them."""
    patterns = load_run(run_dir).patterns
    for name, data in patterns.items():
        if summary["patterns"].get(name, {}).get("count") != data.count:
            raise ConfigError(f"{run_dir / 'summary.json'}: out of date ({name}: "
                              f"{summary['patterns'].get(name, {}).get('count')} requests, the "
                              f"measurements hold {data.count}); rebuild it with `ddbbench report {run_dir}`")
    return patterns


def pattern_inputs(factory: RequestFactory, sums: dict[str, PatternData],
                   run_dir: Path) -> dict[str, PatternInput]:
    specs = {s["TableName"]: s for s in factory.design.table_specs()}
    empty = empty_reads(run_dir)
    inputs = {}
    for name in PATTERNS:
        call = factory.make(name, random.Random(0))
        kind = "read" if call.operation in READ_OPERATIONS else "write"
        table = call.kwargs.get("TableName") or next(iter(call.kwargs.get("RequestItems", {})))
        gsis = [g["IndexName"] for g in specs.get(table, {}).get("GlobalSecondaryIndexes", [])]
        # A read's index units are those of the index it queries; a write's go to the
        # table's GSIs (measured as one sum: named after the GSI when there is only one).
        index = call.kwargs.get("IndexName") if kind == "read" else (
            gsis[0] if len(gsis) == 1 else f"{table} GSIs" if gsis else None)
        data = sums.get(name) or PatternData()
        n = data.count or 1
        zero, rows = empty.get(name, (0, 0)) if kind == "read" else (0, 0)
        inputs[name] = PatternInput(
            name, kind, table, index, data.count, data.capacity / n, data.index_capacity / n,
            data.items / n, 1 - data.outcomes.get("ok", 0) / n if data.count else 0.0,
            1.0 if call.kwargs.get("ConsistentRead") else 0.5, zero, rows)
    return inputs


def empty_reads(run_dir: Path) -> dict[str, tuple[int, int]]:
    """Per pattern: (successful requests reported as 0 units that returned nothing, rows)."""
    frame = requests_frame(run_dir)
    if frame.empty:
        return {}
    ok = frame[frame["outcome"] == "ok"]
    zero = ok[(ok["capacity"] == 0) & (ok["index_capacity"] == 0) & (ok["items"] == 0)]
    rows = frame.groupby("pattern").size()
    zeros = zero.groupby("pattern").size()
    return {p: (int(zeros.get(p, 0)), int(n)) for p, n in rows.items()}


def table_inputs(manifest: dict[str, Any], factory: RequestFactory,
                 overrides: tuple[str, ...]) -> tuple[TableInput, ...]:
    specs = factory.design.table_specs()
    load = manifest.get("load") or {}
    counts = dict(load.get("tables") or {})
    items = {s["TableName"]: counts.get(s["TableName"], 0) for s in specs}
    items |= parse_items(overrides, list(items))
    tables = []
    for s in specs:
        name = s["TableName"]
        loaded, written = counts.get(name), (load.get("bytes_per_table") or {}).get(name)
        mean = written / loaded if loaded and written is not None else None
        gsis = tuple((g["IndexName"], g["Projection"]["ProjectionType"])
                     for g in s.get("GlobalSecondaryIndexes", []))
        tables.append(TableInput(name, items[name], mean, gsis))
    return tuple(tables)


def parse_items(specs: tuple[str, ...], tables: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for spec in specs:
        name, sep, value = spec.partition("=")
        if not sep or name not in tables:
            raise ConfigError(f"--items: {spec!r} is not TABLE=COUNT with TABLE one of {', '.join(tables)}")
        try:
            count = int(value)
        except ValueError:
            raise ConfigError(f"--items {name}: {value!r} is not a whole number of items") from None
        if count < 0:
            raise ConfigError(f"--items {name}: {count} is not a count >= 0")
        out[name] = count
    return out


def target_rates(req: PlanRequest, sc: Scenario,
                 measured: list[str]) -> tuple[dict[str, float], dict[str, Any]]:
    """The target rate per pattern and how it was given."""
    given = [bool(req.rates), req.total_rps is not None, req.conversations_per_day is not None]
    if sum(given) != 1:
        raise ConfigError("give exactly one target: --rate PATTERN=RPS (repeatable), --total-rps N "
                          "or --conversations-per-day N")
    mix = sc.mix.weights()
    if req.rates:
        rates = parse_rates(req.rates, PATTERNS)
        for name, rate in rates.items():
            if rate > 0 and name not in measured:
                raise ConfigError(f"--rate: {name} has no requests in this run, so nothing to project "
                                  f"from; measured: {', '.join(measured)}")
        return rates, {"mode": "rates", "rates": list(req.rates)}
    if req.total_rps is not None:
        return split_total(req.total_rps, mix), {"mode": "total-rps", "total_rps": req.total_rps,
                                                 "split_by": "the run's scenario mix", "mix": mix}
    assert req.conversations_per_day is not None
    messages = req.messages_per_conversation
    if messages is None:  # messages per conversation are uniform between min and max
        messages = (sc.dataset.messages.min + sc.dataset.messages.max) / 2
    rates = conversation_rates(req.conversations_per_day, messages, mix)
    return rates, {"mode": "conversations-per-day", "conversations_per_day": req.conversations_per_day,
                   "messages_per_conversation": messages, "mix": mix}


def make_plan(req: PlanRequest) -> dict[str, Any]:
    """Read the run, project, price; return plan.json's content (nothing written)."""
    run_dir = Path(req.run_dir)
    summary, manifest = read_run(run_dir)
    sc = scenario_of(manifest)
    prices = load_prices(req.prices_file)
    factory = RequestFactory.for_scenario(sc)
    inputs = pattern_inputs(factory, measured_sums(run_dir, summary), run_dir)
    measured = [p for p in PATTERNS if inputs[p].count > 0]
    rates, target = target_rates(req, sc, measured)
    tables = table_inputs(manifest, factory, req.items)
    skew = scenario_skew(sc)
    plan = project(inputs, rates, tables, skew, prices, req.utilisation)  # the typed CapacityPlan
    notes = []
    if prices.region != sc.region:
        notes.append(f"prices are for {prices.region}; the run's scenario region is {sc.region}")
    return {"format": "ddbbench-plan", "format_version": PLAN_FORMAT_VERSION,
            "source": {"run_dir": str(run_dir.resolve()), "run_id": manifest["run_id"],
                       "scenario": sc.name, "target": manifest.get("target"),
                       "files": ["manifest.json", "summary.json", "histograms/*.json",
                                 "requests/*.csv"]},
            "prices": prices_record(prices, req.prices_file),
            "assumptions": {"utilisation": req.utilisation, "target": target,
                            "items": {t.name: t.items for t in tables},
                            "key_skew": {p: s.basis for p, s in skew.items()}},
            **plan.to_dict(), "notes": notes}


def write_plan(plan: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / "plan.json", out_dir / "plan.md"
    json_path.write_text(json.dumps(plan, indent=2))
    md_path.write_text(plan_markdown(plan))
    return json_path, md_path
