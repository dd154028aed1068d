"""The error raised for a malformed field-data file."""

from __future__ import annotations

from pathlib import Path


class FormatError(ValueError):
    """A field-data file could not be read.

    ``path`` is the file (or ``None`` for an in-memory text), ``line`` the 1-based line number
    (``None`` when the problem concerns the whole file) and ``field`` the column or block at fault
    (``None`` when none applies). The message names all three, e.g.
    ``"ves.csv, line 7, field 'rho_a': 'abc' is not a number"``.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.path = None if path is None else str(path)
        self.line = line
        self.field = field
        self.reason = message
        where = []
        if path is not None:
            where.append(Path(path).name)
        if line is not None:
            where.append(f"line {line}")
        if field is not None:
            where.append(f"field {field!r}")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)
