"""Summary format 3: success-only latency, failed requests apart, confidence intervals,
objectives per pattern, rates and capacity per table and index."""

from __future__ import annotations

import json
import random
from collections import Counter
from functools import partial
from pathlib import Path

import pytest

from analysis.compare import Thresholds
from analysis.gate import absolute_limits
from analysis.metrics import capacity_summary, summarize
from analysis.report import build_report
from analysis.rundata import PatternData, load_run
from analysis.slo import Counts, combined_status, verdict
from analysis.summary_text import summary_markdown, summary_table
from ddbbench.execute import consumed
from ddbbench.objectives import judgeable, required_requests
from ddbbench.rundir import read_manifest, write_manifest
from ddbbench.runformat import ConsumedCapacity
from ddbbench.scenario import Objective, Scenario, Slo
from tests.synthetic import request, write_run

Goal = partial(Objective, "get_conversation")  # an objective of the pattern the verdict tests use
OBJECTIVES = Slo(objectives=(Goal(50.0, 0.6),
                             Goal(99.0, 0.5),
                             Objective("update_status", 99.0, 25.0)))


def objectives_run(root: Path) -> Path:
    reqs = [("get_conversation", request(us)) for us in range(1, 1001)]  # exact below 2,048 us
    reqs += [("query_by_candidate_status", request(2000)) for _ in range(1000)]
    return write_run(root, "objectives", reqs, Scenario(name="unit", slo=OBJECTIVES))


def test_objectives_replace_the_default_for_the_patterns_they_name(tmp_path: Path) -> None:
    summary = summarize(load_run(objectives_run(tmp_path)))
    got = [(v["pattern"], v["percentile"], v["threshold_ms"], v["value_ms"], v["met"], v["requests"])
           for v in summary["slo"]["verdicts"]]
    assert got == [
        ("get_conversation", 50.0, 0.6, 0.5, True, 1000),  # rank 500 of 1..1000 us
        ("get_conversation", 99.0, 0.5, 0.99, False, 1000),  # rank 990
        ("query_by_candidate_status", 99.0, 10.0, 2.0, True, 1000),  # the default objective
        ("update_status", 99.0, 25.0, None, False, 0),  # named, never measured: not shown to hold
    ]
    assert summary["slo"]["patterns"] == {"get_conversation": False, "query_by_candidate_status": True,
                                          "update_status": False}
    assert summary["patterns"]["query_by_candidate_status"]["slo_met"] is True
    assert summary["slo"]["met"] is False and summary["overall"]["slo_met"] is False
    assert summary["format_version"] == 3 and summary["design"] == "seed"
    assert (summary["client"], summary["measurements_format_version"]) == ("boto3", 2)


def test_runs_from_before_objectives_judge_every_pattern_by_the_default(tmp_path: Path) -> None:
    run_dir = objectives_run(tmp_path)
    manifest = read_manifest(run_dir)
    manifest["scenario"]["slo"] = {"percentile": 99.0, "threshold_ms": 1.0}  # a format-1 run
    write_manifest(run_dir, manifest)
    summary = summarize(load_run(run_dir))
    assert [(v["pattern"], v["value_ms"], v["met"]) for v in summary["slo"]["verdicts"]] == [
        ("get_conversation", 0.99, True), ("query_by_candidate_status", 2.0, False)]


def test_confidence_intervals_from_histogram_intervals(tmp_path: Path) -> None:
    rng = random.Random(9)
    reqs = [("get_conversation", request(rng.lognormvariate(7.5, 0.5), at_s=k / 100)) for k in range(1200)]
    scenario = Scenario(name="unit", slo=Slo(objectives=(Goal(90.0, 5.0),)))
    run = load_run(write_run(tmp_path, "ci", reqs, scenario, interval_s=1.0))
    summary = summarize(run)
    row = summary["patterns"]["get_conversation"]
    assert row["ci_blocks"] == len(run.patterns["get_conversation"].intervals) >= 12
    for key in ("p50_ms", "p90_ms", "p99_ms"):  # 1,200 requests: 12 beyond p99
        low, high = row["ci"][key]
        assert low < row[key] < high, (key, low, row[key], high)
    assert row["ci"]["p99_9_ms"] is None  # about one request beyond p99.9: no interval
    (v,) = summary["slo"]["verdicts"]
    assert v["ci_ms"] == row["ci"]["p90_ms"]  # same blocks, same draws
    assert v["confident"] is (v["ci_ms"][1] < 5.0 if v["met"] else v["ci_ms"][0] >= 5.0)
    assert summarize(run) == summary  # seeded: the same run always gives the same report
    assert summary["ci"]["interval_s"] == 1.0 and summary["ci"]["min_blocks"] == 10
    no_ci = summarize(run, ci=None)
    assert no_ci["ci"] is None and set(no_ci["patterns"]["get_conversation"]["ci"].values()) == {None}


def test_confidence_intervals_never_exceed_the_exact_max(tmp_path: Path) -> None:
    reqs = [("update_status", request(123456.789, at_s=k / 10)) for k in range(200)]
    row = summarize(load_run(write_run(tmp_path, "cap", reqs, interval_s=1.0)))["patterns"]["update_status"]
    # HDR's bucket top is 123.519 ms; the exact max caps the estimate and its interval.
    assert row["p50_ms"] == 123.457 and row["ci"]["p50_ms"] == [123.457, 123.457]


def test_verdict_confidence() -> None:
    goal, n = Goal(99.0, 10.0), Counts(1000, 0)
    assert verdict(8.0, (7.0, 9.5), goal, n).confident is True
    assert verdict(8.0, (7.0, 10.0), goal, n).confident is False  # 10 ms is not below 10 ms
    assert verdict(12.0, (10.0, 14.0), goal, n).confident is True
    assert verdict(12.0, (9.0, 14.0), goal, n).to_dict() == {
        "pattern": "get_conversation", "requests": 1000, "successful": 1000, "errors": 0,
        "error_rate": 0.0, "percentile": 99.0, "threshold_ms": 10.0, "error_budget": 0.001, "value_ms": 12.0,
        "ci_ms": [9.0, 14.0], "status": "fail", "met": False, "confident": False,
        "reason": "p99 12.000 ms >= 10 ms", "needed": 1000}
    assert verdict(8.0, None, goal, n).confident is None
    assert verdict(None, None, goal, Counts(0, 0)).met is False


@pytest.mark.parametrize("percentile, needed", [(50, 20), (90, 100), (95, 200), (99, 1000), (99.9, 10000),
                                                (100, 10)])
def test_a_percentile_is_judged_with_ten_requests_beyond_it(percentile: float, needed: int) -> None:
    assert required_requests(percentile) == needed
    assert judgeable(needed, percentile) and not judgeable(needed - 1, percentile)
    v = verdict(1.0, None, Goal(percentile, 10.0), Counts(needed - 1, 0))
    assert (v.status, v.met, v.confident) == ("insufficient", None, None)
    assert v.reason == f"not enough data (n={needed - 1:,}; p{percentile:g} needs {needed:,})"
    assert verdict(1.0, None, Goal(percentile, 10.0), Counts(needed, 0)).status == "pass"


def test_the_error_budget_fails_an_objective_whatever_the_latency() -> None:
    goal = Goal(99.0, 10.0, error_budget=0.001)
    assert verdict(1.0, None, goal, Counts(2000, 2)).status == "pass"  # 0.1%: within
    over = verdict(1.0, None, goal, Counts(2000, 3))
    assert (over.status, over.met) == ("fail", False)
    assert over.reason == "error rate 0.15% > budget 0.10% (3 of 2,000 failed)"
    # Errors are counted, not estimated: over budget fails even where latency is not judged.
    assert verdict(1.0, None, goal, Counts(18, 1)).status == "fail"
    assert verdict(1.0, None, Goal(99.0, 10.0, error_budget=0.1), Counts(18, 1)).status == "insufficient"


def test_error_budgets_default_per_scenario_and_per_objective() -> None:
    slo = {"percentile": 99.0, "threshold_ms": 10.0, "objectives": [
        {"pattern": "update_status", "percentile": 99.0, "threshold_ms": 20.0, "error_budget": 0.05}]}
    recorded, budgeted = Slo.from_dict(slo), Slo.from_dict({**slo, "error_budget": 0.01})
    assert recorded.objectives_for("get_conversation")[0].error_budget == 0.001  # the product default
    assert budgeted.objectives_for("get_conversation")[0].error_budget == 0.01
    assert budgeted.objectives_for("update_status")[0].error_budget == 0.05
    assert Slo().error_budget == 0.001


def test_overall_verdict_of_judged_and_unjudged_objectives() -> None:
    assert [combined_status(s) for s in (["pass", "pass"], ["pass", "insufficient"],
                                         ["insufficient", "fail"], [])] == [
        "pass", "insufficient", "fail", "fail"]


def test_error_and_throttle_rates_by_class(tmp_path: Path) -> None:
    reqs = [("get_conversation", request(1000)) for _ in range(6)]
    reqs += [("get_conversation", request(1000, outcome="throttled", error_code="ThrottlingException"))
             for _ in range(3)]
    reqs += [("get_conversation", request(1000, outcome="server_error", error_code="InternalServerError"))]
    reqs += [("update_status", request(1000)) for _ in range(10)]
    summary = summarize(load_run(write_run(tmp_path, "rates", reqs)))
    row = summary["patterns"]["get_conversation"]
    assert (row["errors"], row["error_rate"], row["throttled"], row["throttle_rate"]) == (4, 0.4, 3, 0.3)
    assert row["outcome_rates"] == {"ok": 0.6, "server_error": 0.1, "throttled": 0.3}
    overall = summary["overall"]
    assert overall["outcomes"] == {"ok": 16, "server_error": 1, "throttled": 3}
    assert (overall["error_rate"], overall["throttle_rate"]) == (0.2, 0.15)


def test_capacity_per_request_per_second_and_total() -> None:
    data = PatternData(outcomes=Counter(ok=3, throttled=1),
                       consumed=ConsumedCapacity(6.0, 2.0, {"T": 6.0, "T/ix": 2.0}))
    assert capacity_summary("append_message", data, duration_s=2.0) == {
        "capacity_kind": "write", "capacity_per_request": 1.5, "index_capacity_per_request": 0.5,
        "capacity_per_s": 3.0, "index_capacity_per_s": 1.0, "capacity_total": 6.0,
        "index_capacity_total": 2.0, "capacity_by_name": {
            "T": {"table": "T", "index": None, "per_request": 1.5, "per_s": 3.0, "total": 6.0},
            "T/ix": {"table": "T", "index": "ix", "per_request": 0.5, "per_s": 1.0, "total": 2.0}}}
    assert capacity_summary("get_conversation", data, 0.0)["capacity_kind"] == "read"
    assert capacity_summary("get_conversation", data, 0.0)["capacity_per_s"] == 0.0


def test_gate_limits_follow_each_patterns_objective() -> None:
    slo = {"percentile": 99.0, "threshold_ms": 10.0, "objectives": [
        {"pattern": "get_conversation", "percentile": 99.0, "threshold_ms": 5.0},
        {"pattern": "get_conversation", "percentile": 99.9, "threshold_ms": 20.0},
        {"pattern": "update_status", "percentile": 50.0, "threshold_ms": 3.0}]}
    judged = dict.fromkeys(("get_conversation", "update_status", "append_message"), 99.0)
    # Off by default (CI machines vary); --absolute-slo: each pattern's objective at the judged
    # percentile (none where the pattern has no objective there); --absolute-ms: one limit.
    assert absolute_limits(Slo.from_dict(slo), judged, Thresholds()) == dict.fromkeys(judged)
    assert absolute_limits(Slo.from_dict(slo), judged, Thresholds(absolute_slo=True)) == {
        "get_conversation": 5.0, "update_status": None, "append_message": 10.0}
    assert absolute_limits(Slo.from_dict(slo), {"get_conversation": 99.9}, Thresholds(absolute_slo=True)) == {
        "get_conversation": 20.0}
    assert set(absolute_limits(Slo.from_dict(slo), judged, Thresholds(absolute_ms=7.0)).values()) == {7.0}
    labels = [o.label for o in Slo.from_dict(slo).objectives_for("get_conversation")]
    assert labels == ["p99 < 5 ms", "p99.9 < 20 ms"]


def test_summary_json_and_markdown_carry_verdicts_and_intervals(tmp_path: Path) -> None:
    rng = random.Random(2)
    reqs = [("get_conversation", request(rng.lognormvariate(7.5, 0.5), at_s=k / 100)) for k in range(1200)]
    run_dir = write_run(tmp_path, "md", reqs, interval_s=1.0)
    summary = build_report(run_dir)
    assert json.loads((run_dir / "summary.json").read_text()) == summary
    md = (run_dir / "summary.md").read_text()
    low, high = summary["patterns"]["get_conversation"]["ci"]["p99_ms"]
    verdict_line = next(line for line in md.splitlines() if line.startswith("| get_conversation | p99"))
    assert f"{low:.3f}-{high:.3f}" in verdict_line
    # The verdict table comes first, then the latency table.
    assert md.index("| pattern | objective |") < md.index("## Latency (ms)")


@pytest.mark.parametrize("met, confident, requests, successful, text", [
    (True, True, 5, 5, "PASS"), (True, None, 5, 5, "PASS"), (True, False, 5, 5, "PASS (marginal)"),
    (False, False, 5, 5, "FAIL (marginal)"), (False, None, 0, 0, "FAIL (no requests)"),
    (False, None, 5, 0, "FAIL (no successful requests)")])
def test_verdict_text(met: bool, confident: bool | None, requests: int, successful: int, text: str) -> None:
    from analysis.summary_text import verdict_text

    v = {"met": met, "confident": confident, "requests": requests, "successful": successful}
    assert verdict_text(v) == text


def test_small_samples_say_not_enough_data_everywhere(tmp_path: Path) -> None:
    reqs = [("get_conversation", request(1000 + k, at_s=k / 10)) for k in range(18)]
    reqs += [("update_status", request(2000, at_s=k / 100)) for k in range(1000)]
    summary = summarize(load_run(write_run(tmp_path, "few", reqs)))
    v = {v["pattern"]: v for v in summary["slo"]["verdicts"]}
    assert (v["get_conversation"]["status"], v["get_conversation"]["met"]) == ("insufficient", None)
    assert v["update_status"]["status"] == "pass"
    assert summary["slo"]["patterns"] == {"get_conversation": None, "update_status": True}
    assert (summary["slo"]["met"], summary["slo"]["status"]) == (None, "insufficient")
    assert summary["patterns"]["get_conversation"]["slo_met"] is None
    md = summary_markdown(summary)
    assert "SLO verdict: **NOT JUDGED (not enough data for 1 objective)**" in md
    row = next(line for line in md.splitlines() if line.startswith("| get_conversation | p99"))
    assert row.endswith("| 18 | 0 | not enough data (n=18; p99 needs 1,000) |") and "PASS" not in row
    latency = next(line for line in md.splitlines() if line.startswith("| get_conversation | 18 "))
    assert "1.017*" in latency  # the p99 of 18 requests: marked, it is about the maximum
    assert "SLO NOT JUDGED" in summary_table(summary)


def test_percentiles_and_verdicts_ignore_fast_failures(tmp_path: Path) -> None:
    reqs = [("get_conversation", request(5000, at_s=k / 100)) for k in range(100)]
    reqs += [("get_conversation", request(100, at_s=k / 900, outcome="connection",
                                          error_code="EndpointConnectionError")) for k in range(900)]
    summary = summarize(load_run(write_run(tmp_path, "fast-failures", reqs)))
    row = summary["patterns"]["get_conversation"]
    # Mixed in, 900 failures at 0.1 ms would make the p50 0.1 ms and the p99 5 ms.
    assert (row["count"], row["successful"], row["errors"]) == (1000, 100, 900)
    latency = (row["p50_ms"], row["p99_ms"], row["min_ms"], row["max_ms"], row["mean_ms"])
    assert latency == (5.0, 5.0, 5.0, 5.0, 5.0)
    assert row["failed"] == {"count": 900, "p50_ms": 0.1, "p99_ms": 0.1, "max_ms": 0.1, "mean_ms": 0.1}
    assert row["failed_by_outcome"]["connection"]["count"] == 900
    (v,) = summary["slo"]["verdicts"]
    assert (v["value_ms"], v["requests"], v["successful"]) == (5.0, 1000, 100)
    assert summary["overall"]["errors"] == 900


def test_a_pattern_whose_requests_all_failed_has_no_latency_and_fails(tmp_path: Path) -> None:
    reqs = [("get_conversation", request(100, outcome="connection", error_code="EndpointConnectionError"))
            for _ in range(50)]
    summary = summarize(load_run(write_run(tmp_path, "down", reqs)))
    row = summary["patterns"]["get_conversation"]
    assert (row["p50_ms"], row["p99_ms"], row["min_ms"], row["max_ms"], row["slo_met"]) == (
        None, None, None, None, False)
    (v,) = summary["slo"]["verdicts"]
    assert (v["value_ms"], v["met"], v["requests"], v["successful"]) == (None, False, 50, 0)
    assert "FAIL (error rate 100.00% > budget 0.10% (50 of 50 failed))" in summary_markdown(summary)


def test_capacity_per_table_and_index_from_a_consumed_capacity_block(tmp_path: Path) -> None:
    block = {"TableName": "Conv", "CapacityUnits": 3.5, "Table": {"CapacityUnits": 2.0},
             "GlobalSecondaryIndexes": {"byCandidate": {"CapacityUnits": 1.0}},
             "LocalSecondaryIndexes": {"byTime": {"CapacityUnits": 0.5}}}
    table, index, by_name = consumed(block)
    reqs = [("append_message", request(2000, at_s=k, capacity=table, index_capacity=index,
                                       capacity_by=by_name)) for k in range(4)]
    summary = summarize(load_run(write_run(tmp_path, "cap", reqs)))
    by = summary["patterns"]["append_message"]["capacity_by_name"]
    assert {name: (r["table"], r["index"], r["per_request"], r["total"]) for name, r in by.items()} == {
        "Conv": ("Conv", None, 2.0, 8.0), "Conv/byCandidate": ("Conv", "byCandidate", 1.0, 4.0),
        "Conv/byTime": ("Conv", "byTime", 0.5, 2.0)}
    assert summary["capacity"]["by_name"]["Conv/byCandidate"]["total"] == 4.0
    md = summary_markdown(summary)
    assert "| append_message | WCU | Conv | byCandidate | 1.0000 |" in md


def test_check_objectives_misses_only_failed_verdicts() -> None:
    from ddbbench.errors import ObjectiveMissed
    from ddbbench.run import check_objectives

    few = verdict(1.0, None, Goal(99.0, 10.0), Counts(18, 0))
    errors = verdict(1.0, None, Objective("update_status", 99.0, 10.0), Counts(2000, 30))
    check_objectives({"slo": {"verdicts": [few.to_dict()]}})  # not judged: no exit 3
    with pytest.raises(ObjectiveMissed, match=r"1 objective\(s\) missed: update_status p99 1.000 ms "
                                              r"\(objective < 10 ms\): error rate 1.50% > budget 0.10%"):
        check_objectives({"slo": {"verdicts": [few.to_dict(), errors.to_dict()]}})
