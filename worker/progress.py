"""Throttled progress reporting and cooperative cancellation checks for training tasks."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

# fraction of the whole job at the start of each stage
STAGE_START = {"dataset": 0.0, "train": 0.2, "evaluate": 0.9, "register": 0.95, "done": 1.0}


def _finite_or_none(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


class ProgressReporter:
    """Turns per-epoch callback dicts into DB progress writes, at most one per ``interval_s``.

    ``write(progress)`` receives ``{stage, fraction, epoch, max_epochs, member, n_members,
    train_loss, val_loss}``; losses are in the network's transformed (standardised) units.
    """

    def __init__(
        self, write: Callable[[dict[str, Any]], None], interval_s: float, n_members: int = 1
    ) -> None:
        self.write = write
        self.interval_s = interval_s
        self.n_members = max(1, n_members)
        self._last = -math.inf  # the first epoch is always reported
        self._seen_member = -1
        self._member = 0

    def stage(self, stage: str, fraction: float | None = None) -> None:
        """Report a stage change immediately."""
        start = STAGE_START.get(stage, 0.0)
        self.write({"stage": stage, "fraction": start if fraction is None else fraction})
        self._last = time.monotonic()

    def epoch(self, info: dict[str, Any]) -> None:
        """The training callback: one dict per epoch (``epoch``, ``max_epochs``, losses, and
        ``member`` for ensembles)."""
        epoch = int(info.get("epoch", 0))
        max_epochs = max(1, int(info.get("max_epochs", 1)))
        if "member" in info:
            member = int(info["member"])
        else:  # members train one after another; the epoch counter restarting means a new one
            if epoch <= 1 and self._seen_member >= 0:
                self._member += 1
            member = self._member
        self._seen_member = member
        n_members = int(info.get("n_members", self.n_members))
        done = (min(member, n_members - 1) + min(epoch, max_epochs) / max_epochs) / n_members
        span = STAGE_START["evaluate"] - STAGE_START["train"]
        now = time.monotonic()
        if now - self._last < self.interval_s:
            return
        self._last = now
        self.write(
            {
                "stage": "train",
                "fraction": round(STAGE_START["train"] + span * min(done, 1.0), 4),
                "epoch": epoch,
                "max_epochs": max_epochs,
                "member": member,
                "n_members": n_members,
                "train_loss": _finite_or_none(info.get("train_loss")),
                "val_loss": _finite_or_none(info.get("val_loss")),
            }
        )


class CancelCheck:
    """``should_stop`` for ``fit``: asks the store at most every ``interval_s`` seconds."""

    def __init__(self, ask: Callable[[], bool], interval_s: float) -> None:
        self.ask = ask
        self.interval_s = interval_s
        self._last = -math.inf
        self.stopped = False

    def __call__(self) -> bool:
        if self.stopped:
            return True
        now = time.monotonic()
        if now - self._last >= self.interval_s:
            self._last = now
            self.stopped = bool(self.ask())
        return self.stopped
