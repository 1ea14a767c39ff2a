"""Progress lines for long work: a live line on a terminal, periodic plain lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressPrinter:
    """Callable as ``progress(done, total)``; rate-limited so it costs nothing on hot paths."""

    def __init__(self, label: str, unit: str = "items", stream: TextIO | None = None) -> None:
        self.label = label
        self.unit = unit
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.every = 0.5 if self.tty else 5.0
        self.started = time.monotonic()
        self.last = self.started  # first line after one period: a rate from 1 item is noise

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.last < self.every and done < total:
            return
        self.last = now
        elapsed = max(now - self.started, 1e-9)
        rate = done / elapsed
        eta = (total - done) / rate if rate > 0 else float("inf")
        line = (f"{self.label}: {done:,}/{total:,} {self.unit} ({100 * done / max(total, 1):.0f}%, "
                f"{rate:,.0f} {self.unit}/s, ETA {eta:.0f}s)")
        if self.tty:
            end = "\n" if done >= total else ""
            self.stream.write(f"\r{line}\033[K{end}")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
