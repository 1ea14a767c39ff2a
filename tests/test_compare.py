"""The CI regression gate on synthetic runs written by the real recorder."""

from __future__ import annotations

import random
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from analysis.compare import GateResult, Thresholds
from analysis.gate import gate_junit, gate_markdown, gate_table, run_gate
from ddbbench.errors import UnusableInput
from ddbbench.execute import Result
from ddbbench.recorder import Recorder
from ddbbench.rundir import base_manifest, write_manifest
from ddbbench.scenario import Dataset, Scenario
from tests.conftest import run_cli

T0 = 1_790_000_000 * 10**9


def make_run(root: Path, name: str, seed: int, scale: float = 1.0, cpu: float = 30.0,
             scenario: Scenario | None = None, n: int = 6000, index_wcu: float = 2.0) -> Path:
    """60 s of get_conversation and update_status with lognormal latencies (p99 ~ 5 ms);
    update_status writes 1 WCU on the table and ``index_wcu`` on its index."""
    run_dir = root / name
    run_dir.mkdir(parents=True)
    scenario = scenario or Scenario(name="gate")
    write_manifest(run_dir, base_manifest(run_dir, scenario.to_dict(), {"kind": "local"}, "test"))
    rec = Recorder(run_dir, "p0")
    rng = random.Random(seed)
    for k in range(n):
        latency_ms = rng.lognormvariate(0.5, 0.4) * scale
        if k % 3:
            result = Result(T0 + k * 10_000_000, int(latency_ms * 1e6), "ok", capacity=0.5,
                            capacity_by=(("T", 0.5),))
            rec.record("get_conversation", result)
            continue
        result = Result(T0 + k * 10_000_000, int(latency_ms * 1e6), "ok", capacity=1.0,
                        index_capacity=index_wcu, capacity_by=(("T", 1.0), ("T/ix", index_wcu)),
                        items_written=1, bytes_written=80)
        rec.record("update_status", result)
    for _ in range(10):
        rec.sample_cpu(cpu)
    rec.close()
    return run_dir


def gate(base: Path, cand: Path, **kw: Any) -> GateResult:
    return run_gate(base, cand, Thresholds(resamples=300, **kw))


def test_runs_of_the_same_distribution_pass(tmp_path: Path) -> None:
    result = gate(make_run(tmp_path, "a", seed=1), make_run(tmp_path, "b", seed=2))
    assert not result.regression
    for c in result.patterns:
        assert c.ci_low <= 1.0 <= c.ci_high, c  # no detectable change
        assert c.absolute_ms is None  # off by default: CI machines vary
        assert c.percentile == 99.0  # the scenario's objective percentile
    assert result.capacity and not any(r.regression or r.lower for r in result.capacity)


def test_thirty_percent_slower_is_a_regression(tmp_path: Path) -> None:
    result = gate(make_run(tmp_path, "a", seed=1), make_run(tmp_path, "b", seed=2, scale=1.3))
    assert result.regression
    for c in result.patterns:
        assert c.ratio == pytest.approx(1.3, abs=0.1)
        assert c.ci_low > 1.15 and c.regressions and "grew" in c.regressions[0]
    assert "gate: REGRESSION" in gate_table(result)


def test_a_small_slowdown_within_the_allowance_passes(tmp_path: Path) -> None:
    assert not gate(make_run(tmp_path, "a", seed=1), make_run(tmp_path, "b", seed=2, scale=1.05)).regression


def test_absolute_limit(tmp_path: Path) -> None:
    base, cand = make_run(tmp_path, "a", seed=1), make_run(tmp_path, "b", seed=2)
    result = gate(base, cand, absolute_ms=4.0)  # p99 of the candidate is ~5 ms
    assert result.regression
    assert all(any("4 ms limit" in r for r in c.regressions) for c in result.patterns)


def test_incomparable_runs_are_refused(tmp_path: Path) -> None:
    base = make_run(tmp_path, "a", seed=1)
    other = Scenario(name="gate", dataset=Dataset(seed=99))
    with pytest.raises(UnusableInput, match=r"not comparable: scenario\.dataset differs"):
        gate(base, make_run(tmp_path, "b", seed=2, scenario=other))
    saturated = gate(base, make_run(tmp_path, "c", seed=2, cpu=95.0, index_wcu=3.0))
    assert not saturated.patterns and saturated.regression  # latency not judged, capacity is
    assert any("candidate run's load generator was saturated" in n for n in saturated.notes)
    with pytest.raises(UnusableInput, match="not a run directory"):
        gate(base, tmp_path / "missing")


def test_outputs_junit_and_markdown(tmp_path: Path) -> None:
    result = gate(make_run(tmp_path, "a", seed=1), make_run(tmp_path, "b", seed=2, scale=1.4))
    suite = ET.fromstring(gate_junit(result))
    assert suite.get("failures") == "2"
    names = {c.get("name") for c in suite.iter("testcase")}
    assert {"get_conversation", "update_status", "capacity update_status: WCU/request on T/ix",
            "capacity get_conversation: RCU/request on T"} <= names
    assert len(names) == int(suite.get("tests"))
    md = gate_markdown(result)
    assert md.startswith("### ddbbench gate: REGRESSION") and "| get_conversation |" in md


def test_cli_exit_codes(tmp_path: Path) -> None:
    base, same, slow = (make_run(tmp_path, "a", seed=1), make_run(tmp_path, "b", seed=2),
                        make_run(tmp_path, "c", seed=3, scale=1.5))
    junit = tmp_path / "gate.xml"
    assert run_cli("compare", str(base), str(same), timeout=120).returncode == 0
    failed = run_cli("compare", str(base), str(slow), "--junit", str(junit), timeout=120)
    assert failed.returncode == 1 and "REGRESSION" in failed.stdout
    assert ET.parse(junit).getroot().get("failures") == "2"
    more_index = make_run(tmp_path, "d", seed=4, index_wcu=3.0)
    capacity = run_cli("compare", str(base), str(more_index), "--no-latency", timeout=120)
    assert capacity.returncode == 1
    assert "update_status: WCU/request on T/ix 2.00 -> 3.00 (+50%)" in capacity.stdout
    loose = run_cli("compare", str(base), str(more_index), "--no-latency", "--capacity-tolerance", "0.6")
    assert loose.returncode == 0 and "capacity tolerance ±60.0%" in loose.stdout
    # Calibrated on identical baselines: the floor (0.1%), which +50% exceeds.
    calibrated = run_cli("compare", str(base), str(more_index), "--no-latency", "--baselines", str(same))
    assert calibrated.returncode == 1
    assert "calibrated on 2 baselines: 3 x the largest spread 0.000%" in calibrated.stdout
    assert "capacity tolerance ±0.1%" in calibrated.stdout
    unusable = run_cli("compare", str(base), str(tmp_path / "nope"), timeout=60)
    assert unusable.returncode == 2 and unusable.stderr.startswith("ddbbench: error:")
    assert run_cli("compare", str(base), str(same), "--max-increase", "-1").returncode == 2
