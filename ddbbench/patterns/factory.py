"""Requests of the scenario's mix: which pattern next (``PatternPicker``) and its call
(``RequestFactory``, the ``Context`` every pattern module builds on)."""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Callable

from datagen.keyspace import Keyspace
from datagen.model import candidate_messages
from datagen.pools import Pools, pools_for
from ddbbench.designs import Call, Design, check_scenario_design, make_design
from ddbbench.facts import CANDIDATE_KEYS, PATTERN_FACTS
from ddbbench.keydist import Chooser, Latest, make_chooser
from ddbbench.patterns.registry import REGISTRY
from ddbbench.patterns.state import ConversationState, now_iso
from ddbbench.scenario import Mix, Scenario

# Conversations whose keys a load process keeps once derived (about 250 bytes each: ~8 MB):
# deriving them costs a few microseconds per request, a lookup a tenth of one.
KEY_CACHE = 1 << 15


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


class RequestFactory:
    """Builds the call of a pattern with keys drawn by the scenario's key distributions.

    One per load process: it holds the process's ``ConversationState`` and one key chooser per
    pattern that draws existing keys (``ddbbench.facts.KEYED_PATTERNS``). Example::

        >>> from ddbbench.scenario import load_scenario
        >>> f = RequestFactory.for_scenario(load_scenario("scenarios.yaml", "smoke"))
        >>> f.make("log_events", random.Random(1)).operation
        'batch_write_item'
    """

    def __init__(self, scenario: Scenario, design: Design, keys: Keyspace, pools: Pools,
                 salt: int = 0, clock: Callable[[], str] = now_iso) -> None:
        self.design = design
        self.keys = keys
        self.pools = pools
        self.settings = scenario.keys
        self.candidate_messages = candidate_messages(scenario.dataset.seed, scenario.dataset.message_length)
        self.clock = clock
        self.state = ConversationState(keys, salt)
        self.choosers: dict[str, Chooser] = {
            p.name: self._make_chooser(p.name, self._key_count(p.keys))
            for p in PATTERN_FACTS if p.keys is not None}

    @classmethod
    def for_scenario(cls, scenario: Scenario, salt: int = 0) -> RequestFactory:
        """The scenario's key design's requests over the scenario's dataset (refused if the
        design cannot answer the scenario)."""
        check_scenario_design(scenario)
        return cls(scenario, make_design(scenario.design, scenario.tables),
                   Keyspace.of(scenario.dataset, cache_size=KEY_CACHE),
                   pools_for(scenario.dataset.seed), salt)

    @property
    def batch_size(self) -> int:
        """Keys per batch_get_candidates: ``keys.batch_get_size``, at most every candidate."""
        return min(self.settings.batch_get_size, self.keys.candidates)

    @property
    def query_statuses(self) -> tuple[str, ...]:
        return self.settings.query_statuses

    def _key_count(self, key_space: str) -> int:
        return self.keys.candidates if key_space == CANDIDATE_KEYS else self.keys.conversations

    def _make_chooser(self, pattern: str, n: int) -> Chooser:
        choice = self.settings.for_pattern(pattern)
        return make_chooser(choice.distribution, n, choice.zipf_s, choice.hot_keys, choice.hot_requests)

    def pure(self, patterns: list[str]) -> bool:
        """Whether every call of ``patterns`` depends only on the rng's draws: the pattern is
        pure and its key chooser, if any, is not ``Latest`` (which follows created
        conversations, process state)."""
        return all(REGISTRY[p].pure and type(self.choosers.get(p)) is not Latest for p in patterns)

    def chooser(self, pattern: str) -> Chooser:
        return self.choosers[pattern]

    def conversation(self, pattern: str, rng: random.Random) -> int:
        chooser = self.choosers[pattern]
        if type(chooser) is Latest:
            chooser.high_water = self.state.positions  # created conversations are the newest
        position = chooser.choose(rng)
        # A loaded conversation's index is its position (index_at, without the call).
        return position if position < self.keys.conversations else self.state.index_at(position)

    def make(self, pattern: str, rng: random.Random) -> Call:
        try:
            plugin = REGISTRY[pattern]
        except KeyError:
            raise ValueError(f"unknown pattern {pattern!r}") from None  # PatternPicker only yields known ones
        return plugin.make(self, rng)
