"""The open-model generator loop (gevent): requests start on schedule, not when a user is free.

A Locust user runs one ``OpenLoop`` for the whole test. Each arrival is drawn at its intended
time and sent in its own greenlet; at most ``max_in_flight`` are outstanding, a further
arrival waits for a slot (it starts late, and its latency, timed from the intended start,
says so). Arrivals still waiting when the test stops are counted as not started.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator

import gevent
import gevent.pool

from ddbbench.arrivals import arrival_times, due_by
from ddbbench.replay import ReplayContext

# gevent's timers fire up to ~1 ms late (epoll's timeout is in whole milliseconds; measured
# here: median overshoot 0.67 ms, p90 1.1 ms). In the open model that lateness would be added
# to every latency, so the loop sleeps to SPIN_S before the arrival and then yields in a loop
# until it is due (median overshoot 3 us). The spin yields to other greenlets (responses).
SPIN_S = 0.001


def wait_until(t: float) -> None:
    delay = t - time.perf_counter()
    if delay > SPIN_S:
        gevent.sleep(delay - SPIN_S)
    while time.perf_counter() < t:
        gevent.sleep(0)


class OpenLoop:
    def __init__(self, ctx: ReplayContext, rng: random.Random, share: float, phase: float) -> None:
        load = ctx.scenario.load
        self.ctx = ctx
        self.rng = rng
        self.pool = gevent.pool.Pool(load.max_in_flight)
        start = time.perf_counter()
        self.times: Iterator[float] = arrival_times(load.arrival_stages(), start, share, phase)
        # Warm-up is the schedule's first warmup_s seconds, on the schedule's own clock: the
        # count of unmeasured arrivals is then exact (rate x warmup_s), however late Locust
        # started this user after the test began.
        self.measure_from = start + load.warmup_s
        ctx.measure_schedule_from(time.time() + load.warmup_s)

    def run(self) -> None:
        pending: float | None = None  # the arrival being slept towards or waiting for a slot
        try:
            for t in self.times:
                if self.ctx.capped:
                    return  # the request-unit cap is spent: a bounded end, no new arrival
                pending = t
                wait_until(t)
                pattern, call = self.ctx.next_call(self.rng)  # drawn in arrival order
                if self.pool.full():
                    self.ctx.counters["cap_waits"] += 1
                    self.pool.wait_available()  # the request will start late, and show it
                self.pool.spawn(self.ctx.send, pattern, call, int(t * 1e9), t >= self.measure_from)
                self.ctx.counters["scheduled"] += 1
                pending = None
        except gevent.GreenletExit:
            # Stopped: arrivals already due (the pending one included) were never sent.
            now = time.perf_counter()
            missed = int(pending is not None and pending <= now) + due_by(self.times, now)
            self.ctx.counters["not_started"] += missed
            raise

    def drain(self, timeout: float) -> None:
        """Let in-flight requests finish (and be recorded) before results are written."""
        self.pool.join(timeout=timeout)
