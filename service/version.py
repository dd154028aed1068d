"""The running code's version (recorded in responses and network lineage)."""

from __future__ import annotations

from importlib import metadata


def _version() -> str:
    try:
        return metadata.version("geobp")
    except metadata.PackageNotFoundError:
        return "source"


VERSION = _version()
