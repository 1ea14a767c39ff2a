"""The seed document's entities, generated as pure functions of (seed, index).

Attribute names and types follow ../shared/seed-dynamodb-usage.md exactly; mapping them to
DynamoDB items is the key design's job (``ddbbench.design``). Generation is on the loading
hot path, so timestamps are integer milliseconds formatted by hand (``datetime`` arithmetic
and ``strftime`` cost more than the rest of a message together).
"""

from __future__ import annotations

import hashlib
import math
import random
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from statistics import NormalDist
from typing import Any, Protocol

from datagen.keyspace import Keyspace, as_uuid, digest, status_shares
from datagen.pools import Pools, pools_for
from ddbbench.scenario import Dataset, MessageLength

# Datasets are dated relative to a fixed instant, not the wall clock, so that the same seed
# gives the same bytes on every day it is generated.
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
EPOCH_MS = int(EPOCH.timestamp()) * 1000
SENDERS = ("system", "candidate")
EVENT_TYPES = ("CONVERSATION_CREATED", "STATUS_CHANGED")
_DAY_MS = 86_400_000


# Built ten times per conversation on the loading hot path: slots and no frozen __init__ make
# it 3x cheaper to construct. Treat it as immutable all the same.
@dataclass(slots=True, unsafe_hash=True)
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


@dataclass(frozen=True)
class Event:
    """An audit-log entry; events of one conversation are read in time order."""

    conversationId: str
    timestamp: str
    eventId: str
    eventType: str
    candidateId: str
    detail: str


def iso(ts: datetime) -> str:
    """ISO 8601 in UTC with millisecond precision, e.g. 2026-01-01T00:00:00.000Z."""
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


@lru_cache(maxsize=4096)
def _date(day: int) -> str:
    return datetime.fromtimestamp(day * 86400, UTC).strftime("%Y-%m-%dT")


_HOUR_MINUTE = tuple(f"{m // 60:02d}:{m % 60:02d}:" for m in range(1440))
# "SS.mmmZ" for every millisecond of a minute (3 MB): one lookup instead of two formats.
_SECOND_MS = tuple(f"{ms // 1000:02d}.{ms % 1000:03d}Z" for ms in range(60_000))


def iso_ms(unix_ms: int) -> str:
    """``iso`` of a Unix time in milliseconds, about 10x faster than via ``datetime``."""
    day, ms = divmod(unix_ms, _DAY_MS)
    minute, ms = divmod(ms, 60_000)
    return f"{_date(day)}{_HOUR_MINUTE[minute]}{ms // 1000:02d}.{ms % 1000:03d}Z"


class Uniform(Protocol):
    def random(self) -> float: ...


class Draws:
    """Uniform draws in [0, 1) from SHAKE-128 of a key: a pure function of the key, and
    ten times cheaper to start than ``random.Random`` (whose seeding costs ~6 us, more than
    the rest of a small conversation). The stream extends itself if a long conversation needs
    more: SHAKE's output for a longer length starts with the shorter one."""

    __slots__ = ("_key", "_pos", "_words")

    def __init__(self, key: bytes, expected: int = 64) -> None:
        self._key = key
        self._pos = 0
        self._words = _words(key, expected)

    def random(self) -> float:
        pos = self._pos
        if pos == len(self._words):
            self._words = _words(self._key, 2 * pos)
        self._pos = pos + 1
        return self._words[pos] * _TO_UNIT


_TO_UNIT = 2.0**-64


class _Replay:
    """``Draws`` over words already computed (the conversation's head: start and count)."""

    __slots__ = ("pos", "words")

    def __init__(self, words: array[int]) -> None:
        self.words = words
        self.pos = 1  # word 0 is the start time

    def random(self) -> float:
        self.pos += 1
        return self.words[self.pos - 1] * _TO_UNIT


def _words(key: bytes, n: int) -> array[int]:
    return array("Q", hashlib.shake_128(key).digest(8 * n))


def pick(rng: Uniform, seq: tuple[str, ...]) -> str:
    """A uniform choice from ``seq``, by one float (the bias, under 2**-40 for these pool
    sizes, does not matter for test data)."""
    return seq[int(rng.random() * len(seq))]


def lognormal(rng: Uniform, median: float, sigma: float) -> float:
    """Log-normal by Box-Muller: works for ``Draws`` and ``random.Random`` alike."""
    z = math.sqrt(-2.0 * math.log(1.0 - rng.random())) * math.cos(2.0 * math.pi * rng.random())
    return median * math.exp(sigma * z)


MESSAGE_POOL_SIZE = 2048


@lru_cache(maxsize=8)
def candidate_messages(seed: int, length: MessageLength) -> tuple[str, ...]:
    """Candidates' messages whose lengths are the quantiles of the configured log-normal:
    a uniform pick from the pool then follows the distribution with one draw per message,
    instead of composing each message from several. Built once per (seed, setting)."""
    sentences = pools_for(seed).candidate_sentences
    rng = random.Random(f"{seed}:candidate-messages")
    normal = NormalDist()
    return tuple(
        _compose(rng, sentences, min(length.max_chars, max(1, round(
            length.median_chars * math.exp(length.sigma * normal.inv_cdf((k + 0.5) / MESSAGE_POOL_SIZE))))))
        for k in range(MESSAGE_POOL_SIZE))


def _compose(rng: random.Random, sentences: tuple[str, ...], target: int) -> str:
    """Faker sentences joined up to ``target`` characters, cut at a word."""
    parts: list[str] = []
    total = -1
    while total < target:
        part = rng.choice(sentences)
        parts.append(part)
        total += len(part) + 1
    text = " ".join(parts)
    if len(text) > target:
        cut = text[:target]
        text = cut.rsplit(" ", 1)[0] if " " in cut else cut
    return text


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
        self.candidate_messages = candidate_messages(dataset.seed, dataset.message_length)
        # Draws most conversations need (start, count, two per message); longer ones extend.
        self._words_hint = 3 + 2 * min(dataset.messages.max, 64)
        m = dataset.messages
        self._min_messages = m.min
        self._uniform_span = m.max - m.min + 1 if m.distribution == "uniform" else 0
        # Owners repeat (skewed ownership) and jobs are few: their ids are worth caching.
        self._candidate_id = lru_cache(maxsize=16_384)(self.keys.candidate_id)
        self._job_id = lru_cache(maxsize=4096)(self.keys.job_id)

    def candidate(self, c: int) -> Candidate:
        rng = random.Random(int.from_bytes(digest(self.dataset.seed, "candidate-profile", c)[:16]))
        first = rng.choice(self.pools.first_names)
        last = rng.choice(self.pools.last_names)
        email = f"{first}.{last}{rng.randrange(100)}@{rng.choice(self.pools.email_domains)}"
        # E.164, North American numbering: +1, area code and exchange not starting with 0/1.
        phone = f"+1{rng.randint(201, 989)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"
        return Candidate(self.keys.candidate_id(c), phone, first, last, email.lower())

    def message_count(self, rng: Uniform) -> int:
        m = self.dataset.messages
        if m.distribution == "uniform":
            return m.min + int(rng.random() * (m.max - m.min + 1))
        return min(m.max, max(m.min, round(lognormal(rng, m.median, m.sigma))))

    def conversation(self, i: int) -> Conversation:
        # The hot path of loading: the draws of ``Draws`` and the formatting of ``iso_ms``,
        # inlined (same values in the same order, so the same bytes), run 2-3x faster.
        keys = self.keys.conversation(i)
        key = f"{self.dataset.seed}:conversation-body:{i}".encode()
        words = _words(key, self._words_hint)
        ts = EPOCH_MS - int(words[0] * _TO_UNIT * 90 * _DAY_MS)
        if self._uniform_span:  # message_count's uniform case, inlined: the same draw
            count, p = self._min_messages + int(words[1] * _TO_UNIT * self._uniform_span), 2
        else:
            head = _Replay(words)
            count, p = self.message_count(head), head.pos
        if p + 2 * count > len(words):  # a long-tail conversation: extend the stream
            words = _words(key, p + 2 * count)
        system, candidate = self.pools.system_messages, self.candidate_messages
        # A draw times 2**-64 times k equals the draw times (2**-64 * k) exactly: scaling by a
        # power of two does not round. So these products give the same values as ``pick``.
        to_gap, to_system, to_candidate = (_TO_UNIT * 3_595_000, _TO_UNIT * len(system),
                                           _TO_UNIT * len(candidate))
        messages: list[Message] = []
        day, in_day = divmod(ts, _DAY_MS)
        date = _date(day)
        append, hour_minute, second_ms, message, day_ms = (
            messages.append, _HOUR_MINUTE, _SECOND_MS, Message, _DAY_MS)  # locals: faster
        for n in range(count):
            # Replies come 5 s to an hour apart; senders alternate, the system first.
            in_day += 5_000 + int(words[p] * to_gap)
            if in_day >= day_ms:  # a gap is under an hour: at most one day boundary
                day, in_day = day + 1, in_day - day_ms
                date = _date(day)
            minute, ms = divmod(in_day, 60_000)
            stamp = date + hour_minute[minute] + second_ms[ms]
            if n & 1:
                append(message("candidate", stamp, candidate[int(words[p + 1] * to_candidate)]))
            else:
                append(message("system", stamp, system[int(words[p + 1] * to_system)]))
            p += 2
        return Conversation(
            conversationId=keys.conversation_id,
            candidateId=self._candidate_id(keys.candidate_index),
            jobId=self._job_id(keys.job_index),
            status=keys.status,
            lastUpdated=iso_ms(ts) if not messages else messages[-1].timestamp,
            messages=tuple(messages),
        )

    def entities(self, candidates: range, conversations: range) -> Iterator[tuple[str, Any]]:
        """The candidates, then the conversations (each followed by its events), of a slice."""
        for c in candidates:
            yield "candidate", self.candidate(c)
        events = self.dataset.events
        for i in conversations:
            conversation = self.conversation(i)
            yield "conversation", conversation
            if events:
                for event in self.events(i, conversation):
                    yield "event", event

    def events(self, i: int, conversation: Conversation | None = None) -> tuple[Event, ...]:
        """The audit events of conversation ``i``: created when it starts, then one
        STATUS_CHANGED per lifecycle step it has taken (to ONGOING at the candidate's first
        reply, to COMPLETED at its last message)."""
        c = conversation or self.conversation(i)
        start = c.messages[0].timestamp if c.messages else c.lastUpdated
        steps = [("CONVERSATION_CREATED", start, "status=CREATED")]
        if c.status != "CREATED":
            reply = c.messages[1].timestamp if len(c.messages) > 1 else start
            steps.append(("STATUS_CHANGED", reply, "status=ONGOING"))
        if c.status == "COMPLETED":
            steps.append(("STATUS_CHANGED", c.lastUpdated, "status=COMPLETED"))
        seed = self.dataset.seed
        return tuple(Event(c.conversationId, ts, as_uuid(digest(seed, f"event{k}", i)), kind,
                           c.candidateId, detail)
                     for k, (kind, ts, detail) in enumerate(steps))


def entities(dataset: Dataset, pools: Pools | None = None, candidates: range | None = None,
             conversations: range | None = None) -> Iterator[tuple[str, Any]]:
    """The dataset's entities, lazily: candidates, then each conversation followed by its
    events (when ``dataset.events``). Kinds: candidate, conversation, event.

    ``candidates`` and ``conversations`` select a slice by index (default: all of each);
    each entity is a pure function of (seed, index), so slices generated apart, in any order
    or process, hold exactly the entities of the whole::

        >>> ds = Dataset(seed=1, candidates=3, conversations=4)
        >>> part = list(entities(ds, candidates=range(0), conversations=range(2, 4)))
        >>> [k for k, _ in part if k != "event"]
        ['conversation', 'conversation']
    """
    gen = Generator(dataset, pools)
    yield from gen.entities(range(dataset.candidates) if candidates is None else candidates,
                            range(dataset.conversations) if conversations is None else conversations)


def expected_events(dataset: Dataset) -> float:
    """Mean events per conversation: one created, one per status step taken."""
    shares = status_shares()
    return 1.0 + (1.0 - shares["CREATED"]) + shares["COMPLETED"]


def largest_conversation(dataset: Dataset, pools: Pools | None = None) -> Conversation:
    """A conversation at least as large as any the dataset can hold: the most messages, each
    as long as its sender's messages can be (for refusing oversize items up front)."""
    pools = pools or pools_for(dataset.seed)
    base = Generator(dataset, pools).conversation(0)
    longest = {"system": max(pools.system_messages, key=len),
               "candidate": max(candidate_messages(dataset.seed, dataset.message_length), key=len)}
    stamp = iso(EPOCH)
    messages = tuple(Message(SENDERS[n % 2], stamp, longest[SENDERS[n % 2]])
                     for n in range(dataset.messages.max))
    return Conversation(base.conversationId, base.candidateId, base.jobId, "COMPLETED", stamp, messages)
