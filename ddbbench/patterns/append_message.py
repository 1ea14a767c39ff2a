"""``append_message``: add one message (system template or candidate text) to a conversation."""

from __future__ import annotations

import random

from datagen.model import SENDERS, Message
from ddbbench.designs import Call
from ddbbench.patterns.base import Context, Pattern


class AppendMessage(Pattern):
    name = "append_message"

    def make(self, ctx: Context, rng: random.Random) -> Call:
        i = ctx.conversation(self.name, rng)
        return ctx.design.append_message(ctx.keys.conversation(i).conversation_id, message(ctx, rng))


def message(ctx: Context, rng: random.Random) -> Message:
    sender = rng.choice(SENDERS)
    pool = ctx.pools.system_messages if sender == "system" else ctx.candidate_messages
    return Message(sender, ctx.clock(), rng.choice(pool))


PATTERN = AppendMessage()
