"""Unit tests for the deterministic dataset generator (datagen/keyspace.py, model.py, pools.py)."""

from __future__ import annotations

import dataclasses
import itertools
import re
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from datagen.keyspace import ConversationKeys, Keyspace, as_uuid, digest
from datagen.model import EPOCH, SENDERS, Candidate, Conversation, Generator, Message, iso
from datagen.pools import Pools, pools_for
from ddbbench.scenario import STATUSES, Dataset, Ownership, Range

DATASET = Dataset(seed=11, candidates=300, conversations=4000, jobs=25, messages=Range(min=2, max=9))
E164_NANP = re.compile(r"^\+1[2-9]\d{2}[2-9]\d{6}$")
ISO_MS_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def parse_iso(ts: str) -> datetime:
    assert ISO_MS_Z.match(ts), ts
    parsed = datetime.fromisoformat(ts)
    assert parsed.tzinfo is not None
    return parsed


@pytest.fixture(scope="module")
def gen() -> Generator:
    return Generator(DATASET)


@pytest.fixture(scope="module")
def conversations(gen: Generator) -> list[Conversation]:
    return [gen.conversation(i) for i in range(2000)]


# --- keyspace ------------------------------------------------------------------------------


def test_keyspace_of_dataset() -> None:
    assert Keyspace.of(DATASET) == Keyspace(seed=11, conversations=4000, candidates=300, jobs=25,
                                            owner_s=0.6)
    uniform = dataclasses.replace(DATASET, conversations_per_candidate=Ownership(distribution="uniform"))
    assert Keyspace.of(uniform).owner_s == 0.0


def test_keys_are_pinned_for_seed_42() -> None:
    # Pure BLAKE2b: these must never change, or a loaded table no longer matches its seed.
    ks = Keyspace(seed=42, conversations=5000, candidates=1000, jobs=200)
    assert ks.conversation(0) == ConversationKeys(0, "b3c0f4e9-f2ef-4b40-b8c7-6450ab503af2", 849, 103,
                                                  "COMPLETED")
    assert ks.conversation(1) == ConversationKeys(1, "a5a01933-8705-4447-87c3-0356b040db15", 340, 147,
                                                  "COMPLETED")
    assert ks.candidate_id(0) == "a070be81-f3ef-401b-9e5b-518cc958c51e"
    assert ks.job_id(0) == "JOB-73264152"


def test_digest_and_as_uuid() -> None:
    d = digest(1, "conversation", 0)
    assert len(d) == 32
    assert d == digest(1, "conversation", 0)
    assert d != digest(1, "conversation", 1)
    assert d != digest(2, "conversation", 0)
    assert d != digest(1, "candidate", 0)
    u = uuid.UUID(as_uuid(d))
    assert u.version == 4
    assert str(u) == as_uuid(d)


def test_keys_are_in_range_and_well_formed() -> None:
    ks = Keyspace.of(DATASET)
    for i in range(1000):
        k = ks.conversation(i)
        assert k.index == i
        assert 0 <= k.candidate_index < DATASET.candidates
        assert 0 <= k.job_index < DATASET.jobs
        assert k.status in STATUSES
        assert uuid.UUID(k.conversation_id).version == 4
    assert re.fullmatch(r"JOB-\d{8}", ks.job_id(3))


def test_keyspace_does_not_depend_on_conversation_count_for_keys() -> None:
    # Owner and job depend on candidates/jobs, the id only on (seed, index).
    a = Keyspace(seed=5, conversations=10, candidates=50, jobs=5)
    b = Keyspace(seed=5, conversations=99999, candidates=50, jobs=5)
    assert [a.conversation(i) for i in range(10)] == [b.conversation(i) for i in range(10)]


def test_status_mix_is_20_50_30() -> None:
    ks = Keyspace(seed=42, conversations=5000, candidates=1000, jobs=200)
    counts = Counter(ks.conversation(i).status for i in range(5000))
    assert set(counts) == set(STATUSES)
    assert counts["CREATED"] / 5000 == pytest.approx(0.20, abs=0.03)
    assert counts["ONGOING"] / 5000 == pytest.approx(0.50, abs=0.03)
    assert counts["COMPLETED"] / 5000 == pytest.approx(0.30, abs=0.03)


def test_ids_are_unique() -> None:
    ks = Keyspace(seed=3, conversations=4000, candidates=4000, jobs=200)
    assert len({ks.conversation(i).conversation_id for i in range(4000)}) == 4000
    assert len({ks.candidate_id(c) for c in range(4000)}) == 4000
    # Conversation and candidate ids live in different hash domains.
    assert not {ks.conversation(i).conversation_id for i in range(200)} & {ks.candidate_id(c)
                                                                          for c in range(200)}


def test_owners_spread_over_candidates() -> None:
    ks = Keyspace(seed=9, conversations=3000, candidates=30, jobs=4)
    owners = Counter(ks.conversation(i).candidate_index for i in range(3000))
    jobs = Counter(ks.conversation(i).job_index for i in range(3000))
    assert set(owners) == set(range(30))
    assert set(jobs) == set(range(4))


# --- determinism ---------------------------------------------------------------------------


def test_same_seed_and_index_give_equal_entities_in_any_order() -> None:
    indexes = list(range(60))
    forward = Generator(DATASET)
    backward = Generator(DATASET)
    convs_fwd = {i: forward.conversation(i) for i in indexes}
    convs_bwd = {i: backward.conversation(i) for i in reversed(indexes)}
    assert convs_fwd == convs_bwd
    cands_fwd = {i: forward.candidate(i) for i in indexes}
    cands_bwd = {i: backward.candidate(i) for i in reversed(indexes)}
    assert cands_fwd == cands_bwd
    # Interleaving with other indexes and entity kinds changes nothing either.
    third = Generator(DATASET)
    for i in (3999, 7, 250, 0):
        third.conversation(i)
        third.candidate(i % DATASET.candidates)
    assert third.conversation(17) == convs_fwd[17]
    assert third.candidate(33) == cands_fwd[33]


def test_pools_are_a_pure_function_of_the_seed() -> None:
    build = pools_for.__wrapped__  # bypass the cache: build the pools twice from scratch
    first = build(11)
    again = build(11)
    assert isinstance(first, Pools)
    assert first == again
    assert build(12) != first


def test_generator_with_fresh_pools_matches_cached_pools(gen: Generator) -> None:
    fresh = Generator(DATASET, pools=pools_for.__wrapped__(DATASET.seed))
    assert [fresh.conversation(i) for i in range(20)] == [gen.conversation(i) for i in range(20)]
    assert [fresh.candidate(i) for i in range(20)] == [gen.candidate(i) for i in range(20)]


def test_different_seeds_differ() -> None:
    a = Generator(dataclasses.replace(DATASET, seed=1))
    b = Generator(dataclasses.replace(DATASET, seed=2))
    assert a.conversation(0) != b.conversation(0)
    assert a.conversation(0).conversationId != b.conversation(0).conversationId
    assert a.candidate(0).candidateId != b.candidate(0).candidateId
    assert [a.candidate(i).phoneNumber for i in range(10)] != [b.candidate(i).phoneNumber for i in range(10)]


def test_different_indexes_differ(gen: Generator) -> None:
    assert gen.conversation(0) != gen.conversation(1)
    assert gen.candidate(0) != gen.candidate(1)


# --- conversations follow the seed model ---------------------------------------------------


def test_conversation_attribute_names(gen: Generator) -> None:
    conv = gen.conversation(5)
    assert isinstance(conv, Conversation)
    assert [f for f in conv.__dataclass_fields__] == [
        "conversationId", "candidateId", "jobId", "status", "lastUpdated", "messages"]
    assert [f for f in Message.__dataclass_fields__] == ["sender", "timestamp", "content"]
    assert all(isinstance(m, Message) for m in conv.messages)


def test_conversation_keys_match_keyspace(gen: Generator, conversations: list[Conversation]) -> None:
    ks = Keyspace.of(DATASET)
    for i, conv in enumerate(conversations):
        keys = ks.conversation(i)
        assert conv.conversationId == keys.conversation_id
        assert conv.candidateId == ks.candidate_id(keys.candidate_index)
        assert conv.jobId == ks.job_id(keys.job_index)
        assert conv.status == keys.status
        assert conv.status in ("CREATED", "ONGOING", "COMPLETED")


def test_conversation_candidate_is_a_generated_candidate(gen: Generator,
                                                         conversations: list[Conversation]) -> None:
    candidate_ids = {gen.candidate(c).candidateId for c in range(DATASET.candidates)}
    assert {conv.candidateId for conv in conversations} <= candidate_ids


def test_messages_alternate_and_increase(conversations: list[Conversation]) -> None:
    for conv in conversations:
        assert DATASET.messages.min <= len(conv.messages) <= DATASET.messages.max
        assert [m.sender for m in conv.messages] == [SENDERS[n % 2] for n in range(len(conv.messages))]
        assert conv.messages[0].sender == "system"
        times = [parse_iso(m.timestamp) for m in conv.messages]
        assert all(a < b for a, b in itertools.pairwise(times))
        assert conv.lastUpdated == conv.messages[-1].timestamp
        assert all(m.content for m in conv.messages)


def test_message_count_covers_the_range(conversations: list[Conversation]) -> None:
    assert {len(c.messages) for c in conversations} == set(range(2, 10))


def test_message_contents_come_from_the_sender_pool(gen: Generator,
                                                    conversations: list[Conversation]) -> None:
    for conv in conversations[:200]:
        for m in conv.messages:
            pool = gen.pools.system_messages if m.sender == "system" else gen.candidate_messages
            assert m.content in pool


def test_timestamps_are_anchored_to_the_fixed_epoch(conversations: list[Conversation]) -> None:
    assert datetime(2026, 1, 1, tzinfo=UTC) == EPOCH
    for conv in conversations:
        first = parse_iso(conv.messages[0].timestamp)
        last = parse_iso(conv.lastUpdated)
        # Start is within 90 days before the epoch; each message adds 5 s .. ~1 h.
        assert EPOCH - timedelta(days=90) < first
        assert last <= EPOCH + timedelta(seconds=3601 * DATASET.messages.max)
        assert last.tzinfo == UTC


def test_conversation_without_messages() -> None:
    g = Generator(Dataset(seed=4, candidates=5, conversations=10, jobs=2, messages=Range(0, 0)))
    for i in range(10):
        conv = g.conversation(i)
        assert conv.messages == ()
        last = parse_iso(conv.lastUpdated)
        assert EPOCH - timedelta(days=90) <= last <= EPOCH


def test_fixed_message_count() -> None:
    g = Generator(Dataset(seed=4, candidates=5, conversations=10, jobs=2, messages=Range(3, 3)))
    assert [len(g.conversation(i).messages) for i in range(10)] == [3] * 10


def test_iso_format() -> None:
    assert iso(datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)) == "2026-01-02T03:04:05.678Z"
    assert iso(datetime(2025, 12, 31, 23, 59, 59, 999, tzinfo=UTC)) == "2025-12-31T23:59:59.000Z"
    assert iso(EPOCH) == "2026-01-01T00:00:00.000Z"


# --- candidates ----------------------------------------------------------------------------


def test_candidate_fields(gen: Generator) -> None:
    ks = Keyspace.of(DATASET)
    domains = set(gen.pools.email_domains)
    for c in range(DATASET.candidates):
        cand = gen.candidate(c)
        assert isinstance(cand, Candidate)
        assert cand.candidateId == ks.candidate_id(c)
        assert E164_NANP.match(cand.phoneNumber), cand.phoneNumber
        assert re.match(r"^\+1[2-9]\d{9}$", cand.phoneNumber)
        assert cand.emailAddress == cand.emailAddress.lower()
        assert cand.firstName.lower() in cand.emailAddress
        assert cand.lastName.lower() in cand.emailAddress
        local, _, domain = cand.emailAddress.partition("@")
        assert domain in domains
        assert re.fullmatch(re.escape(f"{cand.firstName}.{cand.lastName}".lower()) + r"\d{1,2}", local)
        assert cand.firstName in gen.pools.first_names
        assert cand.lastName in gen.pools.last_names


def test_candidate_ids_unique() -> None:
    big = Generator(Dataset(seed=11, candidates=3000, conversations=10, jobs=2))
    assert len({big.candidate(c).candidateId for c in range(3000)}) == 3000


def test_pool_shapes() -> None:
    pools = pools_for(11)
    assert len(pools.first_names) == 200
    assert len(pools.last_names) == 200
    assert len(set(pools.first_names)) == 200
    assert len(set(pools.last_names)) == 200
    assert len(pools.email_domains) == 15
    assert len(set(pools.email_domains)) == 15
    assert len(pools.system_messages) == 400
    assert len(pools.candidate_sentences) == 800
    assert all(msg and "{" not in msg for msg in pools.system_messages)  # every template filled in
    assert pools_for(11) is pools  # cached
