"""Facts shared by every layer, defined once: the access patterns' names and kinds, the
conversation lifecycle, DynamoDB's storage overhead per item.

This module is at the bottom of the layers (it imports nothing of the project), so the
scenario model can validate pattern names without knowing how a pattern builds its request
(that is ``ddbbench.patterns``, one module per pattern). Example::

    >>> from ddbbench.facts import PATTERNS, WRITE_PATTERNS, pattern_fact
    >>> PATTERNS[:2]
    ('get_conversation', 'query_by_candidate_status')
    >>> pattern_fact("log_events").kind, "log_events" in WRITE_PATTERNS
    ('write', True)
"""

from __future__ import annotations

from dataclasses import dataclass

# What a pattern's key choice (scenario ``keys.<pattern>``) draws from.
CONVERSATION_KEYS = "conversation"  # the dataset's conversations and those the process created
CANDIDATE_KEYS = "candidate"  # the dataset's candidates
KEY_SPACES = (CONVERSATION_KEYS, CANDIDATE_KEYS)


@dataclass(frozen=True)
class PatternFact:
    """What every layer may know of an access pattern: its ``name`` (in the mix, the keys
    and the results), ``kind`` (``read`` or ``write``), the key space its key choice draws from
    (None: it draws no existing key, e.g. it creates a new one) and its ``weight`` in a
    scenario's mix when the scenario does not name it."""

    name: str
    kind: str
    keys: str | None
    weight: float = 0.0

    def __post_init__(self) -> None:
        assert self.kind in ("read", "write") and (self.keys is None or self.keys in KEY_SPACES), self


# The registry of access patterns, in the order of the mix, of reports and of messages.
# Adding a pattern: one line here plus its module in ddbbench/patterns/ (see its docstring).
PATTERN_FACTS: tuple[PatternFact, ...] = (
    PatternFact("get_conversation", "read", CONVERSATION_KEYS, 40.0),
    PatternFact("query_by_candidate_status", "read", CONVERSATION_KEYS, 30.0),
    PatternFact("update_status", "write", CONVERSATION_KEYS, 15.0),
    PatternFact("append_message", "write", CONVERSATION_KEYS, 15.0),
    PatternFact("batch_get_candidates", "read", CANDIDATE_KEYS),
    PatternFact("create_conversation", "write", None),
    PatternFact("log_events", "write", CONVERSATION_KEYS),
)
PATTERNS = tuple(p.name for p in PATTERN_FACTS)
SEED_PATTERNS = PATTERNS[:4]  # the seed document's four access patterns
WRITE_PATTERNS = tuple(p.name for p in PATTERN_FACTS if p.kind == "write")
KEYED_PATTERNS = tuple(p.name for p in PATTERN_FACTS if p.keys is not None)  # with a keys.<name> entry

STATUSES = ("CREATED", "ONGOING", "COMPLETED")  # the conversation lifecycle, in order
ACTIVE_STATUSES = tuple(st for st in STATUSES if st != "COMPLETED")

# Outcome classes of a request (ddbbench.execute.classify_error), and the error codes that
# mean throttling (the service's, as botocore's standard retry mode lists them for DynamoDB).
OUTCOMES = ("ok", "throttled", "conditional_check_failed", "validation", "client_error",
            "server_error", "connection")
THROTTLE_CODES = frozenset({"ProvisionedThroughputExceededException", "ThrottlingException",
                            "RequestLimitExceeded"})

ITEM_OVERHEAD_BYTES = 100  # DynamoDB bills each table and index entry 100 bytes beyond its data
BATCH_WRITE_LIMIT = 25  # items per BatchWriteItem call


def pattern_fact(name: str) -> PatternFact:
    """The fact of pattern ``name`` (KeyError for a name not in ``PATTERNS``)."""
    return _BY_NAME[name]


_BY_NAME = {p.name: p for p in PATTERN_FACTS}
assert len(_BY_NAME) == len(PATTERN_FACTS), "pattern names must be unique"
