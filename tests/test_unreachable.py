"""A target that stops answering mid-run: the replay stops early, says since when, is marked
untrustworthy and `ddbbench run` exits 1 after writing the report; the live progress line
shows while the run lasts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from ddbbench.stub import StubServer
from tests.conftest import ROOT

pytestmark = pytest.mark.e2e


def scenario(tmp_path: Path) -> Path:
    body = {"dataset": {"seed": 1, "candidates": 50, "conversations": 200},
            "mix": {"get_conversation": 3, "query_by_candidate_status": 1, "update_status": 0,
                    "append_message": 0},
            "load": {"model": "open", "arrival_rate": 40, "duration_s": 60, "warmup_requests": 0,
                     "warmup_s": 1, "calibration_requests": 0}}
    path = tmp_path / "scenarios.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "scenarios": {"t": body}}))
    return path


def test_a_run_whose_target_stops_answering_stops_early_and_exits_1(
        isolated_cache: Path, tmp_path: Path) -> None:
    with StubServer() as stub:
        proc = subprocess.Popen([sys.executable, "-m", "ddbbench.cli", "run", "--scenarios-file",
                                 str(scenario(tmp_path)), "-s", "t", "--target", stub.endpoint,
                                 "--skip-load", "--yes"], cwd=ROOT, env=dict(os.environ), text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stderr is not None
        seen = []
        for line in proc.stderr:  # the live progress, one line per update (not a terminal)
            seen.append(line)
            if line.startswith("replay ") and " p99 " in line:
                break
        stopped_at = time.time()
        stub.stop()  # connections refused from now on
    _, err = proc.communicate(timeout=120)
    err = "".join(seen) + err
    assert proc.returncode == 1, err[-3000:]
    progress = next(line for line in seen if line.startswith("replay "))
    assert "/60s (" in progress and "requests" in progress and "get_conversation" in progress
    assert "the target stopped answering at" in err and "Traceback" not in err
    assert "SLO NOT MET" in err  # the summary table is shown before the error
    (run_dir,) = (tmp_path / "reports").iterdir()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    summary = json.loads((run_dir / "summary.json").read_text())
    assert manifest["status"] == "unreachable"
    since = manifest["unreachable"]["since_unix_s"]
    assert stopped_at - 1.0 < since < stopped_at + 2.0  # when the stub went, not when it was noticed
    assert manifest["unreachable"]["detected_unix_s"] - since >= 5.0
    gen = summary["generator"]
    assert gen["unreachable_since_unix_s"] == pytest.approx(since, abs=1e-3)
    assert gen["trustworthy"] is False
    assert summary["duration_s"] < 30  # stopped early, not after the 60 s asked for
    assert summary["overall"]["errors"] > 0
    assert summary["slo"]["verdicts"] and not any(v["met"] for v in summary["slo"]["verdicts"])
    assert "WARNING: the target stopped answering at" in (run_dir / "summary.md").read_text()
    assert (run_dir / "report.html").exists()
