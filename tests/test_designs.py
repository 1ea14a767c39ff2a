"""Every key design answers every logical question the same way (against DynamoDB Local),
and charges the capacity the sizing rules say."""

from __future__ import annotations

import dataclasses
import math
import random
from collections import defaultdict
from typing import Any

import pytest

from datagen.itemsize import item_size
from datagen.keyspace import Keyspace
from datagen.loader import load_dataset
from datagen.model import Conversation, Event, Generator, Message
from datagen.pools import pools_for
from ddbbench.designs import DESIGNS, Design, make_design, run_chain
from ddbbench.execute import execute
from ddbbench.patterns import RequestFactory
from ddbbench.scenario import STATUSES, Dataset, Keys, Range, Scenario, Tables

pytestmark = pytest.mark.integration

DATASET = Dataset(seed=21, candidates=12, conversations=90, jobs=4, messages=Range(0, 6))
NOW = "2026-11-25T10:00:00.000Z"
LATER = "2026-11-25T10:00:01.000Z"


def tables_for(name: str) -> Tables:
    tag = name.replace("-", "")
    return Tables(conversations=f"EqConv{tag}", status_index=f"EqIdx{tag}", candidates=f"EqCand{tag}",
                  events=f"EqEv{tag}")


def query(client: Any, design: Design, candidate_id: str, status: str) -> list[str]:
    return design.read_query(run_chain(client, design.query_by_candidate_status(candidate_id, status)))


def outcome(client: Any, call: Any) -> str:
    return execute(client, call).outcome


@pytest.fixture(scope="module")
def loaded(ddb_client: Any) -> dict[str, Design]:
    designs = {name: make_design(name, tables_for(name)) for name in DESIGNS}
    for design in designs.values():
        load_dataset(ddb_client, design, DATASET, workers=2, recreate=True)
    return designs


@pytest.fixture(scope="module")
def truth() -> dict[str, Any]:
    gen = Generator(DATASET)
    conversations = [gen.conversation(i) for i in range(DATASET.conversations)]
    by_owner_status: dict[tuple[str, str], set[str]] = defaultdict(set)
    for c in conversations:
        by_owner_status[(c.candidateId, c.status)].add(c.conversationId)
    return {"conversations": conversations, "by_owner_status": by_owner_status,
            "candidates": [gen.candidate(c) for c in range(DATASET.candidates)]}


@pytest.mark.parametrize("name", list(DESIGNS))
def test_get_conversation_answers_the_generated_conversation(ddb_client: Any, loaded: dict[str, Design],
                                                             truth: dict[str, Any], name: str) -> None:
    design = loaded[name]
    for conv in truth["conversations"][::7]:
        got = design.read_conversation(run_chain(ddb_client, design.get_conversation(conv.conversationId)))
        assert got == conv
    assert design.read_conversation(run_chain(ddb_client, design.get_conversation("no-such-id"))) is None


@pytest.mark.parametrize("name", list(DESIGNS))
def test_query_finds_exactly_the_candidates_conversations_in_a_status(
        ddb_client: Any, loaded: dict[str, Design], truth: dict[str, Any], name: str) -> None:
    design = loaded[name]
    ks = Keyspace.of(DATASET)
    asked = 0
    for c in range(DATASET.candidates):
        candidate_id = ks.candidate_id(c)
        for status in design.query_statuses:
            got = query(ddb_client, design, candidate_id, status)
            assert sorted(got) == sorted(truth["by_owner_status"][(candidate_id, status)])
            asked += len(got)
    assert asked > 20  # the queries did find conversations


@pytest.mark.parametrize("name", ["gsi-status-updated", "single-table"])
def test_ordered_designs_return_newest_status_change_first(ddb_client: Any, loaded: dict[str, Design],
                                                           truth: dict[str, Any], name: str) -> None:
    design = loaded[name]
    last = {c.conversationId: c.lastUpdated for c in truth["conversations"]}
    for (candidate_id, status), ids in truth["by_owner_status"].items():
        if len(ids) > 1 and status in design.query_statuses:
            got = query(ddb_client, design, candidate_id, status)
            assert [last[i] for i in got] == sorted((last[i] for i in got), reverse=True)


@pytest.mark.parametrize("name", list(DESIGNS))
def test_batch_get_candidates_returns_the_profiles(ddb_client: Any, loaded: dict[str, Design],
                                                   truth: dict[str, Any], name: str) -> None:
    design = loaded[name]
    wanted = truth["candidates"][2:9]
    got = design.read_candidates(run_chain(ddb_client, design.batch_get_candidates(
        [c.candidateId for c in wanted])))
    assert sorted(got, key=lambda c: c.candidateId) == sorted(wanted, key=lambda c: c.candidateId)


@pytest.mark.parametrize("name", list(DESIGNS))
def test_writes_then_reads_agree_on_every_design(ddb_client: Any, loaded: dict[str, Design],
                                                 truth: dict[str, Any], name: str) -> None:
    design = loaded[name]
    conv: Conversation = next(c for c in truth["conversations"] if c.status == "CREATED" and c.messages)
    message = Message("candidate", LATER, "Yes, Tuesday works for me.")
    for call in (design.update_status(conv.conversationId, "ONGOING", NOW),
                 design.append_message(conv.conversationId, message)):
        assert execute(ddb_client, call).outcome == "ok"
    expected = dataclasses.replace(conv, status="ONGOING", lastUpdated=LATER,
                                   messages=(*conv.messages, message))
    got = design.read_conversation(run_chain(ddb_client, design.get_conversation(conv.conversationId)))
    assert got == expected
    # The query sees the new status, and no longer the old one.
    ongoing = query(ddb_client, design, conv.candidateId, "ONGOING")
    created = query(ddb_client, design, conv.candidateId, "CREATED")
    assert conv.conversationId in ongoing and conv.conversationId not in created
    # A conversation that does not exist is never created by an update.
    assert outcome(ddb_client, design.update_status("missing", "ONGOING", NOW)) == "conditional_check_failed"
    assert outcome(ddb_client, design.append_message("missing", message)) == "conditional_check_failed"
    assert design.read_conversation(run_chain(ddb_client, design.get_conversation("missing"))) is None


@pytest.mark.parametrize("name", list(DESIGNS))
def test_create_conversation_then_get(ddb_client: Any, loaded: dict[str, Design], name: str) -> None:
    design = loaded[name]
    new = Conversation("new-conv-1", Keyspace.of(DATASET).candidate_id(0), "JOB-1", "CREATED", NOW,
                       (Message("system", NOW, "Hi, thanks for applying."),))
    assert execute(ddb_client, design.create_conversation(new)).outcome == "ok"
    got = design.read_conversation(run_chain(ddb_client, design.get_conversation(new.conversationId)))
    assert got == new
    assert execute(ddb_client, design.create_conversation(new)).outcome == "conditional_check_failed"


@pytest.mark.parametrize("name", list(DESIGNS))
def test_log_events_lands_in_the_designs_event_table(ddb_client: Any, loaded: dict[str, Design],
                                                     name: str) -> None:
    design = loaded[name]
    scenario = Scenario(name="t", design=name, dataset=DATASET, tables=design.tables,
                        keys=Keys(log_events_batch_size=7))
    factory = RequestFactory(scenario, design, Keyspace.of(DATASET), pools_for(DATASET.seed), salt=5,
                             clock=lambda: NOW)
    call = factory.make("log_events", random.Random(1))
    items = [(table, r["PutRequest"]["Item"])
             for table, rs in call.kwargs["RequestItems"].items() for r in rs]
    assert len(items) == 7 and {table for table, _ in items} == {design.event_table()}
    result = execute(ddb_client, call)
    assert (result.outcome, result.retries) == ("ok", 0)
    # Counted as written: one unit per event under 1 KB, none in an index (events are in none).
    assert (result.capacity, result.index_capacity) == (sum(wcu(item_size(it)) for _, it in items), 0.0)
    assert result.capacity == 7
    key_names = [k["AttributeName"] for k in next(
        s for s in design.table_specs() if s["TableName"] == design.event_table())["KeySchema"]]
    for table, item in items:
        got = ddb_client.get_item(TableName=table, Key={k: item[k] for k in key_names})
        assert got.get("Item") == item


def test_log_events_capacity_by_hand(ddb_client: Any, loaded: dict[str, Design]) -> None:
    # 1 WCU per started KB of each item: a 1.5 KB event costs 2, a small one 1.
    design = loaded["seed"]
    events = [Event("cap-ev", NOW, "e-big", "MESSAGE_SENT", "cand-1", "d" * 1500),
              Event("cap-ev", NOW, "e-small", "MESSAGE_SENT", "cand-1", "ok")]
    result = execute(ddb_client, design.log_events(events))
    assert (result.outcome, result.capacity, result.index_capacity) == ("ok", 3.0, 0.0)


def test_sparse_index_holds_only_active_conversations(ddb_client: Any, loaded: dict[str, Design],
                                                      truth: dict[str, Any]) -> None:
    design = loaded["sparse-active-index"]
    index = design.table_specs()[0]["GlobalSecondaryIndexes"][0]["IndexName"]
    held = ddb_client.scan(TableName=design.tables.conversations, IndexName=index, Select="COUNT")["Count"]
    # The writes test may have moved one conversation CREATED -> ONGOING: still active.
    active = sum(c.status != "COMPLETED" for c in truth["conversations"])
    assert held in (active, active + 1)
    assert set(design.query_statuses) == set(STATUSES) - {"COMPLETED"}


# --- capacity, by hand ----------------------------------------------------------------------

def wcu(size: int) -> int:
    return math.ceil(size / 1024)


def one_conversation(ddb_client: Any, name: str, status: str) -> tuple[Design, Conversation]:
    design = make_design(name, tables_for(f"cap{name}"))
    from ddbbench.tables import ensure_tables
    ensure_tables(ddb_client, design.table_specs(), recreate=True)
    conv = Conversation("cap-1", "cand-1", "JOB-1", status, NOW,
                        tuple(Message("system", NOW, "x" * 300) for _ in range(5)))
    for _, item in [ti for ti in design.conversation_items(conv)]:
        ddb_client.put_item(TableName=design.tables.conversations, Item=item)
    return design, conv


def test_append_capacity_by_hand(ddb_client: Any) -> None:
    msg = Message("candidate", LATER, "y" * 200)
    # seed: the whole item is rewritten (charged on the larger, after), and the ALL-projection
    # index copies it again.
    design, conv = one_conversation(ddb_client, "seed", "ONGOING")
    after = item_size(design.conversation_item(dataclasses.replace(conv, lastUpdated=LATER,
                                                                    messages=(*conv.messages, msg))))
    r = execute(ddb_client, design.append_message(conv.conversationId, msg))
    assert (r.capacity, r.index_capacity) == (wcu(after), wcu(after))
    # gsi-status-updated: same table write, but KEYS_ONLY: no index write for an append.
    design, conv = one_conversation(ddb_client, "gsi-status-updated", "ONGOING")
    r = execute(ddb_client, design.append_message(conv.conversationId, msg))
    assert r.index_capacity == 0 and r.capacity == wcu(after + len("statusUpdated") + len(f"ONGOING#{NOW}"))
    # sparse: a completed conversation is outside the index, so no index write.
    design, conv = one_conversation(ddb_client, "sparse-active-index", "COMPLETED")
    r = execute(ddb_client, design.append_message(conv.conversationId, msg))
    assert r.index_capacity == 0 and r.capacity == wcu(after)
    # messages-as-items: a small header update (1 WCU, and 1 in the ALL index) plus a small put.
    design, conv = one_conversation(ddb_client, "messages-as-items", "ONGOING")
    r = execute(ddb_client, design.append_message(conv.conversationId, msg))
    assert (r.capacity, r.index_capacity) == (2.0, 1.0)


def test_get_capacity_by_hand(ddb_client: Any) -> None:
    # Eventually consistent: 0.5 RCU per 4 KB, rounded up per item (GetItem) or per page (Query).
    design, conv = one_conversation(ddb_client, "seed", "ONGOING")
    size = item_size(design.conversation_item(conv))
    r = execute(ddb_client, design.get_conversation(conv.conversationId))
    assert r.capacity == 0.5 * math.ceil(size / 4096)
    design, conv = one_conversation(ddb_client, "messages-as-items", "ONGOING")
    total = sum(item_size(it) for _, it in design.conversation_items(conv))
    r = execute(ddb_client, design.get_conversation(conv.conversationId))
    assert r.capacity == 0.5 * math.ceil(total / 4096) and r.items == 6
