"""What an access pattern is: a name, a kind and a key space (all from ``ddbbench.facts``),
and ``make``: the ``Call`` of one request, built on the key design's logical calls, with keys
drawn from what the ``Context`` offers. No I/O: ``ddbbench.execute`` sends the call."""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar, Protocol

from datagen.keyspace import Keyspace
from datagen.pools import Pools
from ddbbench.designs import Call, Design
from ddbbench.facts import pattern_fact
from ddbbench.keydist import Chooser
from ddbbench.patterns.state import ConversationState
from ddbbench.scenario import Keys


class Context(Protocol):
    """What a pattern may use (``ddbbench.patterns.RequestFactory`` provides it, one per
    process): the design, the key space, the process state and the scenario's ``keys``."""

    design: Design
    keys: Keyspace
    pools: Pools
    state: ConversationState
    settings: Keys  # the scenario's keys section: key choices, batch sizes, query statuses
    candidate_messages: tuple[str, ...]
    clock: Callable[[], str]  # now, as ISO 8601 (fixed in tests)

    def conversation(self, pattern: str, rng: random.Random) -> int:
        """The index of a conversation drawn by ``pattern``'s key choice (created ones too)."""
        ...

    def chooser(self, pattern: str) -> Chooser:
        """``pattern``'s key chooser over its key space (e.g. candidates)."""
        ...


class Pattern(ABC):
    """One access pattern. A subclass sets ``name`` (a name of ``ddbbench.facts.PATTERNS``);
    ``kind`` ("read"/"write") and ``keys`` (the key space its key choice draws from, or None)
    come from that registry line, so they are defined once for every layer."""

    name: ClassVar[str]
    kind: ClassVar[str]
    keys: ClassVar[str | None]
    # True when ``make`` depends on nothing but the rng's draws (and its chooser, if that is
    # not ``Latest``): no process state, no clock. Such calls may be drawn ahead, a few at a
    # time per user, and come out exactly as if drawn one by one.
    pure: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        try:
            fact = pattern_fact(cls.name)
        except KeyError:
            raise TypeError(f"pattern {cls.name!r}: add its line to ddbbench.facts.PATTERN_FACTS") from None
        cls.kind, cls.keys = fact.kind, fact.keys

    @abstractmethod
    def make(self, ctx: Context, rng: random.Random) -> Call:
        """The call of one request of this pattern."""

    def __repr__(self) -> str:
        return f"<pattern {self.name} ({self.kind})>"
