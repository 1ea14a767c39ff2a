"""The one error type users see.

Anything raised as a ``BenchError`` is an expected failure with a message written for the
user (it names the bad value, where it came from and what is allowed); ``main()`` prints it
on one line and exits non-zero. Any other exception is a bug and keeps its traceback.
"""


class BenchError(Exception):
    """A user-facing failure: bad input, unreachable endpoint, missing tool."""

    exit_code = 1


class ConfigError(BenchError):
    """An invalid scenario file or command-line value (exit code 2, like a usage error)."""

    exit_code = 2


class Interrupted(BenchError):
    """The user stopped the work (Ctrl-C); what was measured so far is kept."""

    exit_code = 130


class UnusableInput(BenchError):
    """Input the command cannot judge: unreadable run directories, incomparable runs (exit 2)."""

    exit_code = 2
