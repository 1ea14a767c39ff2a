"""Keys of the dataset as pure functions of (seed, index).

One BLAKE2b digest per entity gives its id and its key attributes, so computing the key of
conversation ``i`` costs about a microsecond and needs no state: the loader and every load
process agree on the key space without coordination.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ddbbench.scenario import STATUSES, Dataset

# Initial status mix of a loaded dataset (cumulative, out of 100): most conversations in the
# middle of their lifecycle, as in a live recruiting pipeline.
_STATUS_CUTS = ((20, "CREATED"), (70, "ONGOING"), (100, "COMPLETED"))
assert tuple(s for _, s in _STATUS_CUTS) == STATUSES


def digest(seed: int, kind: str, index: int) -> bytes:
    return hashlib.blake2b(f"{seed}:{kind}:{index}".encode(), digest_size=32).digest()


def as_uuid(raw: bytes) -> str:
    """The version-4 UUID string of the first 16 bytes: what ``str(uuid.UUID(bytes=raw[:16],
    version=4))`` gives, without its validating constructor (on the per-request path)."""
    b = bytearray(raw[:16])
    b[6] = (b[6] & 0x0F) | 0x40  # version 4
    b[8] = (b[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


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

    @classmethod
    def of(cls, dataset: Dataset) -> Keyspace:
        return cls(dataset.seed, dataset.conversations, dataset.candidates, dataset.jobs)

    def conversation(self, i: int) -> ConversationKeys:
        d = digest(self.seed, "conversation", i)
        owner = int.from_bytes(d[16:24], "big") % self.candidates
        job = int.from_bytes(d[24:28], "big") % self.jobs
        roll = int.from_bytes(d[28:32], "big") % 100
        status = next(s for cut, s in _STATUS_CUTS if roll < cut)
        return ConversationKeys(i, as_uuid(d), owner, job, status)

    def candidate_id(self, c: int) -> str:
        return as_uuid(digest(self.seed, "candidate", c))

    def job_id(self, j: int) -> str:
        return f"JOB-{int.from_bytes(digest(self.seed, 'job', j)[:4], 'big') % 10**8:08d}"
