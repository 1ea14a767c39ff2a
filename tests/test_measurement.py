"""Measurement truth without a database: recorder -> run directory -> summary numbers."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from analysis.metrics import generator_health, summarize
from analysis.report import CHARTS, build_report, summary_table
from analysis.rundata import ProcessData, load_run, requests_frame
from ddbbench.execute import Result
from ddbbench.recorder import Recorder
from ddbbench.rundir import base_manifest, write_manifest
from ddbbench.scenario import Scenario

T0 = 1_790_000_000 * 10**9  # a fixed wall-clock instant, in ns, aligned to 5 s intervals


def make_run_dir(tmp_path: Path) -> Path:
    run_dir = tmp_path / "run"
    run_dir.mkdir(parents=True)
    scenario = Scenario(name="unit").to_dict()
    write_manifest(run_dir, base_manifest(run_dir, scenario, {"kind": "test"}, source="test"))
    return run_dir


def recorder(run_dir: Path, label: str = "p0", **kw: object) -> Recorder:
    """A recorder whose test starts at T0 (the requests here are timed from T0)."""
    return Recorder(run_dir, label, test_start_unix_s=T0 / 1e9, **kw)  # type: ignore[arg-type]


def ok(latency_us: float, at_s: float = 0.0, **kw: object) -> Result:
    return Result(T0 + int(at_s * 1e9), int(latency_us * 1000), "ok", **kw)  # type: ignore[arg-type]


def test_percentiles_are_exact_at_microsecond_resolution(tmp_path: Path) -> None:
    run_dir = make_run_dir(tmp_path)
    rec = recorder(run_dir, "p0")
    for us in range(1, 1001):  # 1 us .. 1000 us, one each
        rec.record("get_conversation", ok(us))
    rec.close()
    row = summarize(load_run(run_dir))["patterns"]["get_conversation"]
    assert (row["count"], row["errors"]) == (1000, 0)
    assert row["p50_ms"] == 0.5
    assert row["p90_ms"] == 0.9
    assert row["p99_ms"] == 0.99
    assert row["p99_9_ms"] == 0.999
    assert (row["min_ms"], row["max_ms"]) == (0.001, 1.0)
    assert row["mean_ms"] == round(0.5005, 3)  # reported at microsecond precision


def test_percentile_never_exceeds_exact_max(tmp_path: Path) -> None:
    run_dir = make_run_dir(tmp_path)
    rec = recorder(run_dir, "p0", raw=False)
    for us in (1000.0, 2000.0, 123456.789):
        rec.record("update_status", ok(us))
    rec.close()
    row = summarize(load_run(run_dir))["patterns"]["update_status"]
    # HDR alone would answer 123.519 ms (the bucket's highest equivalent value).
    assert row["max_ms"] == 123.457
    assert row["p99_9_ms"] == 123.457


def test_hdr_percentiles_match_raw_records_within_resolution(tmp_path: Path) -> None:
    run_dir = make_run_dir(tmp_path)
    rec = recorder(run_dir, "p0")
    rng = random.Random(5)
    for k in range(20_000):
        rec.record("query_by_candidate_status", ok(rng.lognormvariate(7.5, 0.8), at_s=k / 1000))
    rec.close()
    summary = summarize(load_run(run_dir))["patterns"]["query_by_candidate_status"]
    raw = np.sort(requests_frame(run_dir)["latency_us"].to_numpy() / 1000)
    assert len(raw) == 20_000
    for p, key in ((50, "p50_ms"), (90, "p90_ms"), (99, "p99_ms"), (99.9, "p99_9_ms")):
        # Nearest rank, HDR's definition: the value at rank round(p/100 * n).
        exact = float(raw[max(1, int(p / 100 * len(raw) + 0.5)) - 1])
        # 3 significant digits: within 0.1% (+1 us for rounding to whole microseconds).
        assert abs(summary[key] - exact) <= exact * 0.001 + 0.001, (p, summary[key], exact)


def test_merging_processes_equals_one_process(tmp_path: Path) -> None:
    rng = random.Random(11)
    results = [(rng.choice(["a", "b"]), ok(rng.uniform(100, 30_000), at_s=k / 100))
               for k in range(3000)]
    one = make_run_dir(tmp_path / "one")
    rec = recorder(one, "single", raw=False)
    for name, r in results:
        rec.record(name, r)
    rec.close()
    two = make_run_dir(tmp_path / "two")
    recs = [recorder(two, "w1", raw=False), recorder(two, "w2", raw=False)]
    for k, (name, r) in enumerate(results):
        recs[k % 2].record(name, r)
    for r in recs:
        r.close()
    merged, single = summarize(load_run(two)), summarize(load_run(one))
    for name in ("a", "b"):
        for key in ("count", "p50_ms", "p90_ms", "p99_ms", "p99_9_ms", "max_ms", "min_ms", "mean_ms"):
            assert merged["patterns"][name][key] == single["patterns"][name][key], (name, key)
    assert merged["overall"]["count"] == 3000


def test_outcomes_capacity_and_intervals(tmp_path: Path) -> None:
    run_dir = make_run_dir(tmp_path)
    rec = recorder(run_dir, "p0")
    for k in range(30):  # 30 requests spread over 15 s: three 5-second intervals
        rec.record("append_message", ok(2000, at_s=k * 0.5, capacity=2.0, index_capacity=1.0, items=1))
    rec.record("append_message", Result(T0, 900_000, "throttled", "ThrottlingException", retries=2))
    rec.record("append_message", Result(T0, 400_000, "conditional_check_failed",
                                        "ConditionalCheckFailedException"))
    rec.close()
    run = load_run(run_dir)
    data = run.patterns["append_message"]
    assert sum(h.get_total_count() for h in data.success_intervals().values()) == 30
    assert list(data.success_intervals()) == [0.0, 5.0, 10.0]  # seconds since the test start
    assert {t: h.get_total_count() for t, h in data.failed_intervals().items()} == {0.0: 2}
    assert {k: s.count for k, s in data.latency.items()} == {
        "ok": 30, "throttled": 1, "conditional_check_failed": 1}
    row = summarize(run)["patterns"]["append_message"]
    assert row["outcomes"] == {"ok": 30, "throttled": 1, "conditional_check_failed": 1}
    assert row["errors"] == 2
    assert row["error_codes"] == {"ThrottlingException": 1, "ConditionalCheckFailedException": 1}
    assert row["retries"] == 2
    assert row["capacity_per_request"] == round(60 / 32, 4)
    assert row["index_capacity_per_request"] == round(30 / 32, 4)


def test_generator_saturation_is_flagged() -> None:
    busy = ProcessData("busy", 0, ended_s=10, cpu_samples=[(t, 85.0) for t in range(10)])
    calm = ProcessData("calm", 0, ended_s=10, cpu_samples=[(t, 40.0) for t in range(10)])
    assert generator_health([calm]).saturated is False
    assert generator_health([calm]).trustworthy is True
    health = generator_health([calm, busy])
    assert health.saturated is True and health.trustworthy is False
    assert [p["cpu_mean_pct"] for p in health.processes] == [40.0, 85.0]
    # No CPU samples at all: not saturated as far as we know, but not trustworthy either.
    assert generator_health([ProcessData("x", 0, ended_s=1)]).trustworthy is False


def test_report_files_verdicts_and_warning(tmp_path: Path) -> None:
    run_dir = make_run_dir(tmp_path)
    rec = recorder(run_dir, "p0")
    for us in [u for u in range(1, 201) for _ in range(5)]:  # 1,000 each: enough for a p99
        rec.record("get_conversation", ok(us * 10))  # up to 2 ms: meets p99 < 10 ms
        rec.record("update_status", ok(us * 100))  # up to 20 ms: p99 19.8 ms fails
    for _ in range(5):
        rec.sample_cpu(95.0)
    rec.close()
    summary = build_report(run_dir)
    assert json.loads((run_dir / "summary.json").read_text()) == summary
    assert summary["patterns"]["get_conversation"]["slo_met"] is True
    assert summary["patterns"]["update_status"]["slo_met"] is False
    verdicts = {v["pattern"]: v for v in summary["slo"]["verdicts"]}
    # 19.8 ms lies in a 16 us HDR bucket [19.792, 19.807]; the top is reported, so a
    # percentile is never under-stated against an SLO (at most 0.1% high).
    assert verdicts["update_status"]["value_ms"] == 19.807
    assert (verdicts["update_status"]["percentile"], verdicts["update_status"]["threshold_ms"]) == (99, 10)
    assert summary["overall"]["slo_met"] is False and summary["slo"]["met"] is False
    html = (run_dir / "report.html").read_text()
    # Every chart but the item-size one (no request here returned an item).
    assert html.count("data:image/png;base64,") == len(CHARTS) - 1
    assert "Write capacity per request over time" in html
    assert "Response bytes per item read over time (item growth): left out" in html
    assert "<table" in html and "update_status" in html and "FAIL" in html and "PASS" in html
    assert "load generator saturated" in html
    table = summary_table(summary)
    assert "WARNING: load generator saturated" in table
    assert "| update_status |" in (run_dir / "summary.md").read_text()


def test_unreadable_run_dirs_are_user_errors(tmp_path: Path) -> None:
    from ddbbench.errors import BenchError

    with pytest.raises(BenchError, match="not a run directory"):
        load_run(tmp_path)
    run_dir = make_run_dir(tmp_path)
    with pytest.raises(BenchError, match="no measurements"):
        load_run(run_dir)


def test_write_capacity_growth_per_interval() -> None:
    import pandas as pd

    from analysis.charts import write_capacity_figure, write_capacity_over_time

    frame = pd.DataFrame({
        "start_unix_us": [0, 1_000_000, 6_000_000, 7_000_000, 8_000_000, 2_000_000],
        "pattern": ["append_message"] * 5 + ["get_conversation"],
        "outcome": ["ok", "ok", "ok", "ok", "throttled", "ok"],
        "capacity": [2.0, 4.0, 6.0, 8.0, 0.0, 0.5],
        "index_capacity": [1.0, 1.0, 2.0, 2.0, 0.0, 0.0],
    })
    growth = write_capacity_over_time(frame, interval_s=5.0)
    # Reads and failed writes are left out; the mean WCU per append grows from 3 to 7.
    assert growth.to_dict("records") == [
        {"pattern": "append_message", "t_s": 0.0, "capacity": 3.0, "index_capacity": 1.0},
        {"pattern": "append_message", "t_s": 5.0, "capacity": 7.0, "index_capacity": 2.0},
    ]
    auto = write_capacity_over_time(frame)  # ~20 bins over an 8 s span: 1 s each
    assert list(auto["t_s"]) == [0.0, 1.0, 6.0, 7.0]
    fig = write_capacity_figure(growth)
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert labels == ["append_message (table)", "append_message (indexes)"]


def test_raw_records_can_be_sampled_while_histograms_keep_everything(tmp_path: Path) -> None:
    run_dir = make_run_dir(tmp_path)
    rec = recorder(run_dir, "p0", raw_fraction=0.1)
    for k in range(5000):
        rec.record("get_conversation", ok(100 + k % 900))
    rec.close()
    assert summarize(load_run(run_dir))["patterns"]["get_conversation"]["count"] == 5000
    rows = len(requests_frame(run_dir))
    assert 400 < rows < 600  # ~10%, a fixed sample for a fixed process label
    none = make_run_dir(tmp_path / "none")
    rec = recorder(none, "p0", raw_fraction=0.0)
    rec.record("get_conversation", ok(100))
    rec.close()
    assert not (none / "requests").exists()


def test_locust_buckets_keep_two_significant_digits() -> None:
    from ddbbench.locust_buckets import two_significant_digits

    assert [two_significant_digits(x) for x in (0.0, 0.01234, 0.987, 4.567, 9.95, 123.4, 56789.0)] == [
        0.0, 0.012, 0.99, 4.6, 9.9, 120.0, 57000.0]
    # Bounded key space: 700,000 distinct latencies from 1 us to 10 s (7 decades) give ~90 keys
    # per decade.
    assert len({two_significant_digits(10 ** (k / 100_000 - 3)) for k in range(700_000)}) <= 7 * 90 + 1


def test_machine_cpu_is_reported_beside_the_generator_cpu(tmp_path: Path) -> None:
    run_dir = make_run_dir(tmp_path)
    rec = recorder(run_dir, "p0", raw=False)
    rec.record("get_conversation", ok(500))
    for own, machine in ((30.0, 90.0), (40.0, 100.0)):
        rec.sample_cpu(own, machine)
    rec.close()
    summary = summarize(load_run(run_dir))
    assert summary["generator"]["machine_cpu_mean_pct"] == 95.0
    assert summary["generator"]["processes"][0]["cpu_mean_pct"] == 35.0
    assert "whole machine 95% of all cores" in summary_table(summary)
