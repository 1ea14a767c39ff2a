"""Tidy pandas DataFrames of one or several runs, for charts, notebooks and ad-hoc analysis.

Every frame of several runs has a ``run`` column (the run id) and a ``design`` column (the key
design, "seed" for runs from before designs were selectable). Frames of measurements come from
the run directories (``requests``, ``intervals``, ``manifests``); frames of metrics come from
``analysis.metrics.summarize`` results, so a notebook and a report can never disagree.

Example::

    >>> from analysis.rundata import load_runs                       # doctest: +SKIP
    >>> runs = load_runs(["reports/a", "reports/b"])                  # doctest: +SKIP
    >>> percentiles([summarize(r) for r in runs])                     # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from analysis.metrics import PERCENTILES, capacity_kind, pct_key, percentile_ms
from analysis.rundata import RunData, requests_frame

Summary = dict[str, Any]


def requests(runs: Sequence[RunData]) -> pd.DataFrame:
    """Every raw request record of the runs; ``t_s``: seconds since the run's first request."""
    frames = []
    for run in runs:
        frame = requests_frame(run.run_dir)
        start = frame["start_unix_us"].min() if len(frame) else 0
        frames.append(frame.assign(run=run.run_id, design=run.design,
                                   t_s=(frame["start_unix_us"] - start) / 1e6))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def intervals(runs: Sequence[RunData]) -> pd.DataFrame:
    """One row per run, pattern and histogram interval (by completion time; ``t_s``: seconds
    since the test start): successful requests' count, throughput and percentiles (ms) of that
    interval alone, and the failed requests' count (``failed``)."""
    rows = []
    for run in runs:
        for name, data in sorted(run.patterns.items()):
            failed = data.failed_intervals()
            for start, hist in data.success_intervals().items():
                rows.append({"run": run.run_id, "design": run.design, "pattern": name,
                             "start_unix_s": run.test_start_unix_s + start, "t_s": start,
                             "count": hist.get_total_count(),
                             "throughput_rps": hist.get_total_count() / run.interval_s,
                             **{pct_key(p): percentile_ms(hist, p) for p in PERCENTILES},
                             "max_ms": hist.get_max_value() / 1000.0,
                             "failed": failed[start].get_total_count() if start in failed else 0})
    return pd.DataFrame(rows)


def manifests(runs: Sequence[RunData]) -> pd.DataFrame:
    """One row per run: what ran, where, with what (the manifest's headline fields)."""
    rows = []
    for run in runs:
        m = run.manifest
        scenario = m["scenario"]
        rows.append({"run": run.run_id, "design": run.design, "scenario": scenario["name"],
                     "status": m.get("status"), "created_at": m.get("created_at"),
                     "target": m["target"].get("kind"), "seed": m.get("seed"),
                     "model": scenario["load"]["model"], "users": scenario["load"]["users"],
                     "duration_s": round(run.duration_s, 3), "git_commit": m.get("git_commit"),
                     "ddbbench": m.get("versions", {}).get("ddbbench")})
    return pd.DataFrame(rows)


def patterns(summaries: Sequence[Summary]) -> pd.DataFrame:
    """One row per run and pattern: the summary's scalar numbers (percentiles in ms)."""
    rows = []
    for s in summaries:
        for name, row in s["patterns"].items():
            scalars = {k: v for k, v in row.items() if not isinstance(v, dict | list)}
            rows.append({"run": s["run_id"], "design": s["design"], "pattern": name, **scalars})
    return pd.DataFrame(rows)


def percentiles(summaries: Sequence[Summary]) -> pd.DataFrame:
    """Long format: run, design, pattern, stat (p50 ... p99.9, max), percentile, value_ms and
    the confidence interval (NaN where the run cannot support one)."""
    rows = []
    for s in summaries:
        for name, row in s["patterns"].items():
            for p in PERCENTILES:
                ci = row["ci"][pct_key(p)] or (np.nan, np.nan)
                rows.append({"run": s["run_id"], "design": s["design"], "pattern": name,
                             "stat": f"p{p:g}", "percentile": p, "value_ms": row[pct_key(p)],
                             "ci_low_ms": ci[0], "ci_high_ms": ci[1], "count": row["count"]})
            rows.append({"run": s["run_id"], "design": s["design"], "pattern": name, "stat": "max",
                         "percentile": 100.0, "value_ms": row["max_ms"], "ci_low_ms": np.nan,
                         "ci_high_ms": np.nan, "count": row["count"]})
    return pd.DataFrame(rows)


def outcomes(summaries: Sequence[Summary]) -> pd.DataFrame:
    """Long format: run, pattern, outcome class, count and rate (fraction of the pattern's
    requests); every class of any pattern appears for every pattern (0 when absent)."""
    rows = []
    for s in summaries:
        classes = sorted({k for row in s["patterns"].values() for k in row["outcomes"]})
        for name, row in s["patterns"].items():
            for outcome in classes:
                n = row["outcomes"].get(outcome, 0)
                rows.append({"run": s["run_id"], "design": s["design"], "pattern": name,
                             "outcome": outcome, "count": n,
                             "rate": n / row["count"] if row["count"] else 0.0})
    return pd.DataFrame(rows)


CAPACITY_COLUMNS = ("capacity_kind", "capacity_per_request", "index_capacity_per_request",
                    "capacity_per_s", "index_capacity_per_s", "capacity_total", "index_capacity_total")


def capacity(summaries: Sequence[Summary]) -> pd.DataFrame:
    """Consumed capacity per run and pattern, base table and indexes apart (read patterns in
    RCU, write patterns in WCU): per request, per second and in total."""
    rows = [{"run": s["run_id"], "design": s["design"], "pattern": name, "count": row["count"],
             **{c: row[c] for c in CAPACITY_COLUMNS}}
            for s in summaries for name, row in s["patterns"].items()]
    # columns: a run that measured no request still has a (empty) frame to chart
    return pd.DataFrame(rows, columns=["run", "design", "pattern", "count", *CAPACITY_COLUMNS])


def capacity_by_name(summaries: Sequence[Summary]) -> pd.DataFrame:
    """Long format: consumed capacity per run, pattern, table and index (``name`` is "T" for
    table T, "T/ix" for its index ix; ``index`` is None for a table): per request, per second
    and in total. Empty for runs measured before format 2 (no breakdown was kept)."""
    columns = ["run", "design", "pattern", "capacity_kind", "name", "table", "index",
               "per_request", "per_s", "total"]
    rows = [{"run": s["run_id"], "design": s["design"], "pattern": pattern,
             "capacity_kind": row["capacity_kind"], "name": name, **figures}
            for s in summaries for pattern, row in s["patterns"].items()
            for name, figures in row.get("capacity_by_name", {}).items()]
    return pd.DataFrame(rows, columns=columns)


def project_capacity(cap: pd.DataFrame, rates: Mapping[str, float]) -> pd.DataFrame:
    """Units per second at a target request rate per pattern: rate x units per request, as
    measured (same item sizes, same error mix). Patterns not in ``rates`` are left out."""
    out = cap[cap["pattern"].isin(list(rates))].copy()
    out["rate"] = out["pattern"].map(rates)
    out["table_units_per_s"] = out["rate"] * out["capacity_per_request"]
    out["index_units_per_s"] = out["rate"] * out["index_capacity_per_request"]
    return out[["run", "pattern", "capacity_kind", "rate", "table_units_per_s", "index_units_per_s"]]


def verdicts(summaries: Sequence[Summary]) -> pd.DataFrame:
    """One row per run, pattern and objective: value, confidence interval, met, confident."""
    rows = []
    for s in summaries:
        for v in s["slo"]["verdicts"]:
            ci = v["ci_ms"] or (np.nan, np.nan)
            rows.append({"run": s["run_id"], "design": s["design"], "pattern": v["pattern"],
                         "objective": f"p{v['percentile']:g} < {v['threshold_ms']:g} ms",
                         "value_ms": v["value_ms"], "ci_low_ms": ci[0], "ci_high_ms": ci[1],
                         "met": v["met"], "confident": v["confident"], "requests": v["requests"]})
    return pd.DataFrame(rows)


def health(summaries: Sequence[Summary]) -> pd.DataFrame:
    """One row per run: can its latencies be compared? The load generator's own CPU (the
    busiest process), the whole machine's, late starts, and the client's calibrated overhead."""
    rows = []
    for s in summaries:
        gen, cal = s["generator"], s.get("calibration") or {}
        busiest = max((p["cpu_mean_pct"] for p in gen["processes"]), default=None)
        rows.append({"run": s["run_id"], "design": s["design"], "trustworthy": gen["trustworthy"],
                     "saturated": gen["saturated"], "generator_cpu_mean_pct": busiest,
                     "machine_cpu_mean_pct": gen.get("machine_cpu_mean_pct"),
                     "late_starts": gen["late_starts"], "client_p50_ms": cal.get("p50_ms")})
    return pd.DataFrame(rows)


def item_sizes(runs: Sequence[RunData]) -> pd.DataFrame:
    """Items loaded per table with their mean and largest size in bytes (DynamoDB's sizing
    rules), from the manifest's load statistics; empty for runs that loaded nothing."""
    rows = []
    for run in runs:
        load = run.manifest.get("load") or {}
        for table, n in load.get("tables", {}).items():
            rows.append({"run": run.run_id, "design": run.design, "table": table, "items": n,
                         "mean_item_bytes": load.get("mean_item_bytes", {}).get(table),
                         "max_item_bytes": load.get("max_item_bytes", {}).get(table)})
    return pd.DataFrame(rows, columns=["run", "design", "table", "items", "mean_item_bytes",
                                       "max_item_bytes"])


def time_bins(start_unix_us: pd.Series, interval_s: float | None = None) -> tuple[pd.Series, float]:
    """Equal bins tiling the span from the first to the last start (so every bin is complete
    and a rate per bin is honest): the bin start of each row (s) and the bin width (s).
    ``interval_s`` defaults to about 20 bins over the run, at least 1 s each."""
    t = (start_unix_us - start_unix_us.min()) / 1e6
    span = float(t.max()) if len(t) else 0.0
    wanted = interval_s or max(1.0, span / 20)
    n = max(1, round(span / wanted))
    width = span / n if span > 0 else wanted
    index = np.minimum(np.floor(t / width), n - 1)
    return index * width, width


def over_time(frame: pd.DataFrame, interval_s: float | None = None,
              raw_fraction: float = 1.0) -> pd.DataFrame:
    """Requests per second by pattern, outcome class and time bin, from raw records (scaled up
    by 1/raw_fraction when they are a sample). Columns: pattern, outcome, t_s, count, rate_per_s."""
    if frame.empty:
        return pd.DataFrame(columns=["pattern", "outcome", "t_s", "count", "rate_per_s"])
    t_s, width = time_bins(frame["start_unix_us"], interval_s)
    counts = frame.assign(t_s=t_s).groupby(["pattern", "outcome", "t_s"], as_index=False).size()
    counts = counts.rename(columns={"size": "count"})
    return counts.assign(rate_per_s=counts["count"] / width / raw_fraction)


def item_size_over_time(frame: pd.DataFrame, interval_s: float | None = None) -> pd.DataFrame:
    """Mean response bytes per returned item of successful reads, by pattern and time bin: the
    items' size as read (DynamoDB JSON on the wire, not the billed size), growing as writes
    append to them. Columns: pattern, t_s, bytes_per_item, items."""
    if frame.empty:
        return pd.DataFrame(columns=["pattern", "t_s", "bytes_per_item", "items"])
    is_read = frame["pattern"].map(capacity_kind) == "read"
    reads = frame[is_read & (frame["outcome"] == "ok") & (frame["items"] > 0)]
    if reads.empty:
        return pd.DataFrame(columns=["pattern", "t_s", "bytes_per_item", "items"])
    t_s, _ = time_bins(frame["start_unix_us"], interval_s)
    sums = (reads.assign(t_s=t_s.loc[reads.index])
            .groupby(["pattern", "t_s"], as_index=False)[["response_bytes", "items"]].sum())
    return sums.assign(bytes_per_item=sums["response_bytes"] / sums["items"])[
        ["pattern", "t_s", "bytes_per_item", "items"]]
