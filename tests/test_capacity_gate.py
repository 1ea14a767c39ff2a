"""The capacity gate's rules on literal summary rows (summary format 3)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from analysis.capacity_gate import capacity_input_problems, compare_capacity, prefix_patterns, unstable_rows
from analysis.compare import (
    comparability_problems,
    design_note,
    saturation_notes,
)
from ddbbench.objectives import not_enough_data, required_requests

IX = "Conv/candidateId-status-index"


def update_status(index_wcu: float, table_wcu: float = 1.0, written: float = 82.8) -> dict[str, Any]:
    return {"capacity_kind": "write", "errors": 0, "items_written_per_request": 1.0,
            "bytes_written_per_request": written,
            "capacity_by_name": {"Conv": {"per_request": table_wcu}, IX: {"per_request": index_wcu}}}


def append(growth: float) -> dict[str, Any]:
    return {"capacity_kind": "write", "items_written_per_request": 1.0,
            "bytes_written_per_request": growth, "capacity_by_name": {"Conv": {"per_request": 1.5}}}


def query(index_rcu: float) -> dict[str, Any]:
    return {"capacity_kind": "read", "items_written_per_request": 0.0, "bytes_written_per_request": 0.0,
            "capacity_by_name": {"Conv": {"per_request": 0.0}, IX: {"per_request": index_rcu}}}


def test_identical_figures_pass_and_zero_rows_are_left_out() -> None:
    base = {"update_status": update_status(1.92), "query_by_candidate_status": query(0.66)}
    rows = compare_capacity(base, base)
    assert not any(r.regression or r.lower for r in rows)
    # the query's base table (0 units in both) and its writes (none) are not rows
    assert [(r.what, r.on) for r in rows if r.pattern == "query_by_candidate_status"] == [("RCU/request", IX)]
    assert {r.change_text for r in rows} == {"="}


def test_growth_beyond_the_tolerance_names_pattern_index_and_figures() -> None:
    rows = compare_capacity({"update_status": update_status(1.92)}, {"update_status": update_status(3.0)})
    failed = [r for r in rows if r.regression]
    assert [r.message for r in failed] == ["update_status: WCU/request on " + IX + " 1.92 -> 3.00 (+56%)"]


def test_the_tolerance_is_a_bound_both_ways() -> None:
    base = {"update_status": update_status(2.0)}
    assert not any(r.regression for r in compare_capacity(base, {"update_status": update_status(2.04)}, 0.02))
    assert any(r.regression for r in compare_capacity(base, {"update_status": update_status(2.041)}, 0.02))
    lower = compare_capacity(base, {"update_status": update_status(1.5)}, 0.02)
    assert [r.verdict for r in lower if r.on == IX] == ["lower"]  # reported, not failed


def test_a_new_index_or_table_is_a_regression_and_a_gone_one_is_lower() -> None:
    base = {"update_status": update_status(2.0)}
    moved = {"capacity_kind": "write", "items_written_per_request": 1.0, "bytes_written_per_request": 82.8,
             "capacity_by_name": {"Conv": {"per_request": 1.0}, "Conv/GSI1": {"per_request": 2.0}}}
    rows = {r.on: r for r in compare_capacity(base, {"update_status": moved})}
    assert rows["Conv/GSI1"].regression and rows["Conv/GSI1"].change_text == "new"
    assert rows[IX].lower and not rows[IX].regression and rows[IX].change_text == "gone"


def test_item_growth_per_append_is_its_bytes_written() -> None:
    rows = compare_capacity({"append_message": append(256.6)}, {"append_message": append(300.0)})
    growth = next(r for r in rows if r.what == "item growth/append (bytes)")
    assert growth.regression and growth.message.endswith("256.6 -> 300.0 (+17%)")


def test_a_pattern_missing_from_the_candidate_is_lower_and_a_new_one_regresses() -> None:
    rows = compare_capacity({"append_message": append(256.6)}, {"update_status": update_status(2.0)})
    assert all(r.lower for r in rows if r.pattern == "append_message")
    assert all(r.regression for r in rows if r.pattern == "update_status")


def test_failed_requests_are_noted_as_understating_capacity() -> None:
    cand = {"update_status": {**update_status(2.0), "errors": 3}}
    notes = unstable_rows(compare_capacity(cand, cand), cand)
    assert notes == ["update_status: 3 failed request(s) in the candidate consume no capacity: "
                     "its per-request figures are understated"]


def test_old_runs_are_refused_with_refresh_the_baseline() -> None:
    old = {"format_version": 3, "measurements_format_version": 1}
    assert "refresh the baseline" in capacity_input_problems(old, "baseline")[0]
    assert "refresh the baseline" in capacity_input_problems({"format_version": 2}, "baseline")[0]
    assert capacity_input_problems({"format_version": 3, "measurements_format_version": 2}, "x") == []


def manifest(**scenario: Any) -> dict[str, Any]:
    base = {"name": "ci", "dataset": {"seed": 1}, "mix": {"a": 1}, "keys": {}, "tables": {},
            "load": {"arrival_rate": 200}, "design": "seed"}
    return {"scenario": {**base, **scenario}, "target": {"kind": "local"}}


def test_design_differs_is_flagged_client_dataset_mix_load_are_refused() -> None:
    s = {"client": "boto3", "design": "seed", "generator": {"saturated": False}}
    assert comparability_problems(manifest(), manifest(design="single-table"), s, s) == []
    assert design_note(s, {**s, "design": "single-table"}) == (
        "key design differs: seed -> single-table (compared as the change under test)")
    assert comparability_problems(manifest(), manifest(), s, {**s, "client": "aiobotocore"}) == [
        "client kind differs: 'boto3' vs 'aiobotocore'"]
    # A setting an older run did not record, off in the newer one: the same load.
    newer = manifest(load={"arrival_rate": 200, "deterministic": False})
    assert comparability_problems(manifest(), newer, s, s) == []
    on = manifest(load={"arrival_rate": 200, "deterministic": True})
    assert comparability_problems(manifest(), on, s, s)[0].startswith("scenario.load differs")
    for key, value in (("dataset", {"seed": 2}), ("mix", {"a": 2}), ("load", {"arrival_rate": 100})):
        problems = comparability_problems(manifest(), manifest(**{key: value}), s, s)
        assert problems and problems[0].startswith(f"scenario.{key} differs")


def test_the_sample_rule() -> None:
    assert (required_requests(99), required_requests(95), required_requests(99.9)) == (1000, 200, 10000)
    assert not_enough_data(999, 99) == "not enough data (n=999; p99 needs 1,000)"
    assert not_enough_data(1000, 99) is None


def test_under_another_key_design_the_totals_are_judged_and_the_names_shown() -> None:
    seed = {**update_status(2.59, 2.09), "capacity_per_request": 2.09, "index_capacity_per_request": 2.59}
    single = {"capacity_kind": "write", "items_written_per_request": 1.0, "bytes_written_per_request": 82.9,
              "capacity_per_request": 2.09, "index_capacity_per_request": 4.42,
              "capacity_by_name": {"Conv": {"per_request": 2.09}, "Conv/GSI1": {"per_request": 4.42}}}
    rows = compare_capacity({"update_status": seed}, {"update_status": single}, same_design=False)
    assert [r.message for r in rows if r.regression] == [
        "update_status: WCU/request on all indexes 2.59 -> 4.42 (+71%)"]
    assert {r.on: r.verdict for r in rows if r.on.startswith("Conv/")} == {IX: "info", "Conv/GSI1": "info"}
    same_units = compare_capacity({"update_status": seed}, {"update_status": {**single, **{
        "index_capacity_per_request": 2.59}}}, same_design=False)
    assert not any(r.regression for r in same_units)  # moved to another index, not more


def test_latency_is_not_judged_on_a_saturated_generator_or_machine() -> None:
    quiet = {"generator": {"saturated": False, "machine_cpu_mean_pct": 60.0}}
    busy = {"generator": {"saturated": False, "machine_cpu_mean_pct": 97.5}}
    client = {"generator": {"saturated": True, "machine_cpu_mean_pct": 50.0}}
    unknown = {"generator": {"saturated": False, "machine_cpu_mean_pct": None}}
    assert saturation_notes(quiet, unknown) == ([], [])
    said = "the candidate run's machine was saturated (all cores 97.5% busy on average, >= 90%)"
    assert saturation_notes(quiet, busy) == ([f"{said}: latency not judged"], [])
    assert "baseline run's load generator was saturated" in saturation_notes(client, quiet)[0][0]
    # Asked to judge on a busy machine: said, not blocking; a saturated generator still blocks.
    assert saturation_notes(quiet, busy, busy_machine=True) == (
        [], [f"{said}: latency judged anyway (--judge-busy-machine)"])
    assert len(saturation_notes(client, busy, busy_machine=True)[0]) == 1


def test_a_prefix_of_the_sequence_by_intended_start() -> None:
    """Requests 0-3 intended at 0, 10, 20, 30 us; the third started late (lag 25 us) and so
    completed after the fourth: the first three by intended start are 0, 1, 2."""
    frame = pd.DataFrame({
        "start_unix_us": [0, 10, 45, 30], "schedule_lag_us": [0, 0, 25, 0],
        "pattern": ["update_status", "get_conversation", "update_status", "update_status"],
        "outcome": ["ok", "ok", "ok", "ok"], "capacity": [1.0, 0.5, 2.0, 9.0],
        "index_capacity": [2.0, 0.0, 2.0, 9.0], "items_written": [1, 0, 1, 1],
        "bytes_written": [80, 0, 90, 999]})
    rows = prefix_patterns(frame, 3, {"update_status": "write"})
    assert rows["update_status"]["capacity_per_request"] == 1.5
    assert rows["update_status"]["index_capacity_per_request"] == 2.0
    assert rows["update_status"]["bytes_written_per_request"] == 85.0
    assert rows["get_conversation"]["capacity_kind"] == "read" and rows["get_conversation"]["count"] == 1
