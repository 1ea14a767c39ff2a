"""Deltas (what a load process sends while it runs) merge into exactly the whole."""

from __future__ import annotations

import random
from pathlib import Path

import msgpack

from ddbbench.deltas import Delta, DeltaMerger
from ddbbench.execute import Result
from ddbbench.recorder import Recorder
from ddbbench.runformat import GeneratorCounters, ProcessRecord

T0 = 1_790_000_000.0
PATTERNS = ("get_conversation", "update_status")


def results(n: int, seed: int = 3) -> list[tuple[str, Result]]:
    """``n`` requests over ~20 s at microsecond-resolution latencies, some failed."""
    rng = random.Random(seed)
    out = []
    for k in range(n):
        start_ns = int((T0 + k * 20.0 / n) * 1e9)
        outcome = "ok" if rng.random() < 0.9 else "throttled"
        latency = int(rng.lognormvariate(15, 0.8))  # ~3 ms median, ns
        out.append((rng.choice(PATTERNS), Result(start_ns, latency, outcome,
                                                 error_code="" if outcome == "ok" else "Throttling",
                                                 capacity=0.5, capacity_by=(("T", 0.5),), items=1)))
    return out


def recorder(tmp_path: Path, name: str) -> Recorder:
    return Recorder(tmp_path / name, "p1", interval_s=1.0, raw=False, test_start_unix_s=T0)


def test_merged_deltas_equal_one_record_of_every_request(tmp_path: Path) -> None:
    whole, parts = recorder(tmp_path, "whole"), recorder(tmp_path, "parts")
    merger = DeltaMerger()
    seq = 0
    for k, (pattern, r) in enumerate(results(5000)):
        whole.record(pattern, r)
        parts.record(pattern, r)
        if k % 700 == 699:  # a delta mid-interval: the interval continues in the next one
            seq += 1
            merger.add(Delta("p1", seq, parts.take_delta({"counters": {"scheduled": 700}})))
    merger.add(Delta("p1", seq + 1, parts.take_delta({"counters": {"scheduled": 100}}), final=True))
    one = whole.to_record({"counters": {"scheduled": 5000}})
    merged = merger.record("p1")
    assert merged.counters == one.counters == GeneratorCounters(scheduled=5000)
    assert set(merged.patterns) == set(one.patterns) == set(PATTERNS)
    for name in PATTERNS:
        a, b = one.patterns[name], merged.patterns[name]
        assert (a.outcomes, a.error_codes, a.consumed, a.items) == (b.outcomes, b.error_codes,
                                                                   b.consumed, b.items)
        for outcome, stats in a.latency.items():
            other = b.latency[outcome]
            assert (stats.count, stats.min_ns, stats.max_ns, stats.sum_ns) == (
                other.count, other.min_ns, other.max_ns, other.sum_ns)
            for p in (50.0, 90.0, 99.0, 99.9, 100.0):  # microsecond buckets, exactly
                assert stats.hist.get_value_at_percentile(p) == other.hist.get_value_at_percentile(p)
            assert stats.hist.get_total_count() == other.hist.get_total_count() == stats.count
        assert sorted(a.intervals) == sorted(b.intervals)
        for start, hists in a.intervals.items():
            for key, hist in hists.items():
                assert hist.get_total_count() == b.intervals[start][key].get_total_count()
                assert hist.get_value_at_percentile(99) == b.intervals[start][key].get_value_at_percentile(99)
    assert merger.finished == {"p1"} and merger.missing_seqs("p1") == []


def test_a_delta_received_twice_counts_once() -> None:
    rec = ProcessRecord("w", T0, counters=GeneratorCounters(scheduled=7))
    merger = DeltaMerger()
    assert merger.add(Delta("w", 1, rec)) is True
    assert merger.add(Delta("w", 1, rec)) is False
    assert merger.record("w").counters.scheduled == 7


def test_a_lost_delta_is_named() -> None:
    merger = DeltaMerger()
    for seq in (1, 2, 4):
        merger.add(Delta("w", seq, ProcessRecord("w", T0)))
    assert merger.missing_seqs("w") == [3]


def test_a_delta_survives_locusts_msgpack_channel(tmp_path: Path) -> None:
    rec = recorder(tmp_path, "r")
    for pattern, r in results(300):
        rec.record(pattern, r)
    delta = Delta("host-1-42", 3, rec.take_delta({"counters": {"scheduled": 300}}),
                  rows=("1,get_conversation,1.0",), final=True)
    wire = msgpack.unpackb(msgpack.packb(delta.to_message()), raw=False)
    back = Delta.from_message(wire)
    assert back.record == delta.record and back.rows == delta.rows and back.final
