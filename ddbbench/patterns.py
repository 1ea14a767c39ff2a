"""The four access patterns as pure functions from (rng, key space, clock) to a ``Call``.

No I/O here: a pattern decides *what* to ask; ``ddbbench.execute`` sends it.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Callable
from datetime import UTC, datetime

from datagen.keyspace import Keyspace
from datagen.model import SENDERS, Message, iso
from datagen.pools import Pools, pools_for
from ddbbench.design import Call, SeedDesign
from ddbbench.scenario import STATUSES, Mix, Scenario


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


def now_iso() -> str:
    return iso(datetime.now(UTC))


class RequestFactory:
    """Builds the call for a pattern, with keys drawn uniformly from the loaded dataset."""

    def __init__(self, design: SeedDesign, keys: Keyspace, pools: Pools,
                 clock: Callable[[], str] = now_iso) -> None:
        self.design = design
        self.keys = keys
        self.pools = pools
        self.clock = clock

    @classmethod
    def for_scenario(cls, scenario: Scenario) -> RequestFactory:
        """The seed design's requests over the scenario's dataset."""
        return cls(SeedDesign(scenario.tables), Keyspace.of(scenario.dataset),
                   pools_for(scenario.dataset.seed))

    def make(self, pattern: str, rng: random.Random) -> Call:
        conv = self.keys.conversation(rng.randrange(self.keys.conversations))
        if pattern == "get_conversation":
            return self.design.get_conversation(conv.conversation_id)
        if pattern == "query_by_candidate_status":
            # The owner and loaded status of a real conversation: the query hits real items
            # (unless this run has since moved that conversation to another status).
            candidate = self.keys.candidate_id(conv.candidate_index)
            return self.design.query_by_candidate_status(candidate, conv.status)
        if pattern == "update_status":
            return self.design.update_status(conv.conversation_id, rng.choice(STATUSES), self.clock())
        if pattern == "append_message":
            sender = rng.choice(SENDERS)
            pool = self.pools.system_messages if sender == "system" else self.pools.candidate_messages
            message = Message(sender, self.clock(), rng.choice(pool))
            return self.design.append_message(conv.conversation_id, message)
        raise ValueError(f"unknown pattern {pattern!r}")  # PatternPicker only yields known ones
