"""Peak memory of a loading process, whatever the dataset's size.

The load runs in a child process of its own (so nothing else this benchmark did counts) that
first imports what `ddbbench load` imports (boto3, pandas and matplotlib come with the report
code), then loads the dataset as `ddbbench load` does: streaming generation, 4 writer threads,
a checkpoint. Its peak resident set (``ru_maxrss``) is the figure; the resident set is also
sampled at 0, 10, 50 and 100% of the load, which shows whether memory grows with the data.

Modes:

- ``local``: into a DynamoDB Local of its own (its JVM is a separate process, not counted),
  verifying the counts at the end as a real load does. 1,000,000 conversations take about
  half an hour here (the server holds them in memory: a few GB).
- ``noop``: through a client that accepts every batch at once: generation, sizing, batching,
  threads and checkpointing without a server (what the loader itself holds), in minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

GOALS = {"peak_rss_mb": ("<=", 300.0)}
MB = 1024 * 1024


def dataset_for(conversations: int) -> Any:
    from ddbbench.scenario import Dataset

    # The default scenario's proportions: one candidate per five conversations.
    return Dataset(seed=1, candidates=max(1, conversations // 5), conversations=conversations)


class NullTables:
    """A DynamoDB client that accepts every write and keeps nothing."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def get_paginator(self, op: str) -> Any:
        names = self.names

        class Pager:
            def paginate(self, **_: Any) -> Iterator[dict[str, Any]]:
                yield {"TableNames": sorted(names)}

        return Pager()

    def create_table(self, TableName: str, **_: Any) -> None:
        self.names.add(TableName)

    def describe_table(self, TableName: str) -> dict[str, Any]:
        return {"Table": {"TableStatus": "ACTIVE"}}

    def batch_write_item(self, RequestItems: Any) -> dict[str, Any]:
        return {"UnprocessedItems": {}}


class RssSampler:
    """A progress callback noting the resident set as the load passes 10%, 50% and 100%."""

    def __init__(self) -> None:
        import psutil

        self.process = psutil.Process()
        self.marks = [0.1, 0.5, 1.0]
        self.samples: dict[str, float] = {"0%": self.rss_mb()}

    def rss_mb(self) -> float:
        return round(self.process.memory_info().rss / MB, 1)

    def __call__(self, done: int, total: int, items: int | None = None) -> None:
        while self.marks and done >= self.marks[0] * total:
            self.samples[f"{self.marks.pop(0):.0%}"] = self.rss_mb()


def child(mode: str, conversations: int) -> dict[str, Any]:
    """The load itself (in the child process)."""
    import ddbbench.run  # noqa: F401  what `ddbbench load` imports, so its memory counts
    from datagen.checkpoint import CheckpointFile
    from datagen.loader import described_item_count, load_dataset
    from ddbbench.client import Endpoint, make_client
    from ddbbench.designs import SeedDesign
    from ddbbench.local import LocalServer
    from ddbbench.scenario import Client, Tables

    dataset, design = dataset_for(conversations), SeedDesign(Tables())
    sampler = RssSampler()
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = CheckpointFile(Path(tmp) / "checkpoint.json", "bench")
        if mode == "noop":
            stats = load_dataset(NullTables(), design, dataset, workers=4, verify=False,
                                 checkpoint=checkpoint, progress=sampler)
        else:
            # In memory: with -dbPath, Local commits every batch to disk (about 75 items/s here).
            with LocalServer() as server:
                client = make_client(Endpoint("local", server.endpoint, "us-east-1"), Client(), pool_size=4)
                stats = load_dataset(client, design, dataset, workers=4, recreate=True,
                                     checkpoint=checkpoint, progress=sampler, count=described_item_count)
    return {"peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / MB, 1),
            "rss_mb_at": sampler.samples, "items": stats.items_total,
            "seconds": round(stats.seconds, 1), "items_per_s": round(stats.items_per_s),
            "verified": bool(stats.verified)}


def run(mode: str = "noop", conversations: int = 1_000_000) -> dict[str, Any]:
    """Run the load in a fresh child process; its figures, with the machine's load."""
    load_before = os.getloadavg()[0]
    began = time.perf_counter()
    cmd = [sys.executable, "-m", "benchmarks.load_memory", "--child", mode, str(conversations)]
    proc = subprocess.run(cmd,
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"load_memory child failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"benchmark": f"load_memory_{mode}", "conversations": conversations, **result,
            "wall_s": round(time.perf_counter() - began, 1),
            "load_average_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--child", nargs=2, metavar=("MODE", "CONVERSATIONS"), help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=("noop", "local"), default="noop")
    parser.add_argument("--conversations", type=int, default=1_000_000)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]))))
    else:
        print(json.dumps(run(args.mode, args.conversations), indent=2))


if __name__ == "__main__":
    main()
