"""Inverter: an ensemble of BP networks + forward-model spec + transforms + training domain.

``Inverter.invert`` turns observation dicts into DESIGN.md's inversion results: the network's
model (one batched prediction), an optional refinement against the physics
(:mod:`inversion.lm_batch`), the forward check (:mod:`inversion.misfit`), calibrated p10/p50/p90
intervals, the linearised posterior standard deviation and resolved combinations, and the
out-of-domain flag (:mod:`inversion.domain`).

Calibration of the intervals (in the standardised log10 target space, per parameter j): the
ensemble spread ``s_j(x)`` alone is under-dispersed, so on a calibration split held out from
training we set ``τ_j² = max(0, mean(e_j²) − mean(s_j²))`` (the residual variance the spread does
not explain), ``σ_j(x) = sqrt(s_j(x)² + τ_j²)``, and a factor ``k_j`` so that exactly 80 % of the
calibration residuals satisfy ``|e_j| ≤ 1.2816·k_j·σ_j``. Then ``p10/p90 = mean ∓ 1.2816·k_j·σ_j``.
"""

from __future__ import annotations

import itertools
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

import forward_models
from bpnet import BPEnsemble, IntegrityError
from bpnet import io as bpnet_io
from bpnet.network import upgrade_params

from .domain import BoundTest, TrainingDomain, bound_test_reasons, bound_test_setup
from .lm_batch import BatchRefineResult, ExtraRows, refine_batch
from .misfit import chi as chi_of
from .misfit import default_sigma, rms_percent
from .observations import (
    InversionInputError,
    Observation,
    parse_observation,
    phase_mask,
    validate_noise_floor,
)
from .refine import linearised_covariance, resolved_combinations
from .transforms import DataTransform, ParameterTransform

__all__ = ["Inverter", "InversionInputError", "observation_from_data"]

logger = logging.getLogger(__name__)

#: calibration soundings refined at fit time to calibrate the post-refinement band
_N_REFINED_CAL = 200
_Z90 = 1.2815515655446004  # standard-normal 90th percentile
_RESTART_CHI = 1.2  # refined results above this χ get restarts (in-domain data only)
_MAX_RESTARTS = 5
_EXTRA_ITERATIONS = 10  # iterations of a restart or a bound-test fit
_RESTART, _INSIDE, _RELAXED = 1, 2, 3  # tags of extra rows: restart, bound test in / beyond
_FORMAT = "geobp.inverter"
_FORMAT_VERSION = 1


def observation_from_data(forward_model: Any, data: np.ndarray) -> dict[str, Any]:
    """Observation dict (REST layout) for one data vector ``(n_data,)`` on the model's geometry."""
    data = np.asarray(data, dtype=float)
    k = len(forward_model.axis_values)
    obs: dict[str, Any] = {
        forward_model.axis_name: np.asarray(forward_model.axis_values, float).tolist(),
        "rho_a_ohmm": data[:k].tolist(),
    }
    if "phase" in tuple(forward_model.data_kinds):
        obs["phase_deg"] = data[k:].tolist()
    return obs


def _finite(value: Any) -> float | None:
    """``float(value)``, or ``None`` when it is not finite (results must stay valid JSON)."""
    number = float(value)
    return number if math.isfinite(number) else None


def _or_inf(value: float | None) -> float:
    """A result's χ or RMS as a float (``inf`` where the result holds ``None``)."""
    return math.inf if value is None else float(value)


def _per_param(names: list[str], values: np.ndarray) -> dict[str, float]:
    """``{name: float(value)}`` for one value per parameter."""
    return {name: float(v) for name, v in zip(names, values, strict=True)}


def _parameter_fixes(
    fixed: Mapping[str, Any], names: list[str], n_layers: int, index: int | None
) -> dict[str, float]:
    """Normalise one ``fixed`` mapping to ``{parameter_name: value}``."""
    if not isinstance(fixed, Mapping):
        raise InversionInputError(
            "fixed must be a mapping like {'h1': 4.0} or {'thickness_m': [4.0, null]}",
            field="fixed",
            index=index,
        )
    out: dict[str, Any] = {}
    for key, value in fixed.items():
        if key in ("rho_ohmm", "thickness_m"):
            expected = n_layers if key == "rho_ohmm" else n_layers - 1
            prefix = "rho" if key == "rho_ohmm" else "h"
            if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
                raise InversionInputError(
                    f"fixed.{key} must be a list of {expected} numbers or nulls",
                    field=f"fixed.{key}",
                    index=index,
                )
            if len(value) != expected:
                raise InversionInputError(
                    f"fixed.{key} has {len(value)} entries, expected {expected}",
                    field=f"fixed.{key}",
                    index=index,
                )
            for i, item in enumerate(value):
                if item is not None:
                    out[f"{prefix}{i + 1}"] = (item, f"fixed.{key}[{i}]")
        elif key in names:
            if value is not None:
                out[key] = (value, f"fixed.{key}")
        else:
            raise InversionInputError(
                f"fixed has unknown parameter {key!r} (expected one of {names}, rho_ohmm, "
                "thickness_m)",
                field=f"fixed.{key}",
                index=index,
            )
    result: dict[str, float] = {}
    for name, (value, field) in out.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = float("nan")
        if isinstance(value, bool) or not math.isfinite(number) or number <= 0:
            raise InversionInputError(
                f"{field} must be a positive number, got {value!r}", field=field, index=index
            )
        result[name] = number
    return result


@dataclass
class _Geometry:
    """Soundings ``rows`` of one observed geometry with their forward model ``fwd`` on it, the
    phase mask (n_data,), and their stacked data and standard errors (len(rows), n_data)."""

    rows: list[int]
    fwd: Any
    is_phase: np.ndarray
    observed: np.ndarray
    sigma: np.ndarray

    @classmethod
    def of(cls, rows: list[int], parsed: list[Observation], fwd: Any) -> _Geometry:
        observed = np.stack([parsed[row].data for row in rows])
        sigma = np.stack([parsed[row].sigma for row in rows])
        return cls(rows, fwd, phase_mask(fwd.data_kinds), observed, sigma)


class Inverter:
    """Trained networks + forward model + transforms + training domain → trustworthy inversion.

    ``forward_model``: a ``forward_models.ForwardModel`` (its geometry is the network's);
    ``space``: ``forward_models.ModelSpace`` (bounds, also the refinement's bounds);
    ``noise``: ``forward_models.NoiseModel`` the training data carry (recorded, not applied here);
    ``network``: ``BPNetwork`` keywords (``n_members`` may also be given there);
    ``n_members``: ensemble size (default 5); ``calibration_fraction``: share of the training pairs
    held out to calibrate the intervals and thresholds; ``misfit_chi_limit``: χ above which a
    refined result is flagged out of domain; ``n_restart_draws``: draws from the calibrated
    predictive distribution offered (with the members' models) as restarts when the refinement
    from the network's model stays above χ 1.2; ``bound_test_alpha``: significance level of the
    likelihood-ratio test "do the data prefer a model beyond the training bounds?" run on refined
    models that touch a bound (``None`` switches it off); ``seed``: one seed for split and
    networks.
    """

    def __init__(
        self,
        forward_model: Any,
        space: Any,
        noise: Any = None,
        network: Mapping[str, Any] | None = None,
        n_members: int | None = None,
        calibration_fraction: float = 0.15,
        misfit_chi_limit: float = 1.5,
        n_restart_draws: int = 128,
        network_prior: bool = True,
        bound_test_alpha: float | None = 0.01,
        seed: int = 0,
    ) -> None:
        self.forward_model = forward_model
        self.space = space
        self.noise = noise
        self.network = dict(network or {})
        self.n_members = n_members
        self.calibration_fraction = calibration_fraction
        self.misfit_chi_limit = misfit_chi_limit
        self.n_restart_draws = n_restart_draws
        self.network_prior = network_prior
        self.bound_test_alpha = bound_test_alpha
        self.seed = seed

    # -- description ----------------------------------------------------------------------------
    @property
    def parameter_names(self) -> list[str]:
        """Model parameter names, ``["rho1", …, "h1", …]``."""
        return list(self.forward_model.parameter_names)

    @property
    def n_layers(self) -> int:
        """Number of layers (the last is a half-space)."""
        return int(self.forward_model.n_layers)

    def domain_bounds(self) -> dict[str, list[float]]:
        """``{parameter_name: [lower, upper]}`` of the training space (Ω·m / m)."""
        lower, upper = np.asarray(self.space.lower), np.asarray(self.space.upper)
        return {
            name: [float(lower[j]), float(upper[j])] for j, name in enumerate(self.parameter_names)
        }

    def _network_kwargs(self) -> tuple[int, dict[str, Any]]:
        kwargs = dict(self.network)
        from_network = kwargs.pop("n_members", None)
        if (
            from_network is not None
            and self.n_members is not None
            and int(from_network) != int(self.n_members)
        ):
            raise ValueError(
                f"n_members: {self.n_members} given, but network.n_members is {from_network}"
            )
        n_members = self.n_members if self.n_members is not None else from_network
        n_members = 5 if n_members is None else int(n_members)
        if n_members < 1:
            raise ValueError(f"n_members must be at least 1, got {n_members}")
        kwargs.setdefault("seed", self.seed)
        return n_members, kwargs

    # -- training -------------------------------------------------------------------------------
    def fit(
        self,
        models: np.ndarray,
        data: np.ndarray,
        callback: Callable[[dict], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> Inverter:
        """Train on raw physical pairs: ``models`` (n, n_params) Ω·m/m, ``data`` (n, n_data).

        Holds out ``calibration_fraction`` of the pairs, fits the transforms and the ensemble on
        the rest, then the training domain and the interval calibration. Returns ``self``.
        """
        fm = self.forward_model
        models = np.asarray(models, dtype=float)
        data = np.asarray(data, dtype=float)
        if models.ndim != 2 or models.shape[1] != fm.n_params:
            raise ValueError(f"models must have shape (n, {fm.n_params}), got {models.shape}")
        if data.ndim != 2 or data.shape != (models.shape[0], fm.n_data):
            raise ValueError(
                f"data must have shape ({models.shape[0]}, {fm.n_data}), got {data.shape}"
            )
        if not 0.02 <= float(self.calibration_fraction) <= 0.5:
            raise ValueError(
                f"calibration_fraction must lie in [0.02, 0.5], got {self.calibration_fraction}"
            )
        if not float(self.misfit_chi_limit) > 0:
            raise ValueError(f"misfit_chi_limit must be positive, got {self.misfit_chi_limit}")
        if self.bound_test_alpha is not None and not 0 < float(self.bound_test_alpha) < 0.5:
            raise ValueError(
                f"bound_test_alpha must lie in (0, 0.5) or be None, got {self.bound_test_alpha}"
            )
        n_members, kwargs = self._network_kwargs()
        n = models.shape[0]
        n_cal = max(int(round(self.calibration_fraction * n)), 20)
        if n - n_cal < 4 * fm.n_data:
            raise ValueError(f"models: {n} training pairs are too few for {fm.n_data} features")
        rng = np.random.default_rng(self.seed)
        order = rng.permutation(n)
        cal, train = order[:n_cal], order[n_cal:]

        self.data_transform_ = DataTransform(fm.data_kinds).fit(data[train])
        self.param_transform_ = ParameterTransform(fm.n_params).fit(models[train])
        x_all = np.asarray(self.data_transform_.transform(data), dtype=float)
        y_all = np.asarray(self.param_transform_.transform(models), dtype=float)
        logger.info("training %d-member ensemble on %d pairs", n_members, train.size)
        self.ensemble_ = BPEnsemble(n_members=n_members, **kwargs)
        self.ensemble_.fit(x_all[train], y_all[train], callback=callback, should_stop=should_stop)
        self.domain_ = TrainingDomain().fit(x_all[train])
        self._calibrate(x_all[cal], y_all[cal], data[cal])
        self._calibrate_refined(models[cal], data[cal])
        return self

    def _members(self, features: np.ndarray) -> np.ndarray:
        members = self.ensemble_.predict(features, return_members=True)
        return np.asarray(members, dtype=float).reshape(-1, features.shape[0], self.n_params_)

    @property
    def n_params_(self) -> int:
        """Model vector length, ``2 * n_layers - 1``."""
        return int(self.forward_model.n_params)

    def _calibrate(self, x_cal: np.ndarray, y_cal: np.ndarray, data_cal: np.ndarray) -> None:
        members = self._members(x_cal)
        mean, spread = members.mean(axis=0), members.std(axis=0)
        err = y_cal - mean
        tau2 = np.maximum(np.mean(err**2, axis=0) - np.mean(spread**2, axis=0), 0.0)
        sigma = np.sqrt(spread**2 + tau2)
        ratio = np.abs(err) / (_Z90 * np.maximum(sigma, 1e-12))
        scale = np.quantile(ratio, 0.8, axis=0)
        self.calibration_ = {"tau2": tau2.tolist(), "scale": scale.tolist(), "z": _Z90}
        # Misfit of the network's own models on in-domain data: the limit for unrefined results.
        fm = self.forward_model
        is_phase = phase_mask(fm.data_kinds)
        noise = self.noise.to_dict() if self.noise is not None else {}
        floor = validate_noise_floor(None)
        sigma_d = default_sigma(
            is_phase,
            float(noise.get("rho_a_rel") or floor["rho_a_rel"]),
            float(noise.get("phase_deg") or floor["phase_deg"]),
        )
        net_models = self._to_models(mean)
        pred = np.asarray(fm.forward(net_models, precision="double"), dtype=float)
        chi_net = chi_of(data_cal, pred, is_phase, sigma_d)
        self.network_chi_limit_ = float(np.percentile(chi_net[np.isfinite(chi_net)], 99.5))
        self.metrics_ = {
            "val_loss": float(np.mean(err**2)),
            "n_calibration": int(y_cal.shape[0]),
            "network_chi_median": float(np.median(chi_net)),
        }

    def _calibrate_refined(self, models_cal: np.ndarray, data_cal: np.ndarray) -> None:
        """Scale the linearised posterior std at the refined model so that, on (up to
        ``_N_REFINED_CAL``) calibration soundings inside the domain, 80 % of the true parameters lie
        within refined ∓ 1.2816·k_j·std_j (log10): the p10–p90 band reported after refinement."""
        k = min(_N_REFINED_CAL, models_cal.shape[0])
        fm = self.forward_model  # refined_scale is unset here: these results carry the network band
        results = self.invert([observation_from_data(fm, d) for d in data_cal[:k]], refine=True)
        refined = np.array([_model_vector(r["model"]) for r in results])
        std = np.array([_model_vector(r["uncertainty"]["linearised_std_log10"]) for r in results])
        keep = np.array([r["in_domain"] for r in results]) & np.all(np.isfinite(std), axis=1)
        err = np.abs(np.log10(refined) - np.log10(models_cal[:k]))
        ratio = err / (_Z90 * np.maximum(std, 1e-6))
        scale = np.quantile(ratio[keep], 0.8, axis=0) if keep.sum() >= 10 else np.ones(fm.n_params)
        self.calibration_["refined_scale"] = scale.tolist()

    def _refined_band(
        self, model: np.ndarray, std_log10: np.ndarray
    ) -> dict[str, np.ndarray] | None:
        """Calibrated p10/p50/p90 (n_params,) around the refined ``model`` from its linearised
        log10 std; None when the inverter carries no refined calibration (older files)."""
        scale = self.calibration_.get("refined_scale")
        if scale is None:
            return None
        half = _Z90 * np.asarray(scale, dtype=float) * std_log10
        log_model = np.log10(model)
        return {"p10": 10 ** (log_model - half), "p50": model, "p90": 10 ** (log_model + half)}

    def _to_models(self, y: np.ndarray) -> np.ndarray:
        """Standardised targets (n, n_params) → positive physical models (n, n_params)."""
        return np.asarray(self.param_transform_.inverse_transform(y), dtype=float)

    def _predictive(self, members: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Calibrated predictive mean and std (n, n_params), standardised target space."""
        mean, spread = members.mean(axis=0), members.std(axis=0)
        tau2 = np.asarray(self.calibration_["tau2"], dtype=float)
        scale = np.asarray(self.calibration_["scale"], dtype=float)
        return mean, scale * np.sqrt(spread**2 + tau2)

    def _restart_pool(self, members: np.ndarray, n_draws: int) -> np.ndarray:
        """Restart candidates (n_members + n_draws, n, n_params) in physical units: the members'
        models and draws from the calibrated predictive distribution. The same standard-normal
        draws (fixed seed) serve every sounding, so a sounding's restarts do not depend on the
        other soundings of the batch."""
        mean, std = self._predictive(members)
        rng = np.random.default_rng(self.seed)
        draws = mean + std * rng.standard_normal((n_draws, 1, mean.shape[1]))
        pool = np.concatenate([members, draws], axis=0)
        flat = self._to_models(pool.reshape(-1, self.n_params_))
        return flat.reshape(pool.shape)

    def _intervals(self, members: np.ndarray) -> dict[str, np.ndarray]:
        """Network mean and calibrated p10/p50/p90 models (n, n_params) from member predictions."""
        mean, std = self._predictive(members)
        half = _Z90 * std
        return {
            "p10": self._to_models(mean - half),
            "p50": self._to_models(mean),
            "p90": self._to_models(mean + half),
        }

    # -- inversion ------------------------------------------------------------------------------
    def _fixed_list(self, fixed: Any, n: int) -> list[dict[str, float]]:
        names, n_layers = self.parameter_names, self.n_layers
        if fixed is None:
            per = [{} for _ in range(n)]
        elif isinstance(fixed, Mapping):
            one = _parameter_fixes(fixed, names, n_layers, None)
            per = [one for _ in range(n)]
        elif isinstance(fixed, Sequence) and not isinstance(fixed, (str, bytes)):
            if len(fixed) != n:
                raise InversionInputError(
                    f"fixed has {len(fixed)} entries for {n} soundings", field="fixed"
                )
            per = [_parameter_fixes(f or {}, names, n_layers, i) for i, f in enumerate(fixed)]
        else:
            raise InversionInputError(
                "fixed must be a mapping or a list of mappings (one per sounding)", field="fixed"
            )
        bounds = self.domain_bounds()
        for i, one in enumerate(per):
            for name, value in one.items():
                lo, hi = bounds[name]
                if not lo <= value <= hi:
                    raise InversionInputError(
                        f"fixed {name} = {value:g} lies outside the network's bounds "
                        f"[{lo:g}, {hi:g}]",
                        field=f"fixed.{name}",
                        status=422,
                        index=i if n > 1 and not isinstance(fixed, Mapping) else None,
                    )
        return per

    def _forward_for(self, obs: Observation, cache: dict[tuple, Any]) -> Any:
        if obs.same_geometry:
            return self.forward_model
        key = obs.geometry_key()
        if key not in cache:
            geometry = {k: v for k, v in obs.geometry.items()}
            cache[key] = self.forward_model.with_geometry(**geometry)
        return cache[key]

    def invert(
        self,
        observations: Sequence[Mapping[str, Any]] | Mapping[str, Any],
        refine: bool = True,
        fixed: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
        noise_floor: Mapping[str, float] | None = None,
    ) -> list[dict[str, Any]]:
        """Invert a batch of observation dicts; returns one result dict per sounding.

        ``observations``: list of REST-layout dicts (a single dict is taken as a batch of one);
        ``refine``: run the bounded Gauss–Newton refinement from the network's model;
        ``fixed``: ``{"h1": 4.0}`` / ``{"thickness_m": [4.0, None]}`` for all soundings, or a list
        with one such mapping per sounding; ``noise_floor``: ``{"rho_a_rel": 0.03,
        "phase_deg": 1.0}`` minimum standard errors used for χ and the refinement.
        Raises :class:`InversionInputError` (``.field``, ``.status``) for invalid input.
        """
        t_start = time.perf_counter()
        if isinstance(observations, Mapping):
            observations = [observations]
        if isinstance(observations, (str, bytes)) or not isinstance(observations, Sequence):
            raise InversionInputError(
                "observations must be a list of observation objects", field="observations"
            )
        n = len(observations)
        if n == 0:
            return []
        floor = validate_noise_floor(noise_floor)
        fm = self.forward_model
        parsed = [
            parse_observation(o, fm, floor, index=i if n > 1 else None)
            for i, o in enumerate(observations)
        ]
        fixes = self._fixed_list(fixed, n)
        t_parsed = time.perf_counter()

        features = np.asarray(
            self.data_transform_.transform(np.stack([p.network_data for p in parsed])), dtype=float
        )
        members = self._members(features)
        intervals = self._intervals(members)
        domain = self.domain_.check(features)
        t_network = time.perf_counter()
        network_ms = 1e3 * (t_network - t_parsed) / n
        overhead_ms = 1e3 * (t_parsed - t_start) / n

        names = self.parameter_names
        lower = np.asarray(self.space.lower, dtype=float)
        upper = np.asarray(self.space.upper, dtype=float)
        starts_network = intervals["p50"].copy()
        fixed_vectors: list[list[float | None]] = []
        for i, one in enumerate(fixes):
            vector: list[float | None] = [one.get(name) for name in names]
            fixed_vectors.append(vector)
            for j, value in enumerate(vector):
                if value is not None:
                    starts_network[i, j] = value
                    for key in ("p10", "p50", "p90"):
                        intervals[key][i, j] = value

        prior = None
        if refine and self.network_prior:
            log_p10, log_p90 = np.log10(intervals["p10"]), np.log10(intervals["p90"])
            prior_std = np.maximum((log_p90 - log_p10) / (2.0 * _Z90), 1e-3)
            prior = (np.log10(starts_network), prior_std)

        # Forward check of the network's models, one call per observed geometry (and, without
        # refinement, their linearised covariances in one more call per geometry).
        cache: dict[tuple, Any] = {}
        groups: dict[tuple, list[int]] = {}
        for i, p in enumerate(parsed):
            groups.setdefault(("same",) if p.same_geometry else p.geometry_key(), []).append(i)
        network_pred: list[np.ndarray | None] = [None] * n
        network_cov: list[np.ndarray | None] = [None] * n
        network_chi, network_rms = np.zeros(n), np.zeros(n)
        geometries = [
            _Geometry.of(rows, parsed, self._forward_for(parsed[rows[0]], cache))
            for rows in groups.values()
        ]
        for group in geometries:
            rows, fwd = group.rows, group.fwd
            pred = np.asarray(fwd.forward(starts_network[rows], precision="double"), dtype=float)
            network_chi[rows] = chi_of(group.observed, pred, group.is_phase, group.sigma)
            network_rms[rows] = rms_percent(group.observed, pred, group.is_phase)
            for r, row in enumerate(rows):
                network_pred[row] = pred[r]
            if not refine:
                covs = linearised_covariance(
                    lambda models, _fwd=fwd: _fwd.forward(models, precision="double"),
                    starts_network[rows],
                    group.observed,
                    group.sigma,
                    group.is_phase,
                    lower,
                    upper,
                    [fixed_vectors[row] for row in rows],
                )
                for r, row in enumerate(rows):
                    network_cov[row] = covs[r]
        t_check = time.perf_counter()
        check_ms = 1e3 * (t_check - t_network) / n

        refined: dict[int, tuple[np.ndarray, np.ndarray, float, np.ndarray]] = {}
        bound_reasons: dict[int, list[str]] = {}
        refine_ms = np.zeros(n)
        final_rms = network_rms.copy()
        if refine:
            fixed_mask = np.array([[v is not None for v in row] for row in fixed_vectors])
            for group in geometries:
                rows = group.rows
                t0 = time.perf_counter()
                outcome, reasons = self._refine_group(
                    group, starts_network, fixed_mask, prior, members, domain.in_domain
                )
                bound_reasons.update(reasons)
                final_rms[rows] = rms_percent(group.observed, outcome.predicted, group.is_phase)
                refine_ms[rows] = 1e3 * (time.perf_counter() - t0) / len(rows)
                for r, row in enumerate(rows):
                    refined[row] = (
                        outcome.models[r],
                        outcome.predicted[r],
                        float(outcome.chi[r]),
                        outcome.log10_cov[r],
                    )

        results = []
        for i, p in enumerate(parsed):
            t0 = time.perf_counter()
            fwd = self._forward_for(p, cache)
            is_phase = phase_mask(fwd.data_kinds)

            net_chi = float(network_chi[i])
            if refine:
                model, predicted, final_chi, cov = refined[i]
            else:
                model, predicted, final_chi = starts_network[i], network_pred[i], net_chi
                cov = network_cov[i]
            result = self._result(
                p,
                model=model,
                network_model=starts_network[i],
                predicted=predicted,
                final_chi=final_chi,
                network_chi=net_chi,
                rms=(float(final_rms[i]), float(network_rms[i])),
                cov=cov,
                intervals={k: v[i] for k, v in intervals.items()},
                in_envelope_and_pca=bool(domain.in_domain[i]),
                domain_reasons=domain.reasons(i, list(fm.data_names)) + bound_reasons.get(i, []),
                mahalanobis=float(domain.mahalanobis[i]),
                refined=refine,
                fixed=fixes[i],
                is_phase=is_phase,
            )
            result["timing_ms"] = {"network": network_ms, "refine": float(refine_ms[i])}
            result["elapsed_ms"] = (
                overhead_ms
                + network_ms
                + check_ms
                + float(refine_ms[i])
                + 1e3 * (time.perf_counter() - t0)
            )
            results.append(result)
        return results

    def _refine_group(
        self,
        group: _Geometry,
        starts: np.ndarray,
        fixed_mask: np.ndarray,
        prior: tuple[np.ndarray, np.ndarray] | None,
        members: np.ndarray,
        in_domain: np.ndarray,
    ) -> tuple[BatchRefineResult, dict[int, list[str]]]:
        """Refine the soundings of ``group`` (one observed geometry) as one batch. As soon as a
        sounding stops, extra rows join the same iteration: restarts for in-domain soundings
        still above χ 1.2 (the best-fitting models of the restart pool built from the ensemble
        ``members`` predictions (m, n, p)), and the bound test's two fits
        (:func:`inversion.domain.bound_test_setup`) for soundings whose model touches a bound and
        either fits (χ within the misfit limit) or lies outside the feature domain.
        Returns the soundings' refined rows and the bound test's reasons keyed by sounding."""
        fwd, rows, is_phase = group.fwd, group.rows, group.is_phase
        observed, sigma = group.observed, group.sigma

        def forward(models: np.ndarray) -> np.ndarray:
            """Models (k, p) → data (k, n_data) on this group's geometry, float64."""
            return np.asarray(fwd.forward(models, precision="double"), dtype=float)

        idx = np.asarray(rows)
        lower = np.asarray(self.space.lower, dtype=float)
        upper = np.asarray(self.space.upper, dtype=float)
        p = lower.size
        tests: list[BoundTest] = []

        def spawn(done: np.ndarray, now: BatchRefineResult) -> ExtraRows | None:
            """Restarts and bound-test fits for the soundings ``done`` (k,) that just stopped."""
            parts = []
            settings = {"max_iterations": _EXTRA_ITERATIONS}
            # Restarts only where the data look like training data: elsewhere no in-bounds
            # model is expected to fit, and the domain flag says so already.
            failing = done[(now.chi > _RESTART_CHI) & in_domain[idx[done]]]
            if failing.size:
                pool = self._restart_pool(members[:, idx[failing], :], self.n_restart_draws)
                pool = np.where(fixed_mask[idx[failing]], starts[idx[failing]], pool)
                n_pool, k = pool.shape[:2]  # (n_members + n_draws, k, p)
                pred = forward(pool.reshape(-1, p)).reshape(n_pool, k, -1)
                chis = chi_of(observed[failing][None], pred, is_phase, sigma[failing][None])
                best = np.argsort(np.where(np.isfinite(chis), chis, np.inf), axis=0)
                n_starts = min(_MAX_RESTARTS, n_pool)
                chosen = pool[best[:n_starts], np.arange(k)[None, :], :].reshape(-1, p)
                parts.append(
                    ExtraRows.build(
                        np.tile(failing, n_starts),
                        chosen,
                        lower,
                        upper,
                        use_prior=True,
                        target_chi=1.0,
                        tag=_RESTART,
                        **settings,
                    )
                )
            # The bound test where the model is final: a fit within the misfit limit, or data
            # outside the feature domain (no restarts; the reason says which way they point).
            tested = (now.chi <= self.misfit_chi_limit) | ~in_domain[idx[done]]
            if self.bound_test_alpha is not None and tested.any():
                test = bound_test_setup(
                    now.models,
                    lower,
                    upper,
                    ~fixed_mask[idx[done]] & tested[:, None],
                    now.jacobian,
                    now.residuals,
                    float(self.bound_test_alpha),
                )
                if test.rows.size:
                    at = now.models[test.rows]
                    test.rows = done[test.rows]
                    tests.append(test)
                    # Both fits without the prior, to convergence: within the bounds and beyond.
                    for tag, low, high in (
                        (_INSIDE, lower, upper),
                        (_RELAXED, test.lower, test.upper),
                    ):
                        parts.append(
                            ExtraRows.build(
                                test.rows,
                                at,
                                low,
                                high,
                                use_prior=False,
                                target_chi=0.0,
                                tag=tag,
                                **settings,
                            )
                        )
            return ExtraRows.concat(parts)

        out = refine_batch(
            forward,
            starts[idx],
            observed,
            sigma,
            is_phase,
            lower,
            upper,
            fixed_mask[idx],
            prior=None if prior is None else (prior[0][idx], prior[1][idx]),
            max_iterations=20,
            jacobian=getattr(fwd, "forward_and_jacobian", None),  # exact derivatives (MT)
            spawn=spawn,
        )
        result = out.take(np.arange(idx.size))
        restart = np.flatnonzero(out.tag == _RESTART)
        if restart.size:  # the best restart of each sounding replaces it when it fits better
            order = restart[np.argsort(out.chi[restart], kind="stable")]
            owners, first = np.unique(out.owner[order], return_index=True)
            best = order[first]
            better = out.chi[best] < result.chi[owners]
            for name in ("models", "predicted", "chi", "log10_cov", "residuals", "jacobian"):
                getattr(result, name)[owners[better]] = getattr(out, name)[best[better]]
        if not tests:
            return result, {}
        test = BoundTest(
            rows=np.concatenate([t.rows for t in tests]),
            lower=np.vstack([t.lower for t in tests]),
            upper=np.vstack([t.upper for t in tests]),
            n_relaxed=np.concatenate([t.n_relaxed for t in tests]),
        )
        inside = np.flatnonzero(out.tag == _INSIDE)
        relaxed = np.flatnonzero(out.tag == _RELAXED)
        # Any in-bounds fit bounds the best one's χ from above: the refined result counts too.
        reasons = bound_test_reasons(
            test,
            np.minimum(out.chi[inside], result.chi[test.rows]),
            out.chi[relaxed],
            out.models[relaxed],
            observed.shape[1],
            self.parameter_names,
            lower,
            upper,
            float(self.bound_test_alpha),
        )
        return result, {int(idx[r]): why for r, why in zip(test.rows, reasons, strict=True) if why}

    def _model_dict(self, model: np.ndarray) -> dict[str, list[float]]:
        """``{"rho_ohmm", "thickness_m", "depth_m"}`` lists from one model vector (n_params,)."""
        values = np.asarray(model, dtype=float).tolist()
        thickness = values[self.n_layers :]
        return {
            "rho_ohmm": values[: self.n_layers],
            "thickness_m": thickness,
            "depth_m": list(itertools.accumulate(thickness)),
        }

    def _result(
        self,
        obs: Observation,
        *,
        model: np.ndarray,
        network_model: np.ndarray,
        predicted: np.ndarray,
        final_chi: float,
        network_chi: float,
        rms: tuple[float, float],
        cov: np.ndarray,
        intervals: dict[str, np.ndarray],
        in_envelope_and_pca: bool,
        domain_reasons: list[str],
        mahalanobis: float,
        refined: bool,
        fixed: dict[str, float],
        is_phase: np.ndarray,
    ) -> dict[str, Any]:
        fm = self.forward_model
        n_layers = self.n_layers
        k = obs.axis_values.size
        reasons = list(domain_reasons)
        limit = self.misfit_chi_limit if refined else self.network_chi_limit_
        if not final_chi <= limit:
            reasons.append(
                f"misfit far above the noise level: chi {final_chi:.2f} > {limit:.2f}"
                + ("" if refined else " (the limit for the network's unrefined models)")
            )
        in_domain = in_envelope_and_pca and not reasons
        std = np.sqrt(np.maximum(np.diagonal(cov), 0.0))
        predicted_dict: dict[str, Any] = {
            fm.axis_name: obs.axis_values.tolist(),
            "rho_a_ohmm": predicted[:k].tolist(),
        }
        if is_phase.any():
            predicted_dict["phase_deg"] = predicted[k:].tolist()
        band = None
        if refined and np.isfinite(std).all():
            band = self._refined_band(np.asarray(model, dtype=float), std)
        uncertainty: dict[str, Any] = {"source": "network" if band is None else "refined"}
        network_uncertainty: dict[str, Any] = {}
        chosen = intervals if band is None else band
        for key, sl in (("rho_ohmm", slice(0, n_layers)), ("thickness_m", slice(n_layers, None))):
            network_uncertainty[key] = {q: v[sl].tolist() for q, v in intervals.items()}
            uncertainty[key] = {q: v[sl].tolist() for q, v in chosen.items()}
        uncertainty["linearised_std_log10"] = {
            "rho_ohmm": std[:n_layers].tolist(),
            "thickness_m": std[n_layers:].tolist(),
        }
        uncertainty["combinations"] = resolved_combinations(model, cov, n_layers)
        return {
            "model": self._model_dict(model),
            "network_model": self._model_dict(network_model),
            "uncertainty": uncertainty,
            "network_uncertainty": network_uncertainty,
            "predicted": predicted_dict,
            "misfit": {"rms_percent": _finite(rms[0]), "chi": _finite(final_chi)},
            "network_misfit": {"rms_percent": _finite(rms[1]), "chi": _finite(network_chi)},
            "in_domain": bool(in_domain),
            "domain": {
                "mahalanobis": _finite(mahalanobis),
                "threshold": float(self.domain_.threshold_),
                "reasons": reasons,
            },
            "warnings": list(obs.warnings) + reasons,
            "refined": bool(refined),
            "fixed": dict(fixed),
        }

    # -- evaluation -----------------------------------------------------------------------------
    def evaluate(
        self,
        models: np.ndarray,
        data: np.ndarray,
        n_refine: int = 50,
        noise_floor: Mapping[str, float] | None = None,
        n_points: int = 200,
    ) -> dict[str, Any]:
        """Held-out metrics on raw pairs ``models`` (n, n_params), noisy ``data`` (n, n_data).

        Returns ``val_loss`` (mean squared error of the ensemble mean in standardised target
        space), per parameter the median |log10 error| of the network's model and the p10–p90
        coverage, the out-of-domain rate of the network's domain tests, and, on the first
        ``n_refine`` soundings, the refined success rate (χ ≤ 1.2), median χ, median |log10
        error| and median time per sounding. ``heldout`` holds up to ``n_points`` (true, network
        p50) pairs per parameter in physical units for predicted-versus-true plots, and
        ``history`` the per-member training curves (:meth:`training_history`).
        """
        fm = self.forward_model
        models = np.asarray(models, dtype=float)
        data = np.asarray(data, dtype=float)
        if models.ndim != 2 or models.shape[1] != fm.n_params:
            raise ValueError(f"models must have shape (n, {fm.n_params}), got {models.shape}")
        if data.shape != (models.shape[0], fm.n_data):
            raise ValueError(f"data must have shape ({models.shape[0]}, {fm.n_data})")
        names = self.parameter_names
        x = np.asarray(self.data_transform_.transform(data), dtype=float)
        y = np.asarray(self.param_transform_.transform(models), dtype=float)
        members = self._members(x)
        intervals = self._intervals(members)
        err = np.abs(np.log10(intervals["p50"]) - np.log10(models))
        covered = (models >= intervals["p10"]) & (models <= intervals["p90"])
        domain = self.domain_.check(x)
        out: dict[str, Any] = {
            "n": int(models.shape[0]),
            "val_loss": float(np.mean((members.mean(axis=0) - y) ** 2)),
            "parameters": names,
            "median_abs_log10_error": _per_param(names, np.median(err, axis=0)),
            "coverage_p10_p90": _per_param(names, covered.mean(axis=0)),
            "out_of_domain_rate": float(1.0 - domain.in_domain.mean()),
            "heldout": _heldout_sample(names, models, intervals["p50"], n_points),
            "history": self.training_history(),
        }
        n_ref = min(int(n_refine), models.shape[0])
        if n_ref > 0:
            observations = [observation_from_data(fm, data[i]) for i in range(n_ref)]
            results = self.invert(observations, refine=True, noise_floor=noise_floor)
            chis = np.array([_or_inf(r["misfit"]["chi"]) for r in results])
            refined = np.array([_model_vector(r["model"]) for r in results])
            ref_err = np.abs(np.log10(refined) - np.log10(models[:n_ref]))
            p10 = np.array([_model_vector(r["uncertainty"], "p10") for r in results])
            p90 = np.array([_model_vector(r["uncertainty"], "p90") for r in results])
            ref_covered = (models[:n_ref] >= p10) & (models[:n_ref] <= p90)
            out["refined"] = {
                "n": n_ref,
                "success_rate": float(np.mean(chis <= 1.2)),
                "median_chi": float(np.median(chis)),
                "median_abs_log10_error": _per_param(names, np.median(ref_err, axis=0)),
                "coverage_p10_p90": _per_param(names, ref_covered.mean(axis=0)),
                "median_ms": float(np.median([r["elapsed_ms"] for r in results])),
                "out_of_domain_rate": float(np.mean([not r["in_domain"] for r in results])),
            }
        return out

    def training_history(self) -> list[list[dict[str, float]]]:
        """Per ensemble member, the per-epoch ``{epoch, train_loss, val_loss}`` of its fit."""
        keys = ("epoch", "train_loss", "val_loss")
        return [
            [{k: epoch[k] for k in keys if k in epoch} for epoch in member]
            for member in self.ensemble_.history_
        ]

    # -- persistence ----------------------------------------------------------------------------
    def to_metadata(self) -> dict[str, Any]:
        """JSON-safe record of everything but the network weights."""
        n_members, kwargs = self._network_kwargs()
        return {
            "kind": _FORMAT,
            "version": _FORMAT_VERSION,
            "forward_model": self.forward_model.to_dict(),
            "space": self.space.to_dict(),
            "noise": self.noise.to_dict() if self.noise is not None else None,
            "network": kwargs,
            "n_members": n_members,
            "calibration_fraction": self.calibration_fraction,
            "misfit_chi_limit": self.misfit_chi_limit,
            "n_restart_draws": self.n_restart_draws,
            "network_prior": self.network_prior,
            "bound_test_alpha": self.bound_test_alpha,
            "seed": self.seed,
            "data_transform": self.data_transform_.to_dict(),
            "param_transform": self.param_transform_.to_dict(),
            "domain": self.domain_.to_dict(),
            "calibration": self.calibration_,
            "network_chi_limit": self.network_chi_limit_,
            "metrics": self.metrics_,
        }

    def save(self, path: str, metadata: Mapping[str, Any] | None = None) -> None:
        """Write one checksummed ``.npz`` (no pickle) via :func:`bpnet.io.save`.

        The ensemble weights are the arrays; this inverter's record (:meth:`to_metadata`) and the
        caller's ``metadata`` (stored under ``"user"``) are the JSON metadata.
        """
        doc = self.to_metadata()
        doc["user"] = dict(metadata or {})
        bpnet_io.save(self.ensemble_, path, metadata=doc)

    @classmethod
    def load(cls, path: str) -> Inverter:
        """Read an inverter written by :meth:`save` (checksums verified by :mod:`bpnet.io`)."""
        ensemble = bpnet_io.load(path)
        doc = getattr(ensemble, "metadata_", {}) or {}
        if doc.get("kind") != _FORMAT:
            raise IntegrityError(f"{path}: not a saved Inverter (kind {doc.get('kind')!r})")
        inv = cls(
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


def _heldout_sample(
    names: list[str], models: np.ndarray, predicted: np.ndarray, n_points: int
) -> dict[str, dict[str, list[float]]]:
    """The first ``n_points`` rows of true and predicted models (n, n_params) per parameter."""
    k = min(int(n_points), models.shape[0])
    return {
        name: {"true": models[:k, j].tolist(), "predicted": predicted[:k, j].tolist()}
        for j, name in enumerate(names)
    }


def _model_vector(part: Mapping[str, Any], quantile: str | None = None) -> list[float]:
    """``[rho…, h…]`` from a result part keyed ``rho_ohmm``/``thickness_m`` (or its quantile)."""
    rho, thk = part["rho_ohmm"], part["thickness_m"]
    if quantile is not None:
        rho, thk = rho[quantile], thk[quantile]
    return list(rho) + list(thk)
