"""The problem :func:`inversion.lm_batch.refine_batch` iterates on: per-row constants
(:class:`Rows`), the Levenberg–Marquardt state of each row (:class:`State`), and the evaluator
that makes one forward call for a set of trial models (:class:`Evaluator`)."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from .posterior import ForwardFn, JacobianFn

__all__ = ["Evaluator", "Rows", "State"]


class Rows:
    """Per-row constants of :func:`inversion.lm_batch.refine_batch`'s problem for a set of rows.

    ``log_obs``/``weight`` (k, n_data): observed ln ρa (or phase, degrees) and 1/σ; ``free``
    (k, p) bool; ``mean``/``precision`` (k, p) of the log10-m prior (precision 0: none);
    ``lo``/``hi`` (k, p) log10 bounds; ``stop``/``accept`` (k,) ½Σr² at the target χ and at the
    χ below which small gains end the iteration; ``cap`` (k,) the most iterations.
    """

    names = ("log_obs", "weight", "free", "mean", "precision", "lo", "hi", "stop", "accept", "cap")

    def __init__(self, **arrays: np.ndarray) -> None:
        for name in self.names:
            setattr(self, name, arrays[name])
        self.root_precision = np.sqrt(self.precision)

    def take(self, index: np.ndarray) -> Rows:
        """The constants of rows ``index`` (indices or a boolean mask)."""
        return Rows(**{name: getattr(self, name)[index] for name in self.names})

    def append(self, other: Rows) -> Rows:
        """These rows followed by ``other``'s."""
        return Rows(
            **{
                name: np.concatenate([getattr(self, name), getattr(other, name)])
                for name in self.names
            }
        )


@dataclass
class State:
    """Levenberg–Marquardt state of k rows: ``x`` (k, p) log10 m, ``predicted`` (k, n_data) its
    responses, ``residuals`` (k, n_data) weighted, ``half_ssr`` (k,) ½Σr², ``cost`` (k,) ½Σr² plus
    the prior's term, ``jacobian`` (k, n_data, p) d residuals / d log10 m."""

    x: np.ndarray
    predicted: np.ndarray
    residuals: np.ndarray
    half_ssr: np.ndarray
    cost: np.ndarray
    jacobian: np.ndarray

    @classmethod
    def fresh(cls, x0: np.ndarray, rows: Rows, n_data: int) -> State:
        """Rows that start at ``x0`` (k, p) physical (free parameters clipped just inside the
        bounds), not yet evaluated (infinite cost)."""
        inset = np.minimum(1e-6, 0.25 * (rows.hi - rows.lo))
        x = np.log10(x0)
        x = np.where(rows.free, np.clip(x, rows.lo + inset, rows.hi - inset), x)
        k, p = x.shape
        blank = np.zeros((k, n_data))
        inf = np.full(k, np.inf)
        return cls(x, blank, blank.copy(), inf, inf.copy(), np.zeros((k, n_data, p)))

    def _arrays(self) -> dict[str, np.ndarray]:
        """``{field name: array}`` of every per-row array."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def copy(self) -> State:
        """A copy (no array shared)."""
        return State(**{name: a.copy() for name, a in self._arrays().items()})

    def take(self, index: np.ndarray) -> State:
        """The rows ``index`` (indices or a boolean mask), copied."""
        return State(**{name: a[index] for name, a in self._arrays().items()})

    def where(self, mask: np.ndarray, other: State) -> State:
        """These rows where ``mask`` (k,), else ``other``'s."""
        return State(
            **{
                name: np.where(mask.reshape(-1, *(1,) * (a.ndim - 1)), a, getattr(other, name))
                for name, a in self._arrays().items()
            }
        )

    def put(self, index: np.ndarray, other: State) -> None:
        """Overwrite rows ``index`` (k,) in place with ``other``'s k rows."""
        for name, a in self._arrays().items():
            a[index] = getattr(other, name)

    def append(self, other: State) -> State:
        """These rows followed by ``other``'s."""
        return State(
            **{
                name: np.concatenate([a, getattr(other, name)])
                for name, a in self._arrays().items()
            }
        )


class Evaluator:
    """Weighted residuals, costs and Jacobians of trial models (one forward call per evaluation);
    ``n_models`` counts the models forward-modelled."""

    def __init__(
        self,
        forward: ForwardFn,
        jacobian: JacobianFn | None,
        is_phase: np.ndarray,
        n_params: int,
        step_log10: float,
    ) -> None:
        self.forward, self.jacobian, self.is_phase = forward, jacobian, is_phase
        self.step = step_log10
        self.perturb = step_log10 * np.vstack([np.zeros(n_params), np.eye(n_params)])
        self.n_models = 0

    def residuals(self, pred: np.ndarray, rows: Rows) -> np.ndarray:
        """Weighted residuals (k, [m,] n_data) of predictions (k, [m,] n_data) for ``rows``."""
        safe = np.where(self.is_phase, 1.0, pred)
        expand = (slice(None),) + (None,) * (pred.ndim - 2)
        with np.errstate(invalid="ignore", divide="ignore"):  # non-finite: penalised below
            value = np.where(self.is_phase, pred, np.log(safe))
        r = (value - rows.log_obs[expand]) * rows.weight[expand]
        return np.where(np.isfinite(r), r, 1e6)

    def __call__(self, xs: np.ndarray, rows: Rows) -> State:
        """The state at ``xs`` (k, p) log10 m: responses, residuals, ½Σr², cost = ½Σr² + prior,
        and the residuals' Jacobian w.r.t. log10 m."""
        k, p = xs.shape
        if self.jacobian is not None:
            pred, dd = self.jacobian(10.0**xs)
            self.n_models += k
            r = self.residuals(pred, rows)
            per_ln = (np.log(10.0) * rows.weight) / np.where(self.is_phase, 1.0, pred)
            jac = dd * per_ln[:, :, None]
        else:
            both = (xs[:, None, :] + self.perturb[None]).reshape(k * (p + 1), p)
            out = np.asarray(self.forward(10.0**both), dtype=float).reshape(k, p + 1, -1)
            self.n_models += k * (p + 1)
            r_all = self.residuals(out, rows)
            pred, r = out[:, 0, :], r_all[:, 0, :]
            jac = np.transpose((r_all[:, 1:, :] - r[:, None, :]) / self.step, (0, 2, 1))
        jac *= rows.free[:, None, :]
        rp = (xs - rows.mean) * rows.root_precision
        half_ssr = 0.5 * np.einsum("ij,ij->i", r, r)
        cost = half_ssr + 0.5 * np.einsum("ij,ij->i", rp, rp)
        return State(xs, pred, r, half_ssr, cost, jac)
