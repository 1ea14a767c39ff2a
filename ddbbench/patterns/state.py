"""What one load process remembers between requests, so later requests follow the lifecycle
and hit real items: statuses it moved, conversations it created, events it logged."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from datagen.keyspace import Keyspace, as_uuid, digest
from datagen.model import iso
from ddbbench.facts import STATUSES
from ddbbench.scenario import Scenario

NEXT_STATUS = {"CREATED": "ONGOING", "ONGOING": "COMPLETED", "COMPLETED": "COMPLETED"}
assert tuple(NEXT_STATUS) == STATUSES


def process_salt() -> int:
    """A random offset for the indices of conversations this process creates, so that
    processes (and repeated runs against a kept table) do not create the same ids."""
    return random.SystemRandom().randrange(1 << 40)


def salt_for(scenario: Scenario, role: str) -> int:
    """The process's salt: from the dataset seed and the ``role`` (``warmup``, ``replay``)
    under ``load.deterministic`` (runs then repeat exactly), else ``process_salt()``."""
    if not scenario.load.deterministic:
        return process_salt()
    return int.from_bytes(digest(scenario.dataset.seed, f"salt:{role}", 0)[:5], "big")


def now_iso() -> str:
    return iso(datetime.now(UTC))


class ConversationState:
    """What this process knows: statuses it set, conversations it created.

    Created conversations take indices ``n + salt + k``: a random per-process ``salt`` keeps
    processes from creating the same ids without coordination. Choosers draw *positions*
    ``0 .. n + created - 1`` (the newest last), mapped to indices by ``index_at``. Event ids
    this process logs are drawn from the same salt, so they are new and its own.
    """

    def __init__(self, keys: Keyspace, salt: int) -> None:
        self.keys = keys
        self.salt = salt
        self.created = 0
        self.logged = 0
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

    def new_event_id(self) -> str:
        """A UUID no loaded event and no other process's event has (a pure function of the
        dataset seed, this process's salt and a counter)."""
        self.logged += 1
        return as_uuid(digest(self.keys.seed, f"logged-event:{self.salt}", self.logged))
