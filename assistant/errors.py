"""Errors a user can act on. The CLI maps them to exit code 2 with the message as is."""

from __future__ import annotations

from pathlib import Path


class UserError(Exception):
    """Bad input or an unknown name: the user can fix it; not a bug."""


class InputError(UserError):
    """A file that cannot be read as reports; names the file and the problem."""

    def __init__(self, path: Path | str, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")
