"""Find the knee: step the open-model arrival rate up until the SLO or the error budget breaks.

One target (one DynamoDB Local), one data load, one calibration and one JVM warm-up serve
every step; each step is then a normal run directory (Locust replay, summary, report) inside
the knee directory, so ``ddbbench report`` and ``ddbbench plan`` work on any step::

    reports/<id>-<scenario>-knee-<hex>/
        knee.json  knee.md  knee.png
        steps/01-20rps/   manifest.json, scenario.yaml, histograms/, summary.json, report.html
        steps/02-40rps/   ...

Steps stop at the first that fails or saturates the generator (analysis.knee decides).
The data carries over from step to step (appended messages, created conversations), as it
would in production; at the default step lengths the growth is small (docs/capacity-planning.md).
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from analysis.knee import (
    DEFAULT_ERROR_BUDGET,
    KNEE_FORMAT_VERSION,
    achieved_rps,
    judge_step,
    knee_figure,
    knee_markdown,
    knee_result,
    overall_latency,
    step_record,
)
from analysis.knee_steps import KneeStep, StepVerdict
from analysis.report import write_report
from analysis.rundata import load_run, requests_frame
from ddbbench.budget import STOPPED_BY_CAP, UnitBudget
from ddbbench.calibrate import calibrate
from ddbbench.client import Endpoint, check_reachable, open_target
from ddbbench.consent import (
    Spend,
    authorise,
    build_plan,
    describe_target,
    load_phase,
    replay_budget,
    replay_phase,
    sample_sizes,
    warmup_phase,
)
from ddbbench.errors import ConfigError, Interrupted
from ddbbench.ownership import Ownership
from ddbbench.preview import Plan
from ddbbench.run import (
    Echo,
    StoppedByCap,
    preflight,
    prepare_tables,
    replay,
    replay_capped,
    replay_used,
    table_record,
    warm_up,
)
from ddbbench.rundir import base_manifest, create_run_dir, update_manifest, write_manifest
from ddbbench.scenario import Scenario

MAX_STEPS = 50


@dataclass(frozen=True)
class KneeRequest:
    scenario: Scenario
    reports_root: Path
    start: float
    step: float
    max: float
    step_s: float = 20.0  # measured seconds per step
    settle_s: float | None = None  # unmeasured seconds first (default: the scenario's warmup_s)
    error_budget: float = DEFAULT_ERROR_BUDGET
    port: int | None = None
    skip_load: bool = False
    recreate_tables: bool | None = None
    spend: Spend = dataclasses.field(default_factory=Spend)
    profile: str | None = None

    @property
    def settle(self) -> float:
        return self.scenario.load.warmup_s if self.settle_s is None else self.settle_s


def knee_rates(start: float, step: float, top: float) -> list[float]:
    """The offered rates: start, start + step, ... up to top (inclusive)."""
    for flag, value in (("--start", start), ("--step", step), ("--max", top)):
        if not math.isfinite(value) or value <= 0:
            raise ConfigError(f"{flag}: {value:g} is not a rate > 0 (requests per second)")
    if top < start:
        raise ConfigError(f"--max: {top:g} is not a rate >= --start ({start:g})")
    count = math.floor((top - start) / step + 1e-9) + 1
    if count > MAX_STEPS:
        raise ConfigError(f"--step: {step:g} makes {count} steps from {start:g} to {top:g}; "
                          f"allowed: at most {MAX_STEPS} (use a larger --step)")
    return [round(start + k * step, 6) for k in range(count)]


def check_request(req: KneeRequest) -> list[float]:
    if not math.isfinite(req.step_s) or req.step_s <= 0:
        raise ConfigError(f"--step-s: {req.step_s:g} is not a duration in seconds > 0")
    if not math.isfinite(req.settle) or req.settle < 0:
        raise ConfigError(f"--settle-s: {req.settle:g} is not a duration in seconds >= 0")
    if not math.isfinite(req.error_budget) or not 0 <= req.error_budget <= 1:
        raise ConfigError(f"--error-budget: {req.error_budget:g} is not a fraction in [0, 1] (0.01 = 1%)")
    return knee_rates(req.start, req.step, req.max)


def step_scenario(sc: Scenario, rate: float, step_s: float, settle_s: float) -> Scenario:
    """The scenario of one step: open model at ``rate``, ``settle_s`` unmeasured then ``step_s``."""
    load = dataclasses.replace(sc.load, model="open", arrival_rate=rate, stages=(),
                               duration_s=settle_s + step_s, warmup_s=settle_s, warmup_requests=0)
    load.validate(f"knee step at {rate:g} requests/s")
    return dataclasses.replace(sc, load=load)


def measured_seconds(step_s: float, settle_s: float) -> float:
    # Locust runs whole seconds (locust_process.locust_command rounds up); the first settle_s
    # are not measured.
    return math.ceil(settle_s + step_s) - settle_s


def write_step_scenario(step_dir: Path, sc: Scenario) -> Path:
    """The step's scenario as a scenarios file: a record of what ran (``ddbbench run
    --scenarios-file`` can run it again), not an input of the step."""
    body = sc.to_dict()
    body.pop("name")
    path = step_dir / "scenario.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "scenarios": {sc.name: body}}, sort_keys=False))
    return path


def knee_consent(endpoint: Endpoint, req: KneeRequest, rates: list[float], echo: Echo) -> Plan | None:
    """Off DynamoDB Local: the preview of the load, the warm-up and every step, then consent;
    the plan agreed to (None on Local)."""
    if endpoint.kind == "local" and not req.spend.dry_run:
        return None
    sc = req.scenario
    sizes = sample_sizes(sc)
    phases = [load_phase(sc, sizes)] if not req.skip_load else []
    phases.append(warmup_phase(sc, sc.load.warmup_for(endpoint.kind), sizes))
    steps = [step_scenario(sc, rate, req.step_s, req.settle) for rate in rates]
    phases += [replay_phase(step, sizes, f"step {k} ({rate:g} requests/s)")
               for k, (rate, step) in enumerate(zip(rates, steps, strict=True), 1)]
    seconds = sum(step.load.run_time_s for step in steps)
    plan = build_plan(sc, describe_target(endpoint), endpoint.region, phases, seconds, req.spend)
    authorise(plan, req.spend, echo)
    return plan


def prepare(endpoint: Endpoint, owner: Ownership, req: KneeRequest, echo: Echo,
            budget: UnitBudget | None = None) -> dict[str, Any]:
    """Load (into owned tables only; or check the tables), calibrate and warm up once for all
    steps; what each step's manifest records."""
    sc = req.scenario
    shared: dict[str, Any] = table_record(sc, endpoint)
    stats = prepare_tables(endpoint, sc, owner, req.skip_load, req.recreate_tables, echo, budget)
    if stats is not None:
        shared["load"] = stats.to_dict()
        if stats.stopped_by_cap:
            raise StoppedByCap("the request-unit cap ended the knee run's load before the first "
                               "step; raise --max-request-units / --max-cost or load less")
    shared["calibration"] = calibrate(sc, sc.load.calibration_requests)
    shared["warmup"] = {**warm_up(endpoint, sc, echo, budget), "shared": "sent once before the first step"}
    return shared


def run_step(knee_dir: Path, index: int, rate: float, endpoint: Endpoint, req: KneeRequest,
             shared: dict[str, Any], echo: Echo,
             budget: UnitBudget | None = None) -> tuple[KneeStep, str]:
    """One step as a run directory; its record (with verdict) and Locust's status."""
    sc = step_scenario(req.scenario, rate, req.step_s, req.settle)
    step_dir = knee_dir / "steps" / f"{index:02d}-{rate:g}rps"
    step_dir.mkdir(parents=True)
    record_file = write_step_scenario(step_dir, sc)
    # The step's resolved run is its manifest (what Locust reads); scenario.yaml is a record.
    manifest = base_manifest(step_dir, sc.to_dict(), endpoint.describe(), source="ddbbench knee")
    manifest |= {"scenarios_file": str(record_file), **shared,
                 "knee": {"dir": str(knee_dir), "step": index, "offered_rps": rate}}
    if budget is not None:
        manifest["request_units"] = replay_budget(budget, sc.load.processes)
    write_manifest(step_dir, manifest)
    echo(f"step {index}: {rate:g} requests/s offered")
    status = replay(sc, step_dir, echo)
    if budget is not None:
        budget.add(replay_used(step_dir))
        if status == "complete" and replay_capped(step_dir):
            status = STOPPED_BY_CAP
    update_manifest(step_dir, status=status, finished_at=_now())
    summary = write_report(step_dir)
    achieved = achieved_rps(requests_frame(step_dir), summary.overall.count)
    record = dataclasses.replace(
        step_record(index, rate, measured_seconds(req.step_s, req.settle), summary,
                    overall_latency(load_run(step_dir)), achieved), run_dir=str(step_dir))
    return dataclasses.replace(record, verdict=judge_step(record, req.error_budget)), status


def knee_doc(req: KneeRequest, rates: list[float], endpoint: Endpoint) -> dict[str, Any]:
    sc = req.scenario
    return {"format": "ddbbench-knee", "format_version": KNEE_FORMAT_VERSION, "scenario": sc.name,
            "created_at": _now(), "status": "running", "target": endpoint.describe(),
            "slo": {"percentile": sc.slo.percentile, "threshold_ms": sc.slo.threshold_ms},
            "settings": {"rates": rates, "step_s": req.step_s, "settle_s": req.settle,
                         "error_budget": req.error_budget, "processes": sc.load.processes,
                         "max_in_flight": sc.load.max_in_flight},
            "steps": [], "result": None}


def write_knee(knee_dir: Path, knee: dict[str, Any], chart: bool = False) -> None:
    (knee_dir / "knee.json").write_text(json.dumps(knee, indent=2))
    if knee["result"] is not None:
        (knee_dir / "knee.md").write_text(knee_markdown(knee))
    if chart and knee["steps"]:
        import matplotlib.pyplot as plt

        fig = knee_figure(knee)
        fig.savefig(knee_dir / "knee.png", dpi=110)
        plt.close(fig)


def run_knee(req: KneeRequest, echo: Echo) -> tuple[Path, dict[str, Any]]:
    """Step the rate up until a step fails; return the knee directory and knee.json's content."""
    rates = check_request(req)
    sc = req.scenario
    with open_target(sc.target, sc.region, req.port, profile=req.profile) as endpoint:
        check_reachable(endpoint, sc.client)
        if endpoint.managed:
            echo(f"started DynamoDB Local at {endpoint.url}")
        owner = Ownership.for_target(endpoint, sc)
        preflight(endpoint, sc, owner, req.skip_load, req.recreate_tables, echo)
        plan = knee_consent(endpoint, req, rates, echo)
        budget = req.spend.budget()
        knee_dir = create_run_dir(req.reports_root, f"{sc.name}-knee")
        knee = knee_doc(req, rates, endpoint) | ({"preview": plan.to_dict()} if plan else {})
        write_knee(knee_dir, knee)
        echo(f"knee directory: {knee_dir}")
        shared = prepare(endpoint, owner, req, echo, budget)
        knee["shared"] = shared
        status = "complete"
        steps: list[KneeStep] = []
        for index, rate in enumerate(rates, 1):
            record, status = run_step(knee_dir, index, rate, endpoint, req, shared, echo, budget)
            steps.append(record)
            knee["steps"].append(record.to_dict())
            echo(step_line(record))
            write_knee(knee_dir, knee)
            if status != "complete" or record.verdict is None or record.verdict.status != "pass":
                break
    finished = status == "complete"
    result = knee_result(steps, rates[-1], finished)
    if status == STOPPED_BY_CAP:  # the last step is partial: judge the steps before it
        result = dataclasses.replace(
            knee_result(steps[:-1], rates[-1], False), outcome=STOPPED_BY_CAP,
            message=f"the request-unit cap was spent during step {len(steps)}; "
                    "the steps before it are complete")
        finished = True
    knee |= {"status": status, "finished_at": _now(), "result": result.to_dict()}
    write_knee(knee_dir, knee, chart=True)
    if not finished:
        raise Interrupted(f"interrupted; partial results kept in {knee_dir}")
    return knee_dir, knee


def step_line(s: KneeStep) -> str:
    worst = "n/a" if s.worst_slo_ms is None else f"{s.worst_slo_ms:.3f} ms ({s.worst_pattern})"
    done = "n/a" if s.achieved_rps is None else f"{s.achieved_rps:.1f}"
    verdict = s.verdict or StepVerdict("not judged")
    return (f"step {s.index}: {s.offered_rps:g} offered, {done} completed req/s, "
            f"worst p{s.slo['percentile']:g} {worst}, errors {s.error_rate:.2%}, "
            f"generator CPU {s.cpu_mean_pct:.0f}%: {verdict.status.upper()}"
            + (f" ({'; '.join(verdict.reasons)})" if verdict.reasons else ""))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
