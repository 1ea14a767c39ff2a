"""The progress line's counts come from the recorder's batch pass (``Recorder.on_batch``):
the same requests, errors, throttles and success histograms as counting each result."""

from __future__ import annotations

import random

from ddbbench.execute import Result
from ddbbench.recorder import BATCH, Recorder
from ddbbench.replay import LiveStats

T0 = 1_700_000_000 * 10**9


def test_recorder_batches_give_the_live_counts_of_each_result() -> None:
    rng = random.Random(11)
    rec = Recorder(None, "p0", interval_s=1.0, test_start_unix_s=T0 / 1e9)
    from_recorder, one_by_one = LiveStats(), LiveStats()
    rec.on_batch = from_recorder.add_counts
    for k in range(3 * BATCH + 41):
        outcome = rng.choice(["ok"] * 8 + ["throttled", "server_error", "connection"])
        r = Result(T0 + k * 10**7, rng.randint(50_000, 50_000_000), outcome,
                   "" if outcome == "ok" else "X", 0, 0.5, 0.0, 1, 100, rng.choice([0, 3_000_000]))
        pattern = rng.choice(["get_conversation", "update_status"])
        rec.record(pattern, r)
        one_by_one.add(pattern, r)
    rec.flush()
    got, want = from_recorder.snapshot(), one_by_one.snapshot()
    assert got == want
    assert sum(p.throttled for p in got) > 0 and sum(p.errors for p in got) > sum(p.throttled for p in got)
    for name, counts in from_recorder.patterns.items():
        assert list(counts.ok.counts) == list(one_by_one.patterns[name].ok.counts)
        assert counts.ok.get_total_count() == one_by_one.patterns[name].ok.get_total_count()
