"""What the command line tells its user: results on standard output, one-line errors."""

from __future__ import annotations

import sys


def say(text: str) -> None:
    """Print one line of progress or results to standard output, flushed at once."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def fail(message: str) -> None:
    """Print the one-line failure message ``geobp: error: …`` to standard error."""
    first = " ".join(str(message).split())
    sys.stderr.write(f"geobp: error: {first}\n")
    sys.stderr.flush()
