"""Measurement truth: known server behaviour (the stub) must show in the reported numbers.

Each test runs the real CLI (Locust and all) against ``ddbbench.stub``, whose latency, stalls
and errors are set by the test.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from ddbbench.stub import StubServer
from tests.conftest import ROOT, run_cli

pytestmark = pytest.mark.e2e


def write_scenarios(tmp_path: Path, **load: Any) -> Path:
    mix = load.pop("mix", {"get_conversation": 1, "query_by_candidate_status": 0,
                           "update_status": 0, "append_message": 0})
    client = load.pop("client", {"max_attempts": 1})
    slo = load.pop("slo", {})
    body = {"dataset": {"seed": 1, "candidates": 50, "conversations": 200},
            "mix": mix, "client": client, "slo": slo,
            "load": {"warmup_requests": 0, "warmup_s": 1, **load}}
    path = tmp_path / "scenarios.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "scenarios": {"t": body}}))
    return path


def run_against(stub: StubServer, scenarios: Path, *extra: str, code: int = 0) -> dict[str, Any]:
    proc = run_cli("run", "--scenarios-file", str(scenarios), "-s", "t", "--target", stub.endpoint,
                   "--skip-load", "--yes", *extra, timeout=180)
    assert proc.returncode == code, proc.stderr[-3000:]
    summary = latest_summary()
    limit, ran = locust_run_time(Path(summary["run_dir"]) / "locust.log")
    # The whole run time, never less: Locust's timer once fired 1.5-5 s early on a busy machine
    # (armed on the gevent loop's stale clock; ddbbench.locust_plugin reads it afresh).
    assert limit - 0.05 <= ran < limit + 3, (limit, ran)
    return summary | {"stderr": proc.stderr}


def locust_run_time(log: Path) -> tuple[float, float]:
    """Locust's --run-time and how long after arming it the limit was reached, from its log."""
    stamps = {}
    for line in log.read_text().splitlines():
        for key in ("Run time limit set to", "--run-time limit reached"):
            if key in line:
                stamps[key] = (datetime.strptime(line[1:24], "%Y-%m-%d %H:%M:%S,%f"), line)
    armed, armed_line = stamps["Run time limit set to"]
    reached, _ = stamps["--run-time limit reached"]
    limit = float(armed_line.split("Run time limit set to ")[1].split()[0])
    return limit, (reached - armed).total_seconds()


def latest_summary() -> dict[str, Any]:
    reports = Path(os.environ["DDBBENCH_REPORTS"])
    run_dir = max(reports.iterdir(), key=lambda p: p.stat().st_mtime)
    return json.loads((run_dir / "summary.json").read_text()) | {"run_dir": str(run_dir)}


def test_an_added_server_delay_shows_in_the_percentiles(isolated_cache: Path, tmp_path: Path) -> None:
    # A p99 of ~240 requests is not judged (it needs 1,000); the p50 (20 needed) is.
    objectives = [{"pattern": "get_conversation", "percentile": p, "threshold_ms": 10} for p in (50, 99)]
    scenarios = write_scenarios(tmp_path, users=2, spawn_rate=2, duration_s=6, rate_per_user=20,
                                slo={"objectives": objectives})
    with StubServer() as stub:
        fast_run = run_against(stub, scenarios)
        stub.configure(delay_ms=20)
        # Asked to check, a completed run that misses its objective (p50 < 10 ms) exits 3.
        slow_run = run_against(stub, scenarios, "--check", code=3)
    assert "objective(s) missed: get_conversation p50" in slow_run["stderr"]
    fast, slow = (r["patterns"]["get_conversation"] for r in (fast_run, slow_run))
    # The stub sleeps 20 ms before every answer: no request can be faster than that.
    assert slow["min_ms"] >= 20.0
    # Every percentile moves by the 20 ms the stub adds, give or take the client's own time,
    # which differs from run to run with what else the machine does (a test on the other core
    # added 5 ms to one run's p90). So the bounds are the ones that hold whatever that time is:
    # - at least 20 ms (exact: the stub sleeps before answering);
    # - under 40 ms: a doubled delay puts every request at 40 ms or more, and the client's own
    #   median and p90 stay far below 20 ms even on a busy 2-core machine (about 1-8 ms here);
    # - a rise over the fast run of at least 20 ms less the worse of the two runs' calibrated
    #   client p99 (at least 3 ms): the rise is the delay, not a slower machine.
    tolerance = max(3.0, max(r["calibration"]["p99_ms"] for r in (fast_run, slow_run)))
    for key in ("p50_ms", "p90_ms"):
        assert 20.0 <= slow[key] < 40.0, (key, slow[key])
        assert slow[key] - fast[key] >= 20.0 - tolerance, (key, fast[key], slow[key], tolerance)
    # The CI gate catches it on real runs: exit 1, one failing JUnit test case. At p50: these
    # short runs have a couple of hundred requests, and the gate judges a p99 only from 1,000.
    # Judged even on a saturated machine (the test suite's other worker, a core burning): a
    # p50 ten times the fast run's is far beyond what a busy machine does to it (see above).
    junit = tmp_path / "gate.xml"
    gate = run_cli("compare", fast_run["run_dir"], slow_run["run_dir"], "--junit", str(junit),
                   "--percentile", "50", "--judge-busy-machine")
    assert gate.returncode == 1, gate.stdout + gate.stderr
    assert 'failures="1"' in junit.read_text()


def test_a_stall_shows_in_open_model_percentiles_and_hides_in_closed(isolated_cache: Path,
                                                                      tmp_path: Path) -> None:
    closed = write_scenarios(tmp_path, users=4, spawn_rate=4, duration_s=9, rate_per_user=25)
    open_ = tmp_path / "open"
    open_.mkdir()
    opened = write_scenarios(open_, model="open", arrival_rate=100, duration_s=9, max_in_flight=256)
    with StubServer() as stub:
        closed_run = stalled_run(stub, closed, after=150)
        open_run = stalled_run(stub, opened, after=250)
    p99_closed, p99_open = (r["patterns"]["get_conversation"] for r in (closed_run, open_run))
    # 1.5 s stall at 100 requests/s: ~150 arrivals of 800 measured wait up to 1.5 s. The open
    # model times them from their intended start; the closed model's 4 users just stop sending,
    # so at most 4 requests see the stall (coordinated omission), however many it sent in all
    # (its count, and so whether 4 requests reach its p99, depends on how busy the machine is:
    # 345 instead of ~800 once, and its p99 was then a stalled request).
    assert p99_open["count"] == 800 and p99_open["p99_ms"] > 1000 and p99_open["p90_ms"] > 200, p99_open
    assert slow_requests(open_run, over_ms=200) >= 100  # ~130: those that arrived in its first 1.3 s
    assert 1 <= slow_requests(closed_run, over_ms=1000) <= 4, p99_closed  # the stall did happen there


def slow_requests(run: dict[str, Any], over_ms: float) -> int:
    """Measured requests slower than ``over_ms``, from the run's raw records."""
    with next((Path(run["run_dir"]) / "requests").glob("*.csv")).open() as f:
        return sum(float(r["latency_us"]) > over_ms * 1000 for r in csv.DictReader(f))


def stalled_run(stub: StubServer, scenarios: Path, after: int) -> dict[str, Any]:
    proc = subprocess.Popen([sys.executable, "-m", "ddbbench.cli", "run", "--scenarios-file",
                             str(scenarios), "-s", "t", "--target", stub.endpoint, "--skip-load", "--yes"],
                            cwd=ROOT, env=dict(os.environ), text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stderr is not None
    for line in proc.stderr:
        if line.startswith("replaying for"):
            break
    # Stall once Locust has sent ``after`` requests: past the 1 s warm-up window and inside the
    # 9 s run however long Locust took to start on a busy machine (the open model's 250 come
    # 2.5 s in; the closed model's 150 from 1.5 s at 100 requests/s to 3.5 s at 43/s).
    start = stub.stats()["requests"]
    deadline = time.monotonic() + 60
    while stub.stats()["requests"] - start < after and time.monotonic() < deadline:
        time.sleep(0.05)
    stub.configure(stall_s=1.5)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-3000:]
    return latest_summary()


def test_error_responses_are_classified(isolated_cache: Path, tmp_path: Path) -> None:
    mix = {"get_conversation": 1, "query_by_candidate_status": 1, "update_status": 1,
           "append_message": 0}
    # Open model: exactly 400 measured arrivals (100/s for 4 s after the 1 s warm-up), about 133
    # per pattern. A closed model's count depends on when its users start: on a saturated
    # machine two users sent 21 measured requests, and a query drew no error at all.
    scenarios = write_scenarios(tmp_path, model="open", arrival_rate=100, duration_s=5,
                                max_in_flight=256, mix=mix)
    errors = [
        {"code": "ProvisionedThroughputExceededException", "rate": 0.3, "operations": ["GetItem"]},
        {"code": "ConditionalCheckFailedException", "rate": 1.0, "operations": ["UpdateItem"]},
        {"code": "InternalServerError", "status": 500, "rate": 0.2, "operations": ["Query"]},
    ]
    with StubServer(errors=errors, seed=3) as stub:
        patterns = run_against(stub, scenarios)["patterns"]
    get, update, query = (patterns[p] for p in ("get_conversation", "update_status",
                                                   "query_by_candidate_status"))
    assert sum(row["count"] for row in patterns.values()) == 400
    assert set(get["outcomes"]) == {"ok", "throttled"}
    # About 4 sigma of a binomial fraction over ~133 requests (0.04 each).
    assert get["outcomes"]["throttled"] / get["count"] == pytest.approx(0.3, abs=0.17)
    assert get["error_codes"] == {"ProvisionedThroughputExceededException": get["outcomes"]["throttled"]}
    assert update["outcomes"] == {"conditional_check_failed": update["count"]}
    assert set(query["outcomes"]) == {"ok", "server_error"}
    assert query["error_codes"] == {"InternalServerError": query["outcomes"]["server_error"]}


def test_sdk_retries_are_counted(isolated_cache: Path, tmp_path: Path) -> None:
    # Open model: exactly 240 measured arrivals (80/s for 3 s after the 1 s warm-up), however
    # long botocore's backoff sleeps make each request. A closed single user sent only a handful
    # in the same time, too few for the fractions below to hold every time.
    scenarios = write_scenarios(tmp_path, model="open", arrival_rate=80, duration_s=4,
                                max_in_flight=256, client={"max_attempts": 3})
    # A fifth of the attempts fail. Not more: botocore's standard retry mode spends 14 units of
    # a 500-unit retry quota per retry and gives one back per first-attempt success, so at half
    # the attempts failing the quota ran dry after ~105 requests and later failures were not
    # retried at all (a run had 28 server errors with no retry). At a fifth it gains 0.13 units
    # per request on average and never runs dry.
    with StubServer(errors=[{"code": "InternalServerError", "status": 500, "rate": 0.2}], seed=5) as stub:
        row = run_against(stub, scenarios)["patterns"]["get_conversation"]
    assert row["count"] == 240, row
    # A request retries 0.2 + 0.04 = 0.24 times on average (sd 0.51): 58 retries expected over
    # 240 requests, the bound is 4 sigma below; 0.8% of requests fail all 3 attempts (2 expected).
    assert row["retries"] > 0.1 * row["count"], row
    assert row["outcomes"]["ok"] > 0.95 * row["count"], row
    assert row["outcomes"]["ok"] + row["outcomes"].get("server_error", 0) == row["count"], row
