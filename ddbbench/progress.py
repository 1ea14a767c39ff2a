"""Progress of long work: a live bar on a terminal, periodic plain lines otherwise.

On a terminal (rewritten in place, twice a second at most)::

    load [##########..........]  53% 12,345/23,456 entities  1,234/s  3,702 items/s  ETA 9s

Elsewhere (a log, CI), one line every 5 seconds and one at the end::

    load: 12,345/23,456 entities (53%, 1,234 entities/s, 3,702 items/s, ETA 9s)

The replay reports every 5 seconds from each load process (``replay_line``), and
``ddbbench run`` shows those lines (``LiveLine``)::

    replay 45s/90s (50%, 45s left): 4,512 requests, 3 errors, 0 throttled
        | get_conversation 1,804 p50 1.234 p99 5.678 ms | ...   (one line)
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TextIO

BAR_WIDTH = 20


def format_eta(seconds: float) -> str:
    """A short duration: 9s, 3m05s, 2h07m; '?' when unknown.

    >>> [format_eta(s) for s in (9.4, 185, 7620, float("inf"))]
    ['9s', '3m05s', '2h07m', '?']
    """
    if not math.isfinite(seconds):
        return "?"
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def bar(fraction: float, width: int = BAR_WIDTH) -> str:
    """``[#####.....]`` filled to ``fraction`` (clamped to 0..1)."""
    filled = int(max(0.0, min(1.0, fraction)) * width)
    return "[" + "#" * filled + "." * (width - filled) + "]"


class ProgressPrinter:
    """Callable as ``progress(done, total)`` or ``progress(done, total, items=n)``.

    Rate-limited so it costs nothing on hot paths. Rates count the work since the first call,
    so a resumed load (which starts part-way) shows its own speed and a truthful ETA.
    """

    def __init__(self, label: str, unit: str = "items", stream: TextIO | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.label = label
        self.unit = unit
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.every = 0.5 if self.tty else 5.0
        self.clock = clock
        self.started = clock()
        self.last = self.started  # first line after one period: a rate from 1 item is noise
        self.base: tuple[float, int, int] | None = None  # (time, done, items) at the first call

    def __call__(self, done: int, total: int, items: int | None = None) -> None:
        now = self.clock()
        if self.base is None:
            self.base = (now, done, items or 0)
        if now - self.last < self.every and done < total:
            return
        self.last = now
        line = self.render(now, done, total, items)
        if self.tty:
            self.stream.write(f"\r{line}\033[K" + ("\n" if done >= total else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def render(self, now: float, done: int, total: int, items: int | None) -> str:
        assert self.base is not None
        began, done0, items0 = self.base
        elapsed = max(now - began, 1e-9)
        rate = (done - done0) / elapsed
        eta = format_eta((total - done) / rate if rate > 0 else float("inf"))
        share = done / total if total > 0 else 1.0
        items_rate = (f"{((items or 0) - items0) / elapsed:,.0f} items/s" if items is not None else "")
        if self.tty:
            extra = f"  {items_rate}" if items_rate else ""
            return (f"{self.label} {bar(share)} {100 * share:3.0f}% {done:,}/{total:,} {self.unit}  "
                    f"{rate:,.0f}/s{extra}  ETA {eta}")
        extra = f", {items_rate}" if items_rate else ""
        return (f"{self.label}: {done:,}/{total:,} {self.unit} ({100 * share:.0f}%, "
                f"{rate:,.0f} {self.unit}/s{extra}, ETA {eta})")


# --- the replay: one line of counts and live percentiles every few seconds ------------------

REPLAY_EVERY_S = 5.0  # how often a load process reports its progress
PROGRESS_PREFIX = "ddbbench progress: "  # marks the lines `ddbbench run` shows from Locust's log


@dataclass(frozen=True)
class PatternProgress:
    """One pattern so far: measured requests, failed ones, throttled ones, and the p50 and
    p99 of the successful ones in microseconds (None before the first success)."""

    name: str
    requests: int
    errors: int
    throttled: int
    p50_us: int | None
    p99_us: int | None


def _ms(us: int | None) -> str:
    return "-" if us is None else f"{us / 1000:.3f}"


def replay_line(elapsed_s: float, total_s: float, patterns: Sequence[PatternProgress],
                label: str = "replay", warmup: int = 0) -> str:
    """The replay's progress as one line (latencies in ms with microsecond precision)::

        >>> replay_line(45, 90, [PatternProgress("get", 1804, 3, 1, 1234, 5678)], label="r")
        'r 45s/90s (50%, 45s left): 1,804 requests, 3 errors, 1 throttled | get 1,804 p50 1.234 p99 5.678 ms'
    """
    share = min(1.0, elapsed_s / total_s) if total_s > 0 else 1.0
    requests = sum(p.requests for p in patterns)
    errors = sum(p.errors for p in patterns)
    throttled = sum(p.throttled for p in patterns)
    head = (f"{label} {elapsed_s:.0f}s/{total_s:.0f}s ({100 * share:.0f}%, "
            f"{format_eta(max(0.0, total_s - elapsed_s))} left): {requests:,} requests, "
            f"{errors:,} errors, {throttled:,} throttled")
    if warmup and not requests:  # the run's first warmup_s seconds: sent, not measured
        head += f" (warming up: {warmup:,} sent, not measured)"
    parts = [f"{p.name} {p.requests:,} p50 {_ms(p.p50_us)} p99 {_ms(p.p99_us)} ms" for p in patterns]
    return " | ".join([head, *parts])


class LiveLine:
    """Shows the latest progress line: rewritten in place on a terminal, one line per update
    elsewhere (a log, CI). ``end()`` finishes the terminal's line."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.open = False

    def show(self, line: str) -> None:
        if self.tty:
            self.stream.write(f"\r{line}\033[K")
            self.open = True
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def end(self) -> None:
        if self.open:
            self.stream.write("\n")
            self.stream.flush()
            self.open = False
