"""Safe save/load: one ``.npz`` (``allow_pickle=False``) holding the arrays plus a JSON metadata
string, protected by SHA-256.

File layout: every array under its own key; ``__metadata__`` a 0-d unicode array with the JSON
document (kind, architecture, hyperparameters, history, library version, the caller's
``metadata``, and ``arrays_sha256``, the digest of all arrays); ``__sha256__`` the digest of that
JSON text. ``load`` recomputes both and refuses any mismatch with :class:`IntegrityError`.
Files are written to a temporary file in the target directory and renamed into place (atomic).

``save_arrays``/``load_arrays`` expose the same container for other objects (the Inverter);
``network_state``/``network_from_state`` turn a network into (arrays, metadata) and back.
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


def network_state(net: Any, prefix: str = "") -> tuple[dict[str, np.ndarray], dict]:
    """A fitted ``BPNetwork`` as ``(arrays keyed prefix+W1…, JSON-safe dict)``."""
    net._check_fitted("save")
    arrays = {prefix + k: np.asarray(v) for k, v in net.weights_.items()}
    state = {
        "hyperparameters": net.get_params(),
        "architecture": {
            "n_features": net.n_features_in_,
            "hidden": net.hidden,
            "n_outputs": net.n_outputs_,
            "bias": net.bias,
        },
        "fitted": {
            "history": net.history_,
            "best_epoch": net.best_epoch_,
            "stop_reason": net.stop_reason_,
            "device": net.device_,
            "dtype": net.dtype_,
            "n_train_samples": net.n_train_samples_,
            "fit_time_s": net.fit_time_s_,
        },
    }
    return arrays, state


def network_from_state(arrays: dict[str, np.ndarray], state: dict, prefix: str = "") -> Any:
    """Rebuild a fitted ``BPNetwork`` from :func:`network_state` output."""
    from .network import BPNetwork, upgrade_params

    net = BPNetwork(**upgrade_params(state["hyperparameters"]))
    arch, fitted = state["architecture"], state["fitted"]
    keys = ("W1", "W2", "b1", "b2") if arch["bias"] else ("W1", "W2")
    try:
        net.weights_ = {k: np.array(arrays[prefix + k]) for k in keys}
    except KeyError as exc:
        raise IntegrityError(f"arrays: missing {exc.args[0]!r}") from None
    n_in, h, m = arch["n_features"], arch["hidden"], arch["n_outputs"]
    expected = {"W1": (n_in, h), "W2": (h, m), "b1": (h,), "b2": (m,)}
    for k, w in net.weights_.items():
        if w.shape != expected[k]:
            raise IntegrityError(
                f"arrays: {prefix + k} has shape {w.shape}, expected {expected[k]}"
            )
    net.n_features_in_, net.n_outputs_ = n_in, m
    net.history_ = fitted["history"]
    net.best_epoch_ = fitted["best_epoch"]
    net.stop_reason_ = fitted["stop_reason"]
    net.device_ = "cpu"
    net.dtype_ = fitted["dtype"]
    net.n_train_samples_ = fitted["n_train_samples"]
    net.fit_time_s_ = fitted["fit_time_s"]
    return net


def save(model: Any, path: str | os.PathLike, metadata: dict | None = None) -> None:
    """Save a fitted ``BPNetwork`` or ``BPEnsemble`` to ``path`` as one checksummed file."""
    from .ensemble import BPEnsemble

    if metadata is not None and not isinstance(metadata, dict):
        raise ValueError(f"metadata: must be a dict or None, got {type(metadata).__name__}")
    user = {} if metadata is None else metadata
    if isinstance(model, BPEnsemble):
        model._check_fitted("save")
        arrays: dict[str, np.ndarray] = {}
        members = []
        for i, member in enumerate(model.members_):
            a, s = network_state(member, prefix=f"member{i}.")
            arrays.update(a)
            members.append(s)
        doc = {
            "kind": "BPEnsemble",
            "ensemble": model.get_ensemble_params(),
            "members": members,
            "stop_reason": model.stop_reason_,
        }
    else:
        arrays, state = network_state(model)
        doc = {"kind": "BPNetwork", **state}
    doc.update({"format": FORMAT, "library_version": library_version(), "metadata": user})
    save_arrays(path, arrays, doc)
    model.metadata_ = user


def load(path: str | os.PathLike) -> Any:
    """Load a ``BPNetwork`` or ``BPEnsemble`` saved by :func:`save` (verifying checksums).

    The result predicts on the CPU with NumPy whatever device trained it; ``.metadata_`` holds
    the caller's ``metadata`` dict. Raises :class:`IntegrityError` for corrupted/tampered files.
    """
    from .ensemble import BPEnsemble

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
