"""``log_events``: append ``keys.log_events_batch_size`` audit events of one conversation
to the event log in one BatchWriteItem (the seed's ``dynamodb:BatchWriteItem`` and "event
logs for auditing"). The design says where events live (``Design.event_items``); the
executor re-sends UnprocessedItems with backoff, as an application must."""

from __future__ import annotations

import random

from datagen.model import Event
from ddbbench.designs import Call
from ddbbench.patterns.base import Context, Pattern

LOG_EVENT_TYPES = ("MESSAGE_SENT", "MESSAGE_READ", "CONVERSATION_VIEWED")


class LogEvents(Pattern):
    name = "log_events"

    def make(self, ctx: Context, rng: random.Random) -> Call:
        i = ctx.conversation(self.name, rng)
        k = ctx.keys.conversation(i)
        candidate = ctx.keys.candidate_id(k.candidate_index)
        detail = f"status={ctx.state.current_status(i)}"
        now = ctx.clock()
        events = [Event(k.conversation_id, now, ctx.state.new_event_id(),
                        LOG_EVENT_TYPES[int(rng.random() * len(LOG_EVENT_TYPES))], candidate, detail)
                  for _ in range(ctx.settings.log_events_batch_size)]
        return ctx.design.log_events(events)


PATTERN = LogEvents()
