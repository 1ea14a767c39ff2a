"""ddbbench compare-designs: the comparison's arithmetic, its storage and item-limit rules,
and the command end to end on DynamoDB Local."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from analysis.comparison import DesignComparison
from analysis.designs import (
    pattern_rows,
    per_million,
    storage_per_million_conversations_usd,
    verdicts,
    warnings,
)
from analysis.prices import load_prices
from analysis.summary import GeneratorHealth, PatternSummary, Summary
from datagen.itemsize import MAX_ITEM_BYTES, item_size
from datagen.keyspace import Keyspace
from datagen.model import Conversation, Generator, Message
from ddbbench import local
from ddbbench.compare_designs import messages_to_item_limit, parse_designs, storage_by_rules
from ddbbench.designs import make_design
from ddbbench.errors import ConfigError
from ddbbench.scenario import Dataset, Range, Scenario, Tables
from tests.conftest import run_cli


def pattern(count: int, p99: float, table: float, index: float,
            ci: tuple[float, float] | None = None) -> PatternSummary:
    return PatternSummary(count=count, successful=count, p50_ms=p99 / 2, p99_ms=p99, p99_9_ms=p99,
                          ci={"p99_ms": list(ci) if ci else None}, capacity_per_request=table,
                          index_capacity_per_request=index)


def run(patterns: dict[str, PatternSummary], mix: dict[str, float],
        trustworthy: bool = True) -> dict[str, Any]:
    return {"summary": Summary(patterns=patterns, generator=GeneratorHealth(trustworthy=trustworthy)),
            "manifest": {"scenario": {"mix": mix}}, "dir": "x"}


MIX = {"get_conversation": 3, "append_message": 1}
RUNS = {
    "seed": run({"get_conversation": pattern(100, 8.0, 0.5, 0.0),
                 "append_message": pattern(50, 9.0, 4.0, 4.0)}, MIX),
    "messages-as-items": run({"get_conversation": pattern(100, 10.0, 1.0, 0.0),
                              "append_message": pattern(50, 12.0, 2.0, 1.0)}, MIX),
}


def test_units_per_million_operations_by_hand() -> None:
    rows = pattern_rows(RUNS)
    assert per_million(RUNS, rows) == {
        # 3/4 of operations read 0.5 units, 1/4 write 8 (seed) or 3 (messages-as-items).
        "seed": {"read_units": 375_000, "write_units": 2_000_000},
        "messages-as-items": {"read_units": 750_000, "write_units": 750_000},
    }


def test_on_demand_cost_per_million_operations_by_hand() -> None:
    prices = load_prices()
    cost = per_million(RUNS, pattern_rows(RUNS), prices)
    # Seed: 375,000 read units and 2,000,000 write units per million operations.
    # (rounded to 4 decimals of a dollar)
    assert cost["seed"]["on_demand_usd"] == pytest.approx(
        0.375 * prices.on_demand.read_per_million + 2.0 * prices.on_demand.write_per_million, abs=1e-4)
    assert cost["seed"]["on_demand_usd"] == pytest.approx(0.375 * 0.125 + 2.0 * 0.625, abs=1e-4)
    # 1 KiB per conversation for a million conversations is 0.954 GiB.
    expected = 1e6 * 1024 / 2**30 * 0.25
    assert storage_per_million_conversations_usd(1024, prices) == pytest.approx(expected, abs=1e-4)


def test_cheapest_and_fastest_with_ratios_to_seed() -> None:
    by_pattern = {v.pattern: v for v in verdicts(pattern_rows(RUNS))}
    get, append = by_pattern["get_conversation"], by_pattern["append_message"]
    assert (get.cheapest, get.fastest, get.units_vs_baseline) == ("seed", None, 1.0)
    assert (append.cheapest, append.units) == ("messages-as-items", 3.0)
    assert append.units_vs_baseline == 0.375
    # 50 requests cannot support a p99: no design is named fastest.
    assert (append.fastest, append.p99_vs_baseline) == (None, None)
    assert append.fastest_note == "not enough data (n=50; p99 needs 1,000) for seed"


@pytest.mark.parametrize("seed_ci, other_ci, fastest, note", [
    ((7.0, 9.0), (9.5, 11.0), "seed", ""),
    ((7.0, 9.6), (9.5, 11.0), None, "no difference shown (p99 intervals overlap)"),
    (None, (9.5, 11.0), None, "no difference shown (no confidence interval: runs too short)")])
def test_a_design_is_fastest_only_when_the_intervals_do_not_overlap(
        seed_ci: tuple[float, float] | None, other_ci: tuple[float, float], fastest: str | None,
        note: str) -> None:
    runs = {"seed": run({"get_conversation": pattern(1000, 8.0, 0.5, 0.0, seed_ci)}, MIX),
            "single-table": run({"get_conversation": pattern(1200, 10.0, 0.5, 0.0, other_ci)}, MIX)}
    (v,) = verdicts(pattern_rows(runs))
    assert (v.fastest, v.fastest_note) == (fastest, note)
    assert v.p99_vs_baseline == (1.0 if fastest else None)


def test_unmeasured_and_saturated_designs_are_flagged() -> None:
    runs = {**RUNS, "single-table": run({"get_conversation": pattern(0, 0, 0, 0)}, MIX),
            "sparse-active-index": run({"get_conversation": pattern(5, 1, 0.5, 0)}, MIX, trustworthy=False)}
    said = warnings(runs)
    assert any(w.startswith("single-table: no request was measured") for w in said)
    assert any(w.startswith("sparse-active-index: the load generator was saturated") for w in said)
    assert not any(w.startswith("seed") for w in said)


def test_design_list_is_checked() -> None:
    assert parse_designs("seed, single-table") == ("seed", "single-table")
    with pytest.raises(ConfigError, match=r"--designs: sed is not a list of key designs; known: seed, "):
        parse_designs("sed,single-table")
    with pytest.raises(ConfigError, match="names a design twice"):
        parse_designs("seed,seed")


@pytest.mark.parametrize("name", ["seed", "gsi-status-updated", "single-table", "sparse-active-index"])
def test_item_limit_is_where_the_growing_item_passes_400_kb(name: str) -> None:
    design = make_design(name, Tables())
    msg = Message("candidate", "2026-01-01T00:00:00.000Z", "z" * 250)
    limit = messages_to_item_limit(design, msg)
    assert limit is not None

    def largest(k: int) -> int:
        conv = Conversation("x" * 36, "y" * 36, "JOB-00000000", "COMPLETED", msg.timestamp, (msg,) * k)
        return max(item_size(it) for _, it in design.conversation_items(conv))

    assert largest(limit) <= MAX_ITEM_BYTES < largest(limit + 1)


def test_messages_as_items_has_no_item_limit() -> None:
    design = make_design("messages-as-items", Tables())
    assert messages_to_item_limit(design, Message("candidate", "2026-01-01T00:00:00.000Z", "z" * 250)) is None


def test_storage_by_rules_follows_each_index_projection() -> None:
    ds = Dataset(seed=4, candidates=20, conversations=150, messages=Range(2, 6))
    storage = {d: storage_by_rules(Scenario(name="t", design=d, dataset=ds))
               for d in ("seed", "gsi-status-updated", "sparse-active-index")}
    t = Tables()
    seed = storage["seed"]
    # ALL: the index holds every conversation item again.
    assert seed["indexes"][t.status_index] == seed["tables"][t.conversations]
    assert seed["tables"][t.candidates]["items"] == 20
    # KEYS_ONLY: each entry is the table key and index keys, plus 100 bytes of overhead.
    gen, design = Generator(ds), make_design("gsi-status-updated", t)
    expected = 0
    for i in range(150):
        c = gen.conversation(i)
        expected += item_size({"conversationId": {"S": c.conversationId}, "candidateId": {"S": c.candidateId},
                               "statusUpdated": {"S": f"{c.status}#{c.lastUpdated}"}}) + 100
    assert storage["gsi-status-updated"]["indexes"]["candidateId-statusUpdated-index"] == {
        "items": 150, "bytes": expected}
    # Sparse: only the conversations that are not COMPLETED are in the index.
    ks = Keyspace.of(ds)
    active = sum(ks.conversation(i).status != "COMPLETED" for i in range(150))
    assert storage["sparse-active-index"]["indexes"]["candidateId-activeStatus-index"]["items"] == active
    assert design.table_names() == [t.conversations, t.candidates, t.events]


# --- end to end ----------------------------------------------------------------------------

def write_scenarios(tmp_path: Path, **extra: Any) -> Path:
    body = {"dataset": {"seed": 2, "candidates": 40, "conversations": 200, "messages": {"min": 2, "max": 8}},
            "mix": {"get_conversation": 4, "query_by_candidate_status": 3, "update_status": 1,
                    "append_message": 2},
            "load": {"users": 3, "spawn_rate": 3, "duration_s": 5, "rate_per_user": 10,
                     "warmup_requests": 200, "warmup_s": 1, "calibration_requests": 50}, **extra}
    path = tmp_path / "scenarios.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "scenarios": {"t": body}}))
    return path


@pytest.mark.e2e
def test_compare_designs_end_to_end(ddb_local: local.ServerInfo, isolated_cache: Path,
                                    tmp_path: Path) -> None:
    # The session's DynamoDB Local (a managed one's start and stop are the smoke test's).
    scenarios = write_scenarios(tmp_path)
    proc = run_cli("compare-designs", "--scenarios-file", str(scenarios), "-s", "t",
                   "--designs", "seed,messages-as-items", "--target", ddb_local.endpoint,
                   "--recreate-tables", "--yes", timeout=400)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (root,) = (tmp_path / "reports").iterdir()
    summary = json.loads((root / "comparison.json").read_text())
    assert summary["designs"] == ["seed", "messages-as-items"] and summary["warnings"] == []
    measured = {(r["pattern"], r["design"]) for r in summary["patterns"] if r["count"] > 0}
    assert measured == {(p, d) for p in ("get_conversation", "query_by_candidate_status", "update_status",
                                         "append_message") for d in ("seed", "messages-as-items")}
    for d in ("seed", "messages-as-items"):
        manifest = json.loads((root / "designs" / d / "manifest.json").read_text())
        assert manifest["scenario"]["design"] == d and manifest["status"] == "complete"
    # The growth probe: the seed's append grows with the conversation, messages-as-items' does not.
    seed = [a["wcu"] + a["index_wcu"] for a in summary["append_growth"]["seed"]["appends"]]
    items = [a["wcu"] + a["index_wcu"] for a in summary["append_growth"]["messages-as-items"]["appends"]]
    assert seed[-1] > 5 * seed[0] and seed == sorted(seed)
    assert len(set(items)) == 1
    assert summary["append_growth"]["messages-as-items"]["messages_to_item_limit"] is None
    page = (root / "comparison.html").read_text()
    assert page.count("<img") == 2 and "What this means" in page
    assert "What this means" in proc.stdout


def test_compare_designs_refuses_bad_input_before_running(isolated_cache: Path, tmp_path: Path) -> None:
    scenarios = write_scenarios(tmp_path, keys={"query_statuses": ["ONGOING", "COMPLETED"]})
    proc = run_cli("compare-designs", "--scenarios-file", str(scenarios), "-s", "t",
                   "--designs", "seed,sparse-active-index", timeout=60)
    assert proc.returncode == 2
    assert "COMPLETED cannot be queried on design sparse-active-index" in proc.stderr
    proc = run_cli("compare-designs", "--scenarios-file", str(scenarios), "-s", "t", "--designs", "nope")
    assert proc.returncode == 2 and "--designs: nope is not a list of key designs" in proc.stderr
    assert not (tmp_path / "reports").exists()


def test_the_typed_comparison_reads_back_its_document() -> None:
    rows = pattern_rows(RUNS)
    comparison = DesignComparison({"scenario": "unit", "designs": list(RUNS)}, runs={"seed": "x"},
                                  patterns=rows, per_million_operations=per_million(RUNS, rows),
                                  verdicts=verdicts(rows), warnings=warnings(RUNS))
    doc = json.loads(json.dumps(comparison.to_dict()))
    assert list(doc)[:4] == ["scenario", "designs", "format", "format_version"]
    assert doc["verdicts"][0]["fastest_note"] == "not enough data (n=100; p99 needs 1,000) for seed"
    again = DesignComparison.from_dict(doc)
    assert again == comparison and again.patterns[0].units == 0.5
