"""Stand-ins shared by the tests of terminal output (progress bars, live lines)."""

from __future__ import annotations

import io


class Stream(io.StringIO):
    """An output stream that says it is a terminal (``tty=True``) or a log file, and keeps
    what was written (``getvalue()``): progress output differs between the two."""

    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty
