"""Pure metrics over loaded run data: percentiles with confidence intervals, SLO verdicts,
error and throttle rates, consumed capacity, generator saturation.

``summarize`` is the one place a run's numbers are computed; summary.json, summary.md,
report.html, the tidy tables (``analysis.tables``) and the notebooks all read its result.
"""

from __future__ import annotations

from typing import Any

from hdrh.histogram import HdrHistogram

from analysis.bootstrap import BlockSample, CiSettings, confidence_interval
from analysis.rundata import PatternData, ProcessData, RunData
from analysis.slo import judged_patterns, objectives_for, verdict
from ddbbench.recorder import COUNTERS

SUMMARY_FORMAT_VERSION = 2
PERCENTILES = (50.0, 90.0, 99.0, 99.9)
SATURATION_CPU_PCT = 80.0  # mean CPU of one load process above this: its numbers are suspect
WRITE_PATTERNS = ("append_message", "update_status", "create_conversation", "log_events")
DEFAULT_CI = CiSettings()


def pct_key(p: float) -> str:
    """Summary key of a percentile: 99 -> 'p99_ms', 99.9 -> 'p99_9_ms'."""
    text = f"{p:g}".replace(".", "_")
    return f"p{text}_ms"


def capacity_kind(pattern: str) -> str:
    """'write' (WCU) for the patterns that write, else 'read' (RCU)."""
    return "write" if pattern in WRITE_PATTERNS else "read"


def percentile_ms(hist: HdrHistogram, p: float, max_ns: int | None = None) -> float:
    """Latency at percentile ``p`` in ms; histogram values are whole microseconds.

    HDR answers with the highest value equivalent to the bucket (up to 0.1% high); the true
    percentile never exceeds the exact maximum, so it is capped there when that is known.
    """
    value = hist.get_value_at_percentile(p) / 1000.0
    return value if max_ns is None else min(value, round(max_ns / 1e6, 3))


def percentile_cis(data: PatternData, ps: list[float], settings: CiSettings,
                   key: str) -> dict[float, tuple[float, float] | None]:
    """Block-bootstrap confidence intervals (ms) of percentiles ``ps``, resampling the
    pattern's histogram intervals; None where the data cannot support one (CiSettings)."""
    sample = BlockSample.from_histograms([h for _, h in sorted(data.intervals.items())])
    wanted = [p for p in ps if settings.supports(sample, p)]
    out: dict[float, tuple[float, float] | None] = dict.fromkeys(ps)
    if not wanted:
        return out
    reps = sample.replicates(wanted, settings.resamples, settings.rng(key))
    cap = round(data.max_ns / 1e6, 3)  # as for the point estimate: never above the exact max
    for j, p in enumerate(wanted):
        low, high = confidence_interval(reps[:, j], settings.confidence)
        out[p] = (min(round(low / 1000.0, 3), cap), min(round(high / 1000.0, 3), cap))
    return out


def outcome_rates(data: PatternData) -> dict[str, float]:
    """Fraction of requests per outcome class (ok, throttled, server_error, ...)."""
    n = data.count or 1
    return {k: round(v / n, 6) for k, v in sorted(data.outcomes.items())}


def capacity_summary(pattern: str, data: PatternData, duration_s: float) -> dict[str, Any]:
    """Consumed capacity units, base table and indexes apart: per request (failed requests
    included, as the application sends them), per second and in total."""
    n = data.count or 1
    per_s = (lambda units: round(units / duration_s, 4)) if duration_s else (lambda units: 0.0)
    return {"capacity_kind": capacity_kind(pattern),
            "capacity_per_request": round(data.capacity / n, 4),
            "index_capacity_per_request": round(data.index_capacity / n, 4),
            "capacity_per_s": per_s(data.capacity), "index_capacity_per_s": per_s(data.index_capacity),
            "capacity_total": round(data.capacity, 4), "index_capacity_total": round(data.index_capacity, 4)}


def pattern_summary(name: str, data: PatternData, duration_s: float,
                    ci: CiSettings | None) -> dict[str, Any]:
    errors = data.count - data.outcomes.get("ok", 0)
    throttled = data.outcomes.get("throttled", 0)
    row: dict[str, Any] = {"count": data.count, "errors": errors,
                           "error_rate": errors / data.count if data.count else 0.0,
                           "throttled": throttled,
                           "throttle_rate": throttled / data.count if data.count else 0.0,
                           "outcomes": dict(data.outcomes), "outcome_rates": outcome_rates(data),
                           "error_codes": dict(data.error_codes),
                           "throughput_rps": round(data.count / duration_s, 3) if duration_s else 0.0}
    for p in PERCENTILES:
        row[pct_key(p)] = percentile_ms(data.hist, p, data.max_ns)
    row["min_ms"] = round(data.min_ns / 1e6, 3)
    row["max_ms"] = round(data.max_ns / 1e6, 3)
    row["mean_ms"] = round(data.sum_ns / data.count / 1e6, 3) if data.count else 0.0
    cis = percentile_cis(data, list(PERCENTILES), ci, name) if ci else dict.fromkeys(PERCENTILES)
    row["ci"] = {pct_key(p): list(v) if v else None for p, v in cis.items()}
    row["ci_blocks"] = len(data.intervals)
    row["retries"] = data.retries
    row["clamped"] = data.clamped
    row.update(capacity_summary(name, data, duration_s))
    n = data.count or 1
    row["items_per_request"] = round(data.items / n, 3)
    row["late"] = data.late  # open model: started > 1 ms after the intended time
    row["mean_schedule_lag_ms"] = round(data.schedule_lag_ns / n / 1e6, 3)
    return row


def slo_verdicts(run: RunData, ci: CiSettings | None) -> list[dict[str, Any]]:
    """One verdict per (pattern, objective); a named pattern without requests fails."""
    slo = run.manifest["scenario"]["slo"]
    out = []
    for name in judged_patterns(slo, run.patterns):
        data = run.patterns.get(name)
        objectives = objectives_for(slo, name)
        measured = data is not None and data.count > 0
        cis = (percentile_cis(data, [o.percentile for o in objectives], ci, name)
               if measured and ci else {})
        for o in objectives:
            value = percentile_ms(data.hist, o.percentile, data.max_ns) if measured else None
            out.append({"pattern": name, "requests": data.count if data else 0,
                        **verdict(value, cis.get(o.percentile), o)})
    return out


def generator_health(processes: list[ProcessData],
                     threshold_pct: float = SATURATION_CPU_PCT) -> dict[str, Any]:
    per_process = []
    for proc in processes:
        values = [pct for _, pct in proc.cpu_samples]
        mean = sum(values) / len(values) if values else 0.0
        per_process.append({"label": proc.label, "cpu_mean_pct": round(mean, 1),
                            "cpu_max_pct": round(max(values, default=0.0), 1),
                            "samples": len(values), "saturated": mean > threshold_pct,
                            **proc.counters})
    saturated = any(p["saturated"] for p in per_process)
    machine = [pct for proc in processes for _, pct in proc.machine_cpu_samples]
    return {"processes": per_process, "threshold_pct": threshold_pct, "saturated": saturated,
            **{k: sum(p.counters.get(k, 0) for p in processes) for k in COUNTERS},
            # The whole machine, all cores (server included when it runs here): informational.
            "machine_cpu_mean_pct": round(sum(machine) / len(machine), 1) if machine else None,
            "trustworthy": not saturated and all(p["samples"] > 0 for p in per_process)}


def _overall(patterns: dict[str, dict[str, Any]], duration: float, slo_met: bool) -> dict[str, Any]:
    total = sum(p["count"] for p in patterns.values())
    outcomes: dict[str, int] = {}
    for row in patterns.values():
        for k, v in row["outcomes"].items():
            outcomes[k] = outcomes.get(k, 0) + v
    errors = total - outcomes.get("ok", 0)
    return {"count": total, "errors": errors, "error_rate": errors / total if total else 0.0,
            "throttle_rate": outcomes.get("throttled", 0) / total if total else 0.0,
            "outcomes": dict(sorted(outcomes.items())),
            "throughput_rps": round(total / duration, 3) if duration else 0.0, "slo_met": slo_met}


def summarize(run: RunData, ci: CiSettings | None = DEFAULT_CI) -> dict[str, Any]:
    """The run's summary: per pattern percentiles (with confidence intervals unless ``ci`` is
    None), rates and capacity; a verdict per pattern objective, per pattern and overall."""
    slo = run.manifest["scenario"]["slo"]
    duration = run.duration_s
    patterns = {name: pattern_summary(name, data, duration, ci)
                for name, data in sorted(run.patterns.items())}
    verdicts = slo_verdicts(run, ci)
    by_pattern = {v["pattern"]: all(w["met"] for w in verdicts if w["pattern"] == v["pattern"])
                  for v in verdicts}
    for name, row in patterns.items():
        row["slo_met"] = by_pattern[name]
    met = bool(verdicts) and all(v["met"] for v in verdicts)
    return {
        "format": "ddbbench-summary", "format_version": SUMMARY_FORMAT_VERSION,
        "run_id": run.run_id, "scenario": run.manifest["scenario"]["name"], "design": run.design,
        "target": run.manifest["target"], "duration_s": round(duration, 3),
        "slo": {"percentile": slo["percentile"], "threshold_ms": slo["threshold_ms"],
                "objectives": list(slo.get("objectives", [])),
                "verdicts": verdicts, "patterns": by_pattern, "met": met},
        "ci": _ci_doc(run, ci),
        "patterns": patterns,
        "overall": _overall(patterns, duration, met),
        "generator": generator_health(run.processes),
        "calibration": run.manifest.get("calibration", {"requests": 0}),
    }


def _ci_doc(run: RunData, ci: CiSettings | None) -> dict[str, Any] | None:
    if ci is None:
        return None
    return {"method": "block bootstrap over the histogram intervals", "interval_s": run.interval_s,
            "confidence": ci.confidence, "resamples": ci.resamples, "seed": ci.seed,
            "min_blocks": ci.min_blocks, "min_tail": ci.min_tail}
