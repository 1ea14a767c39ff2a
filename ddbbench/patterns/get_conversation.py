"""``get_conversation``: read one conversation (with its messages) by id."""

from __future__ import annotations

import random

from ddbbench.designs import Call
from ddbbench.patterns.base import Context, Pattern


class GetConversation(Pattern):
    name = "get_conversation"
    pure = True  # keys from the rng alone

    def make(self, ctx: Context, rng: random.Random) -> Call:
        i = ctx.conversation(self.name, rng)
        return ctx.design.get_conversation(ctx.keys.conversation(i).conversation_id)


PATTERN = GetConversation()
