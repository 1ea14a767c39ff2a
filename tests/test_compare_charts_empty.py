"""Comparison charts (analysis/compare_charts.py) of runs with nothing to draw: no requests at
all, or only failed ones (no successful request gives a percentile)."""

from __future__ import annotations

import io
import math
from pathlib import Path

from matplotlib.container import BarContainer
from matplotlib.figure import Figure

from analysis import compare_charts, frames
from analysis.metrics import summarize
from analysis.rundata import load_runs
from tests.synthetic import request, write_run


def png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.findobj(match=lambda a: hasattr(a, "get_text"))]


def percentiles_of(tmp_path: Path, runs: dict[str, list]) -> object:
    dirs = [write_run(tmp_path, name, reqs) for name, reqs in runs.items()]
    return frames.percentiles([summarize(r) for r in load_runs(dirs)])


def gets(outcome: str = "ok", n: int = 200) -> list:
    return [("get_conversation", request(1000 + k, at_s=k / 50, outcome=outcome)) for k in range(n)]


def test_a_run_without_requests_gives_a_figure_that_says_so(tmp_path: Path) -> None:
    pct = percentiles_of(tmp_path, {"idle": []})
    for fig in (compare_charts.comparison_figure(pct), compare_charts.design_comparison_figure(pct)):
        assert "no successful requests to compare" in texts(fig)
        assert png(fig)


def test_a_run_with_only_failed_requests_draws_no_bar_beside_the_others(tmp_path: Path) -> None:
    pct = percentiles_of(tmp_path, {"good": gets(), "throttled": gets("throttled")})
    fig = compare_charts.comparison_figure(pct, stats=("p50", "p99"))
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["good", "throttled"]
    good, throttled = [c for c in ax.containers if isinstance(c, BarContainer)]
    expected = pct[(pct["run"] == "good")].set_index("stat")["value_ms"]
    assert [p.get_height() for p in good] == [expected["p50"], expected["p99"]]
    assert all(math.isnan(p.get_height()) for p in throttled)
    assert png(fig)


def test_only_failed_requests_everywhere_says_so_on_the_panel(tmp_path: Path) -> None:
    pct = percentiles_of(tmp_path, {"throttled": gets("throttled")})
    fig = compare_charts.comparison_figure(pct)
    assert [ax.get_title() for ax in fig.axes if ax.get_visible()] == ["get_conversation"]
    assert "no successful requests" in texts(fig)
    assert png(fig)
