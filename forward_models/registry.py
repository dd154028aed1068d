"""Forward-model registry: name → class, ``create`` and ``from_dict``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import ForwardModel
from .dc import Schlumberger, Wenner
from .mt import MT1D
from .tem import TEMCentralLoop, TEMCoincidentLoop

_REGISTRY: dict[str, type[ForwardModel]] = {
    cls.name: cls for cls in (Schlumberger, Wenner, MT1D, TEMCentralLoop, TEMCoincidentLoop)
}


def names() -> list[str]:
    """Available forward models: ``["ves-schlumberger", "ves-wenner", "mt-1d",
    "tem-central-loop", "tem-coincident-loop"]``."""
    return list(_REGISTRY)


def get_class(name: str) -> type[ForwardModel]:
    """The class registered under ``name`` (``ValueError`` naming ``name`` if unknown)."""
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ValueError(f"name: unknown forward model {name!r}; available: {names()}")
    return _REGISTRY[name]


def create(name: str, n_layers: int = 3, **geometry: Any) -> ForwardModel:
    """Build a forward model: ``create("ves-schlumberger", n_layers=3, ab2_m=[...], mn2_m=None)``.

    Geometry keywords per model: ``ves-schlumberger``: ``ab2_m`` (K,) m and ``mn2_m`` (None, a
    number or (K,) m); ``ves-wenner``: ``a_m`` (K,) m; ``mt-1d``: ``periods_s`` (K,) s;
    ``tem-central-loop`` / ``tem-coincident-loop``: ``times_s`` (K,) s and one of
    ``loop_radius_m`` / ``loop_side_m`` (m), plus the optional waveform and receiver keywords of
    :class:`forward_models.tem.TEMCentralLoop`.
    """
    return get_class(name)(n_layers=n_layers, **geometry)


def from_dict(spec: Mapping[str, Any]) -> ForwardModel:
    """Inverse of ``ForwardModel.to_dict()``: ``{"name", "n_layers", **geometry}`` → model."""
    if not isinstance(spec, Mapping):
        raise ValueError(f"spec: expected a mapping, got {type(spec).__name__}")
    if "name" not in spec:
        raise ValueError("name: missing from the forward-model spec")
    if "n_layers" not in spec:
        raise ValueError("n_layers: missing from the forward-model spec")
    geometry = {k: v for k, v in spec.items() if k not in ("name", "n_layers")}
    return create(spec["name"], n_layers=spec["n_layers"], **geometry)
