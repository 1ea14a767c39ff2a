"""The key space's faster derivation and its cache give exactly the keys of the plain
definition: one BLAKE2b digest of "seed:conversation:i" (see datagen/keyspace.py)."""

from __future__ import annotations

import bisect
import itertools
import os
import uuid

from datagen.keyspace import ConversationKeys, Keyspace, _stride, as_uuid, digest, status_shares


def reference(ks: Keyspace, i: int) -> ConversationKeys:
    """The definition, spelled out slowly (what the key space computed before it was tuned)."""
    d = digest(ks.seed, "conversation", i)
    draw = int.from_bytes(d[16:24], "big")
    if ks.owner_s == 0.0:
        owner = draw % ks.candidates
    else:
        cdf = list(itertools.accumulate(k ** -ks.owner_s for k in range(1, ks.candidates + 1)))
        rank = min(bisect.bisect_right(cdf, draw / 2**64 * cdf[-1]), ks.candidates - 1)
        owner = (rank * _stride(ks.candidates, ks.seed) + ks.seed) % ks.candidates
    roll, low, status = int.from_bytes(d[28:32], "big") % 100, 0.0, ""
    for name, share in status_shares().items():
        low += share * 100
        if roll < round(low) and not status:
            status = name
    b = bytearray(d[:16])
    b[6], b[8] = (b[6] & 0x0F) | 0x40, (b[8] & 0x3F) | 0x80
    return ConversationKeys(i, str(uuid.UUID(bytes=bytes(b))), owner,
                            int.from_bytes(d[24:28], "big") % ks.jobs, status)


def test_derivation_matches_the_definition_for_skewed_and_uniform_owners() -> None:
    for ks in (Keyspace(seed=3, conversations=500, candidates=97, jobs=7, owner_s=1.1),
               Keyspace(seed=42, conversations=500, candidates=1000, jobs=200)):
        for i in [*range(300), 10**9 + 5]:
            assert ks.conversation(i) == reference(ks, i)


def test_as_uuid_is_uuid4_of_the_first_16_bytes() -> None:
    for _ in range(500):
        raw = os.urandom(32)
        assert as_uuid(raw) == str(uuid.UUID(bytes=raw[:16], version=4))


def test_the_cache_keeps_the_first_keys_drawn_and_returns_the_same_keys() -> None:
    cached = Keyspace(seed=5, conversations=100, candidates=10, jobs=3, owner_s=0.9, cache_size=4)
    plain = Keyspace(seed=5, conversations=100, candidates=10, jobs=3, owner_s=0.9)
    drawn = [7, 3, 7, 50, 9, 11, 3, 99]
    assert [cached.conversation(i) for i in drawn] == [plain.conversation(i) for i in drawn]
    assert sorted(cached._cache) == [3, 7, 9, 50] and plain._cache == {}
    assert cached.conversation(7) is cached.conversation(7)
    assert cached == plain  # the cache is not part of the key space's identity
