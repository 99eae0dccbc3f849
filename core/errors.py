"""Errors that end a command with a one-line message and a documented exit code.

Exit codes are an API (see README): 0 done, 1 the run failed or was stopped,
2 bad input, 3 the steady-state hypothesis deviated (1 wins over 3). Anything
raised as `TwinError` is printed as one line, never a traceback.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_DEVIATED = 3  # the run completed (or [steady_state] stopped it) and its hypothesis deviated


class TwinError(Exception):
    """A failure the user should read as one line; `exit_code` says which kind."""

    exit_code = EXIT_FAILED


class BadInput(TwinError):
    """The user's input (profile, flag, path) is wrong; nothing was started."""

    exit_code = EXIT_BAD_INPUT


class ProfileError(BadInput):
    """Every problem found in one profile, each `FILE:LINE: key.path: reason`."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))
