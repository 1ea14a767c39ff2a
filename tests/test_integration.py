"""Against a real DynamoDB Local: lifecycle, loading, replay and bad endpoints."""

from __future__ import annotations

import json
import random
import socket
from pathlib import Path
from typing import Any

import pytest

from analysis.metrics import summarize
from analysis.rundata import load_run
from datagen.loader import load_dataset
from datagen.model import Generator
from ddbbench import local
from ddbbench.client import Endpoint, check_reachable
from ddbbench.designs import SeedDesign
from ddbbench.errors import BenchError
from ddbbench.replay import ReplayContext
from ddbbench.rundir import base_manifest, write_manifest
from ddbbench.scenario import Client, Dataset, Range, Scenario, Tables
from tests.conftest import run_cli

pytestmark = pytest.mark.integration


def tables_for(tag: str) -> Tables:
    """Table names of the test's own, so tests sharing the server never interfere."""
    return Tables(conversations=f"Conv-{tag}", status_index=f"idx-{tag}", candidates=f"Cand-{tag}",
                  events=f"Ev-{tag}")


SMALL = Dataset(seed=3, candidates=30, conversations=120, jobs=5, messages=Range(1, 4))


def test_server_is_ready_and_answers_dynamodb_calls(ddb_local: local.ServerInfo, ddb_client: Any) -> None:
    assert local.is_ready(ddb_local.endpoint)
    assert ddb_local.in_memory and ddb_local.endpoint.startswith("http://127.0.0.1:")
    assert "TableNames" in ddb_client.list_tables()


def test_load_writes_every_item_exactly_and_reload_is_idempotent(ddb_client: Any) -> None:
    design = SeedDesign(tables_for("load"))
    stats = load_dataset(ddb_client, design, SMALL, workers=3, recreate=True)
    gen = Generator(SMALL)
    events = sum(len(gen.events(i)) for i in range(120))
    assert stats.items_written == stats.items_total == 150 + events
    assert stats.entities_written == 150  # candidates and conversations, each with its events
    assert stats.written == stats.tables and not stats.failed and stats.retried_items == 0
    assert stats.verified == stats.tables == {"Cand-load": 30, "Conv-load": 120, "Ev-load": events}
    [(table, expected)] = design.conversation_items(gen.conversation(17))
    got = ddb_client.get_item(TableName=table, Key={"conversationId": expected["conversationId"]},
                              ConsistentRead=True)["Item"]
    assert got == expected
    [(table, expected)] = design.candidate_items(gen.candidate(4))
    got = ddb_client.get_item(TableName=table, Key={"candidateId": expected["candidateId"]})["Item"]
    assert got == expected
    again = load_dataset(ddb_client, design, SMALL, workers=2, recreate=False)
    assert again.verified == stats.verified  # same seed: same keys overwritten, nothing added


def test_replay_hits_loaded_items_and_records_capacity(ddb_local: local.ServerInfo, ddb_client: Any,
                                                       tmp_path: Path) -> None:
    scenario = Scenario(name="replay", dataset=SMALL, tables=tables_for("replay"))
    load_dataset(ddb_client, SeedDesign(scenario.tables), SMALL, recreate=True)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    write_manifest(run_dir, base_manifest(run_dir, scenario.to_dict(), {"kind": "local"}, "test"))
    ctx = ReplayContext.create(scenario, Endpoint("local", ddb_local.endpoint, "us-east-1"),
                               run_dir, pool_size=2)
    rng = random.Random(1)
    results = [ctx.step(rng) for _ in range(400)]
    ctx.close()
    assert all(r.ok for _, r in results), {r.error_code for _, r in results if not r.ok}
    by_pattern: dict[str, list[Any]] = {}
    for name, r in results:
        by_pattern.setdefault(name, []).append(r)
    assert set(by_pattern) == {"get_conversation", "query_by_candidate_status", "update_status",
                               "append_message"}
    assert all(r.items == 1 and r.capacity > 0 for r in by_pattern["get_conversation"])
    # Queries read the GSI (eventually consistent): capacity is charged to the index.
    queries = by_pattern["query_by_candidate_status"]
    assert sum(r.items for r in queries) > 0
    assert all(r.capacity == 0 and r.index_capacity > 0 for r in queries if r.items)
    # Writes to an item in the GSI (projection ALL) also write the index.
    assert all(r.capacity >= 1 and r.index_capacity >= 1 for r in by_pattern["append_message"])
    summary = summarize(load_run(run_dir))
    assert summary["overall"]["count"] == 400 and summary["overall"]["errors"] == 0
    assert {k: v["count"] for k, v in summary["patterns"].items()} == {
        k: len(v) for k, v in by_pattern.items()}


def test_unreachable_endpoint_is_a_clear_error(ddb_local: local.ServerInfo) -> None:
    port = local.free_port()  # nothing listens there
    with pytest.raises(BenchError, match=rf"cannot reach DynamoDB at http://127.0.0.1:{port}"):
        check_reachable(Endpoint("endpoint", f"http://127.0.0.1:{port}", "us-east-1"), Client())


def test_cli_unreachable_endpoint_fails_in_one_line(isolated_cache: Path) -> None:
    port = local.free_port()
    proc = run_cli("run", "--scenario", "smoke", "--target", f"http://127.0.0.1:{port}", timeout=60)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"ddbbench: error: cannot reach DynamoDB at http://127.0.0.1:{port}")


def test_requested_port_in_use_is_refused(isolated_cache: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("0.0.0.0", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(BenchError, match=rf"port {port} is already in use"):
            local.LocalServer(port=port).start()
        proc = run_cli("local", "start", "--port", str(port), timeout=60)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"port {port} is already in use" in proc.stderr


def test_cli_local_start_status_stop(isolated_cache: Path) -> None:
    started = run_cli("local", "start", check=True)
    info = json.loads(started.stdout)
    try:
        assert local.is_ready(info["endpoint"])
        status = run_cli("local", "status", check=True)
        assert json.loads(status.stdout)["pid"] == info["pid"]
        again = run_cli("local", "start")
        assert again.returncode == 1 and "already running" in again.stderr
    finally:
        stopped = run_cli("local", "stop", check=True)
    assert f"pid {info['pid']}" in stopped.stderr
    assert not local.is_ready(info["endpoint"], timeout=0.5)
    assert run_cli("local", "status").returncode == 1  # not running: failed (errors.EXIT_CODES)
    assert "was not running" in run_cli("local", "stop", check=True).stderr


def test_load_command_needs_a_running_local_server(isolated_cache: Path) -> None:
    proc = run_cli("load", "--scenario", "smoke")
    assert proc.returncode == 1 and "ddbbench local start" in proc.stderr
