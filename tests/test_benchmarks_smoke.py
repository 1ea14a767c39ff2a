"""The benchmarks run (tiny sizes; their figures are meaningless here and not checked)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import ci_gate, generation, load_memory, loading, replay_overhead
from ddbbench import local
from tests.test_compare import make_run


def test_generation_benchmark_runs() -> None:
    result = generation.run(rounds=1, harness_n=200, naive_n=20)
    assert result["harness_conversations_per_s"] > 0 and result["naive_conversations_per_s"] > 0
    assert set(generation.GOALS) <= set(result)


@pytest.mark.integration
def test_loading_benchmark_runs(ddb_local: local.ServerInfo) -> None:
    result = loading.run(conversations=40, candidates=8, rounds=1, endpoint=ddb_local.endpoint)
    assert result["items"] > 48 and result["throughput_ratio"] > 0
    assert set(loading.GOALS) <= set(result)


def test_memory_benchmark_runs_in_a_child_process() -> None:
    result = load_memory.run("noop", 300)
    assert result["peak_rss_mb"] > 0 and set(result["rss_mb_at"]) == {"0%", "10%", "50%", "100%"}
    assert result["items"] > 300 + 60


def test_ci_gate_benchmark_reads_the_gate_verdicts(tmp_path: Path) -> None:
    """Its plumbing only (the runs themselves take minutes: `python -m benchmarks.ci_gate --quick`):
    compare two runs through the command line and read the failed checks from the JUnit file."""
    base, more_index = make_run(tmp_path, "a", seed=1), make_run(tmp_path, "b", seed=1, index_wcu=3.0)
    same = ci_gate.compare(base, base, tmp_path / "same.xml")
    assert same["exit"] == 0 and same["failed"] == []
    changed = ci_gate.compare(base, more_index, tmp_path / "changed.xml")
    assert changed["exit"] == 1
    assert "capacity update_status: WCU/request on T/ix" in changed["failed"]
    assert ci_gate._rate([same, changed]) == 0.5


def test_replay_overhead_benchmark_runs_in_a_locust_process() -> None:
    """Its loops in a gevent-patched child process with Locust's statistics; the child checks
    that every measured request reached them."""
    result = replay_overhead.run(requests=20, pairs=2, kind="lean")
    assert result["locust_process"] is True and result["bare_cpu_us_per_request"] > 0
    assert set(replay_overhead.GOALS_LEAN) <= set(result)
