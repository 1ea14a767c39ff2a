"""`python -m benchmarks`: run every benchmark, print a table, save JSON under reports/.

    python -m benchmarks            # everything (about 10 minutes here)
    python -m benchmarks --quick    # small sizes: checks that each runs (minutes)
    python -m benchmarks --full     # also the memory goal as stated: 1,000,000 conversations
                                    # into DynamoDB Local (about half an hour more)
    python -m benchmarks generation loading   # only these
    python -m benchmarks ci_gate --ci-runs 6  # the CI gate's false alarms and power (~20 min)
"""

from __future__ import annotations

import argparse
import json
import operator
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from benchmarks import (
    ci_gate,
    distributed_merge,
    generation,
    lean_client,
    load_memory,
    loading,
    replay_overhead,
)
from ddbbench.paths import reports_dir
from ddbbench.rundir import versions

_OPS = {"<=": operator.le, ">=": operator.ge}
Goals = dict[str, tuple[str, float]]


def plan(quick: bool, full: bool, ci_runs: int = 5) -> dict[str, tuple[Callable[[], dict[str, Any]], Goals]]:
    """Name -> (benchmark, its goals), sized for the mode."""
    if quick:
        return {
            "replay_overhead": (lambda: replay_overhead.run(requests=100, pairs=6), replay_overhead.GOALS),
            "generation": (lambda: generation.run(rounds=2, harness_n=5000, naive_n=250), generation.GOALS),
            "loading": (lambda: loading.run(conversations=300, candidates=60, rounds=1), loading.GOALS),
            "memory_noop": (lambda: load_memory.run("noop", 100_000), load_memory.GOALS),
            "memory_local": (lambda: load_memory.run("local", 5_000), load_memory.GOALS),
            "replay_overhead_lean": (lambda: replay_overhead.run(requests=100, pairs=6, kind="lean"),
                                     replay_overhead.GOALS_LEAN),
            "loading_lean": (lambda: loading.run(conversations=300, candidates=60, rounds=1, kind="lean"),
                             loading.GOALS),
            "distributed_merge": (lambda: distributed_merge.run(requests=300, deltas=5, per_delta=500),
                                  distributed_merge.GOALS),
            "lean_client": (lambda: lean_client.run(requests=200, rounds=2, seconds=3, locust_rounds=1,
                                                    conversations=300, loader_rounds=1), lean_client.GOALS),
            "ci_gate": (lambda: ci_gate.run(runs=2, changed=1, duration=12.0), ci_gate.GOALS),
        }
    chosen: dict[str, tuple[Callable[[], dict[str, Any]], Goals]] = {
        "replay_overhead": (replay_overhead.run, replay_overhead.GOALS),
        "generation": (generation.run, generation.GOALS),
        "loading": (loading.run, loading.GOALS),
        "memory_noop": (lambda: load_memory.run("noop", 1_000_000), load_memory.GOALS),
        "memory_local": (lambda: load_memory.run("local", 100_000), load_memory.GOALS),
        "lean_client": (lean_client.run, lean_client.GOALS),
        "distributed_merge": (distributed_merge.run, distributed_merge.GOALS),
        "replay_overhead_lean": (lambda: replay_overhead.run(requests=600, kind="lean"),
                                 replay_overhead.GOALS_LEAN),
        "loading_lean": (lambda: loading.run(kind="lean"), loading.GOALS),
        "ci_gate": (lambda: ci_gate.run(runs=ci_runs, changed=1), ci_gate.GOALS),
    }
    if full:
        chosen["memory_local_1m"] = (lambda: load_memory.run("local", 1_000_000), load_memory.GOALS)
    return chosen


def report(result: dict[str, Any], goals: Goals) -> list[bool]:
    verdicts = []
    for metric, (op, bound) in goals.items():
        ok = _OPS[op](result[metric], bound)
        verdicts.append(ok)
        print(f"{result['benchmark']:<20} {metric:<28} {result[metric]:>9}  goal {op} {bound:g}  "
              f"{'met' if ok else 'NOT MET'}", flush=True)
    for key, value in result.items():
        if key not in goals and key != "benchmark":
            print(f"{'':<20} {key:<28} {value}", flush=True)
    return verdicts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("only", nargs="*", help="run only these benchmarks")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="small sizes, to check each runs")
    size.add_argument("--full", action="store_true", help="also 1,000,000 conversations into DynamoDB Local")
    parser.add_argument("--ci-runs", type=int, default=5,
                        help="same-code runs of the ci_gate benchmark (pairs: n(n-1)/2; default 5)")
    args = parser.parse_args(argv)
    chosen = plan(args.quick, args.full, args.ci_runs)
    unknown = [name for name in args.only if name not in chosen]
    if unknown:
        parser.error(f"{', '.join(unknown)}: not a benchmark; choose from {', '.join(chosen)}")
    results, verdicts = [], []
    for name, (bench, goals) in chosen.items():
        if args.only and name not in args.only:
            continue
        result = bench()
        results.append(result)
        verdicts += report(result, goals)
    out = reports_dir() / f"benchmarks-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"versions": versions(), "quick": args.quick, "results": results}, indent=2))
    print(f"\nsaved {out}")
    return 0 if all(verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
