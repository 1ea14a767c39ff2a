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
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

from datagen.loader import check_item_limit
from datagen.model import entities
from ddbbench.designs import make_design
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


KINDS = {"candidate": "candidates", "conversation": "conversations", "event": "events"}


def _check_arguments(out: Path, formats: tuple[str, ...]) -> None:
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise ConfigError(f"--format: {','.join(bad) or 'nothing'} is not a format; allowed: "
                          f"{', '.join(FORMATS)}")
    if out.exists() and any(out.iterdir()):
        raise ConfigError(f"--out: {out} is not empty; choose an empty or new folder "
                          "(nothing is overwritten)")


def export_dataset(scenario: Scenario, out: Path, formats: tuple[str, ...] = FORMATS,
                   compress: bool = False, progress: Progress | None = None) -> dict[str, Any]:
    """Write the scenario's dataset under ``out`` (which must be empty or absent): the
    entities as JSON lines, and the items of the scenario's key design as DynamoDB JSON."""
    _check_arguments(out, formats)
    design = make_design(scenario.design, scenario.tables)
    check_item_limit(scenario.dataset, design)
    out.mkdir(parents=True, exist_ok=True)
    if "dynamodb-json" in formats:
        (out / "dynamodb-json").mkdir(exist_ok=True)
    suffix = ".gz" if compress else ""
    counts: dict[str, int] = {}
    total = scenario.dataset.candidates + scenario.dataset.conversations
    done = 0
    with ExitStack() as stack:
        files: dict[str, IO[str]] = {}

        def file(name: str) -> IO[str]:  # opened on first use: a design has its own tables
            if name not in files:
                files[name] = stack.enter_context(_open(out / name, compress))
            return files[name]

        for kind, entity in entities(scenario.dataset):
            counts[KINDS[kind]] = counts.get(KINDS[kind], 0) + 1
            if "jsonl" in formats:
                file(f"{KINDS[kind]}.jsonl{suffix}").write(json.dumps(dataclasses.asdict(entity)) + "\n")
            if "dynamodb-json" in formats:
                for table, item in design.entity_items(kind, entity):
                    file(f"dynamodb-json/{table}.json{suffix}").write(json.dumps({"Item": item}) + "\n")
            if kind != "event":
                done += 1
                if progress is not None:
                    progress(done, total)
        names = sorted(files)
    manifest = {"format": "ddbbench-dataset", "format_version": 2, "scenario": scenario.to_dict(),
                "seed": scenario.dataset.seed, "design": design.name, "files": names,
                "counts": counts}
    (out / "dataset.json").write_text(json.dumps(manifest, indent=2))
    return manifest
