"""The write-rate cap (datagen/ratelimit.py): token-bucket arithmetic on a fake clock."""

from __future__ import annotations

import threading

import pytest

from datagen.ratelimit import TokenBucket, WriteCap, wcu


class FakeTime:
    """A clock that moves only when someone sleeps (or the test says so)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_a_lone_writer_is_held_to_the_rate() -> None:
    t = FakeTime()
    bucket = TokenBucket(100.0, clock=t.clock, sleep=t.sleep)
    for _ in range(40):
        bucket.acquire(25)
    # 1,000 items at 100/s from an empty bucket: 10 s of waiting, a quarter second per batch.
    assert t.now == pytest.approx(10.0)
    assert t.slept == pytest.approx([0.25] * 40)
    assert bucket.granted == 1000 and bucket.waited_s == pytest.approx(10.0)


def test_time_spent_writing_counts_towards_the_rate() -> None:
    t = FakeTime()
    bucket = TokenBucket(100.0, clock=t.clock, sleep=t.sleep)
    bucket.acquire(25)  # waits 0.25 s
    t.now += 0.2  # the write itself took 0.2 s: the next batch waits only the rest
    assert bucket.acquire(25) == pytest.approx(0.05)


def test_idle_credit_is_capped_at_the_burst() -> None:
    t = FakeTime()
    bucket = TokenBucket(100.0, burst_s=1.0, clock=t.clock, sleep=t.sleep)
    t.now += 60  # a minute idle saves one second's worth, not sixty
    assert [bucket.acquire(50) for _ in range(2)] == [0.0, 0.0]
    assert bucket.acquire(50) == pytest.approx(0.5)


def test_a_batch_larger_than_a_second_of_rate_still_passes_after_its_wait() -> None:
    t = FakeTime()
    bucket = TokenBucket(10.0, clock=t.clock, sleep=t.sleep)
    assert bucket.acquire(25) == pytest.approx(2.5)


def test_concurrent_writers_queue_in_turn() -> None:
    # A frozen clock: each reservation is told the wait of everything reserved before it.
    bucket = TokenBucket(50.0, clock=lambda: 0.0, sleep=lambda s: None)
    waits: list[float] = []
    lock = threading.Lock()

    def writer() -> None:
        for _ in range(10):
            w = bucket.reserve(25)
            with lock:
                waits.append(w)

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(waits) == pytest.approx([0.5 * k for k in range(1, 41)])  # 25 items at 50/s each
    assert bucket.granted == 1000


@pytest.mark.parametrize("rate", [0.0, -1.0, float("nan"), float("inf")])
def test_nonsense_rates_are_refused(rate: float) -> None:
    with pytest.raises(ValueError, match="rate must be a finite number > 0"):
        TokenBucket(rate)


def test_wcu_is_one_per_started_kilobyte() -> None:
    def item(size: int) -> dict[str, dict[str, str]]:
        return {"k": {"S": "x" * (size - 1)}}  # name 1 byte + value

    assert [wcu(item(n)) for n in (1, 1024, 1025, 2048, 2049, 400 * 1024)] == [1, 1, 2, 2, 3, 400]


def test_write_cap_applies_both_caps_and_reports_them() -> None:
    t = FakeTime()
    cap = WriteCap(items_per_s=100.0, wcu_per_s=20.0, clock=t.clock, sleep=t.sleep)
    small, big = {"k": {"S": "x"}}, {"k": {"S": "x" * 3000}}  # 1 and 3 WCU
    cap.acquire([small] * 10)  # items: 10 at 100/s = 0.1 s; WCU: 10 at 20/s, 0.1 s of it passed
    cap.acquire([big] * 2)  # items: credit saved while waiting for WCU; WCU: 6 at 20/s
    assert t.slept == pytest.approx([0.1, 0.4, 0.3])
    assert cap.describe() == {"items_per_s": {"cap": 100.0, "granted": 12, "waited_s": 0.1},
                              "wcu_per_s": {"cap": 20.0, "granted": 16, "waited_s": 0.7}}
    assert not WriteCap().active and WriteCap(wcu_per_s=1).active
