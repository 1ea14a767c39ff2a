"""The access patterns as functions from (rng, key space, process state, clock) to a ``Call``.

No I/O here: a pattern decides *what* to ask; ``ddbbench.execute`` sends it. What a process
changes (statuses it moved, conversations it created) is remembered in ``ConversationState``
so later requests follow the lifecycle and hit real items.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Callable
from datetime import UTC, datetime

from datagen.keyspace import Keyspace
from datagen.model import SENDERS, Conversation, Message, candidate_messages, iso
from datagen.pools import Pools, pools_for
from ddbbench.designs import Call, Design, make_design
from ddbbench.keydist import Chooser, Latest, make_chooser
from ddbbench.scenario import STATUSES, KeyChoice, Mix, Scenario

MAX_DRAWS_PER_KEY = 20
NEXT_STATUS = {"CREATED": "ONGOING", "ONGOING": "COMPLETED", "COMPLETED": "COMPLETED"}
assert tuple(NEXT_STATUS) == STATUSES


class PatternPicker:
    """Draws pattern names with the mix's weights. Example::

        >>> picker = PatternPicker(Mix(get_conversation=1, query_by_candidate_status=0,
        ...                            update_status=0, append_message=0))
        >>> picker.pick(random.Random(0))
        'get_conversation'
    """

    def __init__(self, mix: Mix) -> None:
        weighted = [(p, w) for p, w in mix.weights().items() if w > 0]
        self.names = [p for p, _ in weighted]
        self.cumulative = list(itertools.accumulate(w for _, w in weighted))

    def pick(self, rng: random.Random) -> str:
        x = rng.random() * self.cumulative[-1]
        return self.names[bisect.bisect_right(self.cumulative, x)]


def process_salt() -> int:
    """A random offset for the indices of conversations this process creates, so that
    processes (and repeated runs against a kept table) do not create the same ids."""
    return random.SystemRandom().randrange(1 << 40)


def now_iso() -> str:
    return iso(datetime.now(UTC))


class ConversationState:
    """What this process knows: statuses it set, conversations it created.

    Created conversations take indices ``n + salt + k``: a random per-process ``salt`` keeps
    processes from creating the same ids without coordination. Choosers draw *positions*
    ``0 .. n + created - 1`` (the newest last), mapped to indices by ``index_at``.
    """

    def __init__(self, keys: Keyspace, salt: int) -> None:
        self.keys = keys
        self.salt = salt
        self.created = 0
        self.status: dict[int, str] = {}

    @property
    def positions(self) -> int:
        return self.keys.conversations + self.created

    def index_at(self, position: int) -> int:
        n = self.keys.conversations
        return position if position < n else n + self.salt + (position - n)

    def current_status(self, i: int) -> str:
        return self.status.get(i) or self.keys.conversation(i).status

    def create(self) -> int:
        i = self.index_at(self.positions)
        self.created += 1
        self.status[i] = "CREATED"
        return i


class RequestFactory:
    """Builds the call for a pattern with keys drawn by the scenario's key distributions."""

    def __init__(self, scenario: Scenario, design: Design, keys: Keyspace, pools: Pools,
                 salt: int = 0, clock: Callable[[], str] = now_iso) -> None:
        self.design = design
        self.keys = keys
        self.pools = pools
        self.candidate_messages = candidate_messages(scenario.dataset.seed, scenario.dataset.message_length)
        self.clock = clock
        self.state = ConversationState(keys, salt)
        self.batch_size = min(scenario.keys.batch_get_size, keys.candidates)
        self.query_statuses = scenario.keys.query_statuses
        self.choosers: dict[str, Chooser] = {
            p: self._chooser(scenario.keys.for_pattern(p), p)
            for p in ("get_conversation", "query_by_candidate_status", "update_status",
                      "append_message", "batch_get_candidates")}

    @classmethod
    def for_scenario(cls, scenario: Scenario, salt: int = 0) -> RequestFactory:
        """The scenario's key design's requests over the scenario's dataset."""
        return cls(scenario, make_design(scenario.design, scenario.tables), Keyspace.of(scenario.dataset),
                   pools_for(scenario.dataset.seed), salt)

    def _chooser(self, choice: KeyChoice, pattern: str) -> Chooser:
        n = self.keys.candidates if pattern == "batch_get_candidates" else self.keys.conversations
        return make_chooser(choice.distribution, n, choice.zipf_s, choice.hot_keys, choice.hot_requests)

    def _conversation(self, pattern: str, rng: random.Random) -> int:
        chooser = self.choosers[pattern]
        if isinstance(chooser, Latest):
            chooser.high_water = self.state.positions  # created conversations are the newest
        return self.state.index_at(chooser.choose(rng))

    def make(self, pattern: str, rng: random.Random) -> Call:
        if pattern == "batch_get_candidates":
            return self._batch_get(rng)
        if pattern == "create_conversation":
            return self._create(rng)
        if pattern not in self.choosers:
            raise ValueError(f"unknown pattern {pattern!r}")  # PatternPicker only yields known ones
        i = self._conversation(pattern, rng)
        conversation_id = self.keys.conversation(i).conversation_id
        if pattern == "get_conversation":
            return self.design.get_conversation(conversation_id)
        if pattern == "query_by_candidate_status":
            # The owner and current status of a real conversation, so the query hits items; a
            # status outside query_statuses (e.g. COMPLETED, not active) is replaced by one in it.
            candidate = self.keys.candidate_id(self.keys.conversation(i).candidate_index)
            status = self.state.current_status(i)
            if status not in self.query_statuses:
                status = self.query_statuses[int(rng.random() * len(self.query_statuses))]
            return self.design.query_by_candidate_status(candidate, status)
        if pattern == "update_status":
            status = NEXT_STATUS[self.state.current_status(i)]  # the lifecycle, in order
            self.state.status[i] = status
            return self.design.update_status(conversation_id, status, self.clock())
        if pattern == "append_message":
            return self.design.append_message(conversation_id, self._message(rng))
        raise AssertionError(pattern)  # every chooser's pattern is handled above

    def _message(self, rng: random.Random) -> Message:
        sender = rng.choice(SENDERS)
        pool = self.pools.system_messages if sender == "system" else self.candidate_messages
        return Message(sender, self.clock(), rng.choice(pool))

    def _batch_get(self, rng: random.Random) -> Call:
        chooser = self.choosers["batch_get_candidates"]
        picked: dict[int, None] = {}  # BatchGetItem refuses duplicate keys
        for _ in range(MAX_DRAWS_PER_KEY * self.batch_size):
            picked[chooser.choose(rng)] = None
            if len(picked) == self.batch_size:
                break
        # A skewed chooser may not reach enough distinct keys (e.g. a hot set smaller than the
        # batch receiving all requests): complete with the next indices, never loop forever.
        c = next(iter(picked))
        while len(picked) < self.batch_size:
            c = (c + 1) % self.keys.candidates
            picked[c] = None
        return self.design.batch_get_candidates([self.keys.candidate_id(c) for c in picked])

    def _create(self, rng: random.Random) -> Call:
        i = self.state.create()
        k = self.keys.conversation(i)
        now = self.clock()
        greeting = Message("system", now, rng.choice(self.pools.system_messages))
        return self.design.create_conversation(Conversation(
            conversationId=k.conversation_id, candidateId=self.keys.candidate_id(k.candidate_index),
            jobId=self.keys.job_id(k.job_index), status="CREATED", lastUpdated=now,
            messages=(greeting,)))
