"""`ddbbench compare`: load two run directories, refuse incomparable ones, write the verdict.

Two judgements, both on by default: capacity (``analysis.capacity_gate``: per pattern, table
and index, within a fixed tolerance) and latency relative to the baseline (``analysis.compare``:
only with enough requests beyond the percentile). An absolute latency limit is off unless asked
for (``absolute_ms`` or ``absolute_slo``): on a shared CI machine it fails identical code.
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from analysis.capacity_gate import (
    CALIBRATION_FACTOR,
    calibrated_tolerance,
    capacity_input_problems,
    compare_capacity,
    prefix_patterns,
    unstable_rows,
)
from analysis.compare import (
    GateResult,
    Thresholds,
    comparability_problems,
    compare_frames,
    design_note,
    saturation_notes,
)
from analysis.metrics import summarize
from analysis.rundata import load_run, requests_frame
from analysis.summary_text import fixed_width, markdown_table
from ddbbench.errors import BenchError, UnusableInput
from ddbbench.objectives import Slo


def _summaries(run_dirs: Sequence[str | Path]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The runs' manifests and summaries (exit 2 for an unreadable run directory)."""
    try:
        runs = [load_run(d) for d in run_dirs]
    except BenchError as exc:
        raise UnusableInput(str(exc)) from None
    return [r.manifest for r in runs], [summarize(r, ci=None) for r in runs]


def run_gate(baseline: str | Path, candidate: str | Path, th: Thresholds,
             more_baselines: Sequence[str | Path] = (),
             calibration_factor: float = CALIBRATION_FACTOR) -> GateResult:
    """The verdict on ``candidate`` against ``baseline``; with ``more_baselines`` (runs of the
    baseline's code), the capacity tolerance is calibrated on their spread."""
    manifests, summaries = _summaries([baseline, candidate, *more_baselines])
    problems = comparability_problems(manifests[0], manifests[1], *summaries[:2])
    for extra, (manifest, summary) in enumerate(zip(manifests[2:], summaries[2:], strict=True)):
        problems += [f"baseline {more_baselines[extra]}: {p}" for p in
                     comparability_problems(manifests[0], manifest, summaries[0], summary)]
    if th.capacity:
        names = ["baseline", "candidate", *(f"baseline {d}" for d in more_baselines)]
        problems += [p for s, name in zip(summaries, names, strict=True)
                     for p in capacity_input_problems(s, name)]
    if problems:
        raise UnusableInput("runs are not comparable: " + "; ".join(problems))
    calibration = None
    if more_baselines:
        others = [summaries[0], *summaries[2:]]
        tolerance, calibration = calibrated_tolerance([s["patterns"] for s in others], calibration_factor)
        th = dataclasses.replace(th, capacity_tolerance=tolerance)
    result = GateResult(str(baseline), str(candidate), th, [])
    result.notes += [calibration] if calibration else []
    result.notes += [n for n in [design_note(*summaries[:2])] if n]
    if th.capacity:
        patterns, prefix_note = _capacity_patterns([baseline, candidate], manifests[:2], summaries[:2])
        result.capacity = compare_capacity(*patterns, th.capacity_tolerance,
                                           summaries[0]["design"] == summaries[1]["design"])
        result.notes += unstable_rows(result.capacity, patterns[1])
        result.notes += [prefix_note] if prefix_note else []
    result.notes += unsent_notes(*summaries[:2])
    saturated, busy = saturation_notes(*summaries[:2], busy_machine=th.busy_machine)
    result.notes += saturated + busy
    if th.latency and not saturated:
        result.patterns = _latency(baseline, candidate, Slo.from_dict(manifests[1]["scenario"]["slo"]), th)
    return result


def _capacity_patterns(run_dirs: list[str | Path], manifests: list[dict[str, Any]],
                       summaries: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str | None]:
    """The two runs' per-pattern figures: their summaries', or, for two deterministic runs
    that measured different numbers of requests (one fell behind and never sent its tail),
    those of the requests both sent (``prefix_patterns``)."""
    counts = [s["overall"]["count"] for s in summaries]
    deterministic = all(m["scenario"]["load"].get("deterministic") for m in manifests)
    whole = all(m["scenario"].get("measurement", {}).get("raw_fraction", 1.0) == 1.0 for m in manifests)
    if counts[0] == counts[1] or not deterministic or not whole:
        return [s["patterns"] for s in summaries], None
    n = min(counts)
    kinds = {p: row["capacity_kind"] for s in summaries for p, row in s["patterns"].items()}
    patterns = [prefix_patterns(requests_frame(d), n, kinds) for d in run_dirs]
    return patterns, (f"the runs measured {counts[0]:,} and {counts[1]:,} requests of the same sequence: "
                      f"capacity compared over the first {n:,} of each (totals only: the raw records "
                      "keep no units per table and index)")


def unsent_notes(*summaries: dict[str, Any]) -> list[str]:
    """Open-model arrivals never sent: the run fell behind its schedule and stopped before the
    end of the request sequence, so the runs' requests (and capacity per request) differ."""
    return [f"the {name} run never sent {s['generator'].get('not_started', 0):,} of its arrivals "
            "(the machine could not keep up)"
            for name, s in zip(("baseline", "candidate"), summaries, strict=True)
            if s["generator"].get("not_started", 0)]


def _latency(baseline: str | Path, candidate: str | Path, slo: Slo,
             th: Thresholds) -> list[Any]:
    frames = [requests_frame(baseline), requests_frame(candidate)]
    for run_dir, frame in zip((baseline, candidate), frames, strict=True):
        if frame.empty:
            raise UnusableInput(f"{run_dir}: no raw request records (measurement.raw_fraction 0?); "
                                "judge capacity only with --no-latency")
    patterns = set(frames[0]["pattern"])
    percentiles = judged_percentiles(slo, patterns, th)
    return compare_frames(*frames, th, absolute_limits(slo, percentiles, th), percentiles)


def judged_percentiles(slo: Slo, patterns: set[str], th: Thresholds) -> dict[str, float]:
    """--percentile for every pattern, else each pattern's (highest) objective percentile."""
    if th.percentile is not None:
        return dict.fromkeys(patterns, th.percentile)
    return {p: max(o.percentile for o in slo.objectives_for(p)) for p in patterns}


def absolute_limits(slo: Slo, percentiles: dict[str, float],
                    th: Thresholds) -> dict[str, float | None]:
    """Each pattern's absolute limit: --absolute-ms; else, with --absolute-slo, the candidate
    scenario's objective at the judged percentile; else none."""
    if th.absolute_ms is not None:
        return dict.fromkeys(percentiles, th.absolute_ms)
    if not th.absolute_slo:
        return dict.fromkeys(percentiles)
    return {p: next((o.threshold_ms for o in slo.objectives_for(p) if o.percentile == pct), None)
            for p, pct in percentiles.items()}


_HEAD = ("pattern", "pctl", "baseline ms", "candidate ms", "ratio", "ci", "verdict")
_CAP_HEAD = ("pattern", "figure", "on", "baseline", "candidate", "change", "verdict")


def _rows(result: GateResult) -> list[list[str]]:
    return [[c.pattern, f"p{c.percentile:g}", f"{c.baseline_ms:.3f}", f"{c.candidate_ms:.3f}",
             f"x{c.ratio:.3f}", "-" if c.notes else f"{c.ci_low:.3f}-{c.ci_high:.3f}",
             "REGRESSION" if c.regression else "not judged" if c.notes else "pass"]
            for c in result.patterns]


def _cap_rows(result: GateResult) -> list[list[str]]:
    return [[r.pattern, r.what, r.on or "-", _fmt(r.baseline), _fmt(r.candidate), r.change_text, r.verdict]
            for r in result.capacity]


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def _reasons(result: GateResult) -> list[str]:
    lines = [r.message + (" > " if r.regression else " < ") + f"±{r.tolerance:.0%} tolerance"
             for r in result.capacity if r.regression or r.lower]
    return lines + [f"{c.pattern}: {r}" for c in result.patterns for r in c.regressions + c.notes]


def _settings(result: GateResult) -> str:
    th = result.thresholds
    parts = []
    if th.capacity:
        parts.append(f"capacity tolerance ±{th.capacity_tolerance:.1%}")
    if th.latency:
        parts.append(f"latency: allowed growth x{1 + th.max_increase:.2f} at {th.confidence:.0%} "
                     "confidence (block bootstrap), judged with >= 10 requests beyond the percentile")
        parts.append("absolute limit " + (f"{th.absolute_ms:g} ms" if th.absolute_ms is not None
                                          else "from the objectives" if th.absolute_slo else "off"))
    return "; ".join(parts)


def gate_table(result: GateResult) -> str:
    verdict = "REGRESSION" if result.regression else "PASS"
    lines = []
    if result.capacity:
        lines += ["capacity per request:", *fixed_width([list(_CAP_HEAD), *_cap_rows(result)]), ""]
    if result.patterns:
        lines += ["latency (successful requests):", *fixed_width([list(_HEAD), *_rows(result)]), ""]
    return "\n".join([*lines, *_reasons(result), *result.notes, _settings(result), f"gate: {verdict}"])


def gate_markdown(result: GateResult) -> str:
    lines = [f"### ddbbench gate: {'REGRESSION' if result.regression else 'PASS'}", "",
             f"baseline `{result.baseline}`, candidate `{result.candidate}`; {_settings(result)}", ""]
    if result.capacity:
        lines += ["#### Capacity per request", "", *markdown_table(list(_CAP_HEAD), _cap_rows(result)), ""]
    if result.patterns:
        lines += ["#### Latency", "", *markdown_table(list(_HEAD), _rows(result)), ""]
    return "\n".join([*lines, *(f"- {r}" for r in _reasons(result) + result.notes), ""])


def gate_junit(result: GateResult) -> str:
    """One test case per pattern's latency and per capacity figure (pattern, figure, table or
    index), so a CI system lists what failed by name."""
    cases = [_case(c.pattern, "; ".join(c.regressions) if c.regression else None)
             for c in result.patterns]
    cases += [_case(f"capacity {r.pattern}: {r.what}" + (f" on {r.on}" if r.on else ""),
                    r.message if r.regression else None) for r in result.capacity]
    failures = sum(c.regression for c in result.patterns) + sum(r.regression for r in result.capacity)
    return ("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
            f'<testsuite name="ddbbench-gate" tests="{len(cases)}" failures="{failures}">\n'
            + "\n".join(cases) + "\n</testsuite>\n")


def _case(name: str, failure: str | None) -> str:
    body = ""
    if failure is not None:
        msg = html.escape(failure, quote=True)
        body = f'<failure message="{msg}">{msg}</failure>'
    return f'  <testcase classname="ddbbench.gate" name="{html.escape(name, quote=True)}">{body}</testcase>'
