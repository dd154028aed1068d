"""Artifact store: files under the artifact directory, written atomically and checksummed.

A writer callback fills a temporary path; the file is fsynced, hashed (SHA-256) and renamed into
place, so a reader never sees half a file and a crash leaves only a ``.tmp-*`` leftover.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def locate_artifact(root: Path, stored: str) -> Path:
    """The file of a registry row's ``artifact_path``: relative to the artifact folder ``root``
    (rows written since paths are stored relative), or absolute (older rows)."""
    path = Path(stored)
    return path if path.is_absolute() else Path(root) / path


class ArtifactStore:
    """Files under ``root``: ``networks/<name>/…`` and ``jobs/<job_id>/…``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def job_dir(self, job_id: str) -> Path:
        """The folder of a job's dataset chunks."""
        return self.root / "jobs" / job_id

    def network_path(self, name: str, network_id: str) -> Path:
        """Where a network's artifact lives."""
        return self.root / "networks" / name / f"{network_id}.npz"

    def stored_path(self, path: Path) -> str:
        """``path`` as the registry stores it: relative to :attr:`root` (so the artifact folder
        can move), absolute when outside it."""
        try:
            return Path(path).relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def locate(self, stored: str) -> Path:
        """The file of a stored ``artifact_path`` (see :func:`locate_artifact`)."""
        return locate_artifact(self.root, stored)

    def write_atomic(self, target: Path, writer: Callable[[Path], None]) -> str:
        """Let ``writer(tmp_path)`` write the file, then fsync, hash and rename; return SHA-256."""
        target = Path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".tmp-{uuid.uuid4().hex}-{target.name}")
        try:
            writer(tmp)
            written = tmp if tmp.exists() else _find_written(tmp)
            with open(written, "rb") as handle:
                os.fsync(handle.fileno())
            checksum = sha256_file(written)
            os.replace(written, target)
        finally:
            for leftover in tmp.parent.glob(f"{tmp.name}*"):
                leftover.unlink(missing_ok=True)
        return checksum

    def verify(self, path: Path, sha256: str) -> bool:
        """True when the file exists and its SHA-256 matches."""
        return Path(path).is_file() and sha256_file(Path(path)) == sha256

    def remove_job_dir(self, job_id: str) -> None:
        """Delete a job's dataset chunks (after its network is registered)."""
        shutil.rmtree(self.job_dir(job_id), ignore_errors=True)

    def remove(self, path: Path) -> None:
        """Delete one artifact file if present."""
        Path(path).unlink(missing_ok=True)


def _find_written(tmp: Path) -> Path:
    """Writers such as ``numpy.savez`` may append ``.npz``; find what was written."""
    matches = sorted(tmp.parent.glob(f"{tmp.name}*"))
    if len(matches) != 1:
        raise OSError(f"artifact writer produced no single file at {tmp}")
    return matches[0]
