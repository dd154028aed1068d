"""Save and load fitted ``BPNetwork``/``BPEnsemble`` models as one checksummed ``.npz``.

This module sits above both classes: it maps a saved file's ``kind`` back to the class. The file
container itself (arrays + JSON metadata, SHA-256, atomic writes; ``save_arrays``/``load_arrays``
for other objects such as the Inverter) lives in :mod:`bpnet.archive` and is re-exported here;
``network_state``/``network_from_state`` (a network as (arrays, metadata) and back) live in
:mod:`bpnet.network`.
"""

from __future__ import annotations

import os

from .archive import (
    FORMAT,
    META_KEY,
    SHA_KEY,
    IntegrityError,
    arrays_digest,
    library_version,
    load_arrays,
    save_arrays,
)
from .ensemble import BPEnsemble
from .network import BPNetwork, network_from_state, network_state

__all__ = [
    "FORMAT",
    "META_KEY",
    "SHA_KEY",
    "IntegrityError",
    "arrays_digest",
    "library_version",
    "load",
    "load_arrays",
    "network_from_state",
    "network_state",
    "save",
    "save_arrays",
]


def save(
    model: BPNetwork | BPEnsemble, path: str | os.PathLike, metadata: dict | None = None
) -> None:
    """Save a fitted ``BPNetwork`` or ``BPEnsemble`` to ``path`` as one checksummed file."""
    model.save(path, metadata=metadata)


def load(path: str | os.PathLike) -> BPNetwork | BPEnsemble:
    """Load a ``BPNetwork`` or ``BPEnsemble`` saved by :func:`save` (verifying checksums).

    The result predicts on the CPU with NumPy whatever device trained it; ``.metadata_`` holds
    the caller's ``metadata`` dict. Raises :class:`IntegrityError` for corrupted/tampered files.
    """
    arrays, doc = load_arrays(path)
    if doc.get("format") != FORMAT:
        raise IntegrityError(f"{path}: unknown format {doc.get('format')!r}; expected {FORMAT!r}")
    try:
        if doc["kind"] == "BPEnsemble":
            model = BPEnsemble(**doc["ensemble"])
            model.members_ = [
                network_from_state(arrays, s, prefix=f"member{i}.")
                for i, s in enumerate(doc["members"])
            ]
            model._set_fitted_from_members()
            model.stop_reason_ = doc["stop_reason"]
        elif doc["kind"] == "BPNetwork":
            model = network_from_state(arrays, doc)
        else:
            raise IntegrityError(f"{path}: unknown kind {doc['kind']!r}")
    except (KeyError, TypeError) as exc:
        raise IntegrityError(f"{path}: incomplete metadata ({type(exc).__name__}: {exc})") from None
    model.metadata_ = doc.get("metadata", {})
    model.library_version_ = doc.get("library_version")
    return model
