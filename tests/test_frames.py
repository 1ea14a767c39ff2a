"""Tidy frames of one or several runs, against hand-computed values."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis import frames
from analysis.metrics import summarize
from analysis.rundata import RunData, design_name, load_runs
from ddbbench.errors import ConfigError
from ddbbench.scenario import Scenario
from tests.synthetic import request, write_run

WIDE = {**Scenario(name="unit").to_dict(), "design": {"name": "wide"}}  # a future manifest
LOAD = {"tables": {"Conv": 500, "Cand": 100}, "mean_item_bytes": {"Conv": 1234.5, "Cand": 210.0},
        "max_item_bytes": {"Conv": 4000, "Cand": 260}}


def two_runs(root: Path) -> list[RunData]:
    a = [("get_conversation", request(1000 + k, at_s=k / 10, capacity=0.5, items=1, response_bytes=900))
         for k in range(100)]
    a += [("append_message", request(3000, at_s=k, capacity=2.0, index_capacity=1.0)) for k in range(10)]
    b = [("get_conversation", request(2000 + k, at_s=k / 10, capacity=0.5, items=1)) for k in range(50)]
    return load_runs([write_run(root, "a", a, manifest_extra={"load": LOAD}),
                      write_run(root, "b", b, manifest_extra={"scenario": WIDE})])


def test_several_runs_in_one_tidy_frame(tmp_path: Path) -> None:
    runs = two_runs(tmp_path)
    summaries = [summarize(r) for r in runs]
    pct = frames.percentiles(summaries)
    assert list(pct["run"].unique()) == [runs[0].run_id, runs[1].run_id]
    assert list(pct["design"].unique()) == ["seed", "wide"]
    # 2 patterns in a, 1 in b; 5 statistics each (p50, p90, p99, p99.9, max)
    assert len(pct) == 3 * 5
    b_get = pct[(pct["run"] == runs[1].run_id) & (pct["pattern"] == "get_conversation")]
    assert dict(zip(b_get["stat"], b_get["value_ms"], strict=True)) == {
        "p50": 2.024, "p90": 2.044, "p99": 2.049, "p99.9": 2.049, "max": 2.049}  # 2000..2049 us
    raw = frames.requests(runs)
    assert len(raw) == 160 and set(raw["design"]) == {"seed", "wide"}
    assert raw.groupby("run")["t_s"].min().tolist() == [0.0, 0.0]
    m = frames.manifests(runs)
    assert m[["run", "design", "scenario"]].values.tolist() == [
        [runs[0].run_id, "seed", "unit"], [runs[1].run_id, "wide", "unit"]]


def test_a_run_given_twice_is_refused(tmp_path: Path) -> None:
    run_dir = write_run(tmp_path, "a", [("get_conversation", request(1000))])
    with pytest.raises(ConfigError, match="run directory given twice"):
        load_runs([run_dir, run_dir])


def test_design_name_from_the_manifest() -> None:
    assert design_name({"scenario": {}}) == "seed"
    assert design_name({"scenario": {"design": "narrow"}}) == "narrow"
    assert design_name({"scenario": {"design": {"name": "wide", "gsi": 2}}}) == "wide"


def test_intervals_outcomes_capacity_and_projection(tmp_path: Path) -> None:
    runs = two_runs(tmp_path)
    iv = frames.intervals(runs[:1])
    assert iv.groupby("pattern")["count"].sum().to_dict() == {"append_message": 10, "get_conversation": 100}
    assert (iv["throughput_rps"] == iv["count"] / 5.0).all()
    summaries = [summarize(runs[0])]
    cap = frames.capacity(summaries).set_index("pattern")
    assert cap.loc["append_message", ["capacity_kind", "capacity_per_request", "index_capacity_per_request",
                                      "capacity_total"]].tolist() == ["write", 2.0, 1.0, 20.0]
    assert cap.loc["get_conversation", "capacity_per_request"] == 0.5
    proj = frames.project_capacity(frames.capacity(summaries),
                                   {"get_conversation": 400, "append_message": 100, "update_status": 50})
    assert proj.set_index("pattern")[["rate", "table_units_per_s", "index_units_per_s"]].to_dict("index") == {
        "append_message": {"rate": 100, "table_units_per_s": 200.0, "index_units_per_s": 100.0},
        "get_conversation": {"rate": 400, "table_units_per_s": 200.0, "index_units_per_s": 0.0}}
    sizes = frames.item_sizes(runs)
    assert sizes[["table", "items", "mean_item_bytes", "max_item_bytes"]].values.tolist() == [
        ["Conv", 500, 1234.5, 4000], ["Cand", 100, 210.0, 260]]  # run b loaded nothing


def test_outcome_rates_long_format(tmp_path: Path) -> None:
    reqs = [("get_conversation", request(1000)) for _ in range(3)]
    reqs += [("get_conversation", request(1000, outcome="throttled")), ("update_status", request(1000))]
    out = frames.outcomes([summarize(load_runs([write_run(tmp_path, "o", reqs)])[0])])
    got = {(r.pattern, r.outcome): (r.count, r.rate) for r in out.itertuples()}
    assert got == {("get_conversation", "ok"): (3, 0.75), ("get_conversation", "throttled"): (1, 0.25),
                   ("update_status", "ok"): (1, 1.0), ("update_status", "throttled"): (0, 0.0)}


def test_time_bins_tile_the_run() -> None:
    starts = pd.Series([0, 1, 2, 4, 5, 6, 9, 10]) * 1_000_000  # microseconds
    t_s, width = frames.time_bins(starts, interval_s=5.0)
    assert width == 5.0 and t_s.tolist() == [0, 0, 0, 0, 5, 5, 5, 5]  # 10 s joins the last bin
    t_s, width = frames.time_bins(starts, interval_s=4.0)  # 10 s / 4 s -> 2 bins of 5 s (tiling)
    assert width == 5.0
    t_s, width = frames.time_bins(starts)  # default: ~20 bins, at least 1 s
    assert width == 1.0 and t_s.max() == 9.0


def test_over_time_rates_and_item_size() -> None:
    frame = pd.DataFrame({
        "start_unix_us": [0, 1_000_000, 2_000_000, 3_000_000, 4_000_000, 5_000_000, 6_000_000, 7_000_000],
        "pattern": ["get_conversation"] * 4 + ["query_by_candidate_status", "update_status",
                                               "get_conversation", "get_conversation"],
        "outcome": ["ok", "ok", "throttled", "ok", "ok", "ok", "ok", "ok"],
        "items": [1, 1, 0, 1, 2, 0, 1, 1],
        "response_bytes": [1000, 1000, 80, 1200, 3000, 50, 1500, 1700],
    })
    timeline = frames.over_time(frame, interval_s=3.5, raw_fraction=0.5)  # 2 bins of 3.5 s
    got = {(r.pattern, r.outcome, r.t_s): (r.count, r.rate_per_s) for r in timeline.itertuples()}
    assert got[("get_conversation", "ok", 0.0)] == (3, pytest.approx(3 / 3.5 / 0.5))
    assert got[("get_conversation", "throttled", 0.0)] == (1, pytest.approx(1 / 3.5 / 0.5))
    assert got[("get_conversation", "ok", 3.5)] == (2, pytest.approx(2 / 3.5 / 0.5))
    sizes = frames.item_size_over_time(frame, interval_s=3.5)
    got = {(r.pattern, r.t_s): r.bytes_per_item for r in sizes.itertuples()}
    # Throttled reads and writes left out; a Query's bytes are shared by its items.
    assert got == {("get_conversation", 0.0): (1000 + 1000 + 1200) / 3, ("get_conversation", 3.5): 1600.0,
                   ("query_by_candidate_status", 3.5): 1500.0}
    assert frames.over_time(frame.iloc[:0]).empty and frames.item_size_over_time(frame.iloc[:0]).empty


def test_health_per_run(tmp_path: Path) -> None:
    summary = summarize(two_runs(tmp_path)[0])
    summary["generator"]["machine_cpu_mean_pct"] = 97.0  # other work on the same cores
    summary["calibration"] = {"requests": 300, "p50_ms": 1.2}
    (row,) = frames.health([summary]).to_dict("records")
    assert row == {"run": summary["run_id"], "design": "seed", "trustworthy": True, "saturated": False,
                   "generator_cpu_mean_pct": 20.0, "machine_cpu_mean_pct": 97.0, "late_starts": 0,
                   "client_p50_ms": 1.2}


def test_intervals_are_timed_from_the_test_start_with_failures_apart(tmp_path: Path) -> None:
    reqs = [("get_conversation", request(1000, at_s=1.0 + k)) for k in range(10)]  # 1..10 s
    reqs += [("get_conversation", request(50, at_s=7.0, outcome="connection")) for _ in range(3)]
    (run,) = load_runs([write_run(tmp_path, "a", reqs)])
    iv = frames.intervals([run])
    assert iv[["t_s", "count", "failed"]].values.tolist() == [[0.0, 4, 0], [5.0, 5, 3], [10.0, 1, 0]]
    assert iv["start_unix_s"].tolist() == [run.test_start_unix_s + t for t in (0.0, 5.0, 10.0)]


def test_capacity_per_table_and_index_in_long_format(tmp_path: Path) -> None:
    by = (("Conv", 1.0), ("Conv/byCandidate", 2.0))
    reqs = [("update_status", request(1000, at_s=k, capacity=1.0, index_capacity=2.0, capacity_by=by))
            for k in range(5)]
    (run,) = load_runs([write_run(tmp_path, "a", reqs)])
    cap = frames.capacity_by_name([summarize(run)])
    assert cap[["pattern", "capacity_kind", "name", "table", "per_request", "total"]].values.tolist() == [
        ["update_status", "write", "Conv", "Conv", 1.0, 5.0],
        ["update_status", "write", "Conv/byCandidate", "Conv", 2.0, 10.0]]
    assert cap["index"].isna().tolist() == [True, False]  # a table's row has no index
