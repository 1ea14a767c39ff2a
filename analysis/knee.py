"""Find-the-knee verdicts: given each step's summary, which steps passed and where the knee is.

Pure functions (the orchestration is ``ddbbench.knee``). A step passes when the load
generator kept up (not saturated: its latencies are trustworthy), the error rate stays within
the budget and every pattern meets the scenario's SLO. A step where some pattern has too few
requests for its objective's percentile (``ddbbench.objectives.judgeable``) and none fails is
``insufficient``: neither pass nor fail. Steps run in increasing rate and stop at the first
that does not pass; the knee is the highest passing rate below it.

Steps, their verdicts and the result are typed (``analysis.knee_steps``); the markdown and
the chart read knee.json's document.

Example::

    >>> s = KneeStep(offered_rps=50, cpu_mean_pct=30.0, threshold_pct=80.0, count=1000,
    ...              slo={"percentile": 99.0, "threshold_ms": 10.0})
    >>> judge_step(s, error_budget=0.01).status
    'pass'
"""

from __future__ import annotations

import math
from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless

import matplotlib.pyplot as plt
import pandas as pd
from hdrh.histogram import HdrHistogram
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from analysis.knee_steps import KneeResult, KneeStep, StepPattern, StepVerdict
from analysis.metrics import percentile_ms
from analysis.rundata import RunData
from analysis.slo import FAIL, INSUFFICIENT, PASS, Verdict
from analysis.summary import Summary
from analysis.summary_text import markdown_table
from ddbbench.objectives import judgeable
from ddbbench.runformat import new_histogram
from ddbbench.scenario import DEFAULT_ERROR_BUDGET

__all__ = ["DEFAULT_ERROR_BUDGET", "judge_step", "knee_result", "step_record"]

KNEE_FORMAT_VERSION = 1
BUSY_MACHINE_PCT = 90.0  # whole-machine CPU from which the step table says the cores were full


def overall_latency(run: RunData, percentiles: tuple[float, ...] = (50.0, 99.0)) -> dict[str, float]:
    """Percentiles over every pattern's requests together (histograms merge exactly)."""
    merged: HdrHistogram = new_histogram()
    top = 0
    for data in run.patterns.values():
        merged.add(data.hist)
        top = max(top, data.max_ns)
    if merged.get_total_count() == 0:
        return {}
    return {f"p{p:g}_ms": percentile_ms(merged, p, top) for p in percentiles}


def achieved_rps(requests: pd.DataFrame, total: int | None = None) -> float | None:
    """Requests completed per second while arrivals were measured (from the raw rows; when
    they are a sample, ``total`` requests were measured in all).

    In the open model every arrival is sent and, once the run stops, drained: counting them
    would always give the offered rate. What the server sustained is how many *completed*
    within the arrival window; an overloaded server completes fewer, and they queue.
    """
    if requests.empty:
        return None
    intended = requests["start_unix_us"] - requests["schedule_lag_us"]
    completed = requests["start_unix_us"] + requests["service_us"]
    t0, t1 = intended.min(), intended.max()
    if t1 <= t0:
        return None
    scale = total / len(requests) if total else 1.0
    return float((completed <= t1).sum()) * scale / ((t1 - t0) / 1e6)


def step_record(index: int, offered_rps: float, measured_s: float, summary: Summary,
                overall: dict[str, float], achieved: float | None = None) -> KneeStep:
    """What the knee needs of one step's summary (every number copied, nothing new)."""
    gen, slo = summary.generator, summary.slo
    if slo is None:
        raise ValueError(f"summary of run {summary.run_id} has no slo section")  # a bug: summaries have one
    count, errors = summary.overall.count, summary.overall.errors
    per_pattern = {name: StepPattern(row.count, row.successful, **binding_objective(slo.verdicts, name),
                                     p50_ms=row.p50_ms, met=row.slo_met, error_rate=row.error_rate)
                   for name, row in summary.patterns.items()}
    worst = max(per_pattern, key=lambda p: per_pattern[p].slo_ms or 0.0, default=None)
    return KneeStep(
        index, offered_rps, summary.run_id,
        {"percentile": slo.percentile, "threshold_ms": slo.threshold_ms}, measured_s, count, errors,
        errors / count if count else 0.0,
        # Arrivals measured per second (each is sent, late or not) vs completed while they came.
        arrivals_rps=count / measured_s if measured_s else 0.0, achieved_rps=achieved,
        overall_ms=dict(overall),
        worst_pattern=worst, worst_slo_ms=per_pattern[worst].slo_ms if worst else None,
        failing=sorted(p for p, r in per_pattern.items() if r.met is False),
        insufficient=sorted(p for p, r in per_pattern.items() if r.met is None),
        few_samples=sorted(p for p, r in per_pattern.items() if not judgeable(r.successful, slo.percentile)),
        patterns=per_pattern, saturated=gen.saturated, trustworthy=gen.trustworthy,
        cpu_mean_pct=max((p["cpu_mean_pct"] for p in gen.processes), default=0.0),
        threshold_pct=gen.threshold_pct, machine_cpu_mean_pct=gen.machine_cpu_mean_pct,
        cap_waits=gen.counters.get("cap_waits", 0), not_started=gen.counters.get("not_started", 0))


def binding_objective(verdicts: list[Verdict], pattern: str) -> dict[str, Any]:
    """The pattern's objective nearest to (or furthest past) its threshold (summary format 2
    allows several per pattern): its percentile, threshold and measured value; and why the
    pattern fails or is not judged (the first such verdict's reason)."""
    mine = [v for v in verdicts if v.pattern == pattern]
    if not mine:
        return {"slo_ms": None, "slo_percentile": None, "slo_threshold_ms": None, "reason": ""}
    v = max(mine, key=lambda v: (v.value_ms or 0.0) / v.threshold_ms)
    unjudged = next((w.reason for w in mine if w.met is None), "")
    why = next((w.reason for w in mine if w.met is False), unjudged)
    return {"slo_ms": v.value_ms, "slo_percentile": v.percentile, "slo_threshold_ms": v.threshold_ms,
            "reason": why}


def judge_step(step: KneeStep, error_budget: float) -> StepVerdict:
    """The step's status (pass, fail, insufficient or saturated) and the reasons for it."""
    if step.saturated or not step.trustworthy:
        why = (f"load generator saturated (CPU {step.cpu_mean_pct:.0f}% of a core, threshold "
               f"{step.threshold_pct:.0f}%)" if step.saturated
               else "load generator CPU not sampled: its latencies cannot be trusted")
        return StepVerdict("saturated", [why])
    reasons = []
    if step.count == 0:
        reasons.append("no requests measured")
    if step.error_rate > error_budget:
        reasons.append(f"error rate {step.error_rate:.2%} > budget {error_budget:.2%}")
    pats = step.patterns
    reasons += [f"{p}: {_fail_reason(pats[p])}" for p in step.failing]
    if reasons:
        return StepVerdict(FAIL, reasons)
    unjudged = [f"{p}: {pats[p].reason or 'not enough data'}" for p in step.insufficient]
    return StepVerdict(INSUFFICIENT, unjudged) if unjudged else StepVerdict(PASS, [])


def _fail_reason(pat: StepPattern) -> str:
    if pat.reason:
        return pat.reason
    # Step records written before verdicts carried their reason.
    if not pat.count:
        return "no requests"
    if pat.slo_ms is None:  # latency is of successful requests: none succeeded
        return "no successful requests"
    return f"p{pat.slo_percentile:g} {pat.slo_ms:.3f} ms >= {pat.slo_threshold_ms:g} ms"


def knee_result(steps: list[KneeStep], last_rate: float, finished: bool) -> KneeResult:
    """The verdict over the steps run (each carrying its ``verdict``), in increasing rate."""
    highest = None
    for step in steps:
        verdict = step.verdict
        assert verdict is not None, "a step is judged before the knee"  # a bug, not user input
        if verdict.status == PASS:
            highest = step.offered_rps
            continue
        reasons = "; ".join(verdict.reasons)
        if verdict.status == INSUFFICIENT:
            outcome = "insufficient_data"
            msg = (f"too few requests at {step.offered_rps:g} requests/s to judge the SLO "
                   f"({reasons}): the knee is not measured beyond "
                   + (f"{highest:g} requests/s" if highest is not None else "this rate")
                   + "; lengthen the steps (--step-s)")
        elif verdict.status == "saturated":
            outcome = "generator_saturated"
            msg = (f"the load generator saturated at {step.offered_rps:g} requests/s ({reasons}) "
                   "before the SLO broke: the knee is not measured beyond "
                   + (f"{highest:g} requests/s" if highest is not None else "this rate")
                   + "; add load processes (--processes) or machines")
        elif highest is None:
            outcome = "below_start"
            msg = (f"no step met the SLO: the first, {step.offered_rps:g} requests/s, failed "
                   f"({reasons}); the knee is below it: start lower")
        else:
            outcome = "knee_found"
            msg = (f"highest rate that met the SLO and the error budget: {highest:g} requests/s; "
                   f"{step.offered_rps:g} requests/s failed ({reasons})")
        return KneeResult(outcome, highest, step.offered_rps, msg)
    if finished:
        msg = (f"every step up to {last_rate:g} requests/s met the SLO: the knee is above it; "
               "raise --max")
        return KneeResult("not_reached", highest, None, msg)
    return KneeResult("interrupted", highest, None, "interrupted before a step failed"
                      + (f"; highest passing so far {highest:g} requests/s" if highest else ""))


def knee_markdown(knee: dict[str, Any]) -> str:
    slo, res = knee["slo"], knee["result"]
    pslo = f"p{slo['percentile']:g}"
    head = ["step", "offered req/s", "completed req/s", "requests", "errors", "p50 ms", "p99 ms",
            f"worst {pslo} ms", "generator CPU", "verdict"]
    rows = [[str(s["index"]), f"{s['offered_rps']:g}", _num(s["achieved_rps"]), f"{s['count']:,}",
             f"{s['error_rate']:.2%}", _ms(s.get("p50_ms")), _ms(s.get("p99_ms")),
             f"{_ms(s['worst_slo_ms'])} ({s['worst_pattern']})", f"{s['cpu_mean_pct']:.0f}%",
             s["verdict"]["status"].upper()] for s in knee["steps"]]
    lines = [f"# Knee of scenario {knee['scenario']}", "",
             f"SLO: {pslo} < {slo['threshold_ms']:g} ms for every pattern; error budget "
             f"{knee['settings']['error_budget']:.2%}; open model, {knee['settings']['step_s']:g} s "
             f"measured per step after {knee['settings']['settle_s']:g} s unmeasured.", "",
             f"**{res['message']}**", "", *markdown_table(head, rows), ""]
    for s in knee["steps"]:
        notes = list(s["verdict"]["reasons"])
        if s["few_samples"] and s["verdict"]["status"] != INSUFFICIENT:
            notes.append(f"fewer than 10 requests beyond the {pslo} in {', '.join(s['few_samples'])} "
                         "(it is about their max; judged by their own objectives)")
        machine = s.get("machine_cpu_mean_pct")
        if machine is not None and machine >= BUSY_MACHINE_PCT:
            notes.append(f"whole machine {machine:.0f}% busy: the generator, the server if local and "
                         "any other work shared full cores")
        if s["cap_waits"] or s["not_started"]:
            notes.append(f"{s['cap_waits']:,} arrivals waited for an in-flight slot, "
                         f"{s['not_started']:,} never sent")
        if notes:
            lines.append(f"- step {s['index']} ({s['offered_rps']:g} req/s, run {s['run_id']}): "
                         + "; ".join(notes))
    return "\n".join(lines) + "\n"


def _ms(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def _nan(x: float | None) -> float:
    return math.nan if x is None else x  # a gap in the line, not a crash


def _num(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1f}"


_MARKERS = {"pass": ("o", "#176c2e"), "fail": ("X", "#b00020"), "saturated": ("^", "#e08000"),
            "insufficient": ("s", "#777777")}


def knee_figure(knee: dict[str, Any]) -> Figure:
    """Latency (p50, p99, worst pattern's SLO percentile) and measured throughput against the
    offered rate, with the SLO line and the knee."""
    steps, slo = knee["steps"], knee["slo"]
    x = [s["offered_rps"] for s in steps]
    fig, (lat, thr) = plt.subplots(2, 1, figsize=(8, 7), sharex=True, layout="constrained",
                                   height_ratios=(3, 2))
    for key, label, style in (("p50_ms", "p50 (all patterns)", "-"), ("p99_ms", "p99 (all patterns)", "-"),
                              ("worst_slo_ms", f"worst pattern's p{slo['percentile']:g}", "--")):
        lat.plot(x, [_nan(s.get(key)) for s in steps], style, marker=".", label=label)
    for s in steps:
        marker, colour = _MARKERS[s["verdict"]["status"]]
        lat.scatter([s["offered_rps"]], [_nan(s["worst_slo_ms"])], marker=marker, color=colour,
                    s=60, zorder=3)
    lat.axhline(slo["threshold_ms"], color="crimson", linestyle=":", linewidth=1,
                label=f"SLO: p{slo['percentile']:g} < {slo['threshold_ms']:g} ms")
    knee_rps = knee["result"]["highest_passing_rps"]
    for ax in (lat, thr):
        if knee_rps is not None:
            ax.axvline(knee_rps, color="grey", linestyle="--", linewidth=1)
    lat.set_yscale("log")
    # 20, 50, 100 rather than 2x10^1; minor ticks labelled at 2 and 5 only, not crowded.
    lat.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:g}"))
    lat.yaxis.set_minor_formatter(FuncFormatter(lambda y, _: f"{y:g}" if f"{y:g}"[0] in "25" else ""))
    lat.set_ylabel("latency (ms, from intended start)")
    lat.set_title(f"Knee of {knee['scenario']}: {knee['result']['outcome'].replace('_', ' ')}"
                  + (f" at {knee_rps:g} req/s" if knee_rps is not None else ""))
    lat.legend(fontsize="small")
    thr.plot(x, [_nan(s["achieved_rps"]) for s in steps], marker="o", label="completed while arriving")
    thr.plot(x, x, color="grey", linestyle=":", label="offered")
    thr.set_xlabel("offered rate (requests/s)")
    thr.set_ylabel("throughput (requests/s)")
    thr.legend(fontsize="small")
    return fig
