"""`ddbbench plan` on run directories: one written by the real recorder with known capacity,
the CLI's errors, and one real run against DynamoDB Local."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from analysis.metrics import summarize
from analysis.planrun import PlanRequest, make_plan
from analysis.rundata import load_run
from ddbbench.cli import main
from ddbbench.execute import Result
from ddbbench.recorder import Recorder
from ddbbench.rundir import base_manifest, update_manifest, write_manifest
from ddbbench.scenario import Dataset, Scenario
from tests.conftest import run_cli

T0 = 1_790_000_000 * 10**9
CONV, GSI, CAND = "PoppAIChatConversations", "candidateId-status-index", "PoppAICandidateProfiles"
EVENTS = "PoppAIEventLog"


def make_run(root: Path) -> Path:
    """A run whose units per request are known: get 0.5; query 0.5 on the index but 2 of 40
    reported as 0 (found nothing); update 1.0 on the table and 1.5 on the index on average."""
    run_dir = root / "run"
    run_dir.mkdir()
    sc = Scenario(name="plan", dataset=Dataset(seed=3, candidates=100, conversations=500))
    write_manifest(run_dir, base_manifest(run_dir, sc.to_dict(), {"kind": "local"}, "test"))
    update_manifest(run_dir, load={"tables": {CAND: 100, CONV: 500, EVENTS: 1050},
                                   "bytes_per_table": {CAND: 13_740, CONV: 335_850, EVENTS: 210_000}})
    rec = Recorder(run_dir, "p0")
    t = T0
    for k in range(100):
        rec.record("get_conversation", Result(t + k * 10**7, 2_000_000, "ok", capacity=0.5, items=1))
    for k in range(40):
        found = k >= 2
        rec.record("query_by_candidate_status", Result(t + k * 10**7, 2_000_000, "ok",
                                                       index_capacity=0.5 if found else 0.0,
                                                       items=2 if found else 0))
    for k in range(50):
        rec.record("update_status", Result(t + k * 10**7, 2_000_000, "ok", capacity=1.0,
                                           index_capacity=2.0 if k % 2 else 1.0))
    rec.sample_cpu(20.0)
    rec.close()
    (run_dir / "summary.json").write_text(json.dumps(summarize(load_run(run_dir))))
    return run_dir


def test_a_plan_from_a_run_directory(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path)
    plan = make_plan(PlanRequest(run_dir, rates=("get_conversation=200", "query_by_candidate_status=100",
                                                 "update_status=50")))
    rows = {r["pattern"]: r for r in plan["patterns"]}
    assert rows["get_conversation"]["table_units_per_s"] == pytest.approx(100.0)  # 200 x 0.5
    # 38 x 0.5 measured + 2 x 0.5 charged by the service = 0.5 per query, on the GSI.
    assert rows["query_by_candidate_status"]["index_units_per_s"] == pytest.approx(50.0)
    assert rows["query_by_candidate_status"]["index"] == GSI
    assert rows["query_by_candidate_status"]["units_source"] == "measured + minimum"
    assert (rows["update_status"]["table_units_per_s"], rows["update_status"]["index_units_per_s"]) == \
        pytest.approx((50.0, 75.0))
    capacity = {c["name"]: c for c in plan["capacity"]}
    assert capacity[CONV]["rcu_per_s"] == pytest.approx(100.0) and capacity[GSI]["rcu_per_s"] == 50.0
    assert capacity[GSI]["wcu_per_s"] == pytest.approx(75.0)
    storage = {s["name"]: s for s in plan["storage"]}
    assert storage[CONV]["mean_item_bytes"] == pytest.approx(671.7)  # 335,850 B / 500
    assert storage[GSI]["bytes"] == pytest.approx(500 * 771.7)
    assert storage[CAND]["bytes"] == pytest.approx(100 * 237.4)
    # Every number traces back: the run, the price table and its values.
    assert plan["source"]["run_id"] == "run" and plan["source"]["run_dir"] == str(run_dir.resolve())
    assert plan["prices"]["on_demand"]["read_per_million"] == 0.125
    assert plan["prices"]["file"].endswith("analysis/prices.yaml")
    assert plan["assumptions"]["items"] == {CONV: 500, CAND: 100, EVENTS: 1050}


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["plan", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_cli_writes_plan_json_and_md_and_prints_the_tables(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = make_run(tmp_path)
    out_dir = tmp_path / "out"
    code, out, _ = cli(capsys, str(run_dir), "--total-rps", "300", "--utilisation", "0.5",
                       "--items", f"{CONV}=1000000", "--out", str(out_dir))
    assert code == 0
    plan = json.loads((out_dir / "plan.json").read_text())
    assert plan["assumptions"]["utilisation"] == 0.5
    assert plan["assumptions"]["items"][CONV] == 1_000_000
    # The Scenario() default mix is 40/30/15/15: append_message was never sent in this run.
    assert [r["rate_rps"] for r in plan["patterns"]] == pytest.approx([120, 90, 45, 45])
    assert any(w.startswith("append_message: not measured") for w in plan["warnings"])
    assert (out_dir / "plan.md").read_text() == out.rstrip("\n") + "\n"
    assert "| get_conversation | read | 120.00 |" in out and "Break-even utilisation 28.9%" in out


@pytest.mark.parametrize(("args", "message"), [
    (["--rate", "get_conversatoin=5"], "--rate: unknown pattern 'get_conversatoin'; allowed: "),
    (["--rate", "append_message=5"], "--rate: append_message has no requests in this run"),
    (["--rate", "get_conversation=-3"], "--rate get_conversation: -3 is not a rate >= 0"),
    (["--total-rps", "0"], "--total-rps: 0 is not a rate > 0"),
    (["--total-rps", "10", "--utilisation", "1.5"], "--utilisation: 1.5 is not a fraction in (0, 1]"),
    (["--total-rps", "10", "--items", "Nope=5"], "--items: 'Nope=5' is not TABLE=COUNT"),
    (["--total-rps", "10", "--prices", "/nonexistent/p.yaml"], "--prices: cannot read /nonexistent/p.yaml"),
    (["--conversations-per-day", "1000", "--messages-per-conversation", "0"],
     "--messages-per-conversation: 0 is not a count > 0"),
])
def test_bad_input_exits_2_naming_the_value(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            args: list[str], message: str) -> None:
    code, _, err = cli(capsys, str(make_run(tmp_path)), *args)
    assert code == 2, err
    assert err.startswith("ddbbench: error: ") and message in err, err


def test_missing_or_stale_run_files_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, str(tmp_path / "nope"), "--total-rps", "5")
    assert code == 2 and "not a directory" in err
    code, _, err = cli(capsys, str(tmp_path), "--total-rps", "5")
    assert code == 2 and "not a run directory (no manifest.json)" in err
    run_dir = make_run(tmp_path)
    summary = json.loads((run_dir / "summary.json").read_text())
    summary["patterns"]["get_conversation"]["count"] = 99
    (run_dir / "summary.json").write_text(json.dumps(summary))
    code, _, err = cli(capsys, str(run_dir), "--total-rps", "5")
    assert code == 2 and "summary.json: out of date" in err and "ddbbench report" in err
    (run_dir / "summary.json").unlink()
    code, _, err = cli(capsys, str(run_dir), "--total-rps", "5")
    assert code == 2 and "summary.json: missing; build it with `ddbbench report" in err
    with pytest.raises(SystemExit) as exc:  # two targets at once: argparse's usage error
        main(["plan", str(run_dir), "--total-rps", "5", "--rate", "get_conversation=1"])
    assert exc.value.code == 2


@pytest.mark.e2e
def test_plan_of_a_real_run_on_dynamodb_local(isolated_cache: Path, tmp_path: Path) -> None:
    body = {"dataset": {"seed": 5, "candidates": 30, "conversations": 120, "messages": {"min": 1, "max": 4}},
            "mix": {"get_conversation": 3, "query_by_candidate_status": 2, "update_status": 2,
                    "append_message": 2, "batch_get_candidates": 1, "create_conversation": 1},
            "keys": {"append_message": {"distribution": "hotspot", "hot_keys": 0.01, "hot_requests": 0.9}},
            "load": {"users": 2, "spawn_rate": 2, "duration_s": 5, "rate_per_user": 15,
                     "warmup_requests": 100, "warmup_s": 1, "calibration_requests": 0}}
    scenarios = tmp_path / "scenarios.yaml"
    scenarios.write_text(yaml.safe_dump({"version": 1, "scenarios": {"tiny": body}}))
    run_cli("run", "--scenarios-file", str(scenarios), "-s", "tiny", check=True)
    (run_dir,) = [p for p in (tmp_path / "reports").iterdir() if p.is_dir()]
    proc = run_cli("plan", str(run_dir), "--total-rps", "2000", check=True)
    plan = json.loads((run_dir / "plan.json").read_text())
    assert plan["totals"]["complete"], plan["warnings"]
    # The projection is the raw records' own units (DynamoDB Local reports them) x the rate.
    frame = pd.concat(pd.read_csv(f) for f in (run_dir / "requests").glob("*.csv"))
    for row in plan["patterns"]:
        mine = frame[frame["pattern"] == row["pattern"]]
        table, index = mine["capacity"].sum() / len(mine), mine["index_capacity"].sum() / len(mine)
        assert row["rate_rps"] == pytest.approx(2000 * body["mix"][row["pattern"]] / 11)
        assert row["table_units_per_request"] == pytest.approx(table), row
        if row["units_source"] == "measured":
            assert row["index_units_per_request"] == pytest.approx(index), row
        else:  # queries that found nothing: DynamoDB Local said 0, the service charges 0.5
            empty = ((mine["capacity"] == 0) & (mine["index_capacity"] == 0) & (mine["items"] == 0)).sum()
            assert row["index_units_per_request"] == pytest.approx(index + 0.5 * empty / len(mine))
    storage = {s["name"]: s for s in plan["storage"]}
    assert storage[CONV]["items"] == 120 and storage[CAND]["items"] == 30
    load = json.loads((run_dir / "manifest.json").read_text())["load"]
    assert storage[CONV]["mean_item_bytes"] == pytest.approx(load["bytes_per_table"][CONV] / 120)
    assert storage[GSI]["bytes"] == storage[CONV]["bytes"]  # projection ALL: the item again
    # 90% of appends on one conversation (1% of 120 keys rounds to 1): the hot key is real.
    writes = next(h for h in plan["hot_keys"] if (h["where"], h["kind"]) == (CONV, "write"))
    append = next(r for r in plan["patterns"] if r["pattern"] == "append_message")
    assert writes["patterns"]["append_message"] == pytest.approx(
        append["rate_rps"] * 0.9 * append["table_units_per_request"])
    assert "## Hot keys" in proc.stdout and "| append_message | write |" in proc.stdout
