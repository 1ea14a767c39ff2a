"""`ddbbench compare`: load two run directories, refuse incomparable ones, write the verdict."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from analysis.compare import GateResult, Thresholds, comparability_problems, compare_frames
from analysis.metrics import summarize
from analysis.rundata import load_run, requests_frame
from analysis.slo import objectives_for
from analysis.summary_text import fixed_width, markdown_table
from ddbbench.errors import BenchError, UnusableInput


def run_gate(baseline: str | Path, candidate: str | Path, th: Thresholds) -> GateResult:
    try:
        runs = [load_run(baseline), load_run(candidate)]
    except BenchError as exc:
        raise UnusableInput(str(exc)) from None
    summaries = [summarize(r, ci=None) for r in runs]  # for generator health only
    problems = comparability_problems(runs[0].manifest, runs[1].manifest, *summaries)
    if problems:
        raise UnusableInput("runs are not comparable: " + "; ".join(problems))
    frames = [requests_frame(baseline), requests_frame(candidate)]
    for run_dir, frame in zip((baseline, candidate), frames, strict=True):
        if frame.empty:
            raise UnusableInput(f"{run_dir}: no raw request records (measurement.raw_fraction 0?)")
    limits = absolute_limits(runs[1].manifest["scenario"]["slo"], set(frames[0]["pattern"]), th)
    return GateResult(str(baseline), str(candidate), th, compare_frames(*frames, th, limits))


def absolute_limits(slo: dict[str, Any], patterns: set[str], th: Thresholds) -> dict[str, float | None]:
    """Each pattern's absolute limit: --absolute-ms, else the candidate scenario's objective
    for that pattern at the gate's percentile (none when the percentiles differ)."""
    if th.absolute_ms is not None:
        return dict.fromkeys(patterns, th.absolute_ms)
    return {p: next((o.threshold_ms for o in objectives_for(slo, p) if o.percentile == th.percentile),
                    None) for p in patterns}


_HEAD = ("pattern", "baseline_ms", "candidate_ms", "ratio", "ci", "verdict")


def _rows(result: GateResult) -> list[list[str]]:
    return [[c.pattern, f"{c.baseline_ms:.3f}", f"{c.candidate_ms:.3f}", f"x{c.ratio:.3f}",
             f"{c.ci_low:.3f}-{c.ci_high:.3f}", "REGRESSION" if c.regression else "pass"]
            for c in result.patterns]


def _reasons(result: GateResult) -> list[str]:
    return [f"{c.pattern}: {r}" for c in result.patterns for r in c.regressions + c.notes]


def gate_table(result: GateResult) -> str:
    p = result.thresholds.percentile
    rows = [[h.replace("_ms", f" p{p:g} ms") for h in _HEAD], *_rows(result)]
    verdict = "REGRESSION" if result.regression else "PASS"
    return "\n".join([*fixed_width(rows), "", *_reasons(result), f"gate: {verdict}"])


def gate_markdown(result: GateResult) -> str:
    p = result.thresholds.percentile
    head = [h.replace("_ms", f" p{p:g} (ms)") for h in _HEAD]
    lines = [f"### ddbbench gate: {'REGRESSION' if result.regression else 'PASS'}", "",
             f"baseline `{result.baseline}`, candidate `{result.candidate}`; allowed growth "
             f"x{1 + result.thresholds.max_increase:.2f} at {result.thresholds.confidence:.0%} "
             "confidence (block bootstrap)", "", *markdown_table(head, _rows(result))]
    return "\n".join([*lines, "", *(f"- {r}" for r in _reasons(result)), ""])


def gate_junit(result: GateResult) -> str:
    cases = []
    for c in result.patterns:
        body = ""
        if c.regression:
            msg = html.escape("; ".join(c.regressions), quote=True)
            body = f'<failure message="{msg}">{msg}</failure>'
        cases.append(f'  <testcase classname="ddbbench.gate" name="{html.escape(c.pattern)}">'
                     f"{body}</testcase>")
    failures = sum(c.regression for c in result.patterns)
    return ("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
            f'<testsuite name="ddbbench-gate" tests="{len(cases)}" failures="{failures}">\n'
            + "\n".join(cases) + "\n</testsuite>\n")
