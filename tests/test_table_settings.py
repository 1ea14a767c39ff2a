"""Table settings by logical role: validation, and CreateTable arguments on every design."""

from __future__ import annotations

from typing import Any

import pytest

from ddbbench.designs import DESIGNS, table_specs_for
from ddbbench.errors import ConfigError
from ddbbench.scenario import parse_scenarios
from ddbbench.table_settings import describe_specs


def scenario(settings: dict[str, Any], design: str = "seed") -> Any:
    doc = {"version": 1, "scenarios": {"x": {"design": design, "table_settings": settings}}}
    return parse_scenarios(doc)["x"]


PROVISIONED = {"conversations": {"billing_mode": "provisioned", "read_capacity": 20, "write_capacity": 10,
                                 "warm_read_units_per_s": 15000},
               "status_index": {"read_capacity": 5, "write_capacity": 8},
               "events": {"max_write_request_units": 300, "table_class": "STANDARD_INFREQUENT_ACCESS"}}


@pytest.mark.parametrize(("settings", "message"), [
    ({"conversations": {"billing_mode": "reserved"}},
     "scenarios.x.table_settings.conversations.billing_mode: 'reserved' is not a billing mode in "
     "on_demand, provisioned"),
    ({"candidates": {"billing_mode": "provisioned", "read_capacity": 5}},
     "scenarios.x.table_settings.candidates: billing_mode provisioned needs read_capacity and "
     "write_capacity (capacity units >= 1); got 5 and None"),
    ({"events": {"read_capacity": 5, "write_capacity": 5}},
     "scenarios.x.table_settings.events.read_capacity/write_capacity: given on an on-demand table; "
     "allowed only with billing_mode: provisioned"),
    ({"conversations": {"billing_mode": "provisioned", "read_capacity": 1, "write_capacity": 1}},
     "scenarios.x.table_settings.status_index (on the conversations table): billing_mode provisioned "
     "needs read_capacity and write_capacity (capacity units >= 1); got None and None"),
    ({"events": {"table_class": "GLACIER"}},
     "scenarios.x.table_settings.events.table_class: 'GLACIER' is not a table class in STANDARD, "
     "STANDARD_INFREQUENT_ACCESS"),
    ({"events": {"warm_read_units_per_s": 0}},
     "scenarios.x.table_settings.events.warm_read_units_per_s: 0 is not read units per second >= 1"),
    ({"status_index": {"billing_mode": "provisioned"}},
     "scenarios.x.table_settings.status_index.billing_mode: unknown key"),
])
def test_bad_settings_are_refused_naming_the_value(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        scenario(settings)
    assert str(err.value).startswith(message)


def test_settings_reach_create_table_by_role() -> None:
    specs, notes = table_specs_for(scenario(PROVISIONED), on_local=False)
    conv, cand, events = specs
    assert conv["BillingMode"] == "PROVISIONED"
    assert conv["ProvisionedThroughput"] == {"ReadCapacityUnits": 20, "WriteCapacityUnits": 10}
    assert conv["WarmThroughput"] == {"ReadUnitsPerSecond": 15000}
    assert conv["GlobalSecondaryIndexes"][0]["ProvisionedThroughput"] == {"ReadCapacityUnits": 5,
                                                                          "WriteCapacityUnits": 8}
    assert cand["BillingMode"] == "PAY_PER_REQUEST" and "ProvisionedThroughput" not in cand
    assert events["OnDemandThroughput"] == {"MaxWriteRequestUnits": 300}
    assert events["TableClass"] == "STANDARD_INFREQUENT_ACCESS"
    assert notes == []
    rows = describe_specs(specs)
    assert [(r["table"], r["index"], r["billing_mode"]) for r in rows] == [
        ("PoppAIChatConversations", None, "provisioned"),
        ("PoppAIChatConversations", "candidateId-status-index", "provisioned"),
        ("PoppAICandidateProfiles", None, "on_demand"), ("PoppAIEventLog", None, "on_demand")]


def test_dynamodb_local_gets_no_warm_throughput_or_table_class_and_the_manifest_says_so() -> None:
    specs, notes = table_specs_for(scenario(PROVISIONED), on_local=True)
    assert "WarmThroughput" not in specs[0] and "TableClass" not in specs[2]
    assert specs[2]["OnDemandThroughput"] == {"MaxWriteRequestUnits": 300}  # Local keeps it
    assert notes == [
        "table_settings.conversations: warm throughput not sent to DynamoDB Local "
        "(it accepts and ignores it)",
        "table_settings.events: table class STANDARD_INFREQUENT_ACCESS not sent to DynamoDB Local "
        "(it accepts and ignores it)"]


def test_single_table_takes_the_conversations_settings_and_says_what_it_left() -> None:
    specs, notes = table_specs_for(scenario(PROVISIONED, design="single-table"), on_local=False)
    (only,) = specs
    assert only["ProvisionedThroughput"] == {"ReadCapacityUnits": 20, "WriteCapacityUnits": 10}
    assert "OnDemandThroughput" not in only and "TableClass" not in only
    assert notes == ["table_settings.events: not applied; this design keeps events in table "
                     "PoppAIChatConversations, which takes table_settings.conversations"]


@pytest.mark.parametrize("design", list(DESIGNS))
def test_every_design_maps_every_role_and_gives_every_index_capacity(design: str) -> None:
    sc = scenario(PROVISIONED, design=design)
    specs, _ = table_specs_for(sc, on_local=False)
    names = {s["TableName"] for s in specs}
    roles = DESIGNS[design](sc.tables).roles()
    assert set(roles) == {"conversations", "candidates", "events"} and set(roles.values()) <= names
    for spec in specs:
        if spec["BillingMode"] == "PROVISIONED":
            assert all("ProvisionedThroughput" in g for g in spec.get("GlobalSecondaryIndexes", []))
