"""The dataset's distributions follow their settings (datagen/model.py, keyspace.py)."""

from __future__ import annotations

import math
import statistics
from collections import Counter

import pytest

from datagen.keyspace import Keyspace, status_shares
from datagen.model import Draws, Generator, candidate_messages, entities, expected_events, iso, iso_ms
from ddbbench.scenario import Dataset, MessageLength, Ownership, Range

N = 20_000


def test_conversations_per_candidate_follow_the_zipf_setting() -> None:
    ks = Keyspace(seed=5, conversations=N, candidates=500, jobs=3, owner_s=0.8)
    counts = Counter(ks.conversation(i).candidate_index for i in range(N))
    # The five most popular candidates own what the Zipf law gives them, within 15%.
    for c, n in counts.most_common(5):
        assert n == pytest.approx(ks.owner_share(c) * N, rel=0.15)
    ranked = sorted(counts.values(), reverse=True)
    assert ranked[0] > 10 * statistics.median(ranked)  # a few candidates have many
    assert sum(ks.owner_share(c) for c in range(500)) == pytest.approx(1.0)
    # The popular ones are spread over the id space, not the lowest indices.
    assert {c for c, _ in counts.most_common(5)} != set(range(5))


def test_uniform_ownership_is_flat() -> None:
    ks = Keyspace(seed=5, conversations=N, candidates=50, jobs=3)
    counts = Counter(ks.conversation(i).candidate_index for i in range(N))
    assert max(counts.values()) < 1.3 * N / 50
    assert ks.owner_share(7) == 1 / 50


def test_ownership_setting_reaches_the_keyspace() -> None:
    skewed = Dataset(conversations_per_candidate=Ownership("zipfian", 1.1))
    assert Keyspace.of(skewed).owner_s == 1.1
    assert Keyspace.of(Dataset(conversations_per_candidate=Ownership("uniform", 1.1))).owner_s == 0.0


def test_status_mix() -> None:
    ks = Keyspace(seed=8, conversations=N, candidates=100, jobs=3)
    counts = Counter(ks.conversation(i).status for i in range(N))
    for status, share in status_shares().items():
        assert counts[status] / N == pytest.approx(share, abs=0.015)


def test_lognormal_message_counts_center_on_the_median() -> None:
    gen = Generator(Dataset(seed=2, conversations=4000, messages=Range(
        min=1, max=200, distribution="lognormal", median=9, sigma=0.7)))
    lengths = [len(gen.conversation(i).messages) for i in range(4000)]
    assert statistics.median(lengths) == pytest.approx(9, abs=1)
    assert max(lengths) > 3 * 9  # a long tail
    assert min(lengths) >= 1


def test_candidate_message_lengths_follow_the_setting() -> None:
    setting = MessageLength(median_chars=200, sigma=0.5, max_chars=900)
    gen = Generator(Dataset(seed=3, conversations=3000, messages=Range(4, 4), message_length=setting))
    lengths = [len(m.content) for i in range(3000) for m in gen.conversation(i).messages
               if m.sender == "candidate"]
    assert statistics.median(lengths) == pytest.approx(200, rel=0.08)
    logs = [math.log(n) for n in lengths]
    assert statistics.stdev(logs) == pytest.approx(0.5, rel=0.15)
    assert max(lengths) <= 900
    pool = candidate_messages(3, setting)
    assert max(len(t) for t in pool) <= 900 and all(t for t in pool)


def test_events_tell_the_conversations_story() -> None:
    ds = Dataset(seed=6, candidates=20, conversations=300)
    gen = Generator(ds)
    total = 0
    for i in range(300):
        conv = gen.conversation(i)
        events = gen.events(i, conv)
        total += len(events)
        assert events[0].eventType == "CONVERSATION_CREATED"
        details = [e.detail for e in events]
        expected = {"CREATED": ["status=CREATED"], "ONGOING": ["status=CREATED", "status=ONGOING"],
                    "COMPLETED": ["status=CREATED", "status=ONGOING", "status=COMPLETED"]}
        assert details == expected[conv.status]
        stamps = [e.timestamp for e in events]
        assert stamps == sorted(stamps)
        assert stamps[-1] <= conv.lastUpdated
        assert {e.conversationId for e in events} == {conv.conversationId}
        assert len({e.eventId for e in events}) == len(events)
        assert gen.events(i) == events  # a pure function of (seed, i)
    assert total / 300 == pytest.approx(expected_events(ds), rel=0.1)


def test_same_seed_same_entities_in_any_slice() -> None:
    ds = Dataset(seed=9, candidates=30, conversations=200)
    whole = list(entities(ds))
    # Any process can generate any conversation alone, in any order.
    gen = Generator(ds)
    conversations = [e for kind, e in whole if kind == "conversation"]
    assert [gen.conversation(i) for i in reversed(range(200))] == conversations[::-1]
    assert list(entities(ds)) == whole


def test_iso_ms_matches_datetime_formatting() -> None:
    from datetime import UTC, datetime, timedelta
    base = datetime(2025, 10, 3, 23, 59, 58, 999000, tzinfo=UTC)
    for step_ms in (0, 1, 1001, 60_000, 3_600_000, 86_400_000, 40 * 86_400_000 + 7):
        ts = base + timedelta(milliseconds=step_ms)
        assert iso_ms(int(ts.timestamp() * 1000)) == iso(ts)


def test_draws_are_a_pure_function_of_the_key_and_extend() -> None:
    a, b = Draws(b"k", expected=2), Draws(b"k", expected=64)
    xs = [a.random() for _ in range(100)]  # past the first 2: the stream extends itself
    assert xs == [b.random() for _ in range(100)]
    assert all(0 <= x < 1 for x in xs)
    assert Draws(b"other").random() != xs[0]
    d = Draws(b"m", 4096)
    assert statistics.fmean(d.random() for _ in range(4096)) == pytest.approx(0.5, abs=0.02)
