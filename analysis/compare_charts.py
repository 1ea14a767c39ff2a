"""Run-vs-run and design-vs-design charts (Figures; nothing here writes files).

Both take the long table of ``analysis.frames.percentiles`` for several runs, so the numbers
drawn are exactly the summaries' numbers, confidence intervals included.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from analysis.charts import grid_axes, ms_axis

STATS = ("p50", "p90", "p99", "p99.9", "max")


def series_labels(pct: pd.DataFrame, by: str) -> pd.Series:
    """The legend label of each row: its ``by`` value (run or design), with the run id added
    where several runs share that value, so no two runs are drawn as one."""
    runs_per_value = pct.groupby(by)["run"].nunique()
    shared = pct[by].map(runs_per_value) > 1
    return pct[by].where(~shared, pct[by] + " (" + pct["run"] + ")")


def comparison_figure(pct: pd.DataFrame, by: str = "run", stats: Sequence[str] = STATS) -> Figure:
    """One panel per pattern: grouped bars per percentile, one bar per run (``by="run"``) or per
    key design (``by="design"``), error bars spanning the confidence intervals (none where a
    run could not support one). Log latency axis. A run without successful requests of a
    pattern has no bar there (no percentile); a panel or figure with nothing to draw says so."""
    pct = _drawable(pct, stats).assign(label=lambda d: series_labels(d, by))
    series = list(dict.fromkeys(pct["label"]))
    patterns = sorted(pct["pattern"].unique())
    fig, axes = grid_axes(len(patterns), 6.2, 3.6)
    if not patterns:
        fig.text(0.5, 0.5, NOTHING, ha="center", va="center")
    for ax, pattern in zip(axes, patterns, strict=True):
        _panel(ax, pct[pct["pattern"] == pattern], series, stats)
        ax.set_title(pattern)
    return fig


NOTHING = "no successful requests to compare"


def _drawable(pct: pd.DataFrame, stats: Sequence[str]) -> pd.DataFrame:
    """The rows of ``stats``, latencies as floats (NaN where there is no percentile: no
    successful request); no rows, with the columns, when the runs recorded no request."""
    if pct.empty:  # frames.percentiles of runs without requests: not even columns
        return pd.DataFrame(columns=["run", "design", "pattern", "stat", "value_ms", "ci_low_ms",
                                     "ci_high_ms"])
    pct = pct[pct["stat"].isin(stats)]
    value = {c: pd.to_numeric(pct[c], errors="coerce").astype(float)
             for c in ("value_ms", "ci_low_ms", "ci_high_ms")}
    return pct.assign(**value)


def _panel(ax: Axes, rows: pd.DataFrame, series: list[str], stats: Sequence[str]) -> None:
    width = 0.8 / max(len(series), 1)
    for k, label in enumerate(series):
        r = rows[rows["label"] == label].set_index("stat").reindex(list(stats))
        xs = np.arange(len(stats)) + (k - (len(series) - 1) / 2) * width
        ax.bar(xs, r["value_ms"], width, label=label)
        # Error bars only where there is an interval: a zero-length bar would read as certainty.
        has = r["ci_low_ms"].notna().to_numpy()
        if has.any():
            ax.errorbar(xs[has], r["value_ms"][has], fmt="none", ecolor="black", capsize=2,
                        yerr=np.vstack([(r["value_ms"] - r["ci_low_ms"])[has],
                                        (r["ci_high_ms"] - r["value_ms"])[has]]))
    if rows["value_ms"].notna().any():
        ax.set_yscale("log")  # a log axis needs a positive value to place itself
        ms_axis(ax)
    else:
        ax.text(0.5, 0.5, "no successful requests", transform=ax.transAxes, ha="center")
    ax.set_xticks(np.arange(len(stats)), list(stats))
    ax.set_ylabel("latency (ms)")
    ax.grid(True, axis="y", which="both", alpha=0.3)
    ax.legend(fontsize="x-small", loc="upper left")


def design_comparison_figure(pct: pd.DataFrame, stats: Sequence[str] = STATS) -> Figure:
    """``comparison_figure`` keyed on the runs' key design."""
    return comparison_figure(pct, by="design", stats=stats)
