"""The per-user pacer: fixed rate, evenly spread phases, no backlog."""

from __future__ import annotations

import pytest

from ddbbench.pacing import Pacer, user_phase


def test_fixed_rate_schedule_from_the_phase() -> None:
    p = Pacer(rate=4, phase=0.2, epoch=10.0, now=10.0)  # period 0.25 s, first start at 10.05
    assert p.delay(10.0) == pytest.approx(0.05)
    assert p.delay(10.06) == pytest.approx(0.24)  # next at 10.30
    assert p.delay(10.31) == pytest.approx(0.24)  # next at 10.55
    assert p.late == 0


def test_a_user_spawned_later_keeps_its_phase() -> None:
    p = Pacer(rate=10, phase=0.3, epoch=0.0, now=1.234)  # slots at ..., 1.23, 1.33, ...
    assert p.delay(1.234) == pytest.approx(0.096)
    assert p.late == 0


def test_behind_schedule_starts_now_and_counts_late_without_backlog() -> None:
    p = Pacer(rate=10, phase=0.0, epoch=0.0, now=0.0)
    assert p.delay(0.0) == 0.0  # slot 0.0 -> next 0.1
    assert p.delay(0.35) == 0.0  # a slow request: late, re-anchored at 0.35 -> next 0.45
    assert p.late == 1
    assert p.delay(0.36) == pytest.approx(0.09)  # no burst of catch-up requests
    assert p.late == 1


def test_unpaced_never_waits() -> None:
    p = Pacer(rate=0, phase=0.5, epoch=0.0, now=0.0)
    assert [p.delay(t) for t in (0.0, 1.0, 2.0)] == [0.0, 0.0, 0.0]
    assert p.late == 0


@pytest.mark.parametrize("users", [2, 4, 10, 50])
def test_users_of_a_process_are_evenly_spread(users: int) -> None:
    phases = sorted(user_phase(n, 0.37) for n in range(1, users + 1))
    gaps = [b - a for a, b in zip(phases, [*phases[1:], phases[0] + 1], strict=True)]
    # Golden-ratio points: the smallest gap is never below a third of the even spacing.
    assert min(gaps) > 1 / (3 * users)


def test_users_created_together_do_not_fire_together() -> None:
    # Ten users created in one instant (as Locust's dispatcher does).
    firsts = [Pacer(rate=1, phase=user_phase(n, 0.0), epoch=0.0, now=0.0).delay(0.0)
              for n in range(1, 11)]
    assert len({round(f, 3) for f in firsts}) == 10
    assert max(firsts) - min(firsts) > 0.8


def test_phase_must_be_a_fraction_of_the_period() -> None:
    with pytest.raises(ValueError):
        Pacer(rate=1, phase=1.0, epoch=0.0, now=0.0)
