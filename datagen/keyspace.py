"""Keys of the dataset as pure functions of (seed, index).

One BLAKE2b digest per entity gives its id and its key attributes, so computing the key of
conversation ``i`` costs a few microseconds and needs no state: the loader and every load
process agree on the key space without coordination. A load process draws the same keys again
and again (hot keys, a small dataset), so it keeps a bounded cache of them (``cache_size``).
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import math
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from ddbbench.scenario import STATUSES, Dataset

# Initial status mix of a loaded dataset (cumulative, out of 100): most conversations in the
# middle of their lifecycle, as in a live recruiting pipeline.
_STATUS_CUTS = ((20, "CREATED"), (70, "ONGOING"), (100, "COMPLETED"))
assert tuple(s for _, s in _STATUS_CUTS) == STATUSES
# The status of each roll 0..99: one index instead of a scan of the cuts per conversation.
_STATUS_OF_ROLL = tuple(next(s for cut, s in _STATUS_CUTS if roll < cut) for roll in range(100))


def status_shares() -> dict[str, float]:
    """The initial status mix as fractions, e.g. {'CREATED': 0.2, ...}."""
    shares, low = {}, 0
    for cut, status in _STATUS_CUTS:
        shares[status] = (cut - low) / 100
        low = cut
    return shares


def digest(seed: int, kind: str, index: int) -> bytes:
    return hashlib.blake2b(f"{seed}:{kind}:{index}".encode(), digest_size=32).digest()


def as_uuid(raw: bytes) -> str:
    """The version-4 UUID string of the first 16 bytes: what ``str(uuid.UUID(bytes=raw[:16],
    version=4))`` gives, without its validating constructor (on the per-request path)."""
    h = raw[:16].hex()
    # Byte 6's high nibble (hex digit 12) becomes 4, the version; byte 8's top two bits become
    # 10, the RFC 4122 variant, so hex digit 16 is one of 8, 9, a, b.
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[(raw[8] >> 4) & 3]}{h[17:20]}-{h[20:]}"


@dataclass(slots=True)  # built per request: not frozen, which costs a setattr call per field
class ConversationKeys:
    index: int
    conversation_id: str
    candidate_index: int
    job_index: int
    status: str


@dataclass(frozen=True)
class Keyspace:
    """The keys of one dataset. Example::

        >>> ks = Keyspace(seed=1, conversations=10, candidates=3, jobs=2)
        >>> ks.conversation(0) == ks.conversation(0)
        True
    """

    seed: int
    conversations: int
    candidates: int
    jobs: int
    owner_s: float = 0.0  # Zipf exponent of conversations per candidate; 0 = uniform
    # Conversations whose keys are kept once derived (0: none). The first ``cache_size`` drawn
    # stay: under a skewed key distribution those are mostly the hot ones. Not for the loader,
    # which derives each conversation once.
    cache_size: int = field(default=0, compare=False, repr=False)
    _cache: dict[int, ConversationKeys] = field(default_factory=dict, init=False, compare=False,
                                                repr=False)

    @classmethod
    def of(cls, dataset: Dataset, cache_size: int = 0) -> Keyspace:
        return cls(dataset.seed, dataset.conversations, dataset.candidates, dataset.jobs,
                   dataset.conversations_per_candidate.exponent, cache_size)

    def conversation(self, i: int) -> ConversationKeys:
        keys = self._cache.get(i)
        if keys is not None:  # ConversationKeys are never modified: sharing one is safe
            return keys
        h = self._conversation_hash.copy()  # as digest(seed, "conversation", i), prefix hashed once
        h.update(b"%d" % i)
        d = h.digest()
        owner = self.owner(int.from_bytes(d[16:24], "big"))
        job = int.from_bytes(d[24:28], "big") % self.jobs
        status = _STATUS_OF_ROLL[int.from_bytes(d[28:32], "big") % 100]
        keys = ConversationKeys(i, as_uuid(d), owner, job, status)
        if len(self._cache) < self.cache_size:
            self._cache[i] = keys
        return keys

    @cached_property
    def _conversation_hash(self) -> hashlib.blake2b:
        return hashlib.blake2b(f"{self.seed}:conversation:".encode(), digest_size=32)

    @cached_property
    def _owner_cdf(self) -> tuple[float, ...]:
        return _zipf_cdf(self.candidates, self.owner_s)

    @cached_property
    def _owner_stride(self) -> int:
        return _stride(self.candidates, self.seed)

    def owner(self, draw: int) -> int:
        """The candidate owning a conversation, from a uniform 64-bit ``draw``."""
        if self.owner_s == 0.0:
            return draw % self.candidates
        cdf = self._owner_cdf
        n = self.candidates
        rank = min(bisect.bisect_right(cdf, draw / 2**64 * cdf[-1]), n - 1)
        return (rank * self._owner_stride + self.seed) % n  # see _stride

    def owner_share(self, c: int) -> float:
        """Expected fraction of all conversations owned by candidate ``c`` (for tests and
        the per-partition pressure of query patterns)."""
        if self.owner_s == 0.0:
            return 1 / self.candidates
        rank = _unscatter(c, self.candidates, self.seed)
        return (rank + 1) ** -self.owner_s / _zipf_cdf(self.candidates, self.owner_s)[-1]

    def candidate_id(self, c: int) -> str:
        return as_uuid(digest(self.seed, "candidate", c))

    def job_id(self, j: int) -> str:
        return f"JOB-{int.from_bytes(digest(self.seed, 'job', j)[:4], 'big') % 10**8:08d}"


@lru_cache(maxsize=8)
def _zipf_cdf(n: int, s: float) -> tuple[float, ...]:
    """Cumulative weights of ranks 1..n under 1/k^s (built once per key space: ~0.3 s per
    million candidates)."""
    return tuple(itertools.accumulate(k ** -s for k in range(1, n + 1)))


@lru_cache(maxsize=8)
def _stride(n: int, seed: int) -> int:
    """A multiplier coprime with ``n``: rank -> candidate is then a bijection that scatters the
    popular ranks over the id space instead of giving them the lowest indices."""
    a = (0x9E3779B97F4A7C15 + seed) % n or 1
    while math.gcd(a, n) != 1:
        a = a % n + 1
    return a


def _unscatter(c: int, n: int, seed: int) -> int:
    return ((c - seed) * pow(_stride(n, seed), -1, n)) % n if n > 1 else 0
