"""Spending off DynamoDB Local through the real command line (#12 items 3, 4, 5, 7, 9).

moto's server stands in for an AWS account (the control plane: tables, billing modes, warm
throughput); the project's stub answers the replay with ConsumedCapacity (1 unit a request),
counts every operation and the access keys that signed them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto.server import ThreadedMotoServer

from datagen.loader import described_item_count, load_dataset
from ddbbench.client import Endpoint, make_client
from ddbbench.designs import make_design, table_specs_for
from ddbbench.iam import iam_policy
from ddbbench.scenario import Client, load_scenario
from ddbbench.stub import StubServer
from tests.conftest import ROOT, run_cli

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("spend_cli")]  # one moto server, one stub run

SECRET = "ddbbenchPLANTEDsecretKEY0123456789abcdef"  # recognisable anywhere it leaks
ACCESS_KEY = "AKIASPENDTEST0000001"
ALL_PATTERNS = {"get_conversation": 1, "query_by_candidate_status": 1, "update_status": 1,
                "append_message": 1, "batch_get_candidates": 1, "create_conversation": 1, "log_events": 1}
SETTINGS = {"conversations": {"billing_mode": "provisioned", "read_capacity": 7, "write_capacity": 3,
                              "warm_read_units_per_s": 12000, "warm_write_units_per_s": 4000},
            "status_index": {"read_capacity": 2, "write_capacity": 2}}


def scenarios_file(tmp_path: Path, **load: Any) -> Path:
    body = {"target": "local", "dataset": {"seed": 1, "candidates": 20, "conversations": 60},
            "mix": ALL_PATTERNS, "client": {"max_attempts": 1}, "table_settings": SETTINGS,
            "load": {"model": "open", "arrival_rate": 40, "duration_s": 3, "warmup_s": 1,
                     "calibration_requests": 0, **load}}
    path = tmp_path / "scenarios.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "scenarios": {"t": body}}))
    return path


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def moto(moto_url: str, monkeypatch: pytest.MonkeyPatch, isolated_cache: Path) -> Iterator[Any]:
    """A client of moto's server, with no table before or after the test."""
    # moto keeps its state per Python process, not per server: other test modules' moto
    # servers (tests/test_real_tables.py) leave tables in it. Start from an empty account.
    urllib.request.urlopen(urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST")).close()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    client = boto3.client("dynamodb", endpoint_url=moto_url, region_name="us-east-1")
    yield client
    for name in client.list_tables()["TableNames"]:
        client.delete_table(TableName=name)


@pytest.mark.parametrize("command", [["run"], ["load"], ["knee", "--start", "10", "--step", "10",
                                                            "--max", "20", "--step-s", "2"],
                                     ["compare-designs", "--designs", "seed,single-table",
                                      "--recreate-tables"]])
def test_without_yes_nothing_is_created(moto: Any, moto_url: str, tmp_path: Path, command: list[str]) -> None:
    proc = run_cli(*command, "--scenarios-file", str(scenarios_file(tmp_path)), "-s", "t",
                   "--target", moto_url, timeout=120)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Cost preview" in proc.stderr and "as of 2024-11-01" in proc.stderr
    assert "ddbbench: error: not confirmed" in proc.stderr
    assert moto.list_tables()["TableNames"] == []
    assert not (tmp_path / "reports").exists()


def test_dry_run_shows_the_preview_alone(moto: Any, moto_url: str, tmp_path: Path) -> None:
    proc = run_cli("run", "--scenarios-file", str(scenarios_file(tmp_path)), "-s", "t",
                   "--target", moto_url, "--dry-run", timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    err = proc.stderr
    assert "PoppAIChatConversations: provisioned, 7 RCU / 3 WCU" in err
    assert "PoppAIChatConversations index candidateId-status-index: provisioned, 2 RCU / 2 WCU" in err
    assert "warm-up: 0 requests" in err  # warmup_requests unset: 0 off DynamoDB Local
    assert "replay: 120 requests over 3s" in err
    assert "price: ~$" in err and "ddbbench: dry run: nothing was created or sent" in err
    assert moto.list_tables()["TableNames"] == []


def test_max_cost_below_the_plan_is_refused(moto: Any, moto_url: str, tmp_path: Path) -> None:
    proc = run_cli("load", "--scenarios-file", str(scenarios_file(tmp_path)), "-s", "t",
                   "--target", moto_url, "--yes", "--max-cost", "0.0001", timeout=120)
    assert proc.returncode == 2
    assert "ddbbench: error: --max-cost 0.0001: the plan costs ~$" in proc.stderr
    assert moto.list_tables()["TableNames"] == []


def test_an_unpaced_run_needs_a_cap(moto: Any, moto_url: str, tmp_path: Path) -> None:
    path = scenarios_file(tmp_path, model="closed", users=2, rate_per_user=0)
    proc = run_cli("run", "--scenarios-file", str(path), "-s", "t", "--target", moto_url, "--yes",
                   timeout=120)
    assert proc.returncode == 2 and "has no bound off DynamoDB Local" in proc.stderr
    assert moto.list_tables()["TableNames"] == []


def test_table_settings_reach_the_server(moto: Any, moto_url: str, tmp_path: Path) -> None:
    proc = run_cli("load", "--scenarios-file", str(scenarios_file(tmp_path)), "-s", "t",
                   "--target", moto_url, "--yes", timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    # Off DynamoDB Local the harness's tables carry its dataset prefix (ddbbench-<id>-...).
    names = {n.rsplit("-", 1)[-1]: n for n in moto.list_tables()["TableNames"] if n.startswith("ddbbench-")}
    table = moto.describe_table(TableName=names["PoppAIChatConversations"])["Table"]
    assert table["ProvisionedThroughput"]["ReadCapacityUnits"] == 7
    assert table["ProvisionedThroughput"]["WriteCapacityUnits"] == 3
    assert table["WarmThroughput"]["ReadUnitsPerSecond"] == 12000
    assert table["GlobalSecondaryIndexes"][0]["ProvisionedThroughput"]["WriteCapacityUnits"] == 2
    events = moto.describe_table(TableName=names["PoppAIEventLog"])["Table"]
    assert events["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"


def test_the_loader_calls_only_what_the_policy_allows(moto: Any, moto_url: str, tmp_path: Path) -> None:
    sc = load_scenario(scenarios_file(tmp_path), "t")
    client = make_client(Endpoint("endpoint", moto_url, "us-east-1"), Client())
    called: set[str] = set()
    client.meta.events.register("before-call.dynamodb", lambda model, **_: called.add(model.name))
    specs, _ = table_specs_for(sc, on_local=False)
    load_dataset(client, make_design(sc.design, sc.tables), sc.dataset, table_specs=specs,
                 count=described_item_count)  # a load verified without a Scan (#12 item 8)
    policy = iam_policy(sc, "123456789012", "us-east-1")
    allowed = {a.split(":")[1] for s in policy["Statement"] if s["Sid"] in ("Load", "ListTables")
               for a in s["Action"]}
    assert called and called <= allowed, called - allowed


@pytest.fixture(scope="module")
def stub_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One replay against the stub with a planted secret key in the environment."""
    tmp = tmp_path_factory.mktemp("stub-run")
    env_before = dict(os.environ)
    os.environ.update(AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET,
                      DDBBENCH_REPORTS=str(tmp / "reports"))
    try:
        with StubServer() as stub:
            proc = run_cli("run", "--scenarios-file", str(scenarios_file(tmp)), "-s", "t",
                           "--target", stub.endpoint, "--skip-load", "--yes", timeout=180)
            seen = stub.stats()
    finally:
        os.environ.clear()
        os.environ.update(env_before)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (run_dir,) = (tmp / "reports").iterdir()
    yield {"proc": proc, "run_dir": run_dir, "seen": seen, "scenarios": scenarios_file(tmp)}


def test_no_secret_in_any_output(stub_run: dict[str, Any]) -> None:
    proc, run_dir = stub_run["proc"], stub_run["run_dir"]
    assert stub_run["seen"]["access_keys"] == {ACCESS_KEY: stub_run["seen"]["requests"]}  # it was used
    assert SECRET not in proc.stdout + proc.stderr
    files = [p for p in run_dir.rglob("*") if p.is_file()]
    assert len(files) > 5
    for path in files:
        assert SECRET.encode() not in path.read_bytes(), path
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["target"]["credentials"] == "default-chain" and manifest["target"]["profile"] is None
    assert manifest["preview"]["prices_as_of"] == "2024-11-01" and manifest["preview"]["cost_usd"] > 0
    assert [p["name"] for p in manifest["preview"]["phases"]] == ["warm-up", "replay"]  # --skip-load


def test_the_policy_covers_every_action_called_and_nothing_more(stub_run: dict[str, Any]) -> None:
    proc = run_cli("iam-policy", "--scenarios-file", str(stub_run["scenarios"]), "-s", "t",
                   "--account", "123456789012", timeout=60)
    assert proc.returncode == 0, proc.stderr
    policy = json.loads(proc.stdout)
    assert policy["Version"] == "2012-10-17"
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    for s in policy["Statement"]:
        if s["Resource"] == ["*"]:  # the one wildcard: actions IAM cannot scope to a table
            assert s["Sid"] == "ListTables" and s["Action"] == ["dynamodb:ListTables"]
        else:
            assert all(r.startswith("arn:aws:dynamodb:us-east-1:123456789012:table/") for r in s["Resource"])
    replay = {a.split(":")[1] for sid, s in by_sid.items() if sid.startswith("Replay") for a in s["Action"]}
    called = set(stub_run["seen"]["operations"])
    # The replay (--skip-load) called ListTables (the reachability check) and the patterns' calls.
    assert called == replay | {"ListTables"}
    index_arns = [r for s in by_sid.values() for r in s["Resource"] if "/index/" in r]
    assert index_arns == ["arn:aws:dynamodb:us-east-1:123456789012:table/PoppAIChatConversations/index/"
                          "candidateId-status-index"]


def test_a_cap_stops_the_replay_with_partial_results_marked(tmp_path: Path, isolated_cache: Path) -> None:
    with StubServer() as stub:  # 1 unit per request (2 for a chained create, 1 per table of a batch)
        # 30 s asked for; the cap is spent in about 2: the run ends there, not at its run time.
        proc = run_cli("run", "--scenarios-file", str(scenarios_file(tmp_path, duration_s=30)), "-s", "t",
                       "--target", stub.endpoint, "--skip-load", "--yes", "--max-request-units", "200",
                       timeout=180)
        sent = stub.stats()["requests"]
    assert proc.returncode == 0, proc.stderr[-3000:]
    (run_dir,) = (tmp_path / "reports").iterdir()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    summary = json.loads((run_dir / "summary.json").read_text())
    assert manifest["status"] == "stopped_by_cap" and summary["stopped_by_cap"] is True
    assert manifest["request_units"]["replay_per_process"] == 200
    assert "stopped by the request-unit cap" in proc.stderr
    assert "WARNING: stopped by the request-unit cap" in proc.stdout
    # 40 arrivals a second (those of the first second unmeasured), about 3 units each on
    # average; the process stopped once 200 units were spent, and the run with it.
    units = json.loads(next((run_dir / "histograms").glob("*.json")).read_text())["extra"]["request_units"]
    assert units["exhausted"] is True and 200 <= units["used"] < 260  # requests in flight finish
    assert sent < 100 and 0 < summary["overall"]["count"] < 80
    assert (run_dir / "report.html").exists()
    assert "--run-time limit reached" not in (run_dir / "locust.log").read_text(errors="replace")
    assert summary["duration_s"] < 10  # its measured seconds: not idle ones after the cap


def test_plain_locust_refuses_to_start_off_local_without_ddb_yes(moto: Any, moto_url: str,
                                                                  tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "locust", "-f", str(ROOT / "locustfiles" / "dynamodb_patterns.py"),
           "--headless", "-u", "1", "-r", "1", "-t", "2s", "--ddb-scenarios-file",
           str(scenarios_file(tmp_path)), "--ddb-scenario", "t", "--ddb-target", moto_url]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          env=dict(os.environ))
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Cost preview" in proc.stderr and "replay: 120 requests over 3s" in proc.stderr
    assert "ddbbench: error: not confirmed: off DynamoDB Local this spends on your account; pass --ddb-yes" \
        in proc.stderr
    assert moto.list_tables()["TableNames"] == []


def test_a_named_profile_reaches_the_load_processes(tmp_path: Path, isolated_cache: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    creds = tmp_path / "credentials"
    creds.write_text(f"[bench]\naws_access_key_id = AKIAPROFILEKEY000001\naws_secret_access_key = {SECRET}\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    path = scenarios_file(tmp_path, duration_s=2)
    proc = run_cli("run", "--scenarios-file", str(path), "-s", "t", "--target", "http://127.0.0.1:9",
                   "--profile", "nope", "--yes", timeout=60)
    assert proc.returncode == 2 and "--profile: 'nope' is not a profile of the AWS config; known: bench" \
        in proc.stderr
    with StubServer() as stub:
        proc = run_cli("run", "--scenarios-file", str(path), "-s", "t", "--target", stub.endpoint,
                       "--skip-load", "--yes", "--profile", "bench", timeout=180)
        seen = stub.stats()
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert seen["access_keys"] == {"AKIAPROFILEKEY000001": seen["requests"]} and seen["requests"] > 40
    (run_dir,) = (tmp_path / "reports").iterdir()
    target = json.loads((run_dir / "manifest.json").read_text())["target"]
    assert (target["profile"], target["credentials"]) == ("bench", "profile bench")
    assert not any(SECRET.encode() in p.read_bytes() for p in run_dir.rglob("*") if p.is_file())
