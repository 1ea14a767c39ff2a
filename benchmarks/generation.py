"""Generation speed: the harness's ``Generator.conversation`` against a naive per-item Faker
loop that builds the same kind of conversation with a Faker call per field.

Both produce ``Conversation`` objects of 5-15 messages (10 on average) in the same process,
alternating in short rounds so machine noise hits both alike; the figure is the median of
per-round ratios. The harness's absolute rate is reported beside it with the machine's load
average, since it is meaningful only on a quiet machine.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from faker import Faker

from datagen.model import EPOCH, Conversation, Generator, Message, iso
from ddbbench.scenario import STATUSES, Dataset, Range

GOALS = {"speedup": (">=", 20.0), "harness_conversations_per_s": (">=", 20_000.0)}
MESSAGES = Range(min=5, max=15)  # uniform: 10 messages on average


def naive_generator(seed: int) -> Callable[[int], Conversation]:
    """What one would write first: Faker for every field of every conversation."""
    fake = Faker("en_US")
    fake.seed_instance(seed)

    def conversation(_: int) -> Conversation:
        ts = fake.date_time_between(start_date=EPOCH - timedelta(days=90), end_date=EPOCH)
        messages = []
        for n in range(fake.random_int(MESSAGES.min, MESSAGES.max)):
            ts += timedelta(milliseconds=fake.random_int(5_000, 3_600_000))
            messages.append(Message("system" if n % 2 == 0 else "candidate", iso(ts),
                                    fake.sentence(nb_words=fake.random_int(3, 30))))
        return Conversation(fake.uuid4(), fake.uuid4(), fake.bothify("JOB-########"),
                            fake.random_element(STATUSES), iso(ts), tuple(messages))

    return conversation


def _rate(make: Callable[[int], Any], start: int, n: int) -> float:
    """Conversations per second of this process's CPU time: on a shared machine, wall time
    also counts the time other processes held the core."""
    began = time.process_time()
    for i in range(start, start + n):
        make(i)
    return n / (time.process_time() - began)


def run(rounds: int = 8, harness_n: int = 20_000, naive_n: int = 1_000) -> dict[str, Any]:
    """Median over ``rounds`` of back-to-back (naive, harness) batches, order alternating."""
    dataset = Dataset(seed=1, candidates=10_000, conversations=rounds * harness_n + 1, messages=MESSAGES)
    harness = Generator(dataset).conversation
    naive = naive_generator(1)
    harness(0), naive(0)  # pools, caches and Faker's providers built outside the timing
    load_before = os.getloadavg()[0]
    rows = []
    for k in range(rounds):
        pair = [("naive", naive, naive_n), ("harness", harness, harness_n)]
        measured = {name: _rate(fn, 1 + k * n, n) for name, fn, n in (pair if k % 2 == 0 else pair[::-1])}
        rows.append((measured["naive"], measured["harness"]))
    med = statistics.median
    return {
        "benchmark": "generation", "rounds": rounds,
        "naive_conversations_per_s": round(med(n for n, _ in rows)),
        "harness_conversations_per_s": round(med(h for _, h in rows)),
        "harness_best_conversations_per_s": round(max(h for _, h in rows)),
        "speedup": round(med(h / n for n, h in rows), 1),
        "load_average_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "cpus": os.cpu_count(),
    }
