"""The benchmarks run (tiny sizes; their figures are meaningless here and not checked)."""

from __future__ import annotations

import pytest

from benchmarks import generation, load_memory, loading
from ddbbench import local


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
