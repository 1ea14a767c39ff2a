"""``query_by_candidate_status``: a candidate's conversations in one status (the seed's
"active conversations of a candidate" query)."""

from __future__ import annotations

import random

from ddbbench.designs import Call
from ddbbench.patterns.base import Context, Pattern


class QueryByCandidateStatus(Pattern):
    name = "query_by_candidate_status"

    def make(self, ctx: Context, rng: random.Random) -> Call:
        # The owner and current status of a real conversation, so the query hits items; a
        # status outside query_statuses (e.g. COMPLETED, not active) is replaced by one in it.
        i = ctx.conversation(self.name, rng)
        candidate = ctx.keys.candidate_id(ctx.keys.conversation(i).candidate_index)
        status = ctx.state.current_status(i)
        allowed = ctx.settings.query_statuses
        if status not in allowed:
            status = allowed[int(rng.random() * len(allowed))]
        return ctx.design.query_by_candidate_status(candidate, status)


PATTERN = QueryByCandidateStatus()
