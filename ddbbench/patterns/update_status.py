"""``update_status``: move a conversation one step along CREATED -> ONGOING -> COMPLETED."""

from __future__ import annotations

import random

from ddbbench.designs import Call
from ddbbench.patterns.base import Context, Pattern
from ddbbench.patterns.state import NEXT_STATUS


class UpdateStatus(Pattern):
    name = "update_status"

    def make(self, ctx: Context, rng: random.Random) -> Call:
        i = ctx.conversation(self.name, rng)
        status = NEXT_STATUS[ctx.state.current_status(i)]  # the lifecycle, in order
        ctx.state.status[i] = status
        return ctx.design.update_status(ctx.keys.conversation(i).conversation_id, status, ctx.clock())


PATTERN = UpdateStatus()
