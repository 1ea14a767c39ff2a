"""``create_conversation``: put a new CREATED conversation with a system greeting (its id
is new to the dataset and to every other process; see ``ConversationState``)."""

from __future__ import annotations

import random

from datagen.model import Conversation, Message
from ddbbench.designs import Call
from ddbbench.patterns.base import Context, Pattern


class CreateConversation(Pattern):
    name = "create_conversation"

    def make(self, ctx: Context, rng: random.Random) -> Call:
        i = ctx.state.create()
        k = ctx.keys.conversation(i)
        now = ctx.clock()
        greeting = Message("system", now, rng.choice(ctx.pools.system_messages))
        return ctx.design.create_conversation(Conversation(
            conversationId=k.conversation_id, candidateId=ctx.keys.candidate_id(k.candidate_index),
            jobId=ctx.keys.job_id(k.job_index), status="CREATED", lastUpdated=now,
            messages=(greeting,)))


PATTERN = CreateConversation()
