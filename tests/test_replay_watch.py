"""The replay's watch on its target and its live numbers (ddbbench/replay.py), the progress
line (ddbbench/progress.py) and how `ddbbench run` shows it (ddbbench/run.py)."""

from __future__ import annotations

from pathlib import Path

from ddbbench.execute import Result
from ddbbench.locust_process import LogFollower
from ddbbench.progress import LiveLine, PatternProgress, replay_line
from ddbbench.replay import LiveStats, Reachability
from tests.fakes import Stream

S = 10**9  # ns per second
T0 = 1_790_000_000 * S


def result(at_s: float, outcome: str = "ok", took_s: float = 0.002) -> Result:
    return Result(T0 + round(at_s * S), round(took_s * S), outcome)


def test_only_connection_errors_for_five_seconds_make_the_target_unreachable() -> None:
    watch = Reachability()
    assert not watch.observe(result(0.0), T0 + S // 100)  # answered at 0.002 s
    assert not watch.observe(result(1.0, "connection", 0.01), T0 + round(1.01 * S))
    assert not watch.observe(result(5.9, "connection", 0.01), T0 + round(5.91 * S))  # 4.91 s silent
    assert watch.observe(result(6.0, "connection", 0.01), T0 + round(6.01 * S))  # 5.01 s: gone
    assert watch.since_unix_s == (T0 + S) / S  # from the first failed request after the answer
    assert watch.record() == {"since_unix_s": (T0 + S) / S, "detected_unix_s": (T0 + round(6.01 * S)) / S,
                              "window_s": 5.0}
    assert not watch.observe(result(7.0, "connection"), T0 + 8 * S)  # reported once


def test_any_answer_resets_the_watch_even_an_error_response() -> None:
    watch = Reachability()
    watch.observe(result(0.0, "connection", 0.01), T0 + S // 100)
    assert not watch.observe(result(4.0, "server_error"), T0 + 4 * S)  # HTTP 500: it is there
    assert not watch.observe(result(8.0, "connection", 0.01), T0 + round(8.01 * S))
    assert watch.record() is None


def test_a_stalled_target_is_unreachable_from_its_last_answer() -> None:
    # Requests started before the last answer time out 15 s later: silence counts from the
    # answer, not from the (earlier) start of the request that timed out.
    watch = Reachability()
    watch.observe(result(10.0, took_s=0.5), T0 + round(10.5 * S))
    assert watch.observe(result(9.0, "connection", took_s=15.0), T0 + 24 * S)
    assert watch.since_unix_s == (T0 + round(10.5 * S)) / S


def test_live_stats_per_pattern_in_microseconds() -> None:
    live = LiveStats()
    for us in range(1, 101):
        live.add("get_conversation", Result(T0, us * 1000, "ok"))
    live.add("get_conversation", Result(T0, 5_000_000, "throttled"))
    live.add("update_status", Result(T0, 1000, "connection"))
    assert live.snapshot() == [PatternProgress("get_conversation", 101, 1, 1, 50, 99),
                               PatternProgress("update_status", 1, 1, 0, None, None)]


def test_replay_line_counts_percentiles_and_time_left() -> None:
    line = replay_line(30.2, 90, [PatternProgress("get_conversation", 1804, 2, 1, 1234, 5678),
                                  PatternProgress("update_status", 10, 1, 0, None, None)])
    assert line == ("replay 30s/90s (34%, 1m00s left): 1,814 requests, 3 errors, 1 throttled "
                    "| get_conversation 1,804 p50 1.234 p99 5.678 ms | update_status 10 p50 - p99 - ms")
    assert replay_line(95, 90, [], label="replay [h-1]").startswith("replay [h-1] 95s/90s (100%, 0s left)")
    assert replay_line(5, 90, [], warmup=200).endswith("0 throttled (warming up: 200 sent, not measured)")


def test_live_line_rewrites_in_place_on_a_terminal_and_appends_elsewhere() -> None:
    tty, log = Stream(tty=True), Stream(tty=False)
    for stream in (tty, log):
        live = LiveLine(stream)
        live.show("replay 5s/90s a")
        live.show("replay 10s/90s b")
        live.end()
    assert tty.getvalue() == "\rreplay 5s/90s a\033[K\rreplay 10s/90s b\033[K\n"
    assert log.getvalue() == "replay 5s/90s a\nreplay 10s/90s b\n"


def test_log_follower_returns_complete_lines_once(tmp_path: Path) -> None:
    log = tmp_path / "locust.log"
    log.write_bytes(b"one\ntw")
    follower = LogFollower(log)
    assert follower.new_lines() == ["one"]
    with open(log, "ab") as f:
        f.write(b"o\r\nthree\n")
    assert follower.new_lines() == ["two", "three"]
    assert follower.new_lines() == []
