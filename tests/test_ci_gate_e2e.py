"""The CI example of docs/ci-gate.md, shortened: two `ci` runs of the same code pass the gate; a
design that adds index writes (single-table against the seed) fails it on capacity."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ddbbench import local
from tests.conftest import run_cli, shipped_scenario

pytestmark = pytest.mark.e2e


def short_ci(tmp_path: Path) -> Path:
    """The shipped `ci` scenario, short and slow (correctness, not sample size, is tested:
    latency is then "not enough data", capacity is judged in full; a rate a loaded machine
    keeps up with after a short warm-up)."""
    # 3 s measured after a 1 s unmeasured window: 150 requests of the seeded sequence.
    return shipped_scenario(tmp_path, "ci", dataset={"candidates": 50, "conversations": 200},
                            warmup_requests=100, arrival_rate=50, calibration_requests=0, warmup_s=1)


def ci_run(tmp_path: Path, scenarios: Path, name: str, target: str, *extra: str) -> Path:
    """One run against the session's DynamoDB Local, its tables loaded afresh."""
    out = tmp_path / name
    proc = run_cli("run", "--scenarios-file", str(scenarios), "-s", "ci", "--duration", "4",
                   "--target", target, "--recreate-tables", "--yes", "--reports-dir", str(out), *extra,
                   timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (run_dir,) = out.iterdir()
    return run_dir


def test_ci_gate_passes_identical_code_and_fails_added_index_writes(
        ddb_local: local.ServerInfo, isolated_cache: Path, tmp_path: Path) -> None:
    scenarios, target = short_ci(tmp_path), ddb_local.endpoint
    base, same = ci_run(tmp_path, scenarios, "base", target), ci_run(tmp_path, scenarios, "same", target)
    single = ci_run(tmp_path, scenarios, "single", target, "--design", "single-table")
    # Seeded and deterministic: the same requests, so the same capacity per request.
    rows = [json.loads((d / "summary.json").read_text())["patterns"] for d in (base, same)]
    for pattern, row in rows[0].items():
        assert row["count"] == rows[1][pattern]["count"], pattern
        assert row["bytes_written"] == rows[1][pattern]["bytes_written"], pattern
    passed = run_cli("compare", str(base), str(same), timeout=120)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "gate: PASS" in passed.stdout and "capacity tolerance ±2.0%" in passed.stdout
    junit = tmp_path / "gate.xml"
    failed = run_cli("compare", str(base), str(single), "--junit", str(junit), timeout=120)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "key design differs: seed -> single-table" in failed.stdout
    cases = ET.parse(junit).getroot().iter("testcase")
    failures = [c.get("name", "") for c in cases if c.find("failure") is not None]
    # GSI1's key carries the time of the change: every status update rewrites its entry.
    assert "capacity update_status: WCU/request on all indexes" in failures, failures
    assert "PoppAIChatConversations/GSI1" in failed.stdout  # shown per index, as information
