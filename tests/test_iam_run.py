"""`ddbbench iam-policy` allows every call a whole run makes, on the resource it names.

Not only the replay's calls (tests/test_spend_cli.py checks those against the stub): loading
creates the tables with their tags and the ownership registry, a run over kept tables checks
their ownership (DescribeTable, the registry, ListTagsOfResource) and schema, and `tables`
lists and deletes them. moto's server stands in for the account; a forwarding proxy in front
of it records every request the command line sends (action and table, index or ARN).
"""

from __future__ import annotations

import http.client
import json
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto.server import ThreadedMotoServer

from tests.conftest import run_cli

pytestmark = pytest.mark.e2e

ACCOUNT, REGION = "123456789012", "us-east-1"  # moto's default account
TABLE_ARN = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/"
MIX = {"get_conversation": 1, "query_by_candidate_status": 1, "update_status": 1, "append_message": 1,
       "batch_get_candidates": 1, "create_conversation": 1, "log_events": 1}
# Provisioned with warm throughput: the table settings' calls are made too.
SETTINGS = {"conversations": {"billing_mode": "provisioned", "read_capacity": 50, "write_capacity": 50,
                              "warm_read_units_per_s": 12000, "warm_write_units_per_s": 4000},
            "status_index": {"read_capacity": 10, "write_capacity": 10}}
Call = tuple[str, str]  # (IAM action, resource ARN or "*")


class _Forward(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as boto3 and the lean client expect
    server: RecordingProxy

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.record(self.headers.get("X-Amz-Target", ""), body)
        upstream = http.client.HTTPConnection(self.server.upstream, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        upstream.request("POST", self.path, body, headers)
        resp = upstream.getresponse()
        data = resp.read()
        upstream.close()
        self.send_response(resp.status)
        for key, value in resp.getheaders():
            if key.lower() not in ("content-length", "connection", "transfer-encoding", "server", "date"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class RecordingProxy(ThreadingHTTPServer):
    """Forwards DynamoDB requests to ``upstream`` (host:port) and keeps (action, resource) of each."""

    daemon_threads = True

    def __init__(self, upstream: str) -> None:
        super().__init__(("127.0.0.1", 0), _Forward)
        self.upstream = upstream
        self.calls: set[Call] = set()
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def record(self, target: str, body: bytes) -> None:
        service, _, action = target.rpartition(".")
        assert service.startswith("DynamoDB_"), f"not a DynamoDB request: {target!r}"
        req = json.loads(body or b"{}")
        calls = {(action, resource) for resource in resources(req)}
        if action == "CreateTable" and req.get("Tags"):  # IAM asks for TagResource too
            calls |= {("TagResource", resource) for resource in resources(req)}
        with self._lock:
            self.calls |= calls


def resources(req: dict[str, Any]) -> list[str]:
    """The ARNs a request acts on, as IAM evaluates it ("*" for a call on no table)."""
    if "RequestItems" in req:
        return [TABLE_ARN + table for table in req["RequestItems"]]
    if "ResourceArn" in req:
        return [req["ResourceArn"]]
    if "TableName" in req:
        index = f"/index/{req['IndexName']}" if "IndexName" in req else ""
        return [TABLE_ARN + req["TableName"] + index]
    return ["*"]


def allowed(policy: dict[str, Any], action: str, resource: str) -> bool:
    return any(f"dynamodb:{action}" in s["Action"] and (s["Resource"] == ["*"] or resource in s["Resource"])
               for s in policy["Statement"] if s["Effect"] == "Allow")


def test_the_resource_of_a_request() -> None:
    assert resources({"TableName": "T", "IndexName": "ix"}) == [TABLE_ARN + "T/index/ix"]
    assert resources({"RequestItems": {"A": [], "B": []}}) == [TABLE_ARN + "A", TABLE_ARN + "B"]
    assert resources({"ResourceArn": TABLE_ARN + "T"}) == [TABLE_ARN + "T"]
    assert resources({}) == ["*"]
    policy = {"Statement": [
        {"Effect": "Allow", "Action": ["dynamodb:GetItem"], "Resource": [TABLE_ARN + "T"]},
        {"Effect": "Allow", "Action": ["dynamodb:ListTables"], "Resource": ["*"]}]}
    assert allowed(policy, "GetItem", TABLE_ARN + "T") and allowed(policy, "ListTables", "*")
    assert not allowed(policy, "GetItem", TABLE_ARN + "T/index/ix")
    assert not allowed(policy, "PutItem", TABLE_ARN + "T")


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch, isolated_cache: Path, tmp_path: Path) -> Iterator[RecordingProxy]:
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    # moto keeps its state per Python process: start from an empty account.
    urllib.request.urlopen(urllib.request.Request(f"http://{host}:{port}/moto-api/reset",
                                                  method="POST")).close()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIAMRUNTEST000001")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "iam-run-test-secret")
    monkeypatch.setenv("DDBBENCH_REPORTS", str(tmp_path / "reports"))
    server = RecordingProxy(f"{host}:{port}")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()
    moto.stop()


def scenarios_file(tmp_path: Path) -> Path:
    body = {"target": "local", "region": REGION,
            "dataset": {"seed": 1, "candidates": 20, "conversations": 60},
            "mix": MIX, "client": {"max_attempts": 1}, "table_settings": SETTINGS,
            "load": {"model": "open", "arrival_rate": 40, "duration_s": 2, "warmup_s": 1,
                     "calibration_requests": 0}}
    path = tmp_path / "scenarios.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "scenarios": {"t": body}}))
    return path


def test_the_policy_allows_every_call_of_a_whole_run(proxy: RecordingProxy, tmp_path: Path) -> None:
    common = ("--scenarios-file", str(scenarios_file(tmp_path)), "-s", "t", "--target", proxy.url)
    # New tables (and the registry), then a run over them (ownership and schema checks, a load
    # into kept tables, the replay), then the tables command lists and deletes them (the empty
    # registry too); last a run that makes its own tables and deletes them at its end.
    for command in (["load", "--yes"], ["run", "--yes"], ["tables", "list"], ["tables", "delete", "--yes"],
                    ["run", "--yes", "--teardown"]):
        proc = run_cli(*command, *common, timeout=180)
        assert proc.returncode == 0, (command, proc.stderr[-3000:])
    left = boto3.client("dynamodb", endpoint_url=f"http://{proxy.upstream}", region_name=REGION).list_tables()
    assert left["TableNames"] == ["ddbbench-ownership"]  # the last run deleted the tables it made
    proc = run_cli("iam-policy", *common, "--account", ACCOUNT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    policy = json.loads(proc.stdout)
    actions = {action for action, _ in proxy.calls}
    # The run really went through the parts beyond the replay.
    assert {"CreateTable", "DescribeTable", "ListTagsOfResource", "DeleteTable",
            "BatchWriteItem", "PutItem", "Scan", "Query", "BatchGetItem"} <= actions, actions
    assert any(r.endswith("table/ddbbench-ownership") for _, r in proxy.calls)
    denied = sorted(call for call in proxy.calls if not allowed(policy, *call))
    assert denied == []
