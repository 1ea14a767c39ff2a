"""Pure metrics over loaded run data: percentiles, SLO verdicts, generator saturation."""

from __future__ import annotations

from typing import Any

from hdrh.histogram import HdrHistogram

from analysis.rundata import PatternData, ProcessData, RunData
from ddbbench.recorder import COUNTERS

SUMMARY_FORMAT_VERSION = 1
PERCENTILES = (50.0, 90.0, 99.0, 99.9)
SATURATION_CPU_PCT = 80.0  # mean CPU of one load process above this: its numbers are suspect


def pct_key(p: float) -> str:
    """Summary key of a percentile: 99 -> 'p99_ms', 99.9 -> 'p99_9_ms'."""
    text = f"{p:g}".replace(".", "_")
    return f"p{text}_ms"


def percentile_ms(hist: HdrHistogram, p: float, max_ns: int | None = None) -> float:
    """Latency at percentile ``p`` in ms; histogram values are whole microseconds.

    HDR answers with the highest value equivalent to the bucket (up to 0.1% high); the true
    percentile never exceeds the exact maximum, so it is capped there when that is known.
    """
    value = hist.get_value_at_percentile(p) / 1000.0
    return value if max_ns is None else min(value, round(max_ns / 1e6, 3))


def pattern_summary(data: PatternData, duration_s: float, slo_p: float,
                    slo_ms: float) -> dict[str, Any]:
    errors = data.count - data.outcomes.get("ok", 0)
    row: dict[str, Any] = {"count": data.count, "errors": errors,
                           "error_rate": errors / data.count if data.count else 0.0,
                           "outcomes": dict(data.outcomes), "error_codes": dict(data.error_codes),
                           "throughput_rps": round(data.count / duration_s, 3) if duration_s else 0.0}
    for p in PERCENTILES:
        row[pct_key(p)] = percentile_ms(data.hist, p, data.max_ns)
    row["min_ms"] = round(data.min_ns / 1e6, 3)
    row["max_ms"] = round(data.max_ns / 1e6, 3)
    row["mean_ms"] = round(data.sum_ns / data.count / 1e6, 3) if data.count else 0.0
    slo_value = percentile_ms(data.hist, slo_p, data.max_ns)
    row["slo"] = {"percentile": slo_p, "threshold_ms": slo_ms, "value_ms": slo_value,
                  "met": data.count > 0 and slo_value < slo_ms}
    row["retries"] = data.retries
    row["clamped"] = data.clamped
    n = data.count or 1
    row["capacity_per_request"] = round(data.capacity / n, 4)
    row["index_capacity_per_request"] = round(data.index_capacity / n, 4)
    row["items_per_request"] = round(data.items / n, 3)
    row["late"] = data.late  # open model: started > 1 ms after the intended time
    row["mean_schedule_lag_ms"] = round(data.schedule_lag_ns / n / 1e6, 3)
    return row


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


def summarize(run: RunData) -> dict[str, Any]:
    """The run's summary: per pattern percentiles and SLO verdicts, overall verdict."""
    slo = run.manifest["scenario"]["slo"]
    duration = run.duration_s
    patterns = {name: pattern_summary(data, duration, slo["percentile"], slo["threshold_ms"])
                for name, data in sorted(run.patterns.items())}
    total = sum(p["count"] for p in patterns.values())
    errors = sum(p["errors"] for p in patterns.values())
    generator = generator_health(run.processes)
    return {
        "format": "ddbbench-summary", "format_version": SUMMARY_FORMAT_VERSION,
        "run_id": run.manifest["run_id"], "scenario": run.manifest["scenario"]["name"],
        "target": run.manifest["target"], "duration_s": round(duration, 3),
        "slo": {"percentile": slo["percentile"], "threshold_ms": slo["threshold_ms"]},
        "patterns": patterns,
        "overall": {"count": total, "errors": errors,
                    "throughput_rps": round(total / duration, 3) if duration else 0.0,
                    "slo_met": bool(patterns) and all(p["slo"]["met"] for p in patterns.values())},
        "generator": generator,
        "calibration": run.manifest.get("calibration", {"requests": 0}),
    }
