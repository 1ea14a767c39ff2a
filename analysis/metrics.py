"""Pure metrics over loaded run data: percentiles with confidence intervals, SLO verdicts,
error and throttle rates, consumed capacity, generator saturation.

Latency percentiles and verdicts are of successful requests only (summary format 3): a fast
failure must not make a pattern look fast. Failed requests keep their own latency columns.

``summarize_run`` is the one place a run's numbers are computed, as typed objects
(``analysis.summary.Summary``); ``summarize`` gives the same as summary.json's plain data.
summary.json, summary.md, report.html, the tidy tables and the notebooks all read its result.
"""

from __future__ import annotations

from typing import Any

from hdrh.histogram import HdrHistogram

from analysis.bootstrap import BlockSample, CiSettings, confidence_interval
from analysis.rundata import PatternData, ProcessData, RunData
from analysis.slo import Counts, SloSection, Verdict, verdict
from analysis.summary import FORMAT, GeneratorHealth, Overall, PatternSummary, Summary
from analysis.summary import FORMAT_VERSION as SUMMARY_FORMAT_VERSION
from analysis.summary import pct_key as pct_key  # re-exported (frames, summary_text)
from ddbbench.facts import WRITE_PATTERNS as WRITE_PATTERNS  # re-exported (charts)
from ddbbench.objectives import Slo
from ddbbench.runformat import COUNTERS, OK, LatencyStats, split_capacity_name

FAILED_PERCENTILES = (50.0, 99.0)
PERCENTILES = (50.0, 90.0, 99.0, 99.9)
SATURATION_CPU_PCT = 80.0  # mean CPU of one load process above this: its numbers are suspect
DEFAULT_CI = CiSettings()


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
    sample = BlockSample.from_histograms(list(data.success_intervals().values()))
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
    included, as the application sends them), per second and in total; then per table and
    index (``capacity_by_name``)."""
    n = data.count or 1
    per_s = (lambda units: round(units / duration_s, 4)) if duration_s else (lambda units: 0.0)
    return {"capacity_kind": capacity_kind(pattern),
            "capacity_per_request": round(data.capacity / n, 4),
            "index_capacity_per_request": round(data.index_capacity / n, 4),
            "capacity_per_s": per_s(data.capacity), "index_capacity_per_s": per_s(data.index_capacity),
            "capacity_total": round(data.capacity, 4), "index_capacity_total": round(data.index_capacity, 4),
            "capacity_by_name": capacity_by_name(data.consumed.by_name, data.count, duration_s)}


def capacity_by_name(by_name: dict[str, float], requests: int, duration_s: float) -> dict[str, Any]:
    """Per table ("T") and index ("T/ix"): which it is, units per request, per second, total.

    >>> capacity_by_name({"T": 3.0, "T/ix": 1.0}, 2, 0.0)["T/ix"]
    {'table': 'T', 'index': 'ix', 'per_request': 0.5, 'per_s': 0.0, 'total': 1.0}
    """
    out = {}
    for name, units in sorted(by_name.items()):
        table, index = split_capacity_name(name)
        out[name] = {"table": table, "index": index,
                     "per_request": round(units / requests, 4) if requests else 0.0,
                     "per_s": round(units / duration_s, 4) if duration_s else 0.0,
                     "total": round(units, 4)}
    return out


def latency_columns(stats: LatencyStats, percentiles: tuple[float, ...]) -> dict[str, Any]:
    """count, the percentiles, max and mean (ms) of one set of requests; None when empty."""
    row: dict[str, Any] = {"count": stats.count}
    for p in percentiles:
        row[pct_key(p)] = percentile_ms(stats.hist, p, stats.max_ns) if stats.count else None
    row["max_ms"] = round(stats.max_ns / 1e6, 3) if stats.count else None
    row["mean_ms"] = round(stats.sum_ns / stats.count / 1e6, 3) if stats.count else None
    return row


def failed_summary(data: PatternData) -> dict[str, Any]:
    """Failed requests' own latency: all of them, and per outcome class (``failed``,
    ``failed_by_outcome``); null latencies for version-1 runs, where they were not kept apart."""
    by_outcome = {k: latency_columns(s, FAILED_PERCENTILES)
                  for k, s in sorted(data.latency.items()) if k != OK and not data.mixed_outcomes}
    failed = latency_columns(data.failed, FAILED_PERCENTILES)
    failed["count"] = data.failed_count
    return {"failed": failed, "failed_by_outcome": by_outcome}


def written_summary(data: PatternData) -> dict[str, Any]:
    """Items and bytes (DynamoDB item size) the pattern's write calls sent: totals and per
    request (every request, as capacity per request)."""
    n = data.count or 1
    return {"items_written": data.items_written, "bytes_written": data.bytes_written,
            "items_written_per_request": round(data.items_written / n, 4),
            "bytes_written_per_request": round(data.bytes_written / n, 1)}


def pattern_summary(name: str, data: PatternData, duration_s: float,
                    ci: CiSettings | None) -> PatternSummary:
    """One pattern's row: counts and rates of every request; latency of the successful ones
    (``successful``; ``mixed_outcomes`` for version-1 runs, where failures are in them)."""
    errors = data.failed_count
    throttled = data.outcomes.get("throttled", 0)
    row: dict[str, Any] = {"count": data.count, "successful": data.successful, "errors": errors,
                           "error_rate": errors / data.count if data.count else 0.0,
                           "throttled": throttled,
                           "throttle_rate": throttled / data.count if data.count else 0.0,
                           "outcomes": dict(data.outcomes), "outcome_rates": outcome_rates(data),
                           "error_codes": dict(data.error_codes),
                           "throughput_rps": round(data.count / duration_s, 3) if duration_s else 0.0,
                           "mixed_outcomes": data.mixed_outcomes}
    success = data.success
    latency = latency_columns(success, PERCENTILES)
    row.update({pct_key(p): latency[pct_key(p)] for p in PERCENTILES})
    row["min_ms"] = round(success.min_ns / 1e6, 3) if success.count else None
    row["max_ms"], row["mean_ms"] = latency["max_ms"], latency["mean_ms"]
    cis = (percentile_cis(data, list(PERCENTILES), ci, name) if ci and success.count
           else dict.fromkeys(PERCENTILES))
    row["ci"] = {pct_key(p): list(v) if v else None for p, v in cis.items()}
    row["ci_blocks"] = len(data.success_intervals())
    row.update(failed_summary(data))
    row["retries"] = data.retries
    row["clamped"] = data.clamped
    row.update(capacity_summary(name, data, duration_s))
    n = data.count or 1
    row["items_per_request"] = round(data.items / n, 3)
    row.update(written_summary(data))
    row["late"] = data.late  # open model: started > 1 ms after the intended time
    row["mean_schedule_lag_ms"] = round(data.schedule_lag_ns / n / 1e6, 3)
    return PatternSummary(**row)


def slo_verdicts(run: RunData, ci: CiSettings | None) -> list[Verdict]:
    """One verdict per (pattern, objective), on successful requests' latency and the error
    budget (``analysis.slo.verdict``); a named pattern without requests fails."""
    slo = Slo.from_dict(run.manifest["scenario"]["slo"])
    out = []
    for name in slo.judged_patterns(run.patterns):
        data = run.patterns.get(name)
        objectives = slo.objectives_for(name)
        # Judged on successful requests: a pattern whose requests all failed has no value.
        measured = data is not None and data.success.count > 0
        cis = (percentile_cis(data, [o.percentile for o in objectives], ci, name)
               if measured and ci else {})
        counts = Counts(data.count, data.failed_count) if data else Counts(0, 0)
        for o in objectives:
            value = percentile_ms(data.hist, o.percentile, data.max_ns) if measured else None
            out.append(verdict(value, cis.get(o.percentile), o, counts))
    return out


def generator_health(processes: list[ProcessData],
                     threshold_pct: float = SATURATION_CPU_PCT) -> GeneratorHealth:
    per_process = []
    for proc in processes:
        values = [pct for _, pct in proc.cpu_samples]
        mean = sum(values) / len(values) if values else 0.0
        per_process.append({"label": proc.label, "cpu_mean_pct": round(mean, 1),
                            "cpu_max_pct": round(max(values, default=0.0), 1),
                            "samples": len(values), "saturated": mean > threshold_pct,
                            **proc.counters.to_dict()})
    saturated = any(p["saturated"] for p in per_process)
    machine = [pct for proc in processes for _, pct in proc.machine_cpu_samples]
    unreachable = target_unreachable(processes)
    counters = {k: sum(getattr(p.counters, k) for p in processes) for k in COUNTERS}
    return GeneratorHealth(
        per_process, threshold_pct, saturated, counters,
        # The whole machine, all cores (server included when it runs here): informational.
        round(sum(machine) / len(machine), 1) if machine else None, **unreachable,
        trustworthy=(not saturated and all(p["samples"] > 0 for p in per_process)
                     and unreachable["unreachable_since_unix_s"] is None))


def target_unreachable(processes: list[ProcessData]) -> dict[str, Any]:
    """When the target stopped answering, if a load process stopped the run for it
    (``ddbbench.replay.Reachability``): the earliest such start, in unix seconds and since
    the test start; None for both otherwise."""
    marks = [p.extra["unreachable"] for p in processes if p.extra.get("unreachable")]
    if not marks:
        return {"unreachable_since_unix_s": None, "unreachable_since_s": None}
    since = min(float(m["since_unix_s"]) for m in marks)
    start = min(p.test_start_unix_s for p in processes)
    return {"unreachable_since_unix_s": round(since, 3), "unreachable_since_s": round(since - start, 3)}


def _overall(patterns: dict[str, PatternSummary], duration: float, slo_met: bool | None) -> Overall:
    total = sum(p.count for p in patterns.values())
    outcomes: dict[str, int] = {}
    for row in patterns.values():
        for k, v in row.outcomes.items():
            outcomes[k] = outcomes.get(k, 0) + v
    errors = total - outcomes.get(OK, 0)
    return Overall(total, outcomes.get(OK, 0), errors, errors / total if total else 0.0,
                   outcomes.get("throttled", 0) / total if total else 0.0, dict(sorted(outcomes.items())),
                   round(total / duration, 3) if duration else 0.0, slo_met)


def summarize_run(run: RunData, ci: CiSettings | None = DEFAULT_CI) -> Summary:
    """The run's summary: per pattern percentiles (with confidence intervals unless ``ci`` is
    None), rates and capacity; a verdict per pattern objective, per pattern and overall."""
    duration = run.duration_s
    patterns = {name: pattern_summary(name, data, duration, ci)
                for name, data in sorted(run.patterns.items())}
    section = SloSection.of(Slo.from_dict(run.manifest["scenario"]["slo"]), slo_verdicts(run, ci))
    for name, row in patterns.items():
        row.slo_met = section.patterns[name]
    return Summary(
        FORMAT, SUMMARY_FORMAT_VERSION, run_id=run.run_id, scenario=run.manifest["scenario"]["name"],
        design=run.design, target=run.manifest["target"], measured=measured_target(run.manifest["target"]),
        stopped_by_cap=run.manifest.get("status") == "stopped_by_cap", duration_s=round(duration, 3),
        client=",".join(run.clients), measurements_format_version=run.measurements_version,
        test_start_unix_s=run.test_start_unix_s, latency_of=_latency_of(run), slo=section,
        ci=_ci_doc(run, ci), patterns=patterns, overall=_overall(patterns, duration, section.met),
        capacity=run_capacity(run, duration), generator=generator_health(run.processes),
        calibration=run.manifest.get("calibration", {"requests": 0}))


def summarize(run: RunData, ci: CiSettings | None = DEFAULT_CI) -> dict[str, Any]:
    """``summarize_run`` as plain data: the summary.json document (what most readers take)."""
    return summarize_run(run, ci).to_dict()


LOCAL_CAVEAT = ("latencies measure DynamoDB Local and the client on this machine, not the DynamoDB "
                "service; consumed capacity units and item sizes carry over to the service")


def measured_target(target: dict[str, Any]) -> dict[str, Any]:
    """What the run measured, in words: the target's kind and, for DynamoDB Local, what its
    latencies do and do not say.

    >>> measured_target({"kind": "aws", "region": "eu-west-1"})["target"]
    'AWS DynamoDB, region eu-west-1'
    """
    kind = target.get("kind")
    if kind == "local":
        return {"kind": "local", "target": f"DynamoDB Local ({target.get('url')})", "caveat": LOCAL_CAVEAT}
    if kind == "aws":
        return {"kind": "aws", "target": f"AWS DynamoDB, region {target.get('region')}", "caveat": None}
    return {"kind": kind, "target": f"endpoint URL {target.get('url')} (region {target.get('region')})",
            "caveat": None}


def _latency_of(run: RunData) -> str:
    if run.measurements_version >= 2:
        return "successful requests"
    return "every request (measurements format 1 did not keep failures apart)"


def run_capacity(run: RunData, duration_s: float) -> dict[str, Any]:
    """Consumed units per table and index over every pattern: per second and in total."""
    by_name: dict[str, float] = {}
    for data in run.patterns.values():
        for name, units in data.consumed.by_name.items():
            by_name[name] = by_name.get(name, 0.0) + units
    rows = capacity_by_name(by_name, 0, duration_s)
    for row in rows.values():
        del row["per_request"]  # requests of different patterns: not one figure per request
    return {"by_name": rows}


def _ci_doc(run: RunData, ci: CiSettings | None) -> dict[str, Any] | None:
    if ci is None:
        return None
    return {"method": "block bootstrap over the histogram intervals", "interval_s": run.interval_s,
            "confidence": ci.confidence, "resamples": ci.resamples, "seed": ci.seed,
            "min_blocks": ci.min_blocks, "min_tail": ci.min_tail}
