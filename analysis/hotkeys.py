"""Key skew of a scenario: how much of each pattern's load lands on its hottest key.

Exact probabilities from ``ddbbench.keydist.expected_probability`` over the run's own dataset
(its key counts), for the seed design's keys: conversation items keyed by conversationId, the
status index partitioned by candidateId, candidate profiles keyed by candidateId. A pattern
that picks a conversation loads the index partition of that conversation's candidate, so the
index's hottest key gathers the probabilities of all that candidate's conversations.

Example::

    >>> from ddbbench.scenario import Scenario
    >>> skew = scenario_skew(Scenario())
    >>> round(skew["get_conversation"].table_p, 6)   # uniform over 5,000 conversations
    0.0002
"""

from __future__ import annotations

from collections.abc import Callable

from analysis.plan import KeySkew
from datagen.keyspace import Keyspace
from ddbbench.keydist import Chooser, Latest, expected_probability, make_chooser
from ddbbench.scenario import KeyChoice, Scenario

CONVERSATION_PATTERNS = ("get_conversation", "query_by_candidate_status", "update_status",
                         "append_message")
# Summing per candidate walks every conversation once (about 5 us each): past this many, the
# hottest conversation's own probability is used instead, a lower bound for its candidate.
MAX_EXACT_CONVERSATIONS = 2_000_000


def chooser_for(choice: KeyChoice, n: int) -> Chooser:
    return make_chooser(choice.distribution, n, choice.zipf_s, choice.hot_keys, choice.hot_requests)


def hottest(chooser: Chooser, n: int) -> float:
    """Probability of the most likely index: every distribution here favours the first
    index (uniform, zipfian, hotspot) or the last (latest)."""
    return max(expected_probability(chooser, 0), expected_probability(chooser, n - 1))


def describe(choice: KeyChoice, n: int, what: str) -> str:
    extra = {"zipfian": f" s={choice.zipf_s:g}", "latest": f" s={choice.zipf_s:g}",
             "hotspot": f" {choice.hot_requests:.0%} of requests on {choice.hot_keys:.0%} of keys"}
    return f"{choice.distribution}{extra.get(choice.distribution, '')} over {n:,} {what}"


def hottest_owner(chooser: Chooser, keys: Keyspace, owners: Callable[[], list[int]]) -> float:
    """Probability of the candidate whose conversations are, together, the most requested."""
    n = keys.conversations
    if n > MAX_EXACT_CONVERSATIONS:
        return hottest(chooser, n)
    per_candidate = [0.0] * keys.candidates
    for i, owner in enumerate(owners()):
        per_candidate[owner] += expected_probability(chooser, i)
    return max(per_candidate)


def scenario_skew(sc: Scenario) -> dict[str, KeySkew]:
    """KeySkew for every pattern of the seed design under the scenario's key distributions."""
    keys = Keyspace.of(sc.dataset)
    cache: list[list[int]] = []

    def owners() -> list[int]:  # conversation index -> candidate index, computed once
        if not cache:
            cache.append([keys.conversation(i).candidate_index for i in range(keys.conversations)])
        return cache[0]

    skew = {}
    n = keys.conversations
    for pattern in CONVERSATION_PATTERNS:
        choice = sc.keys.for_pattern(pattern)
        chooser = chooser_for(choice, n)
        if isinstance(chooser, Latest):
            chooser.high_water = n  # at the start of a run; items created later are newer
        skew[pattern] = KeySkew(hottest(chooser, n), hottest_owner(chooser, keys, owners),
                                basis=describe(choice, n, "conversations"))
    choice = sc.keys.for_pattern("batch_get_candidates")
    batch = min(sc.keys.batch_get_size, keys.candidates)
    p = hottest(chooser_for(choice, keys.candidates), keys.candidates)
    # A batch holds distinct keys: the hottest is in it with probability at most batch x p.
    skew["batch_get_candidates"] = KeySkew(min(1.0, batch * p), 0.0, table_share=1 / batch,
                                           basis=describe(choice, keys.candidates, "candidates")
                                           + f", {batch} keys per batch (upper bound)")
    # Every created conversation is a new key; its candidate is a hash of its index.
    skew["create_conversation"] = KeySkew(
        0.0, 1 / keys.candidates, basis=f"new keys; owners uniform over {keys.candidates:,} candidates")
    return skew
