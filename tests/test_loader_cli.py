"""`ddbbench load` through the real CLI: Ctrl-C leaves a checkpoint, --resume finishes the
load without rewriting what is done, and nonsense flags are refused."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ddbbench import local
from tests.conftest import ROOT, run_cli

pytestmark = pytest.mark.e2e

SCENARIOS = """
version: 1
scenarios:
  resumable:
    dataset: {seed: 3, candidates: 40, conversations: 1000, jobs: 10, messages: {min: 1, max: 3}}
    loader: {workers: 2, chunk_size: 25}
"""


def _default_sigint() -> None:
    # As in test_e2e: a background job may inherit SIGINT ignored; a terminal's job does not.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _await_checkpoint(folder: Path, proc: subprocess.Popen[str], timeout: float = 60) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = list(folder.glob("*.json")) if folder.exists() else []
        if found:
            return found[0]
        assert proc.poll() is None, "the load ended before any checkpoint was seen"
        time.sleep(0.05)
    raise AssertionError("no checkpoint within the timeout")


def test_ctrl_c_then_resume(ddb_local: local.ServerInfo, isolated_cache: Path, tmp_path: Path) -> None:
    scenarios = tmp_path / "scenarios.yaml"
    scenarios.write_text(SCENARIOS)
    # The session's DynamoDB Local, as a URL target (its own tables: the dataset id's prefix).
    args = ("load", "--scenarios-file", str(scenarios), "--scenario", "resumable",
            "--target", ddb_local.endpoint, "--yes")
    proc = subprocess.Popen([sys.executable, "-m", "ddbbench.cli", *args, "--recreate-tables"], cwd=ROOT,
                            env=dict(os.environ), text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True, preexec_fn=_default_sigint)
    checkpoint = _await_checkpoint(isolated_cache / "load-checkpoints", proc)
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "load interrupted: " in err and "plus --resume" in err and "Traceback" not in err
    done = json.loads(checkpoint.read_text())
    assert 0 < done["chunks_done"] < done["chunks_total"] == 2 + 40  # 40 + 1,000 by 25

    resumed = run_cli(*args, "--resume", check=True)
    stats = json.loads(resumed.stdout)
    assert stats["resumed"] and stats["chunks"]["skipped"] >= done["chunks_done"]
    assert stats["items_written"] == stats["items_total"] - stats["items_skipped"]
    assert stats["verified"] == stats["tables"]  # the whole tables, exactly
    assert "resumed: " in resumed.stderr and not checkpoint.exists()

    again = run_cli(*args, "--resume")
    assert again.returncode == 2 and "no interrupted load into these tables" in again.stderr
    both = run_cli(*args, "--resume", "--recreate-tables")
    assert both.returncode == 2 and "cannot be combined with --recreate-tables" in both.stderr


@pytest.mark.parametrize("value", ["-5", "NaN", "inf", "fast"])
def test_nonsense_rate_caps_are_refused(value: str) -> None:
    proc = run_cli("load", "--scenario", "smoke", "--max-wcu-per-s", value, timeout=60)
    assert proc.returncode == 2
    assert f"argument --max-wcu-per-s: {value} is not a rate per second >= 0 (0 = unlimited)" in proc.stderr
