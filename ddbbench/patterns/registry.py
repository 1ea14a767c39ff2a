"""The access patterns, by name: one module of ddbbench/patterns/ each."""

from __future__ import annotations

from ddbbench.facts import PATTERNS
from ddbbench.patterns import (
    append_message,
    batch_get_candidates,
    create_conversation,
    get_conversation,
    log_events,
    query_by_candidate_status,
    update_status,
)
from ddbbench.patterns.base import Pattern

REGISTRY: dict[str, Pattern] = {p.name: p for p in (
    get_conversation.PATTERN,
    query_by_candidate_status.PATTERN,
    update_status.PATTERN,
    append_message.PATTERN,
    batch_get_candidates.PATTERN,
    create_conversation.PATTERN,
    log_events.PATTERN,
)}
assert tuple(REGISTRY) == PATTERNS, "a pattern needs its module here and its line in ddbbench.facts"
