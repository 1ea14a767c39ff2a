"""Loading throughput into DynamoDB Local: the harness's loader against a bare parallel
BatchWriteItem loop over the same items with the same number of threads.

The bare loop is what one would write with the items already in memory: batches of 25, a
thread pool, UnprocessedItems resent, nothing else. The harness generates the items as it
goes (streaming: bounded memory), sizes every item, accounts per table, bounds the batches in
flight and keeps a checkpoint. Both write the same dataset into freshly created tables of the
same server, alternating in pairs so that drift hits both alike; the figure is the median of
per-pair ratios. Neither timing includes table creation or the verifying COUNT scan (timed
apart: it is the same for both).

The harness's loader hands the GIL over every 0.5 ms instead of Python's 5 ms while loading
(datagen/loader.py). The goal compares it with the bare loop as one would write it; a third
load, the bare loop with the same interval, is reported beside it.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from datagen.checkpoint import CheckpointFile
from datagen.chunks import BATCH_SIZE, dataset_items
from datagen.loader import SWITCH_INTERVAL_S, load_dataset
from ddbbench.client import Endpoint, make_client
from ddbbench.designs import Design, SeedDesign
from ddbbench.local import LocalServer
from ddbbench.scenario import Client, Dataset, Tables
from ddbbench.tables import count_items, ensure_tables

GOALS = {"throughput_ratio": (">=", 0.9)}


def _bare_batches(dataset: Dataset, design: Design) -> list[dict[str, list[dict[str, Any]]]]:
    """The dataset's items pre-generated, as ready-made BatchWriteItem requests."""
    items = [ti for ti, _ in dataset_items(dataset, design)]
    requests = []
    for start in range(0, len(items), BATCH_SIZE):
        req: dict[str, list[dict[str, Any]]] = {}
        for table, item in items[start:start + BATCH_SIZE]:
            req.setdefault(table, []).append({"PutRequest": {"Item": item}})
        requests.append(req)
    return requests


def _bare_write(client: Any, request: dict[str, list[dict[str, Any]]]) -> None:
    while request:
        request = client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}


def bare_load(client: Any, design: Design, requests: list[dict[str, Any]], workers: int) -> float:
    """Seconds to write the pre-built requests with ``workers`` threads."""
    ensure_tables(client, design.table_specs(), recreate=True)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for _ in pool.map(lambda r: _bare_write(client, r), requests):
            pass
    return time.perf_counter() - started


def harness_load(client: Any, design: Design, dataset: Dataset, workers: int, folder: Path) -> float:
    """Seconds the harness's loader spends writing (as ``ddbbench load`` does, checkpoint kept)."""
    checkpoint = CheckpointFile(folder / "checkpoint.json", "bench")
    stats = load_dataset(client, design, dataset, workers=workers, recreate=True, verify=False,
                         checkpoint=checkpoint)
    return stats.seconds


@contextlib.contextmanager
def _server(endpoint: str | None) -> Iterator[str]:
    if endpoint is not None:
        yield endpoint
    else:
        with LocalServer() as server:
            yield server.endpoint


def bare_load_tuned(client: Any, design: Design, requests: list[dict[str, Any]], workers: int) -> float:
    """The bare loop with the GIL hand-over interval the harness's loader uses."""
    saved = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    try:
        return bare_load(client, design, requests, workers)
    finally:
        sys.setswitchinterval(saved)


def run(conversations: int = 1500, candidates: int = 300, workers: int = 4, rounds: int = 4,
        endpoint: str | None = None, kind: str = "boto3") -> dict[str, Any]:
    """Median over ``rounds`` of (bare, bare tuned, harness) loads, in rotating order, into
    ``endpoint`` (default: a DynamoDB Local of its own), all with the client ``kind``."""
    dataset = Dataset(seed=1, candidates=candidates, conversations=conversations)
    design = SeedDesign(Tables(conversations="BenchConv", status_index="bench-idx",
                               candidates="BenchCand", events="BenchEv"))
    requests = _bare_batches(dataset, design)
    items = sum(len(v) for r in requests for v in r.values())
    load_before = os.getloadavg()[0]
    rows: list[dict[str, tuple[float, float]]] = []
    with _server(endpoint) as url, tempfile.TemporaryDirectory() as tmp:
        client = make_client(Endpoint("local", url, "us-east-1"), Client(kind=kind), pool_size=workers)
        loads = {"bare": lambda: bare_load(client, design, requests, workers),
                 "bare_tuned": lambda: bare_load_tuned(client, design, requests, workers),
                 "harness": lambda: harness_load(client, design, dataset, workers, Path(tmp))}
        loads["bare"]()  # JIT warm-up, not measured
        names = list(loads)
        for k in range(rounds):
            measured = {}
            for name in names[k % 3:] + names[:k % 3]:
                cpu = time.process_time()
                seconds = loads[name]()
                measured[name] = (seconds, time.process_time() - cpu)
            rows.append(measured)
        began = time.perf_counter()
        counted = sum(count_items(client, t) for t in design.table_names())
        count_s = time.perf_counter() - began
    assert counted == items, f"the last load left {counted} items, expected {items}"
    med = statistics.median
    rate = {name: round(med(items / r[name][0] for r in rows)) for name in loads}
    return {
        "benchmark": "loading" if kind == "boto3" else f"loading_{kind}",
        "items": items, "workers": workers, "rounds": rounds,
        "bare_items_per_s": rate["bare"], "harness_items_per_s": rate["harness"],
        "throughput_ratio": round(med(r["bare"][0] / r["harness"][0] for r in rows), 3),
        "bare_tuned_items_per_s": rate["bare_tuned"],
        "ratio_to_tuned_bare": round(med(r["bare_tuned"][0] / r["harness"][0] for r in rows), 3),
        "bare_cpu_us_per_item": round(med(r["bare"][1] for r in rows) / items * 1e6, 1),
        "harness_cpu_us_per_item": round(med(r["harness"][1] for r in rows) / items * 1e6, 1),
        "verify_count_scan_s": round(count_s, 2),
        "load_average_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }
