"""Open-model arrival times: when each request is *meant* to start, whatever the server does.

Timing every request from its intended start (not from when a busy client finally sent it)
is what keeps a stall visible in the percentiles: the correction for coordinated omission.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from ddbbench.scenario import Stage


def arrival_times(stages: Sequence[Stage], start: float, share: float = 1.0,
                  phase: float = 0.0) -> Iterator[float]:
    """Intended start times (seconds on ``start``'s clock) of one generator's share.

    Arrivals are evenly spaced at ``rate x share`` per second within each stage; ``phase`` in
    [0, 1) shifts this generator within the spacing so generators do not coincide.

    >>> [round(t, 2) for t in arrival_times([Stage(1.0, 4.0)], start=10.0)]
    [10.0, 10.25, 10.5, 10.75]
    """
    stage_start = start
    for stage in stages:
        rate = stage.rate * share
        end = stage_start + stage.duration_s
        if rate > 0:
            interval = 1.0 / rate
            k = 0
            # Multiply rather than accumulate: no drift over millions of arrivals.
            while (t := stage_start + (phase + k) * interval) < end:
                yield t
                k += 1
        stage_start = end


def due_by(times: Iterator[float], now: float) -> int:
    """Consume and count the arrivals intended at or before ``now`` (never started ones)."""
    count = 0
    for t in times:
        if t > now:
            break
        count += 1
    return count
