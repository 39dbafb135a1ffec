"""User-facing errors: one line that names the problem and the fix."""

from __future__ import annotations


class S1Error(Exception):
    """An error caused by the user's input or setup, shown as one line (exit code 2).

    Anything else that escapes is a bug and may show a traceback.
    """

    exit_code = 2

    def __init__(self, problem: str, fix: str | None = None, details: str = "") -> None:
        self.problem = problem
        self.fix = fix
        self.details = details  # shown below the line (e.g. the tail of an engine log)
        super().__init__(self.line())

    def line(self) -> str:
        return f"{self.problem} ({self.fix})" if self.fix else self.problem
