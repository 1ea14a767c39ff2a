"""A cap on consumed request units (``--max-request-units``), shared by threads of one process.

The loader and every load process count the units DynamoDB reports (ConsumedCapacity, table
and indexes) and stop starting new work once their budget is spent: a bounded end, never a
cut-off in the middle of a request. With several load processes each gets an equal share
(``split``) until the distributed channel carries live counters.

Example::

    >>> b = UnitBudget(10)
    >>> b.add(4.0), b.add(7.5), b.exhausted
    (False, True, True)
    >>> UnitBudget(10).split(4).limit
    2.5
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

STOPPED_BY_CAP = "stopped_by_cap"  # a run's status when the budget ended it


@dataclass
class UnitBudget:
    """``limit`` request units (read and write together, as billed); ``used`` so far."""

    limit: float
    used: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, units: float) -> bool:
        """Count ``units``; True when the budget is now spent."""
        with self._lock:
            self.used += units
            return self.used >= self.limit

    @property
    def exhausted(self) -> bool:
        return self.used >= self.limit

    @property
    def remaining(self) -> float:
        return max(0.0, self.limit - self.used)

    def split(self, parts: int) -> UnitBudget:
        """One of ``parts`` equal shares of what remains."""
        return UnitBudget(self.remaining / max(parts, 1))

    def to_dict(self) -> dict[str, Any]:
        return {"limit": round(self.limit, 3), "used": round(self.used, 3), "exhausted": self.exhausted}


def units_of(consumed: Any) -> float:
    """Total units of a ConsumedCapacity answer (one entry, or a list for batch calls)."""
    entries = consumed if isinstance(consumed, list) else [consumed] if consumed else []
    return float(sum(e.get("CapacityUnits", 0.0) for e in entries))
