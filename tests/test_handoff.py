"""The resolved run reaches the replay intact: target, credentials and overrides.

A scenario whose target is ``local`` is run with ``--target`` pointing at the stub: the load
processes must send every request there, signed with the environment's credentials (not
DynamoDB Local's fixed keys), and must replay the overridden duration.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from ddbbench.stub import StubServer
from tests.conftest import run_cli

pytestmark = pytest.mark.e2e

ACCESS_KEY = "AKIAHANDOFFTEST00001"


def local_scenario(tmp_path: Path) -> Path:
    """An open-model scenario whose own target is DynamoDB Local (and whose duration the
    command line overrides)."""
    body = {"target": "local", "dataset": {"seed": 1, "candidates": 50, "conversations": 200},
            "mix": {"get_conversation": 1, "query_by_candidate_status": 0, "update_status": 0,
                    "append_message": 0},
            "client": {"max_attempts": 1},
            "load": {"model": "open", "arrival_rate": 40, "duration_s": 30, "warmup_requests": 10,
                     "warmup_s": 1, "calibration_requests": 0}}
    path = tmp_path / "scenarios.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "scenarios": {"t": body}}))
    return path


@pytest.mark.parametrize("how", ["url", "aws"])
def test_the_replay_goes_where_the_command_line_said(isolated_cache: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "handoff-test-secret")
    with StubServer() as stub:
        if how == "aws":  # boto3's own per-service endpoint variable stands in for the account
            monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", stub.endpoint)
        target = stub.endpoint if how == "url" else "aws"
        proc = run_cli("run", "--scenarios-file", str(local_scenario(tmp_path)), "-s", "t",
                       "--target", target, "--skip-load", "--yes", "--duration", "4", timeout=180)
        assert proc.returncode == 0, proc.stderr[-3000:]
        seen = stub.stats()
    (run_dir,) = (tmp_path / "reports").iterdir()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    summary = json.loads((run_dir / "summary.json").read_text())
    assert manifest["target"]["kind"] == ("endpoint" if how == "url" else "aws")
    assert manifest["target"]["credentials"] == "default-chain"
    assert manifest["scenario"]["load"]["duration_s"] == 4.0
    # The overridden 4 s at 40/s, not the file's 30 s: 160 arrivals, the first second warm-up.
    generator = summary["generator"]
    assert generator["scheduled"] == 160 and generator["warmup_requests"] == 40
    measured = summary["overall"]["count"]
    assert measured == 120
    # Every request of the warm-up, the Locust warm-up window and the measured run reached the
    # stub, signed with the environment's key; none with DynamoDB Local's fixed one.
    assert seen["access_keys"] == {ACCESS_KEY: seen["requests"]}
    assert seen["operations"]["GetItem"] == 10 + 40 + measured
    assert "handoff-test-secret" not in (run_dir / "manifest.json").read_text()
