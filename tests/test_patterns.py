"""The access patterns as plug-ins (ddbbench/patterns/): the registry, each pattern's call on
several key designs, and log_events. Pure: no database (tests/test_designs.py sends them)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from datagen.keyspace import Keyspace
from datagen.model import Event
from datagen.pools import pools_for
from ddbbench.designs import Call, check_scenario_design, make_design, with_design
from ddbbench.errors import ConfigError
from ddbbench.facts import PATTERN_FACTS, PATTERNS, STATUSES, WRITE_PATTERNS
from ddbbench.keydist import Uniform
from ddbbench.patterns import NEXT_STATUS, REGISTRY, Context, Pattern, RequestFactory, log_events, registry
from ddbbench.patterns.log_events import LOG_EVENT_TYPES
from ddbbench.scenario import Dataset, KeyChoice, Keys, Mix, Range, Scenario, Tables

NOW = "2026-02-03T04:05:06.789Z"
DATASET = Dataset(seed=5, candidates=40, conversations=300, jobs=6, messages=Range(1, 4))
KS = Keyspace.of(DATASET)
CONVERSATION_IDS = {KS.conversation(i).conversation_id for i in range(DATASET.conversations)}
CANDIDATE_IDS = {KS.candidate_id(c) for c in range(DATASET.candidates)}
TWO_DESIGNS = ["seed", "single-table"]


def factory(design: str = "seed", keys: Keys | None = None, salt: int = 7) -> RequestFactory:
    scenario = Scenario(name="t", dataset=DATASET, design=design, keys=keys or Keys(query_statuses=STATUSES))
    return RequestFactory(scenario, make_design(design, Tables()), KS, pools_for(DATASET.seed),
                          salt=salt, clock=lambda: NOW)


def made(pattern: str, design: str, seed: int = 3, keys: Keys | None = None) -> Call:
    return factory(design, keys).make(pattern, random.Random(seed))


def conversation_of_key(design: str, key: dict[str, Any]) -> str:
    """The conversation id in a design's key of a conversation (or of its event)."""
    if design == "single-table":
        return key["PK"]["S"].removeprefix("CONV#")
    return key["conversationId"]["S"]


# --- the registry -----------------------------------------------------------------------------


def test_registry_holds_one_plugin_per_pattern_fact() -> None:
    assert tuple(REGISTRY) == PATTERNS
    for fact in PATTERN_FACTS:
        plugin = REGISTRY[fact.name]
        assert isinstance(plugin, Pattern)
        assert (plugin.name, plugin.kind, plugin.keys) == (fact.name, fact.kind, fact.keys)
    assert WRITE_PATTERNS == ("update_status", "append_message", "create_conversation", "log_events")
    assert REGISTRY["log_events"].keys == "conversation"
    assert REGISTRY["batch_get_candidates"].keys == "candidate"
    assert REGISTRY["create_conversation"].keys is None


def test_a_pattern_without_its_registry_line_is_refused() -> None:
    with pytest.raises(TypeError, match=r"'get_profile': add its line to ddbbench.facts.PATTERN_FACTS"):
        class GetProfile(Pattern):
            name = "get_profile"

            def make(self, ctx: Context, rng: random.Random) -> Call:
                return ctx.design.batch_get_candidates([ctx.keys.candidate_id(0)])


def test_the_registry_finds_each_pattern_by_its_module_name() -> None:
    assert REGISTRY["log_events"] is log_events.PATTERN
    with pytest.raises(ImportError, match=r"^pattern 'get_profile' of ddbbench.facts has no "
                                          r"ddbbench/patterns/get_profile.py$"):
        registry._plugin("get_profile")
    with pytest.raises(ImportError, match=r"^ddbbench/patterns/state.py: PATTERN is None, not the 'state'"):
        registry._plugin("state")  # a module that is not a pattern


def test_unknown_pattern_name_is_a_bug() -> None:
    with pytest.raises(ValueError, match="unknown pattern 'get_convo'"):
        factory().make("get_convo", random.Random(0))


# --- each pattern's call on two designs -----------------------------------------------------


@pytest.mark.parametrize("design", TWO_DESIGNS)
def test_get_conversation_call(design: str) -> None:
    call = made("get_conversation", design)
    assert (call.operation, call.kwargs["TableName"]) == ("get_item", "PoppAIChatConversations")
    assert conversation_of_key(design, call.kwargs["Key"]) in CONVERSATION_IDS
    if design == "single-table":
        assert call.kwargs["Key"]["SK"] == {"S": "CONV"}


@pytest.mark.parametrize("design", TWO_DESIGNS)
def test_query_by_candidate_status_call(design: str) -> None:
    f = factory(design)
    for seed in range(20):
        call = f.make("query_by_candidate_status", random.Random(seed))
        assert call.operation == "query"
        values = call.kwargs["ExpressionAttributeValues"]
        if design == "seed":
            assert call.kwargs["IndexName"] == "candidateId-status-index"
            candidate, status = values[":c"]["S"], values[":s"]["S"]
        else:
            assert call.kwargs["IndexName"] == "GSI1"
            candidate = values[":pk"]["S"].removeprefix("CANDIDATE#")
            status = values[":p"]["S"].removeprefix("CONV#").removesuffix("#")
        assert candidate in CANDIDATE_IDS and status in STATUSES


@pytest.mark.parametrize("design", TWO_DESIGNS)
def test_update_status_call_moves_the_conversation_one_step(design: str) -> None:
    call = made("update_status", design)
    assert call.operation == "update_item"
    conversation = conversation_of_key(design, call.kwargs["Key"])
    i = next(i for i in range(DATASET.conversations) if KS.conversation(i).conversation_id == conversation)
    expected = NEXT_STATUS[KS.conversation(i).status]
    assert call.kwargs["ExpressionAttributeValues"][":s"] == {"S": expected}
    assert call.kwargs["ExpressionAttributeValues"][":t"] == {"S": NOW}
    if design == "single-table":
        index_key = f"CONV#{expected}#{NOW}#{conversation}"
        assert call.kwargs["ExpressionAttributeValues"][":g"] == {"S": index_key}


@pytest.mark.parametrize("design", TWO_DESIGNS)
def test_append_message_call(design: str) -> None:
    call = made("append_message", design)
    assert call.operation == "update_item"
    assert call.kwargs["UpdateExpression"] == "SET messages = list_append(messages, :m), lastUpdated = :t"
    (message,) = call.kwargs["ExpressionAttributeValues"][":m"]["L"]
    assert message["M"]["timestamp"] == {"S": NOW}
    assert message["M"]["sender"]["S"] in ("system", "candidate")


@pytest.mark.parametrize("design", TWO_DESIGNS)
def test_batch_get_candidates_call(design: str) -> None:
    call = made("batch_get_candidates", design)
    assert call.operation == "batch_get_item"
    ((table, request),) = call.kwargs["RequestItems"].items()
    assert table == ("PoppAICandidateProfiles" if design == "seed" else "PoppAIChatConversations")
    if design == "seed":
        ids = [k["candidateId"]["S"] for k in request["Keys"]]
    else:
        assert {k["SK"]["S"] for k in request["Keys"]} == {"PROFILE"}
        ids = [k["PK"]["S"].removeprefix("CANDIDATE#") for k in request["Keys"]]
    assert len(set(ids)) == 10 and set(ids) <= CANDIDATE_IDS


@pytest.mark.parametrize(("design", "key"), [("seed", "conversationId"), ("single-table", "PK")])
def test_create_conversation_call(design: str, key: str) -> None:
    call = made("create_conversation", design)
    assert call.operation == "put_item" and call.then is None
    assert call.kwargs["ConditionExpression"] == f"attribute_not_exists({key})"
    item = call.kwargs["Item"]
    assert item["status"] == {"S": "CREATED"} and item["lastUpdated"] == {"S": NOW}
    assert item["conversationId"]["S"] not in CONVERSATION_IDS  # new, never a loaded one


def test_create_conversation_on_messages_as_items_puts_header_then_messages() -> None:
    call = made("create_conversation", "messages-as-items")
    header = call.kwargs["Item"]
    assert header["sk"] == {"S": "#HEADER"}
    assert call.then is not None
    message = call.then({})
    assert message is not None and message.then is None  # one greeting: header + one message
    assert message.kwargs["Item"]["sk"]["S"].startswith(f"MSG#{NOW}#")
    assert message.kwargs["ConditionExpression"] == "attribute_not_exists(conversationId)"


# --- log_events -----------------------------------------------------------------------------


def test_log_events_call_on_the_seed_design_writes_the_event_table() -> None:
    call = made("log_events", "seed")
    assert call.operation == "batch_write_item" and call.then is None
    assert call.kwargs["ReturnConsumedCapacity"] == "INDEXES"
    ((table, requests),) = call.kwargs["RequestItems"].items()
    assert table == "PoppAIEventLog"
    assert len(requests) == 5  # keys.log_events_batch_size, default
    items = [r["PutRequest"]["Item"] for r in requests]
    assert len({it["conversationId"]["S"] for it in items}) == 1  # one drawn conversation
    assert items[0]["conversationId"]["S"] in CONVERSATION_IDS
    for it in items:
        assert it["eventKey"] == {"S": f"{NOW}#{it['eventId']['S']}"}
        assert it["eventType"]["S"] in LOG_EVENT_TYPES
        assert it["detail"]["S"] in {f"status={s}" for s in STATUSES}
        assert it["candidateId"]["S"] in CANDIDATE_IDS


def test_log_events_call_on_single_table_writes_the_conversation_partition() -> None:
    call = made("log_events", "single-table")
    ((table, requests),) = call.kwargs["RequestItems"].items()
    assert table == "PoppAIChatConversations"
    items = [r["PutRequest"]["Item"] for r in requests]
    for it in items:
        assert it["PK"]["S"].removeprefix("CONV#") in CONVERSATION_IDS
        assert it["SK"] == {"S": f"EVENT#{NOW}#{it['eventId']['S']}"}
        assert "GSI1PK" not in it  # events stay out of the index


def test_every_design_says_where_its_events_live() -> None:
    event = Event("c1", NOW, "e1", "MESSAGE_SENT", "k1", "status=CREATED")
    for name in ("seed", "gsi-status-updated", "single-table", "messages-as-items", "sparse-active-index"):
        design = make_design(name, Tables())
        call = design.log_events([event])
        assert list(call.kwargs["RequestItems"]) == [design.event_table()]
        assert design.event_table() in design.table_names()


def event_items(call: Call) -> list[dict[str, Any]]:
    return [r["PutRequest"]["Item"] for rs in call.kwargs["RequestItems"].values() for r in rs]


def event_ids(call: Call) -> list[str]:
    return [it["eventId"]["S"] for it in event_items(call)]


def test_log_events_ids_are_new_and_this_process_own() -> None:
    f = factory(salt=11)
    rng = random.Random(0)
    ids = [i for _ in range(50) for i in event_ids(f.make("log_events", rng))]
    assert len(set(ids)) == 250
    other = factory(salt=12)
    assert not set(ids) & {i for _ in range(50) for i in event_ids(other.make("log_events", rng))}
    again = factory(salt=11)  # the same process state and draws give the same ids (reproducible)
    assert event_ids(again.make("log_events", random.Random(0))) == ids[:5]


@pytest.mark.parametrize("size", [1, 25])
def test_log_events_batch_size_follows_the_scenario(size: int) -> None:
    call = made("log_events", "seed", keys=Keys(log_events_batch_size=size))
    assert len(event_ids(call)) == size and call.then is None


def test_more_events_than_one_batch_holds_are_chained_batches() -> None:
    design = make_design("seed", Tables())
    events = [Event("c1", NOW, f"e{k}", "MESSAGE_SENT", "k1", "") for k in range(30)]
    call = design.log_events(events)
    second = call.then({}) if call.then else None
    assert second is not None and second.then is None
    assert (len(event_ids(call)), len(event_ids(second))) == (25, 5)


def test_log_events_draws_conversations_by_its_own_key_choice() -> None:
    hot = KeyChoice(distribution="hotspot", hot_keys=0.01, hot_requests=1.0)  # 3 of 300
    f = factory(keys=Keys(log_events=hot))
    assert isinstance(f.chooser("get_conversation"), Uniform)
    rng = random.Random(4)
    drawn = {it["conversationId"]["S"] for _ in range(200) for it in event_items(f.make("log_events", rng))}
    assert len(drawn) <= 3


def test_log_events_reaches_created_conversations() -> None:
    f = factory(keys=Keys(log_events=KeyChoice(distribution="latest", zipf_s=3.0)))
    rng = random.Random(2)
    created = f.make("create_conversation", rng).kwargs["Item"]["conversationId"]["S"]
    drawn = [event_items(f.make("log_events", rng))[0]["conversationId"]["S"] for _ in range(50)]
    assert drawn.count(created) > 20  # the newest conversation is the most likely


# --- the design/scenario check (a layer above the scenario model) ---------------------------


def test_a_design_that_cannot_answer_the_queries_is_refused() -> None:
    sc = Scenario(name="s", design="sparse-active-index", keys=Keys(query_statuses=("ONGOING", "COMPLETED")))
    message = ("scenarios.s.keys.query_statuses: COMPLETED cannot be queried on design "
               "sparse-active-index (its index holds CREATED, ONGOING only); remove it from "
               "query_statuses or choose another design")
    with pytest.raises(ConfigError) as info:
        check_scenario_design(sc)
    assert str(info.value) == message
    with pytest.raises(ConfigError, match=r"^scenarios\.s\.keys"):
        RequestFactory.for_scenario(sc)  # no request is built for it
    seed = Scenario(name="s", keys=Keys(query_statuses=("ONGOING", "COMPLETED")))
    with pytest.raises(ConfigError, match=r"^scenarios\.s \(with --design sparse-active-index\)\.keys"):
        with_design(seed, "sparse-active-index")
    with pytest.raises(ConfigError, match=r"^--design: 'nope' is not a key design in seed, "):
        with_design(seed, "nope")


def test_a_design_that_is_never_queried_is_accepted() -> None:
    mix = Mix(query_by_candidate_status=0)
    sc = Scenario(name="s", design="sparse-active-index", mix=mix, keys=Keys(query_statuses=STATUSES))
    check_scenario_design(sc)  # nothing raised: the query never runs
    assert with_design(Scenario(name="s"), "sparse-active-index").design == "sparse-active-index"
