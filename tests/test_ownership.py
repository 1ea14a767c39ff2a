"""The pure parts of ownership: the dataset identity and prefix, the schema comparison, the
sample of items a load off DynamoDB Local reads back."""

from __future__ import annotations

import dataclasses
from collections import Counter

import pytest

from datagen.spotcheck import key_of, sample_items
from ddbbench.designs import DESIGNS, SeedDesign
from ddbbench.errors import ConfigError
from ddbbench.ownership import AUTO_PREFIX, dataset_identity, logical_tables
from ddbbench.resolved import Overrides, apply_overrides, redesigned
from ddbbench.scenario import Dataset, Scenario, Tables, load_scenario
from ddbbench.schemacheck import table_differences
from tests.conftest import ROOT

SCENARIOS = ROOT / "scenarios.yaml"


def resolved(name: str, **overrides: str) -> Scenario:
    return apply_overrides(load_scenario(SCENARIOS, name), Overrides(**overrides))


def test_load_and_replay_scenarios_of_one_dataset_meet_in_the_same_tables() -> None:
    smoke = resolved("smoke", target="aws")
    smoke_open = resolved("smoke-open", target="http://127.0.0.1:9")
    assert smoke.tables == smoke_open.tables
    prefix = smoke.tables.prefix
    assert AUTO_PREFIX.match(prefix)
    assert smoke.tables.conversations == f"{prefix}PoppAIChatConversations"
    assert smoke.tables.status_index == "candidateId-status-index"
    # another dataset, design or logical name: other tables
    assert resolved("baseline", target="aws").tables.prefix != prefix
    assert resolved("smoke", target="aws", design="single-table").tables.prefix != prefix


def test_local_keeps_the_names_and_an_explicit_prefix_wins() -> None:
    assert resolved("smoke").tables == Tables()
    assert resolved("smoke", target="aws", table_prefix="").tables == Tables()
    team = resolved("smoke", target="aws", table_prefix="team-").tables
    assert (team.events, team.prefix) == ("team-PoppAIEventLog", "team-")
    with pytest.raises(ConfigError, match="is not a table/index name"):
        resolved("smoke", target="aws", table_prefix="no spaces ")


def test_the_resolution_is_idempotent_and_follows_a_design_change() -> None:
    sc = resolved("smoke", target="aws")
    again = apply_overrides(sc, Overrides())  # e.g. a knee step's scenario.yaml run again
    assert again.tables == sc.tables and logical_tables(sc.tables)["events"] == "PoppAIEventLog"
    other = redesigned(sc, "messages-as-items")
    assert other.tables.prefix != sc.tables.prefix and AUTO_PREFIX.match(other.tables.prefix)
    assert dataset_identity(other) in other.tables.prefix
    fixed = redesigned(resolved("smoke", target="aws", table_prefix=""), "messages-as-items")
    assert fixed.tables == Tables()  # the user's choice of no prefix stays


SPEC = SeedDesign(Tables()).table_specs()[0]


def described(**changes: object) -> dict[str, object]:
    return {**SPEC, **changes}


def test_a_matching_table_has_no_differences_whatever_the_order_of_indexes() -> None:
    for cls in DESIGNS.values():
        for spec in cls(Tables()).table_specs():
            assert table_differences(spec, spec) == []


def test_every_schema_difference_is_named() -> None:
    gsi = SPEC["GlobalSecondaryIndexes"][0]
    table = described(
        KeySchema=[{"AttributeName": "conversationId", "KeyType": "HASH"},
                   {"AttributeName": "lastUpdated", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "conversationId", "AttributeType": "N"},
                              {"AttributeName": "candidateId", "AttributeType": "S"},
                              {"AttributeName": "status", "AttributeType": "S"}],
        GlobalSecondaryIndexes=[{**gsi, "Projection": {"ProjectionType": "KEYS_ONLY"}},
                                {**gsi, "IndexName": "extra"}])
    diffs = table_differences(table, SPEC)
    assert diffs == [
        "PoppAIChatConversations: key (conversationId HASH, lastUpdated RANGE), "
        "the design needs (conversationId HASH)",
        "PoppAIChatConversations: attribute conversationId is N, the design needs S",
        "PoppAIChatConversations: index candidateId-status-index projects KEYS_ONLY, "
        "the design needs ALL",
        "PoppAIChatConversations: has index extra the design does not define (every write would update it)"]
    missing = table_differences(described(GlobalSecondaryIndexes=[]), SPEC)
    assert missing == ["PoppAIChatConversations: index candidateId-status-index is missing"]


def test_spot_reads_sample_every_table_deterministically() -> None:
    dataset = Dataset(seed=5, candidates=30, conversations=90)
    design = SeedDesign(Tables())
    picked = sample_items(design, dataset)
    assert len(picked) == 20 and picked == sample_items(design, dataset)
    per_table = Counter(t for t, _ in picked)
    assert set(per_table) == set(design.table_names()) and min(per_table.values()) >= 5
    other = sample_items(design, dataclasses.replace(dataset, seed=6))
    assert other != picked
    table, item = picked[0]
    assert set(key_of(design, table, item)) == {k["AttributeName"] for k in next(
        s for s in design.table_specs() if s["TableName"] == table)["KeySchema"]}
