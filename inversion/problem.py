"""From a training spec (plain JSON) to the objects of ``forward_models`` and ``bpnet``."""

from __future__ import annotations

from typing import Any

import forward_models
from bpnet.network import upgrade_params

DEFAULT_TEST_FRACTION = 0.1
TEST_SEED_OFFSET = 1_000_003  # the held-out set never shares rows with the training set


def build_forward_model(spec: dict[str, Any]) -> Any:
    """The spec's forward model (``spec["forward_model"]`` is its ``to_dict`` form)."""
    return forward_models.from_dict(dict(spec["forward_model"]))


def build_space(spec: dict[str, Any], forward_model: Any) -> Any:
    """``ModelSpace`` from ``spec["bounds"]`` (``rho_ohmm``, ``thickness_m`` as [lo, hi])."""
    bounds = spec.get("bounds") or {}
    return forward_models.ModelSpace.for_forward_model(
        forward_model,
        rho_ohmm=tuple(bounds.get("rho_ohmm", (1.0, 5000.0))),
        thickness_m=tuple(bounds.get("thickness_m", (0.5, 100.0))),
        max_depth_m=bounds.get("max_depth_m"),
    )


def build_noise(spec: dict[str, Any]) -> Any:
    """``NoiseModel`` from ``spec["noise"]`` (relative ρa noise, absolute phase noise, deg)."""
    return forward_models.NoiseModel(**(spec.get("noise") or {}))


def n_test_rows(spec: dict[str, Any]) -> int:
    """Held-out rows: ``spec["n_test"]`` or 10 % of ``n_samples`` (at least 200, at most 20,000)."""
    if spec.get("n_test"):
        return int(spec["n_test"])
    return int(min(20_000, max(200, DEFAULT_TEST_FRACTION * int(spec["n_samples"]))))


def network_keywords(spec: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """``(BPNetwork keywords, n_members)`` from ``spec["network"]`` (seed: from the spec)."""
    kwargs = upgrade_params(spec.get("network") or {})
    n_members = int(kwargs.pop("n_members", 5))
    return kwargs, n_members
