"""Progress output (ddbbench/progress.py): a bar on a terminal, plain lines elsewhere."""

from __future__ import annotations

from ddbbench.progress import ProgressPrinter, bar, format_eta
from tests.fakes import Stream


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_terminal_gets_a_bar_rewritten_in_place_at_most_twice_a_second() -> None:
    out, clock = Stream(tty=True), Clock()
    progress = ProgressPrinter("load", unit="entities", stream=out, clock=clock)
    progress(0, 23_456, items=0)  # the start: nothing shown yet
    clock.now += 0.3
    progress(1_000, 23_456, items=3_000)  # within the half second: not drawn
    assert out.getvalue() == ""
    clock.now += 9.7  # 10 s after the start
    progress(12_345, 23_456, items=37_000)
    assert out.getvalue() == ("\rload [##########..........]  53% 12,345/23,456 entities  1,234/s  "
                              "3,700 items/s  ETA 9s\033[K")
    clock.now += 0.1
    progress(23_456, 23_456, items=70_000)  # the end is always drawn, and ends the line
    assert out.getvalue().endswith("\rload [####################] 100% 23,456/23,456 entities  2,322/s  "
                                   "6,931 items/s  ETA 0s\033[K\n")


def test_a_log_gets_a_plain_line_every_five_seconds() -> None:
    out, clock = Stream(tty=False), Clock()
    progress = ProgressPrinter("generate", stream=out, clock=clock)
    progress(0, 1000)
    for step in range(1, 10):
        clock.now += 1.0
        progress(100 * step, 1000)
    clock.now += 1.0
    progress(1000, 1000)
    assert out.getvalue().splitlines() == [
        "generate: 500/1,000 items (50%, 100 items/s, ETA 5s)",
        "generate: 1,000/1,000 items (100%, 100 items/s, ETA 0s)",
    ]
    assert "\r" not in out.getvalue() and "\033" not in out.getvalue()


def test_rates_count_only_this_sessions_work() -> None:
    # A resumed load starts at 40%: the rate and the ETA are its own, not an average since 0.
    out, clock = Stream(tty=False), Clock()
    progress = ProgressPrinter("load", unit="entities", stream=out, clock=clock)
    progress(4_000, 10_000, items=0)
    clock.now += 10
    progress(5_000, 10_000, items=3_000)
    assert out.getvalue() == "load: 5,000/10,000 entities (50%, 100 entities/s, 300 items/s, ETA 50s)\n"


def test_bar_and_eta_formats() -> None:
    assert bar(0.0, 10) == "[..........]" and bar(0.55, 10) == "[#####.....]" and bar(2.0, 4) == "[####]"
    assert [format_eta(s) for s in (0, 59.4, 60, 3599, 3600, float("nan"))] == [
        "0s", "59s", "1m00s", "59m59s", "1h00m", "?"]


def test_zero_total_does_not_divide_by_zero() -> None:
    out = Stream(tty=False)
    progress = ProgressPrinter("load", stream=out, clock=Clock())
    progress(0, 0)
    assert out.getvalue() == "load: 0/0 items (100%, 0 items/s, ETA ?)\n"
