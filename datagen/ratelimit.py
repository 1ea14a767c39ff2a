"""The loader's write-rate cap: token buckets shared by the writer threads.

Loading into a table that an application also uses must not take the capacity the
application needs (on-demand tables throttle past their previous peak, provisioned ones at
their setting). The cap is in items/s, in write capacity units/s, or both; a WCU is charged
per started KB of each item written (datagen/itemsize.py), as DynamoDB charges the base table.
Index writes are charged to each index on top and are not capped here.

Clock and sleep are injectable so the arithmetic is tested without waiting::

    >>> t = [0.0]
    >>> bucket = TokenBucket(100.0, clock=lambda: t[0], sleep=lambda s: None)
    >>> bucket.acquire(25), bucket.acquire(25)   # seconds each caller was told to wait
    (0.25, 0.5)
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from datagen.itemsize import item_size

Clock = Callable[[], float]
Sleep = Callable[[float], None]


class TokenBucket:
    """``rate`` units per second on average, shared by any number of threads.

    The bucket starts empty and holds at most ``burst_s`` seconds of unused credit. A caller
    takes its whole amount at once, possibly into debt, and sleeps until the debt is paid:
    concurrent callers queue in arrival order, and by any time t at most ``rate * t`` units
    (plus the credit saved while idle) have been let through.
    """

    def __init__(self, rate: float, burst_s: float = 1.0, clock: Clock = time.monotonic,
                 sleep: Sleep = time.sleep) -> None:
        if not rate > 0 or math.isinf(rate):
            raise ValueError(f"rate must be a finite number > 0, not {rate!r}")
        self.rate = rate
        self.capacity = rate * burst_s
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = 0.0
        self._last = clock()
        self.granted = 0.0  # units let through so far
        self.waited_s = 0.0  # sleep asked for, summed over callers (threads wait side by side)

    def reserve(self, amount: float) -> float:
        """Take ``amount`` units; return the seconds the caller must wait before using them."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
            self._last = now
            self._tokens -= amount
            self.granted += amount
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
            self.waited_s += wait
            return wait

    def acquire(self, amount: float) -> float:
        wait = self.reserve(amount)
        if wait > 0:
            self._sleep(wait)
        return wait


def wcu(item: dict[str, Any]) -> int:
    """Write capacity units of one item put into the base table: 1 per started KB."""
    return max(1, math.ceil(item_size(item) / 1024))


class WriteCap:
    """An items/s and/or WCU/s cap (0 = unlimited) in front of every BatchWriteItem call."""

    def __init__(self, items_per_s: float = 0.0, wcu_per_s: float = 0.0, clock: Clock = time.monotonic,
                 sleep: Sleep = time.sleep) -> None:
        self.items = TokenBucket(items_per_s, clock=clock, sleep=sleep) if items_per_s > 0 else None
        self.wcu = TokenBucket(wcu_per_s, clock=clock, sleep=sleep) if wcu_per_s > 0 else None

    @property
    def active(self) -> bool:
        return self.items is not None or self.wcu is not None

    def acquire(self, items: Iterable[dict[str, Any]]) -> None:
        """Wait until ``items`` may be written (their WCU is computed only under a WCU cap)."""
        batch = list(items)
        if self.items is not None:
            self.items.acquire(len(batch))
        if self.wcu is not None:
            self.wcu.acquire(sum(wcu(it) for it in batch))

    def describe(self) -> dict[str, Any]:
        """For LoadStats: the caps and the waiting they caused."""
        out: dict[str, Any] = {}
        for name, bucket in (("items_per_s", self.items), ("wcu_per_s", self.wcu)):
            if bucket is not None:
                out[name] = {"cap": bucket.rate, "granted": round(bucket.granted),
                             "waited_s": round(bucket.waited_s, 3)}
        return out
