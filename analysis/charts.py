"""Charts as functions that return matplotlib Figures (nothing here writes files).

Figures are made without pyplot: no global figure registry to leak from (a report renders
many), no backend to choose on a headless server (saving a PNG renders with Agg), and in a
notebook each returned Figure is displayed once. Each pattern keeps one colour in every chart.
Latency axes are logarithmic with plain millisecond labels. Comparisons of several runs live
in ``analysis.compare_charts``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib as mpl
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullLocator

from analysis.metrics import WRITE_PATTERNS, percentile_ms
from analysis.rundata import PatternData
from analysis.slo import INSUFFICIENT, PASS, Counts, verdict
from ddbbench.objectives import Objective, insufficient_message, judgeable
from ddbbench.scenario import PATTERNS

# Percentiles plotted on the HDR-style axis x = 1 / (1 - p): 50% -> 2, 99% -> 100, ...
_GRID = [0, 25, 50, 75, 90, 95, 97.5, 99, 99.5, 99.75, 99.9, 99.95, 99.99, 99.995, 99.999]
_TICKS = [50, 90, 99, 99.9, 99.99, 99.999]
# The maximum (p = 100) sits at the axis' right edge, a decade beyond the last tick: 1/(1-p)
# has no finite place for it, and a curve that stops short of the max hides the failing tail.
X_MAX = 1e6
VERDICT_COLORS = {PASS: "#176c2e", "fail": "#b00020", INSUFFICIENT: "#777777"}
OUTCOME_COLORS = {"throttled": "tab:orange", "server_error": "tab:red", "connection": "tab:purple",
                  "conditional_check_failed": "tab:olive", "validation": "tab:brown",
                  "client_error": "tab:pink"}


def pattern_color(name: str) -> str:
    """The same colour for a pattern in every chart (by its place in the known patterns)."""
    colors = mpl.rcParams["axes.prop_cycle"].by_key()["color"]
    k = PATTERNS.index(name) if name in PATTERNS else len(PATTERNS) + sum(map(ord, name))
    return colors[k % len(colors)]


_ALL_SUBS = (1.5, 2, 3, 4, 5, 6, 7, 8, 9)
_WIDE_SUBS = (2, 5)


def _wide(low: float, high: float) -> bool:
    """An axis spanning more than a decade: minor ticks at 2 and 5 only (all nine labels of a
    decade and a bit overlap at the top of a 3.6-inch panel)."""
    return low > 0 and math.log10(high / low) > 1.0


class _MsMinorLocator(LogLocator):
    """Minor ticks at 1.5, 2, 3 ... 9 per decade, only 2 and 5 on a wide axis: the ticks
    that would carry no label cost a third of a latency chart's drawing time."""

    def __init__(self) -> None:
        super().__init__(base=10, subs=_ALL_SUBS)

    def tick_values(self, vmin: float, vmax: float) -> Any:
        low, high = sorted((vmin, vmax))
        self.set_params(subs=_WIDE_SUBS if _wide(low, high) else _ALL_SUBS)
        return super().tick_values(vmin, vmax)


def ms_axis(ax: Axes) -> None:
    """Plain millisecond tick labels on a log axis (2, 5, 10, not 2x10^0), with labelled
    minor ticks at 1.5, 2, 3 ... 9 per decade, thinned to 2 and 5 when the axis spans more
    than a decade (so a curve between 10 and 20 ms still has labels)."""
    ax.yaxis.set_major_formatter(FuncFormatter(_plain))
    ax.yaxis.set_minor_locator(_MsMinorLocator())
    ax.yaxis.set_minor_formatter(FuncFormatter(_plain))


def _plain(y: float, _: int) -> str:
    return f"{y:g}"


def _x(p: float) -> float:
    return 1.0 / (1.0 - p / 100.0)


def grid_axes(n: int, width: float, height: float) -> tuple[Figure, list[Axes]]:
    """Up to two columns of subplots for ``n`` panels; unused panels hidden."""
    cols = 2 if n > 1 else 1
    rows = math.ceil(n / cols) or 1
    fig = Figure(figsize=(width * cols, height * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    flat = list(axes.flat)
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def percentile_curve(data: PatternData) -> tuple[list[float], list[float]]:
    """(x on the 1/(1-p) axis, latency ms) of successful requests: the grid percentiles the
    sample reaches, the last rank before the maximum, then the maximum itself at ``X_MAX``."""
    # Successful requests only, like the percentiles judged against objectives.
    n = data.success.count
    if n == 0:
        return [], []
    top = 100.0 * (1.0 - 1.0 / n)  # the next-to-largest request's percentile
    ps = [p for p in _GRID if p < top] + [top]
    xs = [_x(p) for p in ps] + [X_MAX]
    return xs, [percentile_ms(data.hist, p, data.max_ns) for p in ps] + [round(data.max_ns / 1e6, 3)]


def _mark_objectives(ax: Axes, data: PatternData, objectives: Sequence[Objective]) -> None:
    """Each objective: its threshold (dashed), its percentile (dotted), and the judged value
    there, coloured by the summary's verdict (hollow when not enough data to judge)."""
    n = data.success.count
    for o in objectives:
        ax.axhline(o.threshold_ms, color="crimson", linestyle="--", linewidth=1, label=f"SLO: {o.label}")
        ax.axvline(_x(o.percentile), color="grey", linestyle=":", linewidth=1)
        if n == 0:
            continue
        value = percentile_ms(data.hist, o.percentile, data.max_ns)
        v = verdict(value, None, o, Counts(data.count, data.failed_count))
        color = VERDICT_COLORS[v.status]
        word = "not enough data" if v.status == INSUFFICIENT else v.status.upper()
        ax.plot([_x(o.percentile)], [value], marker="o", markersize=9, linestyle="none",
                markerfacecolor="none" if v.status == INSUFFICIENT else color, markeredgecolor=color,
                markeredgewidth=2, label=f"p{o.percentile:g} = {value:.3f} ms: {word}")
    few = [o for o in objectives if n and not judgeable(n, o.percentile)]
    if n == 0 or few:
        text = "no successful requests" if n == 0 else insufficient_message(n, few[0].percentile)
        ax.text(0.98, 0.04, text, transform=ax.transAxes, ha="right", va="bottom", color="#b00020",
                fontsize="medium", fontweight="bold",
                bbox={"facecolor": "white", "edgecolor": "#b00020", "alpha": 0.9})


def _percent_label(x: float, _: int) -> str:
    return "max" if x >= X_MAX else f"{100 * (1 - 1 / x):g}%"


def percentile_figure(patterns: Mapping[str, PatternData],
                      objectives: Mapping[str, Sequence[Objective]]) -> Figure:
    """Latency by percentile (log scales) per pattern, up to the maximum (at the right edge),
    with each of its objectives: the threshold line, the percentile, the judged value. A
    panel with too few requests for its objective says so on its face."""
    names = sorted(patterns)
    fig, axes = grid_axes(len(names), 6.2, 3.6)
    for ax, name in zip(axes, names, strict=True):
        xs, ms = percentile_curve(patterns[name])
        ax.plot(xs, ms, marker=".", color=pattern_color(name),
                label=f"{name} (n={patterns[name].success.count:,})")
        _mark_objectives(ax, patterns[name], objectives.get(name, ()))
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.xaxis.set_major_locator(FixedLocator([*(_x(p) for p in _TICKS), X_MAX]))
        ax.xaxis.set_major_formatter(FuncFormatter(_percent_label))
        # No minor ticks on the 1/(1-p) axis: they mark no percentile worth reading, and their
        # ~60 ticks per panel were half the report's drawing time.
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xlim(1, X_MAX * 1.5)
        ms_axis(ax)
        ax.set_title(name)
        ax.set_xlabel("percentile (successful requests)")
        ax.set_ylabel("latency (ms)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize="small", loc="upper left")
    return fig


def percentiles_over_time_figure(patterns: Mapping[str, PatternData], threshold_ms: float,
                                 percentiles: tuple[float, ...] = (50.0, 99.0)) -> Figure:
    """Per-interval percentiles over the run, one line per pattern and percentile."""
    fig = Figure(figsize=(12, 3.8), layout="constrained")
    ax = fig.subplots()
    starts = [s for d in patterns.values() for s in d.success_intervals()]
    t0 = min(starts, default=0.0)
    for name in sorted(patterns):
        intervals = sorted(patterns[name].success_intervals().items())
        for p, style in zip(percentiles, ("-", "--", ":"), strict=False):
            xs = [s - t0 for s, _ in intervals]
            ys = [percentile_ms(h, p) for _, h in intervals]
            ax.plot(xs, ys, style, marker=".", color=pattern_color(name), label=f"{name} p{p:g}")
    ax.axhline(threshold_ms, color="crimson", linestyle="--", linewidth=1, label="SLO threshold")
    ax.set_yscale("log")
    ms_axis(ax)
    ax.set_xlabel("seconds since first interval (interval start, by completion time)")
    ax.set_ylabel("latency (ms)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="x-small", ncol=4, loc="upper left")
    return fig


def throughput_errors_figure(timeline: pd.DataFrame, sampled_fraction: float = 1.0) -> Figure:
    """Two panels from ``frames.over_time``: requests per second by pattern (every outcome),
    and failed requests per second by outcome class (all patterns)."""
    fig = Figure(figsize=(12, 5.6), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True)
    for name, rows in timeline.groupby("pattern"):
        total = rows.groupby("t_s")["rate_per_s"].sum()
        top.plot(total.index, total.to_numpy(), marker=".", color=pattern_color(str(name)),
                 label=str(name))
    failed = timeline[timeline["outcome"] != "ok"]
    for outcome, rows in failed.groupby("outcome"):
        rate = rows.groupby("t_s")["rate_per_s"].sum()
        bottom.plot(rate.index, rate.to_numpy(), marker="x", label=str(outcome),
                    color=OUTCOME_COLORS.get(str(outcome), "black"))
    if failed.empty:
        bottom.text(0.5, 0.5, "no failed requests", transform=bottom.transAxes, ha="center")
    note = "" if sampled_fraction >= 1 else f" (estimated from a {sampled_fraction:.0%} sample)"
    top.set_ylabel("requests/s" + note)
    bottom.set_ylabel("failed requests/s" + note)
    bottom.set_xlabel("seconds since the first measured request (by start time)")
    for ax in (top, bottom):
        ax.grid(True, alpha=0.3)
        if ax.get_lines():
            ax.legend(fontsize="x-small", ncol=4, loc="upper left")
    return fig


def capacity_figure(cap: pd.DataFrame) -> Figure:
    """Consumed capacity units per request of each pattern of one run (``frames.capacity``),
    base table and indexes side by side; reads in RCU, writes in WCU."""
    fig = Figure(figsize=(12, 3.8), layout="constrained")
    ax = fig.subplots()
    cap = cap.reset_index(drop=True)
    xs = range(len(cap))
    table = ax.bar([x - 0.2 for x in xs], cap["capacity_per_request"], width=0.4, label="table",
                   color=[pattern_color(p) for p in cap["pattern"]])
    index = ax.bar([x + 0.2 for x in xs], cap["index_capacity_per_request"], width=0.4,
                   label="indexes", color=[pattern_color(p) for p in cap["pattern"]], hatch="//",
                   alpha=0.6)
    ax.bar_label(table, fmt="%.2f", fontsize="x-small")
    ax.bar_label(index, fmt="%.2f", fontsize="x-small")
    unit = {"read": "RCU", "write": "WCU"}
    ax.set_xticks(list(xs), [f"{p}\n({unit[k]})" for p, k in zip(cap["pattern"], cap["capacity_kind"],
                                                                 strict=True)], fontsize="small")
    ax.set_ylabel("capacity units per request")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize="small", loc="upper left")
    return fig


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
    fig = Figure(figsize=(12, 3.6), layout="constrained")
    ax = fig.subplots()
    for pattern, rows in growth.groupby("pattern"):
        color = pattern_color(str(pattern))
        ax.plot(rows["t_s"], rows["capacity"], marker=".", color=color, label=f"{pattern} (table)")
        ax.plot(rows["t_s"], rows["index_capacity"], linestyle="--", marker="x",
                color=color, label=f"{pattern} (indexes)")
    ax.set_xlabel("seconds since the first measured request")
    ax.set_ylabel("write capacity units per request")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="x-small", ncol=3, loc="upper left")
    return fig


def item_size_figure(sizes: pd.DataFrame) -> Figure:
    """Mean response bytes per item read over the run (``frames.item_size_over_time``)."""
    fig = Figure(figsize=(12, 3.6), layout="constrained")
    ax = fig.subplots()
    for pattern, rows in sizes.groupby("pattern"):
        ax.plot(rows["t_s"], rows["bytes_per_item"], marker=".", color=pattern_color(str(pattern)),
                label=str(pattern))
    ax.set_xlabel("seconds since the first measured request")
    ax.set_ylabel("response bytes per item read")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="x-small", ncol=3, loc="upper left")
    return fig
