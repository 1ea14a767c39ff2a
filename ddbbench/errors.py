"""The one error type users see, and the one table of exit codes every command uses.

Anything raised as a ``BenchError`` is an expected failure with a message written for the
user (it names the bad value, where it came from and what is allowed); an entry point (the
``ddbbench`` command, ``python -m ddbbench.stub``) catches it once, prints it on one line,
``ddbbench: error: ...``, and exits with the class's ``exit_code``. Any other exception is a
bug and keeps its traceback.

Exit codes (``EXIT_CODES``; README.md's "Command line" section shows the same table)::

    0    done
    1    failed: the harness or the target (or `compare` found a regression)
    2    bad input: invalid scenario or arguments, unusable or incomparable run directory
    3    objective missed: the run completed, but an objective was not met (only commands
         asked to check objectives return it, so a slow machine still completes a plain run)
    130  interrupted (Ctrl-C); what was measured so far is kept

Example::

    raise ConfigError("--duration: -5 is not a duration in seconds > 0")  # exit code 2
"""

from typing import Final

DONE: Final = 0
FAILED: Final = 1
BAD_INPUT: Final = 2
OBJECTIVE_MISSED: Final = 3
INTERRUPTED: Final = 130

EXIT_CODES: Final[dict[int, str]] = {
    DONE: "done",
    FAILED: "failed: the harness or the target (or `compare` found a regression)",
    BAD_INPUT: "bad input: invalid scenario or arguments, unusable or incomparable run directory",
    OBJECTIVE_MISSED: "objective missed: the run completed, but an objective was not met "
                      "(only commands asked to check objectives)",
    INTERRUPTED: "interrupted (Ctrl-C); what was measured so far is kept",
}


class BenchError(Exception):
    """A user-facing failure: unreachable endpoint, missing tool, failed load (exit code 1)."""

    exit_code: int = FAILED


class ConfigError(BenchError):
    """An invalid scenario file or command-line value (exit code 2, like a usage error)."""

    exit_code = BAD_INPUT


class Interrupted(BenchError):
    """The user stopped the work (Ctrl-C); what was measured so far is kept (exit code 130)."""

    exit_code = INTERRUPTED


class UnusableInput(BenchError):
    """Input the command cannot judge: not a run directory, an unreadable manifest, an
    unsupported format, incomparable runs (exit code 2)."""

    exit_code = BAD_INPUT


class ObjectiveMissed(BenchError):
    """The run completed but missed an objective (exit code 3).

    Only raised by commands asked to check objectives: a plain run reports a miss and still
    exits 0.
    """

    exit_code = OBJECTIVE_MISSED
