"""Saving and loading an inverter: one checksummed ``.npz`` via :mod:`bpnet.io`.

The ensemble weights are the arrays; the inverter's record (kind ``"geobp.inverter"``, version 1:
its settings, forward model, space, noise, transforms, domain, calibration and metrics) and the
caller's metadata (under ``"user"``) are the JSON metadata.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import forward_models
from bpnet import IntegrityError
from bpnet import io as bpnet_io
from bpnet.network import upgrade_params

from .domain import TrainingDomain
from .transforms import DataTransform, ParameterTransform

__all__ = ["FORMAT", "FORMAT_VERSION", "load", "metadata", "save"]

FORMAT = "geobp.inverter"
FORMAT_VERSION = 1

T = TypeVar("T")


def metadata(inverter: Any, n_members: int, network: Mapping[str, Any]) -> dict[str, Any]:
    """JSON-safe record of a fitted ``inverter`` (an ``Inverter``) but the network weights;
    ``n_members`` and ``network`` its resolved ensemble size and ``BPNetwork`` keywords."""
    return {
        "kind": FORMAT,
        "version": FORMAT_VERSION,
        "forward_model": inverter.forward_model.to_dict(),
        "space": inverter.space.to_dict(),
        "noise": inverter.noise.to_dict() if inverter.noise is not None else None,
        "network": network,
        "n_members": n_members,
        "calibration_fraction": inverter.calibration_fraction,
        "misfit_chi_limit": inverter.misfit_chi_limit,
        "n_restart_draws": inverter.n_restart_draws,
        "network_prior": inverter.network_prior,
        "bound_test_alpha": inverter.bound_test_alpha,
        "data_misfit_weight": inverter.data_misfit_weight,
        "seed": inverter.seed,
        "data_transform": inverter.data_transform_.to_dict(),
        "param_transform": inverter.param_transform_.to_dict(),
        "domain": inverter.domain_.to_dict(),
        "calibration": inverter.calibration_,
        "network_chi_limit": inverter.network_chi_limit_,
        "metrics": inverter.metrics_,
    }


def save(
    ensemble: Any, record: Mapping[str, Any], path: str, user: Mapping[str, Any] | None
) -> None:
    """Write the ``ensemble``'s weights with the inverter's ``record`` (:func:`metadata`) and the
    caller's ``user`` metadata to ``path`` (``.npz``, no pickle)."""
    doc = dict(record)
    doc["user"] = dict(user or {})
    bpnet_io.save(ensemble, path, metadata=doc)


def load(factory: Callable[..., T], path: str) -> T:
    """Read an inverter written by :func:`save` (checksums verified by :mod:`bpnet.io`);
    ``factory`` is the ``Inverter`` class. Raises ``bpnet.IntegrityError`` for other files."""
    ensemble = bpnet_io.load(path)
    doc = getattr(ensemble, "metadata_", {}) or {}
    if doc.get("kind") != FORMAT:
        raise IntegrityError(f"{path}: not a saved Inverter (kind {doc.get('kind')!r})")
    inv = factory(
        forward_model=forward_models.from_dict(doc["forward_model"]),
        space=forward_models.ModelSpace.from_dict(doc["space"]),
        noise=forward_models.NoiseModel.from_dict(doc["noise"])
        if doc["noise"] is not None
        else None,
        network=upgrade_params(doc["network"]),
        n_members=doc["n_members"],
        calibration_fraction=doc["calibration_fraction"],
        misfit_chi_limit=doc["misfit_chi_limit"],
        n_restart_draws=doc["n_restart_draws"],
        network_prior=doc.get("network_prior", True),
        bound_test_alpha=doc.get("bound_test_alpha", 0.01),
        data_misfit_weight=doc.get("data_misfit_weight", 0.0),
        seed=doc["seed"],
    )
    inv.ensemble_ = ensemble
    inv.data_transform_ = DataTransform.from_dict(doc["data_transform"])
    inv.param_transform_ = ParameterTransform.from_dict(doc["param_transform"])
    inv.domain_ = TrainingDomain.from_dict(doc["domain"])
    inv.calibration_ = doc["calibration"]
    inv.network_chi_limit_ = float(doc["network_chi_limit"])
    inv.metrics_ = doc["metrics"]
    inv.metadata_ = doc.get("user", {})
    return inv
