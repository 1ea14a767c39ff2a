"""A cap on consumed request units (``--max-request-units``), shared by threads of one process
and, over Locust's channel, by every load process of a distributed run.

The loader and every load process count the units DynamoDB reports (ConsumedCapacity, table
and indexes) and stop starting new work once their budget is spent: a bounded end, never a
cut-off in the middle of a request.

With several load processes the master holds one cap for all of them (``CapLedger``): each
worker spends against a *lease* (a cumulative limit) the master refreshes from the counts the
worker reports. A worker whose lease is spent waits for the next one (it does not stop); the
master grants only what no other lease holds, so the sum of the leases never exceeds the cap:

    total units <= cap + the units of the requests each worker had in flight when it
    reached its last lease (at most its concurrent requests x the largest request's units)

which is the single-process bound once per worker. When the reported total reaches the cap
the master tells every worker to stop (``UnitBudget.stop``); that is the run's end by cap.

Example::

    >>> b = UnitBudget(10)
    >>> b.add(4.0), b.add(7.5), b.exhausted
    (False, True, True)
    >>> UnitBudget(10).split(4).limit
    2.5
    >>> lease = UnitBudget(5, leased=True)
    >>> lease.add(6), lease.exhausted, lease.blocked   # spent: wait for the master
    (False, False, True)
    >>> lease.grant(1, 9.0); lease.blocked
    False
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

STOPPED_BY_CAP = "stopped_by_cap"  # a run's status when the budget ended it
# A worker waiting for a lease is granted at least this share of an equal split of what
# remains, however little it has used so far: one whose users start late is not shut out by
# those that started first. A worker not waiting gets in proportion to what it used (nothing,
# when idle: its share goes to those that spend).
MIN_WEIGHT = 0.1


@dataclass
class UnitBudget:
    """``limit`` request units (read and write together, as billed); ``used`` so far.

    ``leased``: the limit is a distributed worker's lease from the master; reaching it means
    "wait for the next lease" (``blocked``), and only the master's ``stop`` ends the work
    (``exhausted``)."""

    limit: float
    used: float = 0.0
    leased: bool = False
    lease_seq: int = 0  # the newest lease applied (0: the share in the master's run message)
    stopped: bool = False  # the master says the cap across every worker is spent
    waiting: int = 0  # users waiting for a new lease now (an idle worker has none: no demand)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, units: float) -> bool:
        """Count ``units``; True when the budget is now spent (for good)."""
        with self._lock:
            self.used += units
            return self.exhausted

    @property
    def exhausted(self) -> bool:
        """No more work, ever: this process's cap is spent, or the master said so."""
        return self.stopped or (not self.leased and self.used >= self.limit)

    @property
    def blocked(self) -> bool:
        """Start nothing now (a spent lease: until the master grants more)."""
        return self.exhausted or self.used >= self.limit

    @property
    def remaining(self) -> float:
        return max(0.0, self.limit - self.used)

    def grant(self, seq: int, limit: float) -> None:
        """Apply lease ``seq`` (newer than the last one applied; older ones are ignored). A
        lease below what is already used leaves the limit at ``used``: the worker reports
        that as the limit it applied, and the master reserves it."""
        with self._lock:
            if seq > self.lease_seq:
                self.lease_seq = seq
                self.limit = max(float(limit), self.used)

    def stop(self) -> None:
        self.stopped = True

    def split(self, parts: int) -> UnitBudget:
        """One of ``parts`` equal shares of what remains."""
        return UnitBudget(self.remaining / max(parts, 1))

    def to_dict(self) -> dict[str, Any]:
        if self.leased:  # exact: the master's ledger adds these up against the cap
            return {"limit": self.limit, "used": self.used, "exhausted": self.exhausted,
                    "lease_seq": self.lease_seq, "waiting": self.waiting > 0}
        return {"limit": round(self.limit, 3), "used": round(self.used, 3), "exhausted": self.exhausted}


def units_of(consumed: Any) -> float:
    """Total units of a ConsumedCapacity answer (one entry, or a list for batch calls)."""
    entries = consumed if isinstance(consumed, list) else [consumed] if consumed else []
    return float(sum(e.get("CapacityUnits", 0.0) for e in entries))


@dataclass
class WorkerUnits:
    """The master's view of one worker: what it reported, the lease it applied, the leases
    sent that it has not acknowledged yet (seq -> limit)."""

    used: float = 0.0
    applied: float = 0.0
    acked: int = 0
    sent: dict[int, float] = field(default_factory=dict)
    done: bool = False
    waiting: bool = False  # its lease was spent when it reported: it wants more

    def current(self) -> float:
        """The limit the worker will hold once every lease sent has arrived."""
        return self.sent[max(self.sent)] if self.sent else self.applied

    def reserve(self) -> float:
        """The most this worker may spend (beyond requests in flight) on what the master
        knows: the larger of its report, its applied lease and any lease still travelling;
        once it has sent its final report, what it used."""
        return self.used if self.done else max(self.used, self.applied, *self.sent.values())


@dataclass
class CapLedger:
    """One request-unit cap across workers (the master's side). ``open`` gives a worker its
    first lease, ``report`` takes its counts and answers with a new lease (or None); the
    sum of the reserves never grows past ``cap`` (see the module docstring for the bound).

    >>> ledger = CapLedger(100.0)
    >>> ledger.open("a", 50.0), ledger.open("b", 50.0)
    (50.0, 50.0)
    >>> ledger.report("a", used=50.5, limit=50.0, seq=0, waiting=True)  # b holds its 50
    []
    >>> [(w, seq, round(limit, 2)) for w, seq, limit in  # b uses little: its lease shrinks
    ...  ledger.report("b", used=10.0, limit=50.0, seq=0)]
    [('b', 1, 16.03)]
    >>> [(w, seq, round(limit, 2)) for w, seq, limit in  # b applied it: a gets what b freed
    ...  ledger.report("b", used=12.0, limit=16.03, seq=1)]
    [('b', 2, 18.67), ('a', 3, 81.33)]
    >>> round(ledger.free, 2)
    0.0
    """

    cap: float
    workers: dict[str, WorkerUnits] = field(default_factory=dict)
    seq: int = 0
    stopped: bool = False

    @property
    def total(self) -> float:
        return sum(w.used for w in self.workers.values())

    @property
    def free(self) -> float:
        return self.cap - sum(w.reserve() for w in self.workers.values())

    @property
    def reached(self) -> bool:
        return self.total >= self.cap

    def open(self, worker: str, share: float) -> float:
        """The first lease of a worker: ``share``, or what is free if less."""
        w = self.workers.setdefault(worker, WorkerUnits())
        w.applied = max(0.0, min(share, self.free + w.reserve()))
        return w.applied

    def report(self, worker: str, used: float, limit: float, seq: int, final: bool = False,
               waiting: bool = False) -> list[tuple[str, int, float]]:
        """Take a worker's counts (cumulative ``used``, the ``limit`` of lease ``seq`` it
        applied, whether it is ``waiting`` for more); the leases to send as (worker, seq,
        limit): the reporter's, grown or shrunk to its share, and more for the others while
        units are free (what a shrunk lease gave back goes at once to the workers using it,
        not at their next report)."""
        w = self.workers.setdefault(worker, WorkerUnits())
        w.used = max(w.used, used)
        if seq >= w.acked:
            w.acked, w.applied = seq, limit
            w.sent = {s: v for s, v in w.sent.items() if s > seq}
        w.done = w.done or final
        w.waiting = waiting
        if self.reached:
            return []
        leases = [] if w.done else self._lease(worker, shrink=True)
        for other, o in self.workers.items():
            if other != worker and not o.done and self.free > 1e-9:
                leases += self._lease(other, shrink=False)
        return leases

    def _lease(self, worker: str, shrink: bool) -> list[tuple[str, int, float]]:
        """A new lease for ``worker`` towards its share: grown by what is free, or shrunk
        (only on its own fresh report), or none."""
        w = self.workers[worker]
        target, current = self._target(worker), w.current()
        if target < current and not shrink:
            return []
        new = max(target, w.used) if target < current else min(target, w.reserve() + self.free)
        if abs(new - current) < 1e-9 or new < w.used:
            return []
        self.seq += 1
        w.sent[self.seq] = new
        return [(worker, self.seq, new)]

    def _target(self, worker: str) -> float:
        """The worker's cumulative use plus its share of what remains, shared in proportion
        to what each active worker has used so far (one waiting for more: at least MIN_WEIGHT
        of an equal share; all equal while nobody has used or asked for anything)."""
        active = {k: w for k, w in self.workers.items() if not w.done}
        floor = MIN_WEIGHT * self.cap / max(len(active), 1)
        weights = {k: w.used + (floor if w.waiting else 0.0) for k, w in active.items()}
        if sum(weights.values()) <= 0:
            weights = dict.fromkeys(active, 1.0)
        remaining = max(0.0, self.cap - self.total)
        return self.workers[worker].used + remaining * weights[worker] / sum(weights.values())
