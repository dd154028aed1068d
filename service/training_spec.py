"""Checking a training-job request beyond its schema: the forward model's geometry and the
network hyperparameters are checked by their own packages, so errors name the exact field."""

from __future__ import annotations

from typing import Any

import forward_models
from bpnet.network import HYPERPARAMETERS
from bpnet.optimizers import OPTIMIZERS, make_optimizer
from service import schemas


class SpecError(ValueError):
    """A training spec that a package rejects; ``field`` names the spec's field (``network.hidden``,
    ``n_samples``…) and the message starts with it. The API answers 400 ``invalid_request``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


#: threads one training may use (``network.n_jobs``)
MAX_N_JOBS = 64


def _check_worker_side(network: dict[str, Any]) -> None:
    """What the worker would refuse only when it starts training: the optimiser's parameters
    (built once here) and the thread count."""
    n_jobs = network.get("n_jobs")
    if isinstance(n_jobs, int) and not isinstance(n_jobs, bool) and n_jobs > MAX_N_JOBS:
        raise SpecError("network.n_jobs", f"network.n_jobs: {n_jobs} is above {MAX_N_JOBS}")
    name = network.get("optimizer", "adam")
    params = network.get("optimizer_params")
    if name in OPTIMIZERS and params:
        try:
            make_optimizer(name, float(network.get("learning_rate", 1e-3)), params)
        except (TypeError, ValueError) as exc:
            raise SpecError("network.optimizer_params", f"network.optimizer_params: {exc}") from exc


def check_training_spec(body: schemas.TrainingJobCreate) -> dict[str, Any]:
    """The job spec as stored (defaults filled); :class:`SpecError` naming the field when a package
    rejects it."""
    spec = body.model_dump(mode="json")
    fm_spec = dict(spec["forward_model"])
    try:
        fm = forward_models.from_dict(fm_spec)
    except (TypeError, ValueError) as exc:
        raise SpecError("forward_model", f"forward_model: {exc}") from exc
    spec["forward_model"] = fm.to_dict()
    for key, value in spec["network"].items():
        if key == "n_members":
            continue
        if key not in HYPERPARAMETERS or key in ("seed", "progress"):
            allowed = sorted(k for k in HYPERPARAMETERS if k not in ("seed", "progress"))
            raise SpecError(
                f"network.{key}", f"network.{key}: unknown hyperparameter; one of {allowed}"
            )
        try:
            HYPERPARAMETERS[key].check(f"network.{key}", value)
        except (TypeError, ValueError) as exc:
            raise SpecError(f"network.{key}", str(exc)) from exc
    _check_worker_side(spec["network"])
    n_test = spec.get("n_test") or 0
    if spec["n_samples"] < 10 * fm.n_data:
        raise SpecError(
            "n_samples",
            f"n_samples: {spec['n_samples']} is too few for {fm.n_data} data "
            f"(need at least {10 * fm.n_data})",
        )
    if n_test and n_test > spec["n_samples"]:
        raise SpecError("n_test", "n_test: must not exceed n_samples")
    return spec
