"""A batch's soundings grouped by observed geometry, and the forward check of the network's models.

Soundings on the network's own geometry share its forward model; others get one forward model per
distinct observed geometry (``ForwardModel.with_geometry``), so every forward call serves a whole
group.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .misfit import chi as chi_of
from .misfit import rms_percent
from .observations import Observation, phase_mask
from .posterior import linearised_covariance

__all__ = ["Geometry", "NetworkCheck", "forward_check", "group_by_geometry"]


@dataclass
class Geometry:
    """Soundings ``rows`` of one observed geometry with their forward model ``fwd`` on it, the
    phase mask (n_data,), and their stacked data and standard errors (len(rows), n_data)."""

    rows: list[int]
    fwd: Any
    is_phase: np.ndarray
    observed: np.ndarray
    sigma: np.ndarray

    @classmethod
    def of(cls, rows: list[int], parsed: Sequence[Observation], fwd: Any) -> Geometry:
        """The group of soundings ``rows`` of ``parsed``, on the forward model ``fwd``."""
        observed = np.stack([parsed[row].data for row in rows])
        sigma = np.stack([parsed[row].sigma for row in rows])
        return cls(rows, fwd, phase_mask(fwd.data_kinds), observed, sigma)

    def forward(self, models: np.ndarray) -> np.ndarray:
        """Models (k, p) → data (k, n_data) on this group's geometry, float64."""
        return np.asarray(self.fwd.forward(models, precision="double"), dtype=float)


def group_by_geometry(parsed: Sequence[Observation], forward_model: Any) -> list[Geometry]:
    """The soundings ``parsed`` grouped by observed geometry, in order of first appearance;
    ``forward_model`` is the network's (the group on its geometry uses it as it is)."""
    groups: dict[tuple, list[int]] = {}
    for i, p in enumerate(parsed):
        groups.setdefault(("same",) if p.same_geometry else p.geometry_key(), []).append(i)
    out = []
    for rows in groups.values():
        obs = parsed[rows[0]]
        fwd = forward_model if obs.same_geometry else forward_model.with_geometry(**obs.geometry)
        out.append(Geometry.of(rows, parsed, fwd))
    return out


@dataclass
class NetworkCheck:
    """The network's models checked against the data, per sounding: ``predicted`` (n_data,)
    responses, ``chi``/``rms`` (n,), and ``log10_cov`` (n_params, n_params) linearised
    covariances (None unless asked for: results that are not refined)."""

    predicted: list[np.ndarray | None]
    chi: np.ndarray
    rms: np.ndarray
    log10_cov: list[np.ndarray | None]


def forward_check(
    geometries: Sequence[Geometry],
    models: np.ndarray,
    fixed: Sequence[Sequence[float | None]],
    bounds: tuple[np.ndarray, np.ndarray],
    covariance: bool,
) -> NetworkCheck:
    """Forward check of the network's ``models`` (n, n_params) Ω·m/m, one forward call per
    geometry (and with ``covariance`` their linearised covariances in one more call per
    geometry); ``fixed`` one value-or-None list per sounding, ``bounds`` (lower, upper) (p,)."""
    n = models.shape[0]
    check = NetworkCheck([None] * n, np.zeros(n), np.zeros(n), [None] * n)
    for group in geometries:
        rows = group.rows
        pred = group.forward(models[rows])
        check.chi[rows] = chi_of(group.observed, pred, group.is_phase, group.sigma)
        check.rms[rows] = rms_percent(group.observed, pred, group.is_phase)
        for r, row in enumerate(rows):
            check.predicted[row] = pred[r]
        if covariance:
            covs = linearised_covariance(
                group.forward,
                models[rows],
                group.observed,
                group.sigma,
                group.is_phase,
                bounds[0],
                bounds[1],
                [fixed[row] for row in rows],
            )
            for r, row in enumerate(rows):
                check.log10_cov[row] = covs[r]
    return check
