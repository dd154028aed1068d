"""The rows of :func:`inversion.lm_batch.refine_batch`: its result, and the extra rows (restarts,
fits with other bounds) a spawner adds to a running refinement."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields

import numpy as np

__all__ = ["BatchRefineResult", "ExtraRows", "SpawnFn"]


@dataclass
class BatchRefineResult:
    """Outcome of :func:`refine_batch`: one row per sounding, then one per spawned extra row.

    ``models`` (m, n_params) physical units; ``predicted`` (m, n_data); ``chi`` (m,) data χ;
    ``log10_cov`` (m, n_params, n_params); ``residuals`` (m, n_data) the error-weighted data
    residuals and ``jacobian`` (m, n_data, n_params) their derivatives with respect to log10 m
    at ``models`` (zero columns for fixed parameters); ``n_iterations`` (m,) evaluations (the
    start's, then one per accepted or rejected step); ``owner`` (m,) the sounding each row
    refines (row i < n: sounding i); ``tag`` (m,) 0 for the soundings' own rows, the spawner's
    tag for extra rows; ``n_forward_models`` models forward-modelled in all.
    """

    models: np.ndarray
    predicted: np.ndarray
    chi: np.ndarray
    log10_cov: np.ndarray
    residuals: np.ndarray
    jacobian: np.ndarray
    n_iterations: np.ndarray
    owner: np.ndarray
    tag: np.ndarray
    n_forward_models: int

    def take(self, rows: np.ndarray) -> BatchRefineResult:
        """The rows ``rows`` (copies of every per-row array; the same ``n_forward_models``)."""
        arrays = {
            f.name: getattr(self, f.name)[rows]
            for f in fields(self)
            if f.name != "n_forward_models"
        }
        return BatchRefineResult(**arrays, n_forward_models=self.n_forward_models)


@dataclass
class ExtraRows:
    """Rows a spawner adds to a running :func:`refine_batch` (k rows).

    ``owner`` (k,) the sounding each refines; ``starts`` (k, p) physical models;
    ``lower``/``upper`` (k, p) physical bounds; ``use_prior`` (k,) bool, keep the owner's
    prior; ``target_chi`` (k,); ``max_iterations`` (k,) int; ``tag`` (k,) int ≥ 1 (the caller's
    label, returned in :attr:`BatchRefineResult.tag`).
    """

    owner: np.ndarray
    starts: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    use_prior: np.ndarray
    target_chi: np.ndarray
    max_iterations: np.ndarray
    tag: np.ndarray

    @classmethod
    def build(
        cls,
        owner: np.ndarray,
        starts: np.ndarray,
        lower: np.ndarray,
        upper: np.ndarray,
        *,
        use_prior: bool,
        target_chi: float,
        max_iterations: int,
        tag: int,
    ) -> ExtraRows:
        """k rows sharing bounds ((p,) or (k, p)) and settings."""
        k, p = np.shape(starts)
        return cls(
            owner=np.asarray(owner, int),
            starts=np.asarray(starts, float),
            lower=np.broadcast_to(np.asarray(lower, float), (k, p)),
            upper=np.broadcast_to(np.asarray(upper, float), (k, p)),
            use_prior=np.full(k, use_prior),
            target_chi=np.full(k, float(target_chi)),
            max_iterations=np.full(k, int(max_iterations)),
            tag=np.full(k, int(tag)),
        )

    @classmethod
    def concat(cls, parts: list[ExtraRows]) -> ExtraRows | None:
        """All rows of ``parts`` in order; None when there are none."""
        parts = [part for part in parts if part.owner.size]
        if not parts:
            return None
        names = [f.name for f in fields(cls)]
        return cls(**{name: np.concatenate([getattr(x, name) for x in parts]) for name in names})


#: called with the soundings (k,) that just stopped and their k rows of the running result
#: (models, χ, residuals and Jacobians filled in); returns extra rows to refine, or None
SpawnFn = Callable[[np.ndarray, BatchRefineResult], ExtraRows | None]
