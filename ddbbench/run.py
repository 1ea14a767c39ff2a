"""The main job: resolve the target, load the dataset, replay with Locust, build the report.

Locust runs in a subprocess: it monkey-patches the standard library with gevent at import,
which must not happen in this process (it uses threads and boto3 for loading).
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from analysis.report import build_report
from analysis.summary_text import summary_table
from datagen.loader import LoadStats, load_scenario, summary_line
from ddbbench import local
from ddbbench.budget import STOPPED_BY_CAP, UnitBudget
from ddbbench.calibrate import calibrate
from ddbbench.client import Endpoint, check_reachable, make_client, open_target
from ddbbench.consent import Spend, consent, replay_budget
from ddbbench.designs import make_design, table_specs_for
from ddbbench.errors import BenchError, Interrupted, ObjectiveMissed
from ddbbench.execute import execute
from ddbbench.locust_process import (
    LOCUST_GRACE_S,
    NO_WORKERS,
    WORKERS_WAIT_S,
    Workers,
    describe_load,
    locust_command,
    run_locust,
    stop_timeout_s,
)
from ddbbench.ownership import Ownership
from ddbbench.patterns import PatternPicker, RequestFactory
from ddbbench.patterns.state import salt_for
from ddbbench.progress import ProgressPrinter
from ddbbench.rundir import base_manifest, create_run_dir, read_manifest, update_manifest, write_manifest
from ddbbench.runformat import read_process_file
from ddbbench.scenario import Scenario
from ddbbench.table_settings import describe_specs
from ddbbench.tables import check_tables
from ddbbench.teardown import teardown_created

Echo = Callable[[str], None]


@dataclass(frozen=True)
class RunRequest:
    scenario: Scenario  # resolved: every command-line override applied
    scenarios_file: Path | None  # where it was read from (recorded, never read again)
    reports_root: Path
    port: int | None = None
    skip_load: bool = False
    recreate_tables: bool | None = None  # None: recreate on DynamoDB Local only
    run_name: str | None = None  # the run directory's name (default: a new run id)
    workers: Workers = NO_WORKERS
    teardown: bool = False  # delete the tables this run created at its end (also after an error)
    # Extra measurements against the live target after the replay; recorded in the manifest.
    after_replay: Callable[[Endpoint, Scenario], dict[str, Any]] | None = None
    spend: Spend = field(default_factory=Spend)  # consent, dry run and caps off DynamoDB Local
    consented: bool = False  # the caller has shown the preview and had consent (compare-designs)
    budget: UnitBudget | None = None  # a cap shared with other runs (default: the spend's own)
    profile: str | None = None  # --profile: a named AWS profile (its name is recorded, never keys)


class StoppedByCap(BenchError):
    """The request-unit cap ended the load before anything was replayed (exit code 1)."""


def load_data(endpoint: Endpoint, scenario: Scenario, recreate: bool | None = None,
              echo: Echo | None = None, resume: bool = False, budget: UnitBudget | None = None,
              owner: Ownership | None = None) -> LoadStats:
    """Generate and bulk-load the scenario's dataset (fresh tables on DynamoDB Local unless
    resuming an interrupted load) into tables ``owner`` (default: the target's) owns;
    ``--recreate-tables`` only ever applies to owned tables; ``budget`` stops it cleanly
    when spent."""
    recreate = endpoint.kind == "local" and not resume if recreate is None else recreate
    client = make_client(endpoint, scenario.client, pool_size=scenario.loader.workers)
    progress = ProgressPrinter("load", unit="entities") if echo else None
    stats = load_scenario(client, endpoint, scenario, recreate=recreate, resume=resume, progress=progress,
                          budget=budget, owner=owner)
    if echo:
        echo(summary_line(stats))
    return stats


def load_target(sc: Scenario, spend: Spend, recreate: bool | None, resume: bool,
                profile: str | None, echo: Echo) -> LoadStats:
    """``ddbbench load``: resolve the target, refuse tables the harness does not own or whose
    schema differs (before any preview), show what the load costs and have consent off
    DynamoDB Local, then load."""
    if sc.target == "local" and local.read_state() is None:
        raise BenchError("`ddbbench load` with target local needs a running DynamoDB Local: "
                         "start one with `ddbbench local start` (an in-memory server started "
                         "just for the load would lose the data when it stops)")
    with open_target(sc.target, sc.region, profile=profile) as endpoint:
        check_reachable(endpoint, sc.client)
        owner = Ownership.for_target(endpoint, sc)
        if not resume:
            preflight(endpoint, sc, owner, False, recreate, echo)
        consent(sc, endpoint, spend, echo, warmup=False, replay=False)
        return load_data(endpoint, sc, recreate, echo, resume=resume, budget=spend.budget(), owner=owner)


def warm_up(endpoint: Endpoint, scenario: Scenario, echo: Echo,
            budget: UnitBudget | None = None) -> dict[str, Any]:
    """Send ``load.warmup_requests`` of the scenario's mix, unmeasured, before the run.

    DynamoDB Local is a JVM: its first couple of thousand requests are several times slower
    while the JIT compiles (measured here: p50 9 ms falling to 2 ms after ~1,500 requests).
    """
    n = scenario.load.warmup_for(endpoint.kind)
    if n == 0:
        return {"requests": 0, "configured": scenario.load.warmup_requests}
    client = make_client(endpoint, scenario.client)
    factory = RequestFactory.for_scenario(scenario, salt=salt_for(scenario, "warmup"))
    picker = PatternPicker(scenario.mix)
    rng = random.Random(f"{scenario.dataset.seed}:warmup")
    outcomes: Counter[str] = Counter()
    progress = ProgressPrinter("warm-up", unit="requests")
    started = time.perf_counter()
    sent = 0
    while sent < n and not (budget is not None and budget.exhausted):
        result = execute(client, factory.make(picker.pick(rng), rng))
        outcomes[result.outcome] += 1
        if budget is not None:
            budget.add(result.capacity + result.index_capacity)
        sent += 1
        progress(sent, n)
    return {"requests": sent, "configured": scenario.load.warmup_requests,
            "seconds": round(time.perf_counter() - started, 3), "outcomes": dict(outcomes),
            "stopped_by_cap": sent < n}


def run_scenario(req: RunRequest, echo: Echo) -> tuple[Path, dict[str, Any]]:
    """Run one scenario end to end; return the run directory and its summary."""
    sc = req.scenario
    with open_target(sc.target, sc.region, req.port, profile=req.profile) as endpoint:
        req.workers.check(endpoint, sc)
        check_reachable(endpoint, sc.client)
        if endpoint.managed:
            echo(f"started DynamoDB Local at {endpoint.url}")
        owner = Ownership.for_target(endpoint, sc)
        try:
            run_dir, status, unreachable = _run_on(endpoint, owner, req, echo)
        finally:
            if req.teardown:
                teardown_created(owner, echo)
    update_manifest(run_dir, status=status, finished_at=_now(),
                    **({"unreachable": unreachable} if unreachable else {}))
    summary = build_report(run_dir)
    if status == "unreachable":
        assert unreachable is not None
        echo(summary_table(summary))
        raise BenchError(f"the target stopped answering at {unreachable['since']} "
                         f"({unreachable['since_s']:.1f} s into the test; only connection errors "
                         f"since): the run stopped early; partial results and report in {run_dir}")
    if status == STOPPED_BY_CAP:
        echo(f"stopped by the request-unit cap: partial results in {run_dir}")
    elif status != "complete":
        raise Interrupted(f"interrupted; partial results kept in {run_dir}")
    return run_dir, summary


def unreachable_since(run_dir: Path) -> dict[str, Any] | None:
    """When the target stopped answering, if a load process stopped the run for it: the
    earliest process's mark (``ddbbench.replay.Reachability``), as the manifest keeps it."""
    records = [read_process_file(p) for p in _measurement_files(run_dir)]
    marks = [(r, r.extra["unreachable"]) for r in records if r.extra.get("unreachable")]
    if not marks:
        return None
    record, mark = min(marks, key=lambda m: m[1]["since_unix_s"])
    since = float(mark["since_unix_s"])
    start = min(r.test_start_unix_s for r in records)
    return {"since": datetime.fromtimestamp(since, UTC).isoformat(timespec="milliseconds"),
            "since_unix_s": since, "since_s": round(since - start, 3),
            "detected_unix_s": mark["detected_unix_s"], "window_s": mark["window_s"],
            "process": record.label}


def preflight(endpoint: Endpoint, sc: Scenario, owner: Ownership, skip_load: bool,
              recreate: bool | None, echo: Echo) -> None:
    """Refuse, before any run directory or table is made, tables the harness does not own
    or whose schema is not the design's (``ddbbench.tables.check_tables``)."""
    design = make_design(sc.design, sc.tables)
    recreate = endpoint.kind == "local" if recreate is None else recreate
    missing = check_tables(owner.client, design.table_specs(), owner, design.name,
                           recreate=recreate and not skip_load)
    if skip_load and missing:
        echo(f"warning: table(s) {', '.join(missing)} do not exist at the target: their requests will "
             "fail (ResourceNotFoundException); load them first with `ddbbench load`")


def prepare_tables(endpoint: Endpoint, sc: Scenario, owner: Ownership, skip_load: bool,
                   recreate: bool | None, echo: Echo, budget: UnitBudget | None = None) -> LoadStats | None:
    """Load into owned tables only (the load checks them again as it creates them); the
    load's statistics, or None with ``skip_load``."""
    if skip_load:
        return None
    return load_data(endpoint, sc, recreate, echo, budget=budget, owner=owner)


def _run_on(endpoint: Endpoint, owner: Ownership, req: RunRequest,
            echo: Echo) -> tuple[Path, str, dict[str, Any] | None]:
    """The run against a resolved endpoint: (run directory, status, when the target stopped
    answering if it did)."""
    sc = req.scenario
    preflight(endpoint, sc, owner, req.skip_load, req.recreate_tables, echo)
    plan = None if req.consented else consent(sc, endpoint, req.spend, echo, load=not req.skip_load)
    budget = req.budget if req.budget is not None else req.spend.budget()
    # Absolute: Locust runs with the run directory as its working directory.
    run_dir = create_run_dir(Path(req.reports_root).resolve(), sc.name, req.run_name)
    # The hand-off: the resolved run is in the manifest before anything is loaded or sent.
    manifest = base_manifest(run_dir, sc.to_dict(), endpoint.describe(), source="ddbbench run")
    manifest["scenarios_file"] = str(req.scenarios_file) if req.scenarios_file else None
    manifest |= table_record(sc, endpoint)
    if plan is not None:  # what the user agreed to spend
        manifest["preview"] = plan.to_dict()
    write_manifest(run_dir, manifest)
    echo(f"run directory: {run_dir}")
    stats = prepare_tables(endpoint, sc, owner, req.skip_load, req.recreate_tables, echo, budget)
    if stats is not None:
        update_manifest(run_dir, load=stats.to_dict())
        if stats.stopped_by_cap:
            update_manifest(run_dir, status=STOPPED_BY_CAP, finished_at=_now())
            raise StoppedByCap(f"the request-unit cap ended the load ({summary_line(stats)}); "
                               f"nothing was replayed; partial load recorded in {run_dir}")
    update_manifest(run_dir, calibration=calibrate(sc, sc.load.calibration_requests))
    update_manifest(run_dir, warmup=warm_up(endpoint, sc, echo, budget))
    if budget is not None:
        processes = req.workers.expected or sc.load.processes
        update_manifest(run_dir, request_units=replay_budget(budget, processes))
    status = replay(sc, run_dir, echo, req.workers)
    unreachable = unreachable_since(run_dir)
    if unreachable is not None and status == "complete":
        status = "unreachable"
    elif status == "complete" and replay_capped(run_dir):
        status = STOPPED_BY_CAP
    if req.after_replay is not None and status == "complete":
        update_manifest(run_dir, after_replay=req.after_replay(endpoint, sc))
    return run_dir, status, unreachable


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def table_record(sc: Scenario, endpoint: Endpoint) -> dict[str, Any]:
    """The manifest's record of the tables' settings (as created) and what was not applied."""
    specs, notes = table_specs_for(sc, on_local=endpoint.kind == "local")
    return {"table_settings": {"tables": describe_specs(specs), "notes": notes}}


def _process_units(run_dir: Path) -> list[dict[str, Any]]:
    """Each load process's count against its share of the cap (none without a cap)."""
    found = []
    for path in sorted((run_dir / "histograms").glob("*.json")):
        units = (json.loads(path.read_text()).get("extra") or {}).get("request_units")
        if units:
            found.append(units)
    return found


def replay_capped(run_dir: Path) -> bool:
    """Whether a load process stopped because its share of the cap was spent."""
    return any(u.get("exhausted") for u in _process_units(run_dir))


def replay_used(run_dir: Path) -> float:
    """Request units the replay's processes counted."""
    return sum(float(u.get("used", 0.0)) for u in _process_units(run_dir))




def _measurement_files(run_dir: Path) -> list[Path]:
    return sorted((run_dir / "histograms").glob("*.json"))


def check_objectives(summary: dict[str, Any]) -> None:
    """Raise ``ObjectiveMissed`` (exit 3) naming every objective the run missed. An objective
    not judged for want of data (``met`` None, status insufficient) is not missed."""
    missed = [v for v in summary["slo"]["verdicts"] if v["met"] is False]
    if missed:
        listed = "; ".join(f"{v['pattern']} p{v['percentile']:g} " + _missed_why(v) for v in missed)
        raise ObjectiveMissed(f"{len(missed)} objective(s) missed: {listed}")


def _missed_why(v: dict[str, Any]) -> str:
    latency = "not measured" if v["value_ms"] is None else f"{v['value_ms']:.3f} ms"
    text = f"{latency} (objective < {v['threshold_ms']:g} ms)"
    reason = v.get("reason", "")
    return f"{text}: {reason}" if reason and not reason.startswith("p") else text


def replay(sc: Scenario, run_dir: Path, echo: Echo, workers: Workers = NO_WORKERS) -> str:
    """Replay the resolved run in ``run_dir``'s manifest with Locust: 'complete' or 'interrupted'.

    ``sc`` is that manifest's scenario (the caller wrote it); Locust reads the run from the
    manifest itself, so what it replays is exactly what the manifest records. With several
    load processes (``--processes`` here, or remote workers) Locust's master receives their
    measurements over its own channel and writes them before it exits (ddbbench/distributed.py).
    """
    cmd = locust_command(sc, run_dir, workers)
    update_manifest(run_dir, locust={"command": cmd})
    echo(f"replaying for {sc.load.run_time_s:g}s, {describe_load(sc, workers)} "
         f"(Locust log: {run_dir / 'locust.log'})")
    wait = WORKERS_WAIT_S if workers.expected else 0.0
    status = run_locust(cmd, run_dir, sc.load.run_time_s + stop_timeout_s(sc.load) + LOCUST_GRACE_S + wait)
    report_distribution(run_dir, echo)
    return status


def report_distribution(run_dir: Path, echo: Echo) -> None:
    """Say what the master's handshake could not collect (the manifest marks it degraded)."""
    dist = read_manifest(run_dir).get("distributed")
    if dist and dist.get("final_deltas_missing"):
        echo(f"warning: no final measurements from {', '.join(dist['final_deltas_missing'])} within "
             f"{dist['final_timeout_s']:g}s (their data up to their last report is kept); the run is "
             "marked degraded")


