"""The checksummed container: one ``.npz`` (``allow_pickle=False``) holding named arrays plus a
JSON metadata string, protected by SHA-256. It knows arrays and metadata only, no networks.

File layout: every array under its own key; ``__metadata__`` a 0-d unicode array with the JSON
document (kind, architecture, hyperparameters, history, library version, the caller's
``metadata``, and ``arrays_sha256``, the digest of all arrays); ``__sha256__`` the digest of that
JSON text. ``load_arrays`` recomputes both and refuses any mismatch with :class:`IntegrityError`.
Files are written to a temporary file in the target directory and renamed into place (atomic).

``BPNetwork.save``/``BPEnsemble.save`` write their documents through :func:`save_document`;
:mod:`bpnet.io` (above both classes) reads them back.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from importlib import metadata as _pkg_metadata
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "geobp.bpnet/1"
META_KEY = "__metadata__"
SHA_KEY = "__sha256__"


class IntegrityError(ValueError):
    """A saved file is corrupted, tampered with, or not a bpnet file."""


def library_version() -> str:
    """The installed ``geobp`` distribution's version (``"unknown"`` when not installed)."""
    try:
        return _pkg_metadata.version("geobp")
    except _pkg_metadata.PackageNotFoundError:
        return "unknown"


def arrays_digest(arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 over keys (sorted), dtypes, shapes and bytes of ``arrays``."""
    h = hashlib.sha256()
    for key in sorted(arrays):
        a = np.ascontiguousarray(arrays[key])
        h.update(f"{key}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _plain(obj: Any) -> Any:
    """JSON fallback: NumPy scalars and arrays as Python numbers and lists."""
    if isinstance(obj, np.generic | np.ndarray):
        return obj.tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON-serialisable")


def save_arrays(path: str | os.PathLike, arrays: dict[str, np.ndarray], metadata: dict) -> None:
    """Atomically write ``arrays`` (numeric NumPy arrays) and JSON-safe ``metadata`` to ``path``."""
    for key, a in arrays.items():
        if key in (META_KEY, SHA_KEY) or not isinstance(key, str):
            raise ValueError(f"arrays: invalid key {key!r}")
        if not isinstance(a, np.ndarray) or a.dtype.hasobject:
            raise ValueError(f"arrays[{key!r}]: must be a numeric NumPy array")
    meta = dict(metadata)
    meta["arrays_sha256"] = arrays_digest(arrays)
    try:
        text = json.dumps(meta, sort_keys=True, allow_nan=False, default=_plain)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"metadata: not JSON-serialisable ({exc})") from None
    payload = dict(arrays)
    payload[META_KEY] = np.array(text)
    payload[SHA_KEY] = np.array(hashlib.sha256(text.encode()).hexdigest())
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise FileNotFoundError(f"path: directory {str(directory)!r} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_arrays(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict]:
    """Read and verify a file written by :func:`save_arrays`; returns ``(arrays, metadata)``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"path: no such file {str(path)!r}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError, RuntimeError) as exc:
        raise IntegrityError(
            f"{path}: not a readable bpnet file ({type(exc).__name__}: {exc})"
        ) from None
    if META_KEY not in arrays or SHA_KEY not in arrays:
        raise IntegrityError(f"{path}: missing metadata or checksum; not a bpnet file")
    text = str(arrays.pop(META_KEY))
    stored = str(arrays.pop(SHA_KEY))
    if hashlib.sha256(text.encode()).hexdigest() != stored:
        raise IntegrityError(
            f"{path}: metadata checksum mismatch; the file was modified or corrupted"
        )
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as exc:
        raise IntegrityError(f"{path}: metadata is not valid JSON ({exc})") from None
    if arrays_digest(arrays) != meta.get("arrays_sha256"):
        raise IntegrityError(f"{path}: array checksum mismatch; the file was modified or corrupted")
    return arrays, meta


def check_metadata(metadata: Any) -> dict:
    """The caller's ``metadata`` for a saved model: a dict (``None`` → ``{}``)."""
    if metadata is not None and not isinstance(metadata, dict):
        raise ValueError(f"metadata: must be a dict or None, got {type(metadata).__name__}")
    return {} if metadata is None else metadata


def save_document(
    path: str | os.PathLike, arrays: dict[str, np.ndarray], doc: dict, user: dict
) -> None:
    """Write a model document (``kind`` and its state) with the format tag, the library version
    and the caller's ``user`` metadata added."""
    doc = {**doc, "format": FORMAT, "library_version": library_version(), "metadata": user}
    save_arrays(path, arrays, doc)
