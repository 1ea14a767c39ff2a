"""Unit tests for the seed key design (designs/seed.py) and the access patterns (ddbbench/patterns/)."""

from __future__ import annotations

import random
import re
from collections import Counter
from typing import Any

import pytest

from datagen.keyspace import Keyspace
from datagen.model import Candidate, Conversation, Generator, Message
from datagen.pools import pools_for
from ddbbench.designs import Call, SeedDesign, message_av
from ddbbench.keydist import Hotspot, Latest, Uniform, Zipfian
from ddbbench.patterns import NEXT_STATUS, ConversationState, PatternPicker, RequestFactory, now_iso
from ddbbench.scenario import (
    PATTERNS,
    STATUSES,
    Dataset,
    KeyChoice,
    Keys,
    Mix,
    Range,
    Scenario,
    Tables,
)

NOW = "2026-02-03T04:05:06.789Z"
DATASET = Dataset(seed=5, candidates=40, conversations=300, jobs=6, messages=Range(1, 4))
CONV_ID = "11111111-2222-4333-8444-555555555555"
CAND_ID = "66666666-7777-4888-9999-000000000000"


@pytest.fixture(scope="module")
def design() -> SeedDesign:
    return SeedDesign(Tables())


def make_factory(dataset: Dataset = DATASET, keys: Keys | None = None, salt: int = 0) -> RequestFactory:
    """A factory over ``dataset`` with a fixed clock; each one has its own ConversationState."""
    # All statuses queryable, so a query asks for its drawn conversation's own status.
    scenario = Scenario(name="t", dataset=dataset, keys=keys or Keys(query_statuses=STATUSES))
    return RequestFactory(scenario, SeedDesign(Tables()), Keyspace.of(dataset), pools_for(dataset.seed),
                          salt=salt, clock=lambda: NOW)


@pytest.fixture
def factory() -> RequestFactory:
    # Function scope: update_status and create_conversation change the factory's state.
    return make_factory()


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
        {
            "TableName": "PoppAIEventLog",
            "KeySchema": [{"AttributeName": "conversationId", "KeyType": "HASH"},
                          {"AttributeName": "eventKey", "KeyType": "RANGE"}],
            "AttributeDefinitions": [{"AttributeName": "conversationId", "AttributeType": "S"},
                                     {"AttributeName": "eventKey", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
        },
    ]


def test_table_specs_follow_configured_names() -> None:
    d = SeedDesign(Tables(conversations="conv-t", status_index="by_status", candidates="cand.t",
                          events="ev_t"))
    conv, cand, events = d.table_specs()
    assert events["TableName"] == "ev_t"
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
    [(table, item)] = design.conversation_items(conv)
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
    assert design.conversation_item(conv)["messages"] == {"L": []}


def test_candidate_item_literal(design: SeedDesign) -> None:
    cand = Candidate(CAND_ID, "+12025550123", "Ada", "Lovelace", "ada.lovelace7@example.com")
    assert design.candidate_items(cand) == [("PoppAICandidateProfiles", {
        "candidateId": {"S": CAND_ID},
        "phoneNumber": {"S": "+12025550123"},
        "firstName": {"S": "Ada"},
        "lastName": {"S": "Lovelace"},
        "emailAddress": {"S": "ada.lovelace7@example.com"},
    })]


def test_generated_items_are_typed_dynamodb_json(design: SeedDesign) -> None:
    gen = Generator(DATASET)
    for i in range(50):
        item = design.conversation_item(gen.conversation(i))
        assert set(item) == {"conversationId", "candidateId", "jobId", "status", "lastUpdated", "messages"}
        for name in ("conversationId", "candidateId", "jobId", "status", "lastUpdated"):
            assert list(item[name]) == ["S"]
            assert isinstance(item[name]["S"], str)
        assert list(item["messages"]) == ["L"]
        for entry in item["messages"]["L"]:
            assert list(entry) == ["M"]
            assert set(entry["M"]) == {"sender", "timestamp", "content"}
            assert all(list(v) == ["S"] for v in entry["M"].values())
    [(_, cand)] = design.candidate_items(gen.candidate(0))
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


def test_batch_get_candidates_call(design: SeedDesign) -> None:
    other = "abcdefab-1234-4567-89ab-cdefabcdef01"
    assert design.batch_get_candidates([CAND_ID, other]) == Call("batch_get_item", {
        "RequestItems": {"PoppAICandidateProfiles": {
            "Keys": [{"candidateId": {"S": CAND_ID}}, {"candidateId": {"S": other}}]}},
        "ReturnConsumedCapacity": "INDEXES",
    })


def test_batch_get_candidates_call_follows_configured_table() -> None:
    d = SeedDesign(Tables(candidates="cand.t"))
    assert d.batch_get_candidates([CAND_ID]).kwargs["RequestItems"] == {
        "cand.t": {"Keys": [{"candidateId": {"S": CAND_ID}}]}}


def test_create_conversation_call(design: SeedDesign) -> None:
    conv = Conversation(CONV_ID, CAND_ID, "JOB-00000042", "CREATED", NOW,
                        (Message("system", NOW, "Welcome!"),))
    assert design.create_conversation(conv) == Call("put_item", {
        "TableName": "PoppAIChatConversations",
        "Item": {
            "conversationId": {"S": CONV_ID},
            "candidateId": {"S": CAND_ID},
            "jobId": {"S": "JOB-00000042"},
            "status": {"S": "CREATED"},
            "lastUpdated": {"S": NOW},
            "messages": {"L": [{"M": {"sender": {"S": "system"}, "timestamp": {"S": NOW},
                                      "content": {"S": "Welcome!"}}}]},
        },
        "ConditionExpression": "attribute_not_exists(conversationId)",
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
    assert picker.names == list(PATTERNS[:4])  # the other patterns default to weight 0
    assert picker.cumulative == [40.0, 70.0, 85.0, 100.0]
    rng = random.Random(1234)
    n = 20000
    counts = Counter(picker.pick(rng) for _ in range(n))
    assert counts["get_conversation"] / n == pytest.approx(0.40, abs=0.02)
    assert counts["query_by_candidate_status"] / n == pytest.approx(0.30, abs=0.02)
    assert counts["update_status"] / n == pytest.approx(0.15, abs=0.02)
    assert counts["append_message"] / n == pytest.approx(0.15, abs=0.02)


def test_picker_all_six_patterns() -> None:
    picker = PatternPicker(Mix(30, 20, 15, 15, 10, 10))
    assert picker.names == ["get_conversation", "query_by_candidate_status", "update_status",
                            "append_message", "batch_get_candidates", "create_conversation"]
    assert picker.cumulative == [30.0, 50.0, 65.0, 80.0, 90.0, 100.0]
    assert picker.pick(FixedRandom(0.85)) == "batch_get_candidates"
    assert picker.pick(FixedRandom(0.9)) == "create_conversation"
    assert picker.pick(FixedRandom(0.9999999999)) == "create_conversation"
    rng = random.Random(8)
    counts = Counter(picker.pick(rng) for _ in range(20000))
    assert counts["batch_get_candidates"] / 20000 == pytest.approx(0.10, abs=0.02)
    assert counts["create_conversation"] / 20000 == pytest.approx(0.10, abs=0.02)


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


def test_query_asks_for_active_statuses_by_default(keyspace_ids: dict[str, Any]) -> None:
    f = make_factory(keys=Keys())
    assert Keys().query_statuses == ("CREATED", "ONGOING")
    ks = f.keys
    owners = {ks.candidate_id(ks.conversation(i).candidate_index) for i in range(DATASET.conversations)}
    rng = random.Random(8)
    asked = Counter()
    for _ in range(600):
        values = f.make("query_by_candidate_status", rng).kwargs["ExpressionAttributeValues"]
        assert values[":c"]["S"] in owners  # the owner of a drawn conversation
        asked[values[":s"]["S"]] += 1
    assert set(asked) == {"CREATED", "ONGOING"}


def test_make_update_status(factory: RequestFactory, keyspace_ids: dict[str, Any]) -> None:
    ks = Keyspace.of(DATASET)
    index_of = {ks.conversation(i).conversation_id: i for i in range(DATASET.conversations)}
    expected = {i: ks.conversation(i).status for i in range(DATASET.conversations)}  # loaded statuses
    rng = random.Random(3)
    statuses = set()
    touched = set()
    for _ in range(300):
        call = factory.make("update_status", rng)
        assert call.operation == "update_item"
        conversation_id = call.kwargs["Key"]["conversationId"]["S"]
        assert conversation_id in keyspace_ids["conversations"]
        assert call.kwargs["ExpressionAttributeValues"][":t"] == {"S": NOW}
        status = call.kwargs["ExpressionAttributeValues"][":s"]["S"]
        # Each update moves the conversation one step along CREATED -> ONGOING -> COMPLETED.
        i = index_of[conversation_id]
        assert status == NEXT_STATUS[expected[i]]
        expected[i] = status
        touched.add(i)
        statuses.add(status)
    assert statuses == {"ONGOING", "COMPLETED"}  # an update never moves a conversation back to CREATED
    assert factory.state.status == {i: expected[i] for i in touched}


def test_next_status_is_the_lifecycle() -> None:
    assert NEXT_STATUS == {"CREATED": "ONGOING", "ONGOING": "COMPLETED", "COMPLETED": "COMPLETED"}
    assert tuple(NEXT_STATUS) == STATUSES


@pytest.mark.parametrize(
    ("seed", "loaded", "updates"),
    [
        (0, "CREATED", ["ONGOING", "COMPLETED", "COMPLETED"]),
        (1, "ONGOING", ["COMPLETED", "COMPLETED", "COMPLETED"]),
        (4, "COMPLETED", ["COMPLETED", "COMPLETED", "COMPLETED"]),
    ],
)
def test_update_status_follows_lifecycle_and_query_uses_current_status(
        seed: int, loaded: str, updates: list[str]) -> None:
    # One conversation: every request is forced onto it.
    dataset = Dataset(seed=seed, candidates=3, conversations=1, jobs=2, messages=Range(1, 2))
    f = make_factory(dataset)
    ks = Keyspace.of(dataset)
    conv = ks.conversation(0)
    owner = ks.candidate_id(conv.candidate_index)
    assert conv.status == loaded
    rng = random.Random(0)

    def query_status() -> str:
        values = f.make("query_by_candidate_status", rng).kwargs["ExpressionAttributeValues"]
        assert values[":c"] == {"S": owner}
        return values[":s"]["S"]

    assert query_status() == loaded
    seen = []
    for _ in range(3):
        call = f.make("update_status", rng)
        assert call.kwargs["Key"] == {"conversationId": {"S": conv.conversation_id}}
        seen.append(call.kwargs["ExpressionAttributeValues"][":s"]["S"])
    assert seen == updates
    assert f.state.current_status(0) == updates[-1]
    assert query_status() == updates[-1]


def test_query_follows_updates_over_the_keyspace(factory: RequestFactory) -> None:
    rng = random.Random(21)
    for _ in range(600):
        factory.make("update_status", rng)
    ks = factory.keys
    owners = {}
    for i in range(DATASET.conversations):
        owners.setdefault((ks.candidate_id(ks.conversation(i).candidate_index),
                           factory.state.current_status(i)), i)
    for _ in range(300):
        values = factory.make("query_by_candidate_status", rng).kwargs["ExpressionAttributeValues"]
        assert (values[":c"]["S"], values[":s"]["S"]) in owners
    assert "CREATED" not in {factory.state.status[i] for i in factory.state.status}


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
        pool = factory.pools.system_messages if sender == "system" else factory.candidate_messages
        assert msg["M"]["content"]["S"] in pool
    assert senders == {"system", "candidate"}


def test_make_covers_the_keyspace(factory: RequestFactory, keyspace_ids: dict[str, Any]) -> None:
    rng = random.Random(5)
    seen = {factory.make("get_conversation", rng).kwargs["Key"]["conversationId"]["S"] for _ in range(6000)}
    assert seen == keyspace_ids["conversations"]  # uniform over all 300 conversations


def test_make_is_deterministic_for_a_seed() -> None:
    # Two factories: the state one factory builds up changes later requests of that factory.
    fa, fb = make_factory(salt=77), make_factory(salt=77)
    a, b = random.Random(11), random.Random(11)
    assert [fa.make(p, a) for p in PATTERNS * 20] == [fb.make(p, b) for p in PATTERNS * 20]
    assert fa.state.status == fb.state.status
    assert fa.state.created == fb.state.created == 20


def test_make_unknown_pattern(factory: RequestFactory) -> None:
    with pytest.raises(ValueError, match=r"^unknown pattern 'scan_everything'$"):
        factory.make("scan_everything", random.Random(0))


def test_create_conversation_creates_distinct_new_conversations(keyspace_ids: dict[str, Any]) -> None:
    f = make_factory(salt=1000)
    ks = Keyspace.of(DATASET)
    rng = random.Random(13)
    calls = [f.make("create_conversation", rng) for _ in range(3)]
    ids = [c.kwargs["Item"]["conversationId"]["S"] for c in calls]
    # Indices n + salt + k: 300 + 1000 + 0, 1, 2.
    assert ids == [ks.conversation(i).conversation_id for i in (1300, 1301, 1302)]
    assert len(set(ids)) == 3
    assert not set(ids) & keyspace_ids["conversations"]
    for i, call in zip((1300, 1301, 1302), calls, strict=True):
        k = ks.conversation(i)
        assert call.operation == "put_item"
        assert call.kwargs["TableName"] == "PoppAIChatConversations"
        assert call.kwargs["ConditionExpression"] == "attribute_not_exists(conversationId)"
        item = call.kwargs["Item"]
        assert item["status"] == {"S": "CREATED"}
        assert item["candidateId"] == {"S": ks.candidate_id(k.candidate_index)}
        assert item["jobId"] == {"S": ks.job_id(k.job_index)}
        assert item["lastUpdated"] == {"S": NOW}
        (greeting,) = item["messages"]["L"]
        assert greeting["M"]["sender"] == {"S": "system"}
        assert greeting["M"]["timestamp"] == {"S": NOW}
        assert greeting["M"]["content"]["S"] in f.pools.system_messages
    assert f.state.created == 3
    assert f.state.positions == 303
    assert f.state.status == {1300: "CREATED", 1301: "CREATED", 1302: "CREATED"}


def test_created_conversation_follows_the_lifecycle() -> None:
    # A single loaded conversation, update_status on `latest`: the created one is often chosen.
    dataset = Dataset(seed=4, candidates=3, conversations=1, jobs=2, messages=Range(1, 2))
    f = make_factory(dataset, Keys(update_status=KeyChoice(distribution="latest")), salt=50)
    rng = random.Random(2)
    created_id = f.make("create_conversation", rng).kwargs["Item"]["conversationId"]["S"]
    assert created_id == f.keys.conversation(51).conversation_id
    statuses = [f.make("update_status", rng).kwargs for _ in range(40)]
    on_created = [kw["ExpressionAttributeValues"][":s"]["S"] for kw in statuses
                  if kw["Key"]["conversationId"]["S"] == created_id]
    assert on_created[:2] == ["ONGOING", "COMPLETED"]
    assert set(on_created[2:]) <= {"COMPLETED"}
    assert f.state.current_status(51) == "COMPLETED"


def test_latest_distribution_prefers_created_conversations() -> None:
    f = make_factory(keys=Keys(get_conversation=KeyChoice(distribution="latest")), salt=9)
    rng = random.Random(17)
    created = f.make("create_conversation", rng).kwargs["Item"]["conversationId"]["S"]
    n = 4000
    counts = Counter(f.make("get_conversation", rng).kwargs["Key"]["conversationId"]["S"] for _ in range(n))
    (top, top_count), (_, second_count) = counts.most_common(2)
    assert top == created
    assert top_count > 1.5 * second_count
    chooser = f.choosers["get_conversation"]
    assert isinstance(chooser, Latest)
    assert chooser.high_water == 301  # the 300 loaded conversations and the created one
    assert top_count / n == pytest.approx(chooser.probability(300), abs=0.03)


def test_choosers_follow_the_scenario_keys() -> None:
    f = make_factory(keys=Keys(default=KeyChoice(distribution="zipfian", zipf_s=1.1),
                               get_conversation=KeyChoice()))
    assert set(f.choosers) == {"get_conversation", "query_by_candidate_status", "update_status",
                               "append_message", "batch_get_candidates", "log_events"}
    assert isinstance(f.choosers["get_conversation"], Uniform)
    assert f.choosers["get_conversation"].n == 300
    for pattern in ("query_by_candidate_status", "update_status", "append_message", "log_events"):
        chooser = f.choosers[pattern]
        assert isinstance(chooser, Zipfian)
        assert (chooser.n, chooser.s) == (300, 1.1)
    batch = f.choosers["batch_get_candidates"]
    assert isinstance(batch, Zipfian)
    assert (batch.n, batch.s) == (40, 1.1)  # batch_get_candidates draws candidates, not conversations


def test_batch_get_candidates_has_batch_size_distinct_keys() -> None:
    f = make_factory()
    ks = Keyspace.of(DATASET)
    all_candidates = {ks.candidate_id(c) for c in range(DATASET.candidates)}
    rng = random.Random(19)
    for _ in range(200):
        call = f.make("batch_get_candidates", rng)
        assert call.operation == "batch_get_item"
        assert list(call.kwargs["RequestItems"]) == ["PoppAICandidateProfiles"]
        keys = call.kwargs["RequestItems"]["PoppAICandidateProfiles"]["Keys"]
        ids = [k["candidateId"]["S"] for k in keys]
        assert all(list(k) == ["candidateId"] for k in keys)
        assert len(ids) == 10  # the default batch_get_size
        assert len(set(ids)) == 10
        assert set(ids) <= all_candidates
        assert call.kwargs["ReturnConsumedCapacity"] == "INDEXES"


@pytest.mark.parametrize(("size", "distribution"), [(1, "uniform"), (25, "zipfian"), (40, "hotspot")])
def test_batch_get_size_is_respected(size: int, distribution: str) -> None:
    keys = Keys(batch_get_candidates=KeyChoice(distribution=distribution), batch_get_size=size)
    f = make_factory(keys=keys)
    assert f.batch_size == size
    rng = random.Random(23)
    for _ in range(20):
        keys = f.make("batch_get_candidates", rng).kwargs["RequestItems"]["PoppAICandidateProfiles"]["Keys"]
        assert len(keys) == size
        assert len({k["candidateId"]["S"] for k in keys}) == size


def test_batch_get_size_is_capped_at_the_candidate_count() -> None:
    dataset = Dataset(seed=5, candidates=3, conversations=10, jobs=2, messages=Range(1, 2))
    f = make_factory(dataset, Keys(batch_get_size=10))
    assert f.batch_size == 3
    ks = Keyspace.of(dataset)
    keys = f.make("batch_get_candidates", random.Random(0)).kwargs["RequestItems"][
        "PoppAICandidateProfiles"]["Keys"]
    assert len(keys) == 3
    assert {k["candidateId"]["S"] for k in keys} == {ks.candidate_id(c) for c in range(3)}


def test_conversation_state_indices_and_statuses() -> None:
    ks = Keyspace(seed=0, conversations=5, candidates=2, jobs=1)
    state = ConversationState(ks, salt=100)
    assert (state.positions, state.created) == (5, 0)
    assert [state.index_at(p) for p in range(5)] == [0, 1, 2, 3, 4]
    assert state.current_status(0) == ks.conversation(0).status
    assert state.create() == 105
    assert state.create() == 106
    assert (state.positions, state.created) == (7, 2)
    assert [state.index_at(p) for p in (4, 5, 6)] == [4, 105, 106]
    assert state.current_status(106) == "CREATED"
    state.status[0] = "COMPLETED"
    assert state.current_status(0) == "COMPLETED"
    assert state.status == {0: "COMPLETED", 105: "CREATED", 106: "CREATED"}


def test_for_scenario_uses_scenario_tables_and_dataset() -> None:
    sc = Scenario(name="t", dataset=DATASET,
                  tables=Tables(conversations="Convs", status_index="ix_s", candidates="Cands"))
    f = RequestFactory.for_scenario(sc)
    assert f.keys == Keyspace.of(DATASET)
    assert f.pools is pools_for(DATASET.seed)
    assert f.state.salt == 0
    assert f.batch_size == 10
    call = f.make("query_by_candidate_status", random.Random(0))
    assert call.kwargs["TableName"] == "Convs"
    assert call.kwargs["IndexName"] == "ix_s"
    assert list(f.make("batch_get_candidates", random.Random(0)).kwargs["RequestItems"]) == ["Cands"]


def test_for_scenario_passes_salt_and_keys() -> None:
    sc = Scenario(name="t", dataset=DATASET,
                  keys=Keys(get_conversation=KeyChoice(distribution="hotspot"), batch_get_size=4))
    f = RequestFactory.for_scenario(sc, salt=123)
    assert f.state.salt == 123
    assert f.batch_size == 4
    assert isinstance(f.choosers["get_conversation"], Hotspot)
    created = f.make("create_conversation", random.Random(0)).kwargs["Item"]["conversationId"]["S"]
    assert created == Keyspace.of(DATASET).conversation(300 + 123).conversation_id


def test_now_iso_format() -> None:
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z", now_iso())


def test_batch_get_with_a_hot_set_smaller_than_the_batch_terminates() -> None:
    # hot_requests 1.0 on a hot set of 1 key: the chooser alone can never give 10 distinct keys.
    from ddbbench.scenario import Dataset, KeyChoice, Keys, Scenario

    scenario = Scenario(dataset=Dataset(candidates=100, conversations=10),
                        keys=Keys(batch_get_candidates=KeyChoice("hotspot", hot_keys=0.01, hot_requests=1.0)))
    call = RequestFactory.for_scenario(scenario).make("batch_get_candidates", random.Random(1))
    keys = next(iter(call.kwargs["RequestItems"].values()))["Keys"]
    assert len(keys) == 10 and len({k["candidateId"]["S"] for k in keys}) == 10
