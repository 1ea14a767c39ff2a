"""The seed document's entities, generated as pure functions of (seed, index).

Attribute names and types follow ../shared/seed-dynamodb-usage.md exactly; mapping them to
DynamoDB items is the key design's job (``ddbbench.design``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from datagen.keyspace import Keyspace, digest
from datagen.pools import Pools, pools_for
from ddbbench.scenario import Dataset

# Datasets are dated relative to a fixed instant, not the wall clock, so that the same seed
# gives the same bytes on every day it is generated.
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
SENDERS = ("system", "candidate")


@dataclass(frozen=True)
class Message:
    sender: str
    timestamp: str
    content: str


@dataclass(frozen=True)
class Conversation:
    conversationId: str
    candidateId: str
    jobId: str
    status: str
    lastUpdated: str
    messages: tuple[Message, ...]


@dataclass(frozen=True)
class Candidate:
    candidateId: str
    phoneNumber: str
    firstName: str
    lastName: str
    emailAddress: str


def iso(ts: datetime) -> str:
    """ISO 8601 in UTC with millisecond precision, e.g. 2026-01-01T00:00:00.000Z."""
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


class Generator:
    """Generates any entity of one dataset by index. Example::

        >>> from ddbbench.scenario import Dataset
        >>> gen = Generator(Dataset(seed=1, candidates=5, conversations=20))
        >>> gen.conversation(3) == gen.conversation(3)
        True
    """

    def __init__(self, dataset: Dataset, pools: Pools | None = None) -> None:
        self.dataset = dataset
        self.keys = Keyspace.of(dataset)
        self.pools = pools or pools_for(dataset.seed)

    def candidate(self, c: int) -> Candidate:
        rng = random.Random(digest(self.dataset.seed, "candidate-profile", c))
        first = rng.choice(self.pools.first_names)
        last = rng.choice(self.pools.last_names)
        email = f"{first}.{last}{rng.randrange(100)}@{rng.choice(self.pools.email_domains)}"
        # E.164, North American numbering: +1, area code and exchange not starting with 0/1.
        phone = f"+1{rng.randint(201, 989)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"
        return Candidate(self.keys.candidate_id(c), phone, first, last, email.lower())

    def conversation(self, i: int) -> Conversation:
        keys = self.keys.conversation(i)
        rng = random.Random(digest(self.dataset.seed, "conversation-body", i))
        start = EPOCH - timedelta(seconds=rng.randrange(90 * 86400))
        count = rng.randint(self.dataset.messages.min, self.dataset.messages.max)
        messages = []
        ts = start
        for n in range(count):
            sender = SENDERS[n % 2]
            pool = self.pools.system_messages if sender == "system" else self.pools.candidate_messages
            ts += timedelta(seconds=rng.randint(5, 3600), milliseconds=rng.randrange(1000))
            messages.append(Message(sender, iso(ts), rng.choice(pool)))
        return Conversation(
            conversationId=keys.conversation_id,
            candidateId=self.keys.candidate_id(keys.candidate_index),
            jobId=self.keys.job_id(keys.job_index),
            status=keys.status,
            lastUpdated=iso(ts),  # equals the last message's timestamp (or the start if none)
            messages=tuple(messages),
        )


def largest_conversation(dataset: Dataset, pools: Pools | None = None) -> Conversation:
    """A conversation at least as large as any the dataset can hold: the most messages, each
    with the longest content of its sender's pool (for refusing oversize items up front)."""
    pools = pools or pools_for(dataset.seed)
    gen = Generator(dataset, pools)
    base = gen.conversation(0)
    longest = {"system": max(pools.system_messages, key=len),
               "candidate": max(pools.candidate_messages, key=len)}
    stamp = iso(EPOCH)
    messages = tuple(Message(SENDERS[n % 2], stamp, longest[SENDERS[n % 2]])
                     for n in range(dataset.messages.max))
    return Conversation(base.conversationId, base.candidateId, base.jobId, "COMPLETED", stamp, messages)
