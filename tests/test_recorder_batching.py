"""The recorder's and the progress line's batched histogram recording give exactly what
hdrh's record_value gives, value by value; raw rows are unchanged."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from ddbbench.client import Endpoint
from ddbbench.execute import Result
from ddbbench.recorder import BATCH, HIST_MAX_US, Recorder, new_histogram, record_values, to_us
from ddbbench.replay import LiveStats, ReplayContext
from ddbbench.runformat import encode
from ddbbench.scenario import Client, Mix, Scenario
from ddbbench.stub import StubServer

T0 = 1_700_000_000 * 10**9


def test_record_values_equals_record_value_over_the_whole_range() -> None:
    rng = random.Random(3)
    values = [1, 2, 2047, 2048, 2049, 4095, 4096, 123_456, HIST_MAX_US - 1, HIST_MAX_US]
    values += [rng.randint(1, HIST_MAX_US) for _ in range(3000)] + [rng.randint(50, 900) for _ in range(3000)]
    fast, slow = new_histogram(), new_histogram()
    record_values(fast, values[:100])
    record_values(fast, values[100:])
    record_values(fast, [])
    for v in values:
        slow.record_value(v)
    assert list(fast.counts) == list(slow.counts)
    assert (fast.total_count, fast.min_value, fast.max_value) == \
        (slow.total_count, slow.min_value, slow.max_value)
    assert encode(fast) == encode(slow)


def results(n: int) -> list[Result]:
    rng = random.Random(5)
    out = []
    for k in range(n):  # three 1 s intervals, a few failures
        outcome = "throttled" if k % 37 == 0 else "ok"
        lag = rng.choice([0, 0, 2_000_000])
        out.append(Result(T0 + k * 3 * 10**9 // n, rng.randint(80_000, 9_000_000), outcome,
                          "ThrottlingException" if outcome != "ok" else "", k % 3, 0.1, 0.3, 1, 649, lag,
                          (("T", 0.1), ("T/ix", 0.3))))
    return out


def test_recorder_histograms_counts_and_rows_are_the_per_request_ones() -> None:
    rs = results(3 * BATCH + 17)
    rec = Recorder(None, "p0", interval_s=1.0, test_start_unix_s=T0 / 1e9)  # rows kept in memory
    for r in rs:
        rec.record("get_conversation", r)
    record = rec.to_record().patterns["get_conversation"]
    rows = rec.take_rows()
    ok_all, failed_all = new_histogram(), new_histogram()
    by_interval: dict[tuple[float, str], object] = {}
    for r in rs:
        v = to_us(r.response_ns)
        (ok_all if r.ok else failed_all).record_value(v)
        second = float((r.start_unix_ns + r.latency_ns - T0) // 10**9)
        key = (second, "ok" if r.ok else "failed")
        by_interval.setdefault(key, new_histogram())
        by_interval[key].record_value(v)  # type: ignore[attr-defined]
    assert encode(record.latency["ok"].hist) == encode(ok_all)
    assert encode(record.latency["throttled"].hist) == encode(failed_all)
    assert {(t, k): encode(h) for t, hs in record.intervals.items() for k, h in hs.items()} == \
        {k: encode(h) for k, h in by_interval.items()}  # type: ignore[arg-type]
    assert record.outcomes == {"ok": sum(r.ok for r in rs), "throttled": sum(not r.ok for r in rs)}
    assert record.late == sum(r.schedule_lag_ns > 1_000_000 for r in rs)
    table = index = 0.0
    for r in rs:  # float sums in request order, as one request at a time would give them
        table += r.capacity
        index += r.index_capacity
    assert record.consumed.by_name == {"T": table, "T/ix": index}
    assert (record.consumed.table_units, record.consumed.index_units) == (table, index)
    assert record.retries == sum(r.retries for r in rs) and record.items == len(rs)
    r = rs[1]
    assert rows[1] == (f"{r.start_unix_ns // 1000},get_conversation,{r.response_ns / 1000:.3f},"
                       f"{r.latency_ns / 1000:.3f},{r.schedule_lag_ns / 1000:.3f},ok,,1,0.1,0.3,1,649,0,0")
    assert len(rows) == len(rs)


def test_live_stats_count_pending_results_when_a_snapshot_is_asked_for() -> None:
    live = LiveStats()
    rs = results(BATCH + 5)
    for r in rs:
        live.add("get_conversation", r)
    assert len(live.pending) == 5  # one batch counted, the rest waiting
    (snap,) = live.snapshot()
    expected = new_histogram()
    for r in rs:
        if r.ok:
            expected.record_value(to_us(r.response_ns))
    assert (snap.requests, snap.errors, snap.throttled) == (len(rs), len(rs) - expected.get_total_count(),
                                                            len(rs) - expected.get_total_count())
    assert (snap.p50_us, snap.p99_us) == (expected.get_value_at_percentile(50),
                                          expected.get_value_at_percentile(99))


def test_the_progress_line_counts_what_the_recorder_recorded_batch_or_not(tmp_path: Path) -> None:
    sc = Scenario(name="live", mix=Mix(1, 0, 0, 0, 0, 0), client=Client(kind="lean"))
    with StubServer() as stub:
        ctx = ReplayContext.create(sc, Endpoint("endpoint", stub.endpoint, sc.region,
                                                credentials="dynamodb-local-fixed"), tmp_path, pool_size=1)
        rng = random.Random(1)
        for n in (5, BATCH + 3):
            for _ in range(n - sum(p.requests for p in ctx.live.snapshot())):
                ctx.step(rng)
            (progress,) = ctx.live.snapshot()
            assert (progress.name, progress.requests, progress.errors) == ("get_conversation", n, 0)
        record = ctx.recorder.to_record().patterns["get_conversation"]
        assert progress.p50_us == record.latency["ok"].hist.get_value_at_percentile(50)
        ctx.close()


def test_the_record_starts_where_the_measured_window_does(tmp_path: Path) -> None:
    """A run's rates are over the seconds it measured: the record's start is the warm-up
    window's end (a closed model: the test start plus warmup_s; an open model: its earliest
    schedule's start plus warmup_s), never before recording began nor after it ended."""
    rec = Recorder(tmp_path, "p", raw=False, test_start_unix_s=time.time() - 20)
    assert rec.to_record().started_s == pytest.approx(20, abs=0.5)  # nothing said: recording began
    rec.started -= 15  # recording began 5 s after the test start
    rec.measuring_from_unix_s = rec.test_start_unix_s + 12.0
    assert rec.to_record().started_s == pytest.approx(12.0)
    rec.measuring_from_unix_s = time.time() + 60  # stopped inside its warm-up window: 0 s measured
    record = rec.to_record()
    assert record.started_s == pytest.approx(record.ended_s)

    sc = Scenario(name="w", mix=Mix(1, 0, 0, 0, 0, 0))
    ctx = ReplayContext.create(sc, Endpoint("endpoint", "http://127.0.0.1:9", sc.region,
                                            credentials="dynamodb-local-fixed"), tmp_path, pool_size=1)
    ctx.start_measuring_after(5.0)
    assert ctx.recorder.measuring_from_unix_s == pytest.approx(time.time() + 5.0, abs=0.5)
    later = time.time() + 7.0  # an open-model schedule starts after the test start
    ctx.measure_schedule_from(later + 1.0)
    ctx.measure_schedule_from(later)  # the earliest of the process's schedules
    ctx.measure_schedule_from(later + 2.0)
    assert ctx.recorder.measuring_from_unix_s == later


def test_the_record_ends_where_the_process_stopped_sending(tmp_path: Path) -> None:
    """Draining, a final delta and writing the files come after the stop (seconds on a busy
    machine): the measured window ends when the test began stopping or the cap was spent."""
    sc = Scenario(name="w", mix=Mix(1, 0, 0, 0, 0, 0))
    ctx = ReplayContext.create(sc, Endpoint("endpoint", "http://127.0.0.1:9", sc.region,
                                            credentials="dynamodb-local-fixed"), tmp_path, pool_size=1)
    rec = ctx.recorder
    rec.test_start_unix_s = rec.started = time.time() - 30
    assert rec.to_record().ended_s == pytest.approx(30, abs=0.5)  # still running: now
    ctx.stop_measuring()  # e.g. the cap spent, 30 s in
    rec.measuring_until_unix_s -= 10  # (as if 10 s ago)
    ctx.stop_measuring()  # the test stopping later: the first stop counts
    time.sleep(0.05)
    assert rec.to_record().ended_s == pytest.approx(20, abs=0.5)
    # A request started after the stop (an open-model schedule runs to its end) extends it.
    started = rec.test_start_unix_s + 24
    rec.record("get_conversation", Result(int(started * 1e9), 2_000_000, "ok"))
    assert rec.to_record().ended_s == pytest.approx(24, abs=0.01)


def test_deltas_sent_during_the_warm_up_do_not_start_the_measured_window() -> None:
    """A worker's deltas merged: the process measured from its warm-up window's end, not from
    the first delta it sent (inside the window); stopped inside its warm-up, it measured 0 s."""
    from ddbbench.deltas import Delta, DeltaMerger
    from ddbbench.runformat import ProcessRecord

    rec = Recorder(None, "w1", raw=False, test_start_unix_s=time.time() - 3)
    rec.started = rec.test_start_unix_s
    rec.measuring_from_unix_s = rec.test_start_unix_s + 5.0  # 3 s into a 5 s warm-up window
    first = rec.take_delta()
    assert (first.started_s, first.ended_s) == (pytest.approx(5.0), pytest.approx(3.0, abs=0.5))
    merger = DeltaMerger()
    merger.add(Delta("w1", 1, first))
    assert merger.record("w1").started_s == merger.record("w1").ended_s  # so far: 0 s measured
    merger.add(Delta("w1", 2, ProcessRecord("w1", rec.test_start_unix_s, 5.0, 7.0)))
    merger.add(Delta("w1", 3, ProcessRecord("w1", rec.test_start_unix_s, 5.0, 9.0), final=True))
    merged = merger.record("w1")
    assert (merged.started_s, merged.ended_s) == (5.0, 9.0)

    stopped = DeltaMerger()
    stopped.add(Delta("w2", 1, first, final=True))  # stopped 3 s into its 5 s warm-up
    only = stopped.record("w2")
    assert only.started_s == only.ended_s == pytest.approx(3.0, abs=0.5)
