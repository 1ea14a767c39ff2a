"""Charts as functions that return matplotlib Figures (nothing here writes files)."""

from __future__ import annotations

import math

import matplotlib
import pandas as pd

matplotlib.use("Agg")  # headless: reports are rendered on servers and in CI

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter

from analysis.metrics import percentile_ms
from analysis.rundata import PatternData

# Percentiles plotted on the HDR-style axis x = 1 / (1 - p): 50% -> 2, 99% -> 100, ...
_GRID = [0, 25, 50, 75, 90, 95, 97.5, 99, 99.5, 99.75, 99.9, 99.95, 99.99, 99.995, 99.999]
_TICKS = [50, 90, 99, 99.9, 99.99, 99.999]


def _ms_axis(ax: plt.Axes) -> None:
    """Plain millisecond tick labels on a log axis (2, 5, 10, not 2x10^0)."""
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:g}"))
    ax.yaxis.set_minor_formatter(FuncFormatter(lambda y, _: f"{y:g}"))


def _x(p: float) -> float:
    return 1.0 / (1.0 - p / 100.0)


def percentile_curve(data: PatternData) -> tuple[list[float], list[float]]:
    """(percentiles, latency ms) for the grid, trimmed to what the sample size supports."""
    top = 100.0 * (1.0 - 1.0 / max(data.count, 1))  # beyond this the curve is just the max
    ps = [p for p in _GRID if p <= top] or [0.0]
    return ps, [percentile_ms(data.hist, p) for p in ps]


def percentile_figure(patterns: dict[str, PatternData], threshold_ms: float,
                      slo_percentile: float) -> Figure:
    """Latency by percentile (log scales) per pattern, with the SLO threshold line."""
    names = sorted(patterns)
    cols = 2 if len(names) > 1 else 1
    rows = math.ceil(len(names) / cols) or 1
    fig, axes = plt.subplots(rows, cols, figsize=(6.2 * cols, 3.6 * rows), squeeze=False,
                             layout="constrained")
    for ax, name in zip(axes.flat, names, strict=False):
        ps, ms = percentile_curve(patterns[name])
        ax.plot([_x(p) for p in ps], ms, marker=".", label=f"{name} (n={patterns[name].count:,})")
        ax.axhline(threshold_ms, color="crimson", linestyle="--", linewidth=1,
                   label=f"SLO: p{slo_percentile:g} < {threshold_ms:g} ms")
        ax.axvline(_x(slo_percentile), color="grey", linestyle=":", linewidth=1)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.xaxis.set_major_locator(FixedLocator([_x(p) for p in _TICKS]))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{100 * (1 - 1 / x):g}%"))
        ax.set_xlim(1, _x(_TICKS[-1]))
        _ms_axis(ax)
        ax.set_title(name)
        ax.set_xlabel("percentile")
        ax.set_ylabel("latency (ms)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize="small", loc="upper left")
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    return fig


def percentiles_over_time_figure(patterns: dict[str, PatternData], threshold_ms: float,
                                 percentiles: tuple[float, ...] = (50.0, 99.0)) -> Figure:
    """Per-interval percentiles over the run, one line per pattern and percentile."""
    fig, ax = plt.subplots(figsize=(12, 3.8), layout="constrained")
    starts = [s for d in patterns.values() for s in d.intervals]
    t0 = min(starts, default=0.0)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for k, name in enumerate(sorted(patterns)):
        intervals = sorted(patterns[name].intervals.items())
        for p, style in zip(percentiles, ("-", "--", ":"), strict=False):
            xs = [s - t0 for s, _ in intervals]
            ys = [percentile_ms(h, p) for _, h in intervals]
            ax.plot(xs, ys, style, marker=".", color=colors[k % len(colors)], label=f"{name} p{p:g}")
    ax.axhline(threshold_ms, color="crimson", linestyle="--", linewidth=1, label="SLO threshold")
    ax.set_yscale("log")
    _ms_axis(ax)
    ax.set_xlabel("seconds since first interval (interval start, by completion time)")
    ax.set_ylabel("latency (ms)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="x-small", ncol=4, loc="upper left")
    return fig


WRITE_PATTERNS = ("append_message", "update_status", "create_conversation")


def write_capacity_over_time(frame: pd.DataFrame, interval_s: float | None = None) -> pd.DataFrame:
    """Mean consumed write units per successful write request, per pattern and interval.

    A write is charged on the larger of the item's size before and after (1 WCU per KB), so
    appending to a growing conversation costs more every time: this shows that growth.
    Columns: pattern, t_s (interval start since the first request), capacity, index_capacity.
    ``interval_s`` defaults to about 20 intervals over the run (at least 1 s).
    """
    writes = frame[frame["pattern"].isin(WRITE_PATTERNS) & (frame["outcome"] == "ok")]
    if writes.empty:
        return pd.DataFrame(columns=["pattern", "t_s", "capacity", "index_capacity"])
    t = (writes["start_unix_us"] - frame["start_unix_us"].min()) / 1e6
    if interval_s is None:
        span = (frame["start_unix_us"].max() - frame["start_unix_us"].min()) / 1e6
        interval_s = max(1.0, span / 20)
    binned = writes.assign(t_s=(t // interval_s) * interval_s)
    return (binned.groupby(["pattern", "t_s"], as_index=False)[["capacity", "index_capacity"]]
            .mean())


def write_capacity_figure(growth: pd.DataFrame) -> Figure:
    """Write units per request over the run (table solid, indexes dashed), per write pattern."""
    fig, ax = plt.subplots(figsize=(12, 3.6), layout="constrained")
    for pattern, rows in growth.groupby("pattern"):
        line = ax.plot(rows["t_s"], rows["capacity"], marker=".", label=f"{pattern} (table)")[0]
        ax.plot(rows["t_s"], rows["index_capacity"], linestyle="--", marker="x",
                color=line.get_color(), label=f"{pattern} (indexes)")
    ax.set_xlabel("seconds since the first measured request")
    ax.set_ylabel("write capacity units per request")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="x-small", ncol=3, loc="upper left")
    return fig
