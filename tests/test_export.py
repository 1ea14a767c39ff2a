"""`ddbbench generate`: dataset files that match the loader's items, deterministic bytes."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
from pathlib import Path

import pytest

from datagen.export import export_dataset
from datagen.model import Generator
from ddbbench.designs import SeedDesign
from ddbbench.errors import ConfigError
from ddbbench.scenario import Dataset, Range, Scenario
from tests.conftest import run_cli

SC = Scenario(name="x", dataset=Dataset(seed=5, candidates=7, conversations=30, messages=Range(1, 4)))


def lines(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def test_files_hold_exactly_the_loaders_items(tmp_path: Path) -> None:
    manifest = export_dataset(SC, tmp_path / "out", compress=True)
    out = tmp_path / "out"
    gen = Generator(SC.dataset)
    events = [e for i in range(30) for e in gen.events(i)]
    assert manifest["counts"] == {"candidates": 7, "conversations": 30, "events": len(events)}
    design = SeedDesign(SC.tables)
    convs = lines(out / "dynamodb-json" / "PoppAIChatConversations.json.gz")
    assert [c["Item"] for c in convs] == [design.conversation_item(gen.conversation(i)) for i in range(30)]
    cands = lines(out / "dynamodb-json" / "PoppAICandidateProfiles.json.gz")
    assert [c["Item"] for c in cands] == [design.candidate_items(gen.candidate(i))[0][1] for i in range(7)]
    evs = lines(out / "dynamodb-json" / "PoppAIEventLog.json.gz")
    assert [e["Item"] for e in evs] == [design.event_items(e)[0][1] for e in events]
    logical = lines(out / "conversations.jsonl.gz")
    assert logical[3] == json.loads(json.dumps(dataclasses.asdict(gen.conversation(3))))
    assert json.loads((out / "dataset.json").read_text())["seed"] == 5


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    def digests(d: Path) -> dict[str, str]:
        return {p.relative_to(d).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(d.rglob("*")) if p.is_file()}

    export_dataset(SC, tmp_path / "a", compress=True)
    export_dataset(SC, tmp_path / "b", compress=True)
    assert digests(tmp_path / "a") == digests(tmp_path / "b")


def test_nothing_is_overwritten_and_formats_are_checked(tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    with pytest.raises(ConfigError, match="is not empty"):
        export_dataset(SC, tmp_path / "full")
    assert (tmp_path / "full" / "keep.txt").read_text() == "mine"
    with pytest.raises(ConfigError, match=r"--format: csv is not a format; allowed: jsonl, dynamodb-json"):
        export_dataset(SC, tmp_path / "new", formats=("csv",))


def test_cli_generate_jsonl_only(tmp_path: Path) -> None:
    out = tmp_path / "data"
    proc = run_cli("generate", "-s", "smoke", "--out", str(out), "--format", "jsonl", timeout=120)
    assert proc.returncode == 0, proc.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == ["candidates.jsonl", "conversations.jsonl", "dataset.json", "events.jsonl"]
    assert len(lines(out / "conversations.jsonl")) == 500
