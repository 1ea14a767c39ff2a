"""Writing a dataset to files: JSON lines (the logical entities) and DynamoDB JSON (the format
of DynamoDB's import from S3: one ``{"Item": {...}}`` per line, a file per table).

Streams item by item (bounded memory whatever the size), and is byte-for-byte deterministic
for a seed: gzip members carry no timestamp.
"""

from __future__ import annotations

import dataclasses
import gzip
import io
import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

from datagen.loader import check_item_limit
from datagen.model import Generator
from ddbbench.design import SeedDesign
from ddbbench.errors import ConfigError
from ddbbench.scenario import Scenario

FORMATS = ("jsonl", "dynamodb-json")
Progress = Callable[[int, int], None]


def _open(path: Path, compress: bool) -> IO[str]:
    if not compress:
        return open(path, "w", encoding="utf-8", newline="\n")
    # mtime=0: no timestamp in the header, so the same seed gives the same bytes. Given the
    # file name (not a file object), GzipFile owns and closes the file.
    raw = gzip.GzipFile(filename=str(path), mode="wb", mtime=0)
    return io.TextIOWrapper(raw, encoding="utf-8", newline="\n")


def _entities(scenario: Scenario) -> Iterator[tuple[str, Any]]:
    gen = Generator(scenario.dataset)
    for c in range(scenario.dataset.candidates):
        yield "candidates", gen.candidate(c)
    for i in range(scenario.dataset.conversations):
        yield "conversations", gen.conversation(i)


def export_dataset(scenario: Scenario, out: Path, formats: tuple[str, ...] = FORMATS,
                   compress: bool = False, progress: Progress | None = None) -> dict[str, Any]:
    """Write the scenario's dataset under ``out`` (which must be empty or absent)."""
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise ConfigError(f"--format: {','.join(bad) or 'nothing'} is not a format; allowed: "
                          f"{', '.join(FORMATS)}")
    if out.exists() and any(out.iterdir()):
        raise ConfigError(f"--out: {out} is not empty; choose an empty or new folder "
                          "(nothing is overwritten)")
    design = SeedDesign(scenario.tables)
    check_item_limit(scenario.dataset, design)
    out.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if compress else ""
    tables = {"candidates": scenario.tables.candidates, "conversations": scenario.tables.conversations}
    names = {}
    for kind in ("candidates", "conversations"):
        if "jsonl" in formats:
            names[("jsonl", kind)] = f"{kind}.jsonl{suffix}"
        if "dynamodb-json" in formats:
            names[("dynamodb-json", kind)] = f"dynamodb-json/{tables[kind]}.json{suffix}"
    if "dynamodb-json" in formats:
        (out / "dynamodb-json").mkdir(exist_ok=True)
    total = scenario.dataset.candidates + scenario.dataset.conversations
    with ExitStack() as stack:
        files = {key: stack.enter_context(_open(out / name, compress)) for key, name in names.items()}
        for n, (kind, entity) in enumerate(_entities(scenario), start=1):
            if ("jsonl", kind) in files:
                files[("jsonl", kind)].write(json.dumps(dataclasses.asdict(entity)) + "\n")
            if ("dynamodb-json", kind) in files:
                item = (design.candidate_item(entity) if kind == "candidates"
                        else design.conversation_item(entity))[1]
                files[("dynamodb-json", kind)].write(json.dumps({"Item": item}) + "\n")
            if progress is not None:
                progress(n, total)
    manifest = {"format": "ddbbench-dataset", "format_version": 1, "scenario": scenario.to_dict(),
                "seed": scenario.dataset.seed, "files": sorted(names.values()),
                "counts": {"candidates": scenario.dataset.candidates,
                           "conversations": scenario.dataset.conversations}}
    (out / "dataset.json").write_text(json.dumps(manifest, indent=2))
    return manifest
