"""Resumable loads: which chunks of a dataset are written, kept in a small JSON file.

A load is split into chunks (datagen/loader.py: ``plan_chunks``); a chunk is recorded only
when every item of it is written, so a checkpoint never claims more than the table holds.
Chunks complete out of order (parallel writers): the file keeps a low-water mark below which
all are done, plus the done ones above it.

The file lives in the cache folder (``ddbbench.paths.cache_dir()/load-checkpoints/``), named
after the target and the design's tables: a load into the same tables of the same target
finds it, whatever the run or working directory. It also records what was being loaded (the
dataset's settings, design, chunk size, Faker version): resuming with anything else would mix
two datasets in one table and is refused. A completed load deletes its checkpoint.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from ddbbench.errors import ConfigError
from ddbbench.paths import cache_dir
from ddbbench.scenario import Dataset

FORMAT = "ddbbench-load-checkpoint"
FORMAT_VERSION = 1
# Bump when the generator's output for a seed changes: a resumed load must not mix versions.
GENERATOR_VERSION = 1


def identity(dataset: Dataset, design: str, tables: list[str], chunk_size: int) -> dict[str, Any]:
    """What a checkpoint belongs to: two loads with the same identity write the same items."""
    settings = json.loads(json.dumps(dataclasses.asdict(dataset)))
    return {"design": design, "tables": sorted(tables), "chunk_size": chunk_size,
            "generator_version": GENERATOR_VERSION, "faker": version("faker"), "dataset": settings,
            "dataset_hash": hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]}


def differences(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    """Where two identities differ, as ``key: old (checkpoint) vs new (now)`` lines."""
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if key == "dataset_hash" or a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            out += differences(a, b, f"{prefix}{key}.")
        else:
            out.append(f"{prefix}{key}: {a!r} in the checkpoint, {b!r} now")
    return out


@dataclass
class LoadState:
    """Progress of one load: the chunks done and what they hold (for counting and verifying
    the whole table after a resumed load without regenerating what is done)."""

    identity: dict[str, Any]
    chunks_total: int
    fresh_tables: bool  # the load created the tables empty: verify counts exactly
    done: set[int] = field(default_factory=set)
    items: Counter[str] = field(default_factory=Counter)  # per table, in done chunks
    bytes: Counter[str] = field(default_factory=Counter)
    max_item: dict[str, int] = field(default_factory=dict)
    entities: int = 0  # candidates and conversations in done chunks

    def complete(self, chunk_id: int, items: Counter[str], sizes: Counter[str],
                 max_item: dict[str, int], entities: int) -> None:
        self.done.add(chunk_id)
        self.items.update(items)
        self.bytes.update(sizes)
        for table, size in max_item.items():
            self.max_item[table] = max(self.max_item.get(table, 0), size)
        self.entities += entities

    @property
    def finished(self) -> bool:
        return len(self.done) == self.chunks_total

    def to_json(self) -> dict[str, Any]:
        low = 0
        while low in self.done:
            low += 1
        return {"format": FORMAT, "format_version": FORMAT_VERSION,
                "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "identity": self.identity, "chunks_total": self.chunks_total,
                "chunks_done": len(self.done), "done_below": low,
                "done_above": sorted(c for c in self.done if c > low),
                "fresh_tables": self.fresh_tables, "items": dict(self.items), "bytes": dict(self.bytes),
                "max_item": self.max_item, "entities": self.entities}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> LoadState:
        done = set(range(doc["done_below"])) | set(doc["done_above"])
        return cls(identity=doc["identity"], chunks_total=doc["chunks_total"],
                   fresh_tables=doc["fresh_tables"], done=done, items=Counter(doc["items"]),
                   bytes=Counter(doc["bytes"]), max_item=dict(doc["max_item"]), entities=doc["entities"])


def checkpoint_path(target: str, tables: list[str], root: Path | None = None) -> Path:
    """The checkpoint file of a load into ``tables`` at ``target`` (an endpoint URL, or
    ``local:REGION`` / ``aws:REGION``)."""
    key = hashlib.sha256(json.dumps([target, sorted(tables)]).encode()).hexdigest()[:16]
    first = sorted(tables)[0] if tables else "tables"
    return (root or cache_dir() / "load-checkpoints") / f"{first}-{key}.json"


class CheckpointFile:
    """Reads and atomically writes one checkpoint; writes at most every ``every_s`` seconds
    unless forced (a chunk is about a second of writing: the file would otherwise be rewritten
    constantly on a fast target)."""

    def __init__(self, path: Path, target: str, every_s: float = 1.0) -> None:
        self.path = path
        self.target = target
        self.every_s = every_s
        self._last = -float("inf")

    def read(self) -> LoadState | None:
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise ConfigError(f"--resume: cannot read the checkpoint {self.path} ({exc}); delete it "
                              "and load without --resume") from None
        kind = (doc.get("format"), doc.get("format_version")) if isinstance(doc, dict) else None
        if kind != (FORMAT, FORMAT_VERSION):
            raise ConfigError(f"--resume: {self.path} is not a version-{FORMAT_VERSION} load checkpoint; "
                              "delete it and load without --resume")
        try:
            return LoadState.from_json(doc)
        except (KeyError, TypeError) as exc:
            raise ConfigError(f"--resume: the checkpoint {self.path} is incomplete (missing {exc}); "
                              "delete it and load without --resume") from None

    def save(self, state: LoadState, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < self.every_s:
            return
        self._last = now
        self.path.parent.mkdir(parents=True, exist_ok=True)
        doc = {**state.to_json(), "target": self.target}
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(doc, indent=1), encoding="utf-8")
        os.replace(tmp, self.path)  # atomic: a reader sees the old file or the new one, whole

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def resume_state(file: CheckpointFile, wanted: dict[str, Any]) -> LoadState:
    """The checkpoint's state, if it belongs to the dataset being loaded; else a ConfigError."""
    state = file.read()
    if state is None:
        raise ConfigError(f"--resume: no interrupted load into these tables at {file.target} to "
                          f"resume (no checkpoint {file.path}); load without --resume")
    diff = differences(state.identity, wanted)
    if diff:
        raise ConfigError(f"--resume: the checkpoint {file.path} is for another dataset ("
                          + "; ".join(diff) + "); resuming would mix two datasets in one table. "
                          "Load without --resume to start over (same keys are overwritten)")
    return state
