"""``batch_get_candidates``: BatchGetItem of ``keys.batch_get_size`` distinct candidate
profiles (capped at the number of candidates)."""

from __future__ import annotations

import random

from ddbbench.designs import Call
from ddbbench.patterns.base import Context, Pattern

MAX_DRAWS_PER_KEY = 20


class BatchGetCandidates(Pattern):
    name = "batch_get_candidates"
    pure = True  # keys from the rng alone

    def make(self, ctx: Context, rng: random.Random) -> Call:
        chooser = ctx.chooser(self.name)
        n = ctx.keys.candidates
        size = min(ctx.settings.batch_get_size, n)
        picked: dict[int, None] = {}  # BatchGetItem refuses duplicate keys
        for _ in range(MAX_DRAWS_PER_KEY * size):
            picked[chooser.choose(rng)] = None
            if len(picked) == size:
                break
        # A skewed chooser may not reach enough distinct keys (e.g. a hot set smaller than the
        # batch receiving all requests): complete with the next indices, never loop forever.
        c = next(iter(picked))
        while len(picked) < size:
            c = (c + 1) % n
            picked[c] = None
        return ctx.design.batch_get_candidates([ctx.keys.candidate_id(c) for c in picked])


PATTERN = BatchGetCandidates()
