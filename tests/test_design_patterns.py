"""Unit tests for the seed key design (ddbbench/design.py) and the access patterns (ddbbench/patterns.py)."""

from __future__ import annotations

import random
import re
from collections import Counter
from typing import Any

import pytest

from datagen.keyspace import Keyspace
from datagen.model import Candidate, Conversation, Generator, Message
from datagen.pools import pools_for
from ddbbench.design import Call, SeedDesign, message_av
from ddbbench.patterns import PatternPicker, RequestFactory, now_iso
from ddbbench.scenario import PATTERNS, STATUSES, Dataset, Mix, Range, Scenario, Tables

NOW = "2026-02-03T04:05:06.789Z"
DATASET = Dataset(seed=5, candidates=40, conversations=300, jobs=6, messages=Range(1, 4))
CONV_ID = "11111111-2222-4333-8444-555555555555"
CAND_ID = "66666666-7777-4888-9999-000000000000"


@pytest.fixture(scope="module")
def design() -> SeedDesign:
    return SeedDesign(Tables())


@pytest.fixture(scope="module")
def factory(design: SeedDesign) -> RequestFactory:
    return RequestFactory(design, Keyspace.of(DATASET), pools_for(DATASET.seed), clock=lambda: NOW)


@pytest.fixture(scope="module")
def keyspace_ids() -> dict[str, Any]:
    ks = Keyspace.of(DATASET)
    convs = [ks.conversation(i) for i in range(DATASET.conversations)]
    return {
        "conversations": {c.conversation_id for c in convs},
        "owner_status": {(ks.candidate_id(c.candidate_index), c.status) for c in convs},
    }


class FixedRandom(random.Random):
    """A Random whose ``random()`` returns a given value (for PatternPicker boundaries)."""

    def __init__(self, value: float) -> None:
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


# --- table specs ---------------------------------------------------------------------------


def test_table_specs_literal(design: SeedDesign) -> None:
    assert design.table_specs() == [
        {
            "TableName": "PoppAIChatConversations",
            "KeySchema": [{"AttributeName": "conversationId", "KeyType": "HASH"}],
            "AttributeDefinitions": [
                {"AttributeName": "conversationId", "AttributeType": "S"},
                {"AttributeName": "candidateId", "AttributeType": "S"},
                {"AttributeName": "status", "AttributeType": "S"},
            ],
            "GlobalSecondaryIndexes": [{
                "IndexName": "candidateId-status-index",
                "KeySchema": [{"AttributeName": "candidateId", "KeyType": "HASH"},
                              {"AttributeName": "status", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "ALL"},
            }],
            "BillingMode": "PAY_PER_REQUEST",
        },
        {
            "TableName": "PoppAICandidateProfiles",
            "KeySchema": [{"AttributeName": "candidateId", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "candidateId", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
        },
    ]


def test_table_specs_follow_configured_names() -> None:
    d = SeedDesign(Tables(conversations="conv-t", status_index="by_status", candidates="cand.t"))
    conv, cand = d.table_specs()
    assert conv["TableName"] == "conv-t"
    assert conv["GlobalSecondaryIndexes"][0]["IndexName"] == "by_status"
    assert cand["TableName"] == "cand.t"
    assert d.get_conversation("c").kwargs["TableName"] == "conv-t"
    assert d.query_by_candidate_status("k", "ONGOING").kwargs["IndexName"] == "by_status"


def test_every_key_attribute_is_defined(design: SeedDesign) -> None:
    for spec in design.table_specs():
        defined = {a["AttributeName"] for a in spec["AttributeDefinitions"]}
        keys = {k["AttributeName"] for k in spec["KeySchema"]}
        for gsi in spec.get("GlobalSecondaryIndexes", []):
            keys |= {k["AttributeName"] for k in gsi["KeySchema"]}
        assert keys == defined  # DynamoDB rejects definitions that no key uses


# --- items ---------------------------------------------------------------------------------


def test_conversation_item_literal(design: SeedDesign) -> None:
    conv = Conversation(
        conversationId=CONV_ID, candidateId=CAND_ID, jobId="JOB-00000001", status="ONGOING",
        lastUpdated="2025-12-01T10:00:05.000Z",
        messages=(Message("system", "2025-12-01T10:00:00.000Z", "Hi"),
                  Message("candidate", "2025-12-01T10:00:05.000Z", "Hello")))
    table, item = design.conversation_item(conv)
    assert table == "PoppAIChatConversations"
    assert item == {
        "conversationId": {"S": CONV_ID},
        "candidateId": {"S": CAND_ID},
        "jobId": {"S": "JOB-00000001"},
        "status": {"S": "ONGOING"},
        "lastUpdated": {"S": "2025-12-01T10:00:05.000Z"},
        "messages": {"L": [
            {"M": {"sender": {"S": "system"}, "timestamp": {"S": "2025-12-01T10:00:00.000Z"},
                   "content": {"S": "Hi"}}},
            {"M": {"sender": {"S": "candidate"}, "timestamp": {"S": "2025-12-01T10:00:05.000Z"},
                   "content": {"S": "Hello"}}},
        ]},
    }


def test_conversation_item_without_messages(design: SeedDesign) -> None:
    conv = Conversation(CONV_ID, CAND_ID, "JOB-1", "CREATED", "2025-12-01T10:00:00.000Z", ())
    assert design.conversation_item(conv)[1]["messages"] == {"L": []}


def test_candidate_item_literal(design: SeedDesign) -> None:
    cand = Candidate(CAND_ID, "+12025550123", "Ada", "Lovelace", "ada.lovelace7@example.com")
    assert design.candidate_item(cand) == ("PoppAICandidateProfiles", {
        "candidateId": {"S": CAND_ID},
        "phoneNumber": {"S": "+12025550123"},
        "firstName": {"S": "Ada"},
        "lastName": {"S": "Lovelace"},
        "emailAddress": {"S": "ada.lovelace7@example.com"},
    })


def test_generated_items_are_typed_dynamodb_json(design: SeedDesign) -> None:
    gen = Generator(DATASET)
    for i in range(50):
        _, item = design.conversation_item(gen.conversation(i))
        assert set(item) == {"conversationId", "candidateId", "jobId", "status", "lastUpdated", "messages"}
        for name in ("conversationId", "candidateId", "jobId", "status", "lastUpdated"):
            assert list(item[name]) == ["S"]
            assert isinstance(item[name]["S"], str)
        assert list(item["messages"]) == ["L"]
        for entry in item["messages"]["L"]:
            assert list(entry) == ["M"]
            assert set(entry["M"]) == {"sender", "timestamp", "content"}
            assert all(list(v) == ["S"] for v in entry["M"].values())
    _, cand = design.candidate_item(gen.candidate(0))
    assert all(list(v) == ["S"] for v in cand.values())


def test_message_av() -> None:
    assert message_av(Message("candidate", "t", "c")) == {
        "M": {"sender": {"S": "candidate"}, "timestamp": {"S": "t"}, "content": {"S": "c"}}}


# --- calls ---------------------------------------------------------------------------------


def test_get_conversation_call(design: SeedDesign) -> None:
    assert design.get_conversation(CONV_ID) == Call("get_item", {
        "TableName": "PoppAIChatConversations",
        "Key": {"conversationId": {"S": CONV_ID}},
        "ReturnConsumedCapacity": "INDEXES",
    })


def test_query_by_candidate_status_call(design: SeedDesign) -> None:
    assert design.query_by_candidate_status(CAND_ID, "COMPLETED") == Call("query", {
        "TableName": "PoppAIChatConversations",
        "IndexName": "candidateId-status-index",
        "KeyConditionExpression": "candidateId = :c AND #s = :s",
        "ExpressionAttributeNames": {"#s": "status"},
        "ExpressionAttributeValues": {":c": {"S": CAND_ID}, ":s": {"S": "COMPLETED"}},
        "ReturnConsumedCapacity": "INDEXES",
    })


def test_update_status_call(design: SeedDesign) -> None:
    assert design.update_status(CONV_ID, "CREATED", NOW) == Call("update_item", {
        "TableName": "PoppAIChatConversations",
        "Key": {"conversationId": {"S": CONV_ID}},
        "UpdateExpression": "SET #s = :s, lastUpdated = :t",
        "ConditionExpression": "attribute_exists(conversationId)",
        "ExpressionAttributeNames": {"#s": "status"},
        "ExpressionAttributeValues": {":s": {"S": "CREATED"}, ":t": {"S": NOW}},
        "ReturnConsumedCapacity": "INDEXES",
    })


def test_append_message_call(design: SeedDesign) -> None:
    msg = Message("candidate", NOW, "Yes, I can start next week.")
    assert design.append_message(CONV_ID, msg) == Call("update_item", {
        "TableName": "PoppAIChatConversations",
        "Key": {"conversationId": {"S": CONV_ID}},
        "UpdateExpression": "SET messages = list_append(messages, :m), lastUpdated = :t",
        "ConditionExpression": "attribute_exists(conversationId)",
        "ExpressionAttributeValues": {
            ":m": {"L": [{"M": {"sender": {"S": "candidate"}, "timestamp": {"S": NOW},
                                "content": {"S": "Yes, I can start next week."}}}]},
            ":t": {"S": NOW}},
        "ReturnConsumedCapacity": "INDEXES",
    })


def test_calls_never_use_a_bare_status_word(design: SeedDesign) -> None:
    # `status` is a DynamoDB reserved word: expressions must refer to it through #s.
    for call in (design.query_by_candidate_status(CAND_ID, "ONGOING"),
                 design.update_status(CONV_ID, "ONGOING", NOW)):
        expression = call.kwargs.get("KeyConditionExpression") or call.kwargs["UpdateExpression"]
        assert "status" not in expression.replace("#s", "")
        assert call.kwargs["ExpressionAttributeNames"] == {"#s": "status"}


def test_call_default_kwargs_are_not_shared() -> None:
    a, b = Call("get_item"), Call("get_item")
    assert a.kwargs == {}
    assert a.kwargs is not b.kwargs


# --- PatternPicker -------------------------------------------------------------------------


def test_picker_weights_respected() -> None:
    picker = PatternPicker(Mix(40, 30, 15, 15))
    assert picker.names == list(PATTERNS)
    assert picker.cumulative == [40.0, 70.0, 85.0, 100.0]
    rng = random.Random(1234)
    n = 20000
    counts = Counter(picker.pick(rng) for _ in range(n))
    assert counts["get_conversation"] / n == pytest.approx(0.40, abs=0.02)
    assert counts["query_by_candidate_status"] / n == pytest.approx(0.30, abs=0.02)
    assert counts["update_status"] / n == pytest.approx(0.15, abs=0.02)
    assert counts["append_message"] / n == pytest.approx(0.15, abs=0.02)


def test_picker_zero_weight_never_drawn() -> None:
    picker = PatternPicker(Mix(get_conversation=1, query_by_candidate_status=0, update_status=3,
                               append_message=0))
    assert picker.names == ["get_conversation", "update_status"]
    rng = random.Random(99)
    counts = Counter(picker.pick(rng) for _ in range(20000))
    assert set(counts) == {"get_conversation", "update_status"}
    assert counts["update_status"] / 20000 == pytest.approx(0.75, abs=0.02)


def test_picker_single_pattern() -> None:
    picker = PatternPicker(Mix(0, 0, 0, 2.5))
    rng = random.Random(0)
    assert {picker.pick(rng) for _ in range(500)} == {"append_message"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.0, "get_conversation"), (0.3999, "get_conversation"), (0.4, "query_by_candidate_status"),
     (0.6999, "query_by_candidate_status"), (0.7, "update_status"), (0.85, "append_message"),
     (0.9999999999, "append_message")],
)
def test_picker_interval_boundaries(value: float, expected: str) -> None:
    assert PatternPicker(Mix(40, 30, 15, 15)).pick(FixedRandom(value)) == expected


def test_picker_is_deterministic_for_a_seed() -> None:
    picker = PatternPicker(Mix())
    a, b = random.Random(7), random.Random(7)
    assert [picker.pick(a) for _ in range(200)] == [picker.pick(b) for _ in range(200)]


# --- RequestFactory ------------------------------------------------------------------------


def test_make_get_conversation(factory: RequestFactory, keyspace_ids: dict[str, Any]) -> None:
    rng = random.Random(1)
    for _ in range(300):
        call = factory.make("get_conversation", rng)
        assert call.operation == "get_item"
        assert call.kwargs["Key"]["conversationId"]["S"] in keyspace_ids["conversations"]


def test_make_query(factory: RequestFactory, keyspace_ids: dict[str, Any]) -> None:
    rng = random.Random(2)
    for _ in range(300):
        call = factory.make("query_by_candidate_status", rng)
        assert call.operation == "query"
        assert call.kwargs["IndexName"] == "candidateId-status-index"
        values = call.kwargs["ExpressionAttributeValues"]
        # The owner and status of a real conversation, so the query finds items.
        assert (values[":c"]["S"], values[":s"]["S"]) in keyspace_ids["owner_status"]


def test_make_update_status(factory: RequestFactory, keyspace_ids: dict[str, Any]) -> None:
    rng = random.Random(3)
    statuses = set()
    for _ in range(300):
        call = factory.make("update_status", rng)
        assert call.operation == "update_item"
        assert call.kwargs["Key"]["conversationId"]["S"] in keyspace_ids["conversations"]
        assert call.kwargs["ExpressionAttributeValues"][":t"] == {"S": NOW}
        statuses.add(call.kwargs["ExpressionAttributeValues"][":s"]["S"])
    assert statuses == set(STATUSES)


def test_make_append_message(factory: RequestFactory, keyspace_ids: dict[str, Any]) -> None:
    rng = random.Random(4)
    senders = set()
    for _ in range(300):
        call = factory.make("append_message", rng)
        assert call.operation == "update_item"
        assert call.kwargs["Key"]["conversationId"]["S"] in keyspace_ids["conversations"]
        values = call.kwargs["ExpressionAttributeValues"]
        assert values[":t"] == {"S": NOW}
        (msg,) = values[":m"]["L"]
        sender = msg["M"]["sender"]["S"]
        senders.add(sender)
        assert msg["M"]["timestamp"] == {"S": NOW}
        pool = factory.pools.system_messages if sender == "system" else factory.pools.candidate_messages
        assert msg["M"]["content"]["S"] in pool
    assert senders == {"system", "candidate"}


def test_make_covers_the_keyspace(factory: RequestFactory, keyspace_ids: dict[str, Any]) -> None:
    rng = random.Random(5)
    seen = {factory.make("get_conversation", rng).kwargs["Key"]["conversationId"]["S"] for _ in range(6000)}
    assert seen == keyspace_ids["conversations"]  # uniform over all 300 conversations


def test_make_is_deterministic_for_a_seed(factory: RequestFactory) -> None:
    a, b = random.Random(11), random.Random(11)
    assert [factory.make(p, a) for p in PATTERNS * 20] == [factory.make(p, b) for p in PATTERNS * 20]


def test_make_unknown_pattern(factory: RequestFactory) -> None:
    with pytest.raises(ValueError, match=r"^unknown pattern 'scan_everything'$"):
        factory.make("scan_everything", random.Random(0))


def test_for_scenario_uses_scenario_tables_and_dataset() -> None:
    sc = Scenario(name="t", dataset=DATASET,
                  tables=Tables(conversations="Convs", status_index="ix_s", candidates="Cands"))
    f = RequestFactory.for_scenario(sc)
    assert f.keys == Keyspace.of(DATASET)
    assert f.pools is pools_for(DATASET.seed)
    call = f.make("query_by_candidate_status", random.Random(0))
    assert call.kwargs["TableName"] == "Convs"
    assert call.kwargs["IndexName"] == "ix_s"


def test_now_iso_format() -> None:
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z", now_iso())
