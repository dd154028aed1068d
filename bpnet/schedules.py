"""Learning-rate schedules: a multiplier of the base learning rate, updated once per epoch."""

from __future__ import annotations

import math
from typing import Any

from ._params import Spec, validate


class Schedule:
    """Base class: ``factor(epoch, monitored_loss)`` → multiplier for the next epoch."""

    name = ""
    PARAMS: dict[str, Spec] = {}

    def __init__(self, max_epochs: int, **params: Any) -> None:
        self.max_epochs = max_epochs
        self.params = validate(self.PARAMS, params, prefix="schedule_params.")

    def factor(self, epoch: int, monitored_loss: float) -> float:
        """Multiplier for epoch ``epoch`` (0-based, the epoch about to run); ``monitored_loss``
        is the last finished epoch's validation (or training) loss."""
        return 1.0


class Step(Schedule):
    """Step decay: factor = γ^⌊epoch / step_size⌋."""

    name = "step"
    PARAMS = {
        "step_size": Spec(50, "int", low=1),
        "gamma": Spec(0.5, "float", low=0.0, high=1.0, low_open=True),
    }

    def factor(self, epoch: int, monitored_loss: float) -> float:
        return self.params["gamma"] ** (epoch // self.params["step_size"])


class Cosine(Schedule):
    """Cosine annealing over ``max_epochs``: f = f_min + (1 − f_min)(1 + cos(π·epoch/E))/2."""

    name = "cosine"
    PARAMS = {"min_factor": Spec(0.0, "float", low=0.0, high=1.0)}

    def factor(self, epoch: int, monitored_loss: float) -> float:
        fmin = self.params["min_factor"]
        return fmin + (1.0 - fmin) * 0.5 * (1.0 + math.cos(math.pi * epoch / self.max_epochs))


class Plateau(Schedule):
    """Reduce on plateau: multiply by ``gamma`` after ``patience`` epochs without the monitored
    loss improving by a relative ``threshold``; never below ``min_factor``."""

    name = "plateau"
    PARAMS = {
        "patience": Spec(10, "int", low=0),
        "gamma": Spec(0.5, "float", low=0.0, high=1.0, low_open=True, high_open=True),
        "threshold": Spec(1e-4, "float", low=0.0),
        "min_factor": Spec(1e-3, "float", low=0.0, high=1.0),
    }

    def __init__(self, max_epochs: int, **params: Any) -> None:
        super().__init__(max_epochs, **params)
        self.best = math.inf
        self.bad_epochs = 0
        self.current = 1.0

    def factor(self, epoch: int, monitored_loss: float) -> float:
        p = self.params
        if monitored_loss is None or not math.isfinite(monitored_loss):
            return self.current
        if monitored_loss < self.best * (1.0 - p["threshold"]):
            self.best = monitored_loss
            self.bad_epochs = 0
        else:
            self.bad_epochs += 1
            if self.bad_epochs > p["patience"]:
                self.current = max(self.current * p["gamma"], p["min_factor"])
                self.bad_epochs = 0
        return self.current


SCHEDULES = {cls.name: cls for cls in (Step, Cosine, Plateau)}


def make_schedule(name: str | None, max_epochs: int, params: dict | None = None) -> Schedule:
    """A schedule by name (``None`` → constant learning rate) with ``schedule_params`` checked."""
    if name is None:
        if params:
            raise ValueError("schedule_params: given but schedule is None")
        return Schedule(max_epochs)
    if name not in SCHEDULES:
        raise ValueError(f"schedule: unknown name {name!r}; choose one of {sorted(SCHEDULES)}")
    return SCHEDULES[name](max_epochs, **(params or {}))
