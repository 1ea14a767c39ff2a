"""Charts render and draw the right series (inspected on the returned Figures)."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.container import BarContainer, ErrorbarContainer
from matplotlib.figure import Figure

from analysis import charts, compare_charts, frames
from analysis.metrics import summarize
from analysis.rundata import RunData, load_runs
from ddbbench.objectives import Objective
from ddbbench.scenario import Scenario
from tests.synthetic import request, write_run


def png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def labels(ax: object) -> list[str]:
    return [line.get_label() for line in ax.get_lines()]  # type: ignore[attr-defined]


@pytest.fixture
def runs(tmp_path: Path) -> list[RunData]:
    def reqs(base_us: int) -> list:
        out = [("get_conversation", request(base_us + k % 500, at_s=k / 50)) for k in range(600)]
        return out + [("update_status", request(2 * base_us + k % 700, at_s=k / 50)) for k in range(300)]
    wide = {**Scenario(name="unit").to_dict(), "design": "wide"}
    return load_runs([write_run(tmp_path, "r1", reqs(1000)), write_run(tmp_path, "r2", reqs(1100)),
                      write_run(tmp_path, "r3", reqs(900), manifest_extra={"scenario": wide})])


def test_latency_by_percentile_has_one_threshold_per_objective(runs: list[RunData]) -> None:
    objectives = {"get_conversation": [Objective("get_conversation", 99.0, 10.0),
                                       Objective("get_conversation", 99.9, 5.0)],
                  "update_status": [Objective("update_status", 99.0, 10.0)]}
    fig = charts.percentile_figure(runs[0].patterns, objectives)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == ["get_conversation", "update_status"]
    assert labels(axes[0]) == ["get_conversation (n=600)", "SLO: p99 < 10 ms", "_child2",
                               "p99 = 1.493 ms: not enough data", "SLO: p99.9 < 5 ms", "_child5",
                               "p99.9 = 1.498 ms: not enough data"]
    curve = axes[0].get_lines()[0]
    # p50 of 1000 + k % 500 us for k < 600: 1000..1099 twice, then 1100..1499; rank 300 -> 1,199 us
    assert curve.get_ydata()[2] == 1.199
    thresholds = [line for line in axes[0].get_lines() if line.get_label().startswith("SLO")]
    assert [line.get_ydata()[0] for line in thresholds] == [10.0, 5.0]
    assert axes[0].get_lines()[5].get_xdata()[0] == pytest.approx(1000.0)  # p99.9 on 1/(1-p)
    assert png(fig).startswith(b"\x89PNG")


def test_the_curve_ends_at_the_maximum_and_small_samples_say_so(tmp_path: Path) -> None:
    # 20 requests, 1..19 ms and one of 40 ms: the largest fails the objective, so it must be drawn.
    reqs = [("batch_get_candidates", request(1000 * (k + 1), at_s=k / 10)) for k in range(19)]
    reqs.append(("batch_get_candidates", request(40_000, at_s=2.0)))
    run = load_runs([write_run(tmp_path, "few", reqs)])[0]
    goal = Objective("batch_get_candidates", 99.0, 30.0)
    fig = charts.percentile_figure(run.patterns, {"batch_get_candidates": [goal]})
    (ax,) = [ax for ax in fig.axes if ax.get_visible()]
    curve = ax.get_lines()[0]
    assert curve.get_ydata()[-1] == 40.0 and curve.get_xdata()[-1] == charts.X_MAX  # the max is drawn
    assert curve.get_xdata()[-2] == pytest.approx(20.0)  # p95: the next-to-largest of 20
    assert charts.X_MAX in ax.get_xticks() and ax.xaxis.get_major_formatter()(charts.X_MAX, 0) == "max"
    assert [t.get_text() for t in ax.texts] == ["not enough data (n=20; p99 needs 1,000)"]
    judged = ax.get_lines()[3]
    assert judged.get_label() == "p99 = 40.000 ms: not enough data" and judged.get_markerfacecolor() == "none"
    big = load_runs([write_run(tmp_path, "many", [("get_conversation", request(1000 + k, at_s=k / 100))
                                                    for k in range(1000)])])[0]
    goal = Objective("get_conversation", 99.0, 0.5)
    fig = charts.percentile_figure(big.patterns, {"get_conversation": [goal]})
    ax = next(ax for ax in fig.axes if ax.get_visible())
    assert not ax.texts and ax.get_lines()[3].get_label() == "p99 = 1.989 ms: FAIL"
    assert png(fig)


def test_percentiles_over_time_one_line_per_pattern_and_percentile(runs: list[RunData]) -> None:
    fig = charts.percentiles_over_time_figure(runs[0].patterns, 10.0)
    assert labels(fig.axes[0]) == ["get_conversation p50", "get_conversation p99", "update_status p50",
                                   "update_status p99", "SLO threshold"]
    assert png(fig)


def test_throughput_and_errors_over_time() -> None:
    frame = pd.DataFrame({"start_unix_us": [0, 500_000, 1_000_000, 1_500_000, 2_000_000],
                          "pattern": ["get_conversation", "get_conversation", "update_status",
                                      "get_conversation", "update_status"],
                          "outcome": ["ok", "throttled", "ok", "server_error", "throttled"]})
    timeline = frames.over_time(frame, interval_s=1.0)  # 2 bins of 1 s
    fig = charts.throughput_errors_figure(timeline)
    top, bottom = fig.axes
    assert labels(top) == ["get_conversation", "update_status"]
    assert list(top.get_lines()[0].get_ydata()) == [2.0, 1.0]  # every outcome counts as traffic
    assert labels(bottom) == ["server_error", "throttled"]
    assert list(bottom.get_lines()[1].get_ydata()) == [1.0, 1.0]
    quiet = charts.throughput_errors_figure(timeline[timeline["outcome"] == "ok"], sampled_fraction=0.1)
    assert not quiet.axes[1].get_lines()
    assert "no failed requests" in [t.get_text() for t in quiet.axes[1].texts]
    assert "10% sample" in quiet.axes[0].get_ylabel()
    assert png(fig) and png(quiet)


def test_capacity_bars_split_table_and_indexes(tmp_path: Path) -> None:
    reqs = [("get_conversation", request(1000, capacity=0.5)) for _ in range(4)]
    reqs += [("append_message", request(1000, capacity=3.0, index_capacity=1.0)) for _ in range(2)]
    cap = frames.capacity([summarize(load_runs([write_run(tmp_path, "c", reqs)])[0])])
    fig = charts.capacity_figure(cap)
    ax = fig.axes[0]
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert [b.get_label() for b in bars] == ["table", "indexes"]
    assert [[p.get_height() for p in b] for b in bars] == [[3.0, 0.5], [1.0, 0.0]]
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks == ["append_message\n(WCU)", "get_conversation\n(RCU)"]
    assert png(fig)


def test_item_growth_charts() -> None:
    sizes = pd.DataFrame({"pattern": ["get_conversation"] * 2, "t_s": [0.0, 5.0],
                          "bytes_per_item": [1000.0, 1400.0], "items": [3, 4]})
    fig = charts.item_size_figure(sizes)
    assert labels(fig.axes[0]) == ["get_conversation"]
    assert list(fig.axes[0].get_lines()[0].get_ydata()) == [1000.0, 1400.0]
    growth = pd.DataFrame({"pattern": ["append_message"] * 2, "t_s": [0.0, 5.0], "capacity": [1.0, 2.0],
                           "index_capacity": [1.0, 1.0]})
    assert labels(charts.write_capacity_figure(growth).axes[0]) == ["append_message (table)",
                                                                    "append_message (indexes)"]
    assert png(fig)


def test_run_vs_run_comparison(runs: list[RunData]) -> None:
    pct = frames.percentiles([summarize(r) for r in runs])
    fig = compare_charts.comparison_figure(pct, stats=("p50", "p99"))
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == ["get_conversation", "update_status"]
    ax = axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [r.run_id for r in runs]
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    expected = pct[(pct["pattern"] == "get_conversation") & pct["stat"].isin(["p50", "p99"])]
    for run, bar in zip(runs, bars, strict=True):
        values = expected[expected["run"] == run.run_id].set_index("stat")["value_ms"]
        assert [p.get_height() for p in bar] == [values["p50"], values["p99"]]
    assert png(fig)


def test_design_vs_design_comparison_keeps_runs_of_one_design_apart(runs: list[RunData]) -> None:
    pct = frames.percentiles([summarize(r) for r in runs])
    fig = compare_charts.design_comparison_figure(pct)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == [f"seed ({runs[0].run_id})", f"seed ({runs[1].run_id})", "wide"]
    assert png(fig)


def test_comparison_error_bars_only_where_there_is_an_interval() -> None:
    pct = pd.DataFrame({"run": ["a", "a", "b", "b"], "design": ["seed"] * 4,
                        "pattern": ["get_conversation"] * 4, "stat": ["p50", "p99"] * 2,
                        "value_ms": [2.0, 9.0, 3.0, 12.0], "ci_low_ms": [1.8, float("nan"), 2.5, 10.0],
                        "ci_high_ms": [2.3, float("nan"), 3.4, 15.0]})
    ax = compare_charts.comparison_figure(pct, stats=("p50", "p99")).axes[0]
    bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    spans = [sorted(seg[:, 1]) for c in bars for seg in c.lines[2][0].get_segments()]
    assert spans == [[1.8, 2.3], [2.5, 3.4], [10.0, 15.0]]  # run a's p99 has no interval: no bar


@pytest.mark.parametrize(("ylim", "minor"), [
    ((10, 20), ["15", "20"]),  # a narrow axis: every minor tick, labelled, so the curve can be read
    ((3, 9), ["3", "4", "5", "6", "7", "8", "9"]),
    ((3, 40), ["5", "20"]),  # more than a decade: 2 and 5 per decade only
    ((1, 1000), ["2", "5", "20", "50", "200", "500"]),
])
def test_millisecond_axis_minor_ticks(ylim: tuple[float, float], minor: list[str]) -> None:
    fig = Figure()
    ax = fig.subplots()
    ax.set_yscale("log")
    charts.ms_axis(ax)
    ax.set_ylim(*ylim)
    fig.canvas.draw()
    low, high = ylim
    shown = [t.get_text() for t in ax.yaxis.get_minorticklabels() if low <= t.get_position()[1] <= high]
    assert shown == minor
    assert [t.get_text() for t in ax.yaxis.get_majorticklabels() if low <= t.get_position()[1] <= high] == [
        f"{v:g}" for v in (1, 10, 100, 1000) if low <= v <= high]
