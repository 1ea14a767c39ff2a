"""Real tables, safe by construction, through the real CLI against an AWS-compatible server.

moto's server (on 127.0.0.1, a free port, one per test) plays the user's AWS account: it
already holds a FOREIGN table with the production name, one item and the tag
owner=production-team. Whatever the command, that table keeps its item and its tags: with the
default prefix the harness uses tables of its own, and asked for the production names
without a prefix it refuses (exit 2) before writing anything. DynamoDB Local reached through
an endpoint URL (it takes Tags in CreateTable but keeps none) shows the ownership registry
doing the work tags cannot.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto.server import ThreadedMotoServer

from ddbbench import local
from ddbbench.designs import SeedDesign
from ddbbench.ownership import REGISTRY
from ddbbench.scenario import Tables
from tests.conftest import ROOT, run_cli

pytestmark = pytest.mark.e2e

PRODUCTION = "PoppAIChatConversations"


@pytest.fixture
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    # moto keeps its state per Python process, not per server: start from an empty account.
    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST")).close()
    yield url
    server.stop()


def client_for(url: str) -> Any:
    return boto3.client("dynamodb", endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id="ddbbench", aws_secret_access_key="ddbbench")


def make_foreign(client: Any, name: str = PRODUCTION) -> str:
    """The production team's table: the seed's key, no index, one item, their tag."""
    arn = client.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "conversationId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "conversationId", "AttributeType": "S"}],
        Tags=[{"Key": "owner", "Value": "production-team"}])["TableDescription"]["TableArn"]
    client.put_item(TableName=name, Item={"conversationId": {"S": "prod-1"}, "note": {"S": "real"}})
    return str(arn)


def assert_untouched(client: Any, arn: str, name: str = PRODUCTION) -> None:
    items = client.scan(TableName=name)["Items"]  # the test's own check of a one-item table
    assert items == [{"conversationId": {"S": "prod-1"}, "note": {"S": "real"}}]
    tags = client.list_tags_of_resource(ResourceArn=arn)["Tags"]
    assert tags == [{"Key": "owner", "Value": "production-team"}]


def write_scenarios(tmp_path: Path, tables: dict[str, str] | None = None, seed: int = 3) -> Path:
    body: dict[str, Any] = {
        "dataset": {"seed": seed, "candidates": 20, "conversations": 60, "jobs": 5,
                    "messages": {"min": 1, "max": 3}},
        "client": {"max_attempts": 2},
        "load": {"users": 2, "spawn_rate": 2, "duration_s": 5, "rate_per_user": 20,
                 "warmup_requests": 0, "warmup_s": 0, "calibration_requests": 20}}
    if tables:
        body["tables"] = tables
    path = tmp_path / "scenarios.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "scenarios": {"t": body}}))
    return path


def cli(scenarios: Path, url: str, *args: str, code: int = 0) -> str:
    # Consent is not what these tests are about: the commands that spend get --yes.
    spends = ("--yes",) if args[0] in ("load", "run", "knee", "compare-designs") else ()
    proc = run_cli(*args, *spends, "--scenarios-file", str(scenarios), "-s", "t", "--target", url,
                   timeout=240)
    assert proc.returncode == code, proc.stderr[-3000:]
    return proc.stderr + proc.stdout


def tables_of(client: Any) -> set[str]:
    return set(client.list_tables()["TableNames"])


def prefixed(client: Any) -> set[str]:
    return {t for t in tables_of(client) if t.startswith("ddbbench-") and t != REGISTRY}


def test_load_uses_its_own_tables_and_refuses_the_production_names(
        moto_url: str, tmp_path: Path, isolated_cache: Path) -> None:
    client = client_for(moto_url)
    arn = make_foreign(client)
    scenarios = write_scenarios(tmp_path)
    cli(scenarios, moto_url, "load")
    cli(scenarios, moto_url, "load", "--recreate-tables")  # owned tables only
    ours = prefixed(client)
    assert len(ours) == 3 and all(t.endswith(("PoppAIChatConversations", "PoppAICandidateProfiles",
                                               "PoppAIEventLog")) for t in ours)
    (conv,) = [t for t in ours if t.endswith(PRODUCTION)]
    tags = {t["Key"]: t["Value"] for t in client.list_tags_of_resource(
        ResourceArn=client.describe_table(TableName=conv)["Table"]["TableArn"])["Tags"]}
    assert tags["ddbbench:owner"] == "ddbbench"
    assert conv == f"ddbbench-{tags['ddbbench:dataset']}-{PRODUCTION}"
    before = tables_of(client)
    for extra in ((), ("--recreate-tables",)):
        out = cli(scenarios, moto_url, "load", "--table-prefix", "", *extra, code=2)
        assert f"table(s) {PRODUCTION} exist and are not owned by ddbbench" in out
        assert f"ddbbench tables adopt {PRODUCTION} --target {moto_url} --yes" in out
        assert len(out.strip().splitlines()) == 1, out
    assert tables_of(client) == before  # refused before anything was created or written
    assert_untouched(client, arn)


def test_run_knee_and_compare_designs_leave_a_foreign_table_alone(
        moto_url: str, tmp_path: Path, isolated_cache: Path) -> None:
    client = client_for(moto_url)
    arn = make_foreign(client)
    scenarios = write_scenarios(tmp_path)
    no_prefix = ("--table-prefix", "")
    cli(scenarios, moto_url, "run", "--duration", "2", *no_prefix, code=2)
    cli(scenarios, moto_url, "run", "--duration", "2", "--skip-load", *no_prefix, code=2)
    knee = ("knee", "--start", "4", "--step", "4", "--max", "4", "--step-s", "2", "--settle-s", "0")
    cli(scenarios, moto_url, *knee, *no_prefix, code=2)
    designs = ("compare-designs", "--designs", "seed", "--duration", "2", "--recreate-tables")
    cli(scenarios, moto_url, *designs, *no_prefix, code=2)
    assert tables_of(client) == {PRODUCTION}  # nothing created by the refused commands
    reports = Path(os.environ["DDBBENCH_REPORTS"])
    assert not list(reports.rglob("locust.log"))  # nothing replayed either

    out = cli(scenarios, moto_url, "run", "--duration", "2")
    run_dir = Path(out.split("run directory: ")[1].split()[0])
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["scenario"]["tables"]["conversations"].startswith("ddbbench-")
    assert manifest["load"]["verification"]["method"] == "acknowledged counts and spot reads"
    assert manifest["load"]["verification"]["found"] == 20
    cli(scenarios, moto_url, *knee, "--skip-load")  # same dataset: meets the tables run loaded
    cli(scenarios, moto_url, *designs)
    assert_untouched(client, arn)


def test_a_schema_mismatch_is_refused_with_nothing_written(
        moto_url: str, tmp_path: Path, isolated_cache: Path) -> None:
    client = client_for(moto_url)
    wrong = "mine-PoppAIChatConversations"
    client.create_table(TableName=wrong, BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": "conversationId", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "conversationId", "AttributeType": "N"}])
    scenarios = write_scenarios(tmp_path)
    mine = ("--table-prefix", "mine-")
    cli(scenarios, moto_url, "load", *mine, code=2)  # not owned yet: refused first
    cli(scenarios, moto_url, "tables", "adopt", wrong, "--yes")
    for command in (("load",), ("run", "--skip-load", "--duration", "5")):
        out = cli(scenarios, moto_url, *command, *mine, code=2)
        assert "do not match key design seed" in out
        assert f"{wrong}: attribute conversationId is N, the design needs S" in out
        assert f"{wrong}: index candidateId-status-index is missing" in out
    assert tables_of(client) == {wrong, REGISTRY}  # no other table created
    assert client.describe_table(TableName=wrong)["Table"]["ItemCount"] == 0


def interrupted_run_with_teardown(scenarios: Path, url: str) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "ddbbench.cli", "run", "--scenarios-file", str(scenarios),
                             "-s", "t", "--target", url, "--duration", "60", "--teardown", "--yes"],
                            cwd=ROOT, env=dict(os.environ), text=True, stderr=subprocess.PIPE,
                            stdout=subprocess.PIPE, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert proc.stderr is not None
    run_dir = None
    for line in proc.stderr:
        if line.startswith("run directory: "):
            run_dir = Path(line.split(": ", 1)[1].strip())
        if line.startswith("replaying for"):
            break
    assert run_dir is not None
    deadline = time.monotonic() + 60
    log = run_dir / "locust.log"
    spawned = "All users spawned"
    while time.monotonic() < deadline and spawned not in (log.read_text() if log.exists() else ""):
        time.sleep(0.2)
    time.sleep(2)  # something measured: an interrupted run keeps partial results
    os.killpg(proc.pid, signal.SIGINT)  # a terminal's Ctrl-C: the whole group
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "teardown: deleted ddbbench-" in err


def test_teardown_deletes_only_owned_tables(moto_url: str, tmp_path: Path, isolated_cache: Path) -> None:
    client = client_for(moto_url)
    arn = make_foreign(client)
    scenarios = write_scenarios(tmp_path)
    cli(scenarios, moto_url, "run", "--duration", "5", "--teardown")
    assert prefixed(client) == set()  # what the run created is gone again
    interrupted_run_with_teardown(scenarios, moto_url)
    assert prefixed(client) == set()  # also after Ctrl-C
    cli(scenarios, moto_url, "load")
    listed = json.loads(run_cli("tables", "list", "--target", moto_url, check=True).stdout)
    assert {r["tableName"] for r in listed} == prefixed(client) and all(r["owned"] for r in listed)
    assert all(r["items"] > 0 and r["tags"]["ddbbench:owner"] == "ddbbench" for r in listed)
    out = cli(scenarios, moto_url, "tables", "delete", code=2)
    assert "would delete 3 owned table(s)" in out and "--yes" in out
    assert len(prefixed(client)) == 3
    other = listed[0]["dataset"] + "0"
    cli(scenarios, moto_url, "tables", "delete", "--dataset", other, "--yes")
    assert len(prefixed(client)) == 3  # another dataset id: nothing of this one
    cli(scenarios, moto_url, "tables", "delete", "--yes")
    assert tables_of(client) == {PRODUCTION}  # the registry went with its last record
    assert_untouched(client, arn)


def test_adopted_tables_are_used_as_named(moto_url: str, tmp_path: Path, isolated_cache: Path) -> None:
    client = client_for(moto_url)
    specs = SeedDesign(Tables()).table_specs()  # made by the user, e.g. for an S3 import
    for spec in specs:
        client.create_table(**spec)
    client.put_item(TableName=PRODUCTION, Item={"conversationId": {"S": "mine-1"}})
    scenarios = write_scenarios(tmp_path)
    cli(scenarios, moto_url, "load", "--table-prefix", "", code=2)
    out = cli(scenarios, moto_url, "tables", "adopt", *[s["TableName"] for s in specs], code=2)
    assert "pass --yes" in out
    cli(scenarios, moto_url, "tables", "adopt", *[s["TableName"] for s in specs], "--yes")
    cli(scenarios, moto_url, "load", "--table-prefix", "")
    assert client.get_item(TableName=PRODUCTION, Key={"conversationId": {"S": "mine-1"}}).get("Item")
    assert client.describe_table(TableName=PRODUCTION)["Table"]["ItemCount"] == 61


def test_dynamodb_local_keeps_no_tags_and_the_registry_records_ownership(
        ddb_local: local.ServerInfo, tmp_path: Path, isolated_cache: Path) -> None:
    url = ddb_local.endpoint
    client = client_for(url)
    own = f"T{uuid.uuid4().hex[:8]}"
    names = {"conversations": f"{own}Conv", "candidates": f"{own}Cand", "events": f"{own}Ev"}
    arn = client.create_table(
        TableName=names["conversations"], BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "conversationId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "conversationId", "AttributeType": "S"}],
        Tags=[{"Key": "owner", "Value": "production-team"}])["TableDescription"]["TableArn"]
    with pytest.raises(client.exceptions.ClientError, match="Tagging is not currently supported"):
        client.list_tags_of_resource(ResourceArn=arn)
    scenarios = write_scenarios(tmp_path, names, seed=int(uuid.uuid4().int % 10_000))
    cli(scenarios, url, "load", "--table-prefix", "", code=2)  # foreign: no record
    out = cli(scenarios, url, "load")
    assert "20 of 20 sampled items read back" in out
    cli(scenarios, url, "load")  # into the kept tables: the registry says they are ddbbench's
    cli(scenarios, url, "tables", "delete", "--yes")
    assert names["conversations"] in tables_of(client)
    assert not {t for t in tables_of(client) if t.startswith("ddbbench-") and own in t}
    client.delete_table(TableName=names["conversations"])
