"""`load.deterministic`: the ids a run creates come from the dataset seed, so two runs of the
same code send the same requests (the capacity gate's `ci` scenario)."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import pytest

from ddbbench.errors import ConfigError
from ddbbench.locust_process import STOP_TIMEOUT_S, stop_timeout_s
from ddbbench.patterns import RequestFactory
from ddbbench.patterns.state import salt_for
from ddbbench.scenario import load_scenario

SHIPPED = Path(__file__).resolve().parents[1] / "scenarios.yaml"


def test_the_salt_is_seeded_per_role_when_deterministic_else_random() -> None:
    ci = load_scenario(SHIPPED, "ci")
    assert ci.load.deterministic
    assert salt_for(ci, "replay") == salt_for(ci, "replay") != salt_for(ci, "warmup")
    other_seed = dataclasses.replace(ci, dataset=dataclasses.replace(ci.dataset, seed=99))
    assert salt_for(other_seed, "replay") != salt_for(ci, "replay")
    free = dataclasses.replace(ci, load=dataclasses.replace(ci.load, deterministic=False))
    assert len({salt_for(free, "replay") for _ in range(5)}) == 5


def test_two_factories_of_a_deterministic_scenario_make_the_same_requests() -> None:
    """Equal but for the timestamps (the wall clock: fixed-length text, the same item sizes)."""
    ci = load_scenario(SHIPPED, "ci")
    calls = []
    for _ in range(2):
        factory, rng = RequestFactory.for_scenario(ci, salt=salt_for(ci, "replay")), random.Random(1)
        factory.clock = lambda: "2026-01-01T00:00:00.000Z"
        calls.append([factory.make(p, rng) for p in ("create_conversation", "log_events") * 20])
    assert calls[0] == calls[1]


def test_deterministic_needs_one_process_and_may_finish_its_schedule() -> None:
    ci = load_scenario(SHIPPED, "ci")
    with pytest.raises(ConfigError, match="processes: 2 with deterministic: true; allowed: 1"):
        dataclasses.replace(ci.load, processes=2).validate("scenarios.ci.load")
    assert stop_timeout_s(ci.load) == 65  # up to the run time again to send the rest
    free = dataclasses.replace(ci.load, deterministic=False)
    assert stop_timeout_s(free) == STOP_TIMEOUT_S
