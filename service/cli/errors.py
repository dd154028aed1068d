"""The error type of the command line: one message, one exit status."""

from __future__ import annotations


class CliError(Exception):
    """A user-facing failure: printed as one line ``geobp: error: …``, exit status ``status``
    (1 when the work failed, 2 for a usage error)."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status
