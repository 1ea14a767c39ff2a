"""Closed-model users draw their calls a few at a time when the mix is pure (every call a
function of the user's rng alone): the calls, their order and the rng's state afterwards are
those of drawing one by one; a mix with process state or a clock is drawn one by one."""

from __future__ import annotations

import random
from typing import Any

from ddbbench.client import Endpoint
from ddbbench.execute import Result
from ddbbench.replay import DRAW_AHEAD, ReplayContext
from ddbbench.scenario import KeyChoice, Keys, Mix, Scenario

PURE = Mix(get_conversation=3, query_by_candidate_status=0, update_status=0, append_message=0,
           batch_get_candidates=1)


class FakeClient:
    """Answers every call at once and remembers what was sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def get_item(self, **kwargs: Any) -> dict[str, Any]:
        self.sent.append(("get_item", kwargs))
        return {"Item": {}}

    def batch_get_item(self, **kwargs: Any) -> dict[str, Any]:
        self.sent.append(("batch_get_item", kwargs))
        return {"Responses": {}}

    def update_item(self, **kwargs: Any) -> dict[str, Any]:
        self.sent.append(("update_item", kwargs))
        return {}


def context(mix: Mix, keys: Keys | None = None) -> tuple[ReplayContext, FakeClient]:
    scenario = Scenario(name="t", mix=mix, **({"keys": keys} if keys else {}))
    endpoint = Endpoint("endpoint", "http://127.0.0.1:9", "us-east-1")  # never reached: a fake client
    ctx = ReplayContext.create(scenario, endpoint, None, pool_size=1)
    fake = FakeClient()
    ctx.client = fake
    return ctx, fake


def test_pure_mix_draws_ahead_and_sends_the_one_by_one_calls_in_order() -> None:
    ctx, fake = context(PURE)
    assert ctx.draw_ahead == DRAW_AHEAD > 1
    reference, _ = context(PURE)
    n = 3 * DRAW_AHEAD + 5  # past a few batches and into one
    users = [random.Random(7), random.Random(8)]
    ref_users = [random.Random(7), random.Random(8)]
    expected: list[list[tuple[str, dict[str, Any]]]] = [[], []]
    for _ in range(n):  # interleaved users, as Locust runs them
        for u in range(2):
            pattern, result = ctx.step(users[u])
            assert isinstance(result, Result) and result.outcome == "ok"
            ref_pattern, call = reference.next_call(ref_users[u])
            assert pattern == ref_pattern
            expected[u].append((call.operation, call.kwargs))
    sent_by_user = [fake.sent[u::2] for u in range(2)]
    assert sent_by_user == expected
    # The calls drawn and not yet sent are the users' next ones.
    for u in range(2):
        assert [c.kwargs for _, c in reversed(ctx.drawn[users[u]])] == \
            [reference.next_call(ref_users[u])[1].kwargs for _ in range(len(ctx.drawn[users[u]]))]
        assert users[u].random() == ref_users[u].random()  # the rng is where one-by-one leaves it


def test_draw_gives_what_next_call_gives() -> None:
    ctx, _ = context(PURE)
    a, b = random.Random(3), random.Random(3)
    drawn = ctx.draw(a, 50)
    one_by_one = [ctx.next_call(b) for _ in range(50)]
    assert [(p, c.kwargs) for p, c in drawn] == [(p, c.kwargs) for p, c in one_by_one]


def test_a_stopped_user_forgets_its_drawn_calls() -> None:
    ctx, fake = context(PURE)
    rng = random.Random(1)
    ctx.step(rng)
    assert len(ctx.drawn[rng]) == DRAW_AHEAD - 1 and len(fake.sent) == 1
    ctx.forget(rng)
    assert rng not in ctx.drawn
    ctx.forget(rng)  # twice is harmless


def test_mixes_with_state_or_a_latest_chooser_draw_one_by_one() -> None:
    stateful, _ = context(Mix(get_conversation=1, query_by_candidate_status=0, update_status=1,
                              append_message=0))
    assert stateful.draw_ahead == 1
    latest, _ = context(Mix(get_conversation=1, query_by_candidate_status=0, update_status=0,
                            append_message=0),
                        Keys(get_conversation=KeyChoice(distribution="latest")))
    assert latest.draw_ahead == 1
    rng = random.Random(2)
    stateful.step(rng)
    assert stateful.drawn == {}
