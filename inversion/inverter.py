"""Inverter: an ensemble of BP networks + forward-model spec + transforms + training domain.

``Inverter.invert`` turns observation dicts into DESIGN.md's inversion results: the network's
model (one batched prediction), an optional refinement against the physics with restarts and the
bound test (:mod:`inversion.restarts`, :mod:`inversion.lm_batch`), the forward check
(:mod:`inversion.geometries`, :mod:`inversion.misfit`), calibrated p10/p50/p90 intervals
(:mod:`inversion.calibration`), the linearised posterior standard deviation and resolved
combinations, and the out-of-domain flag (:mod:`inversion.domain`); :mod:`inversion.results`
builds the result dicts, :mod:`inversion.evaluation` the held-out metrics and
:mod:`inversion.persistence` the saved file.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from bpnet import BPEnsemble

from . import persistence, settings
from .assemble import (
    InversionBatch,
    NetworkAnswer,
    assemble_results,
    network_answer,
    network_prior,
)
from .calibration import (
    N_REFINED_CAL,
    Predictive,
    calibrate_intervals,
    network_chi,
    refined_scale,
)
from .domain import TrainingDomain
from .evaluation import network_metrics, refined_metrics, training_history
from .fixed import fixed_list
from .geometries import Geometry, forward_check, group_by_geometry
from .input_checks import as_batch
from .observations import (
    InversionInputError,
    Observation,
    observation_from_data,
    parse_observation,
    validate_noise_floor,
)
from .physics_loss import data_misfit_loss
from .restarts import Refined, RefinePolicy, RefineStarts, refine_all
from .results import ResultContext
from .transforms import DataTransform, ParameterTransform

__all__ = ["Inverter", "InversionInputError", "observation_from_data"]

logger = logging.getLogger(__name__)


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
    models that touch a bound (``None`` switches it off); ``data_misfit_weight``: weight of the
    data misfit of the networks' own answers in their training loss
    (:class:`inversion.physics_loss.DataMisfitLoss`; 0 trains on the parameter loss alone);
    ``seed``: one seed for split and networks.
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
        data_misfit_weight: float = 0.0,
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
        self.data_misfit_weight = data_misfit_weight
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

    @property
    def n_params_(self) -> int:
        """Model vector length, ``2 * n_layers - 1``."""
        return int(self.forward_model.n_params)

    def domain_bounds(self) -> dict[str, list[float]]:
        """``{parameter_name: [lower, upper]}`` of the training space (Ω·m / m)."""
        lower, upper = np.asarray(self.space.lower), np.asarray(self.space.upper)
        return {
            name: [float(lower[j]), float(upper[j])] for j, name in enumerate(self.parameter_names)
        }

    def _network_kwargs(self) -> tuple[int, dict[str, Any]]:
        """``(n_members, BPNetwork keywords)`` from ``n_members`` and ``network``."""
        return settings.network_keywords(self.network, self.n_members, self.seed)

    def _bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """The training space's lower and upper bounds (n_params,), Ω·m / m."""
        return (
            np.asarray(self.space.lower, dtype=float),
            np.asarray(self.space.upper, dtype=float),
        )

    def _predictive(self) -> Predictive:
        """The calibrated predictive distribution of the fitted ensemble."""
        return Predictive(self.calibration_, self.param_transform_)

    def _members(self, features: np.ndarray) -> np.ndarray:
        """Member predictions (n_members, n, n_params) for ``features`` (n, n_features)."""
        members = self.ensemble_.predict(features, return_members=True)
        return np.asarray(members, dtype=float).reshape(-1, features.shape[0], self.n_params_)

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
        the rest, then the training domain and the interval calibration. Returns ``self``. When
        ``should_stop()`` cancels the training, the calibration is skipped: a cancelled inverter
        is not for use.
        """
        fm = self.forward_model
        models = np.asarray(models, dtype=float)
        data = np.asarray(data, dtype=float)
        settings.check_pairs(self.forward_model, models, data)
        settings.check_settings(self)
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
        self.ensemble_.fit(
            x_all[train],
            y_all[train],
            callback=callback,
            should_stop=should_stop,
            output_loss=data_misfit_loss(self),
        )
        self.domain_ = TrainingDomain().fit(x_all[train])
        if getattr(self.ensemble_, "stop_reason_", None) == "cancelled":
            logger.info("training cancelled: intervals left uncalibrated")
            return self
        self._calibrate(x_all[cal], y_all[cal], data[cal])
        self._calibrate_refined(models[cal], data[cal])
        return self

    def _calibrate(self, x_cal: np.ndarray, y_cal: np.ndarray, data_cal: np.ndarray) -> None:
        """Interval calibration, and the misfit of the network's own models on in-domain data:
        the χ limit for unrefined results."""
        members = self._members(x_cal)
        self.calibration_, err = calibrate_intervals(members, y_cal)
        net_models = self._predictive().to_models(members.mean(axis=0))
        chi_net = network_chi(self.forward_model, self.noise, net_models, data_cal)
        self.network_chi_limit_ = float(np.percentile(chi_net[np.isfinite(chi_net)], 99.5))
        self.metrics_ = {
            "val_loss": float(np.mean(err**2)),
            "n_calibration": int(y_cal.shape[0]),
            "network_chi_median": float(np.median(chi_net)),
        }

    def _calibrate_refined(self, models_cal: np.ndarray, data_cal: np.ndarray) -> None:
        """Scale of the band after refinement, from up to ``N_REFINED_CAL`` calibration
        soundings (:func:`inversion.calibration.refined_scale`)."""
        k = min(N_REFINED_CAL, models_cal.shape[0])
        fm = self.forward_model  # refined_scale is unset here: these results carry the network band
        observations = [observation_from_data(fm, d) for d in data_cal[:k]]
        results = self.invert(observations, refine=True, synthetic=True)
        self.calibration_["refined_scale"] = refined_scale(results, models_cal[:k], fm.n_params)

    # -- inversion ------------------------------------------------------------------------------
    def invert(
        self,
        observations: Sequence[Mapping[str, Any]] | Mapping[str, Any],
        refine: bool = True,
        fixed: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
        noise_floor: Mapping[str, float] | None = None,
        synthetic: bool = False,
        smooth: bool = False,
    ) -> list[dict[str, Any]]:
        """Invert a batch of observation dicts; returns one result dict per sounding.

        ``observations``: list of REST-layout dicts (a single dict is taken as a batch of one);
        ``refine``: run the bounded Gauss–Newton refinement from the network's model;
        ``fixed``: ``{"h1": 4.0}`` / ``{"thickness_m": [4.0, None]}`` for all soundings, or a list
        with one such mapping per sounding; ``noise_floor``: ``{"rho_a_rel": 0.03,
        "phase_deg": 1.0}`` minimum standard errors used for χ and the refinement;
        ``synthetic``: the data are noisy forward responses (calibration, evaluation), not field
        data, so phases past [0°, 90°] by noise are no error; ``smooth``: with ``refine``, add
        the smooth (Occam) model and both depths of investigation as the served path does
        (``smooth``, ``doi_m``; :func:`inversion.served.smooth_result.add_smooth`, 8–20 ms per
        VES or MT sounding).
        Raises :class:`InversionInputError` (``.field``, ``.status``) for invalid input.
        """
        t_start = time.perf_counter()
        observations = as_batch(observations)
        n = len(observations)
        if n == 0:
            return []
        floor = validate_noise_floor(noise_floor)
        parsed = [
            parse_observation(
                o, self.forward_model, floor, index=i if n > 1 else None, synthetic=synthetic
            )
            for i, o in enumerate(observations)
        ]
        fixes = fixed_list(fixed, n, self.parameter_names, self.n_layers, self.domain_bounds())
        t_parsed = time.perf_counter()
        answer = self._network_answer(parsed, fixes)
        t_network = time.perf_counter()
        # Forward check of the network's models, one call per observed geometry (and, without
        # refinement, their linearised covariances in one more call per geometry).
        geometries = group_by_geometry(parsed, self.forward_model)
        check = forward_check(
            geometries, answer.models, answer.fixed, self._bounds(), covariance=not refine
        )
        t_check = time.perf_counter()
        refined = self._refine(geometries, answer) if refine else None
        batch = InversionBatch(parsed, fixes, geometries, answer, check, refined)
        ms = [1e3 * (t1 - t0) / n for t0, t1 in ((t_start, t_parsed), (t_parsed, t_network))]
        ms.append(1e3 * (t_check - t_network) / n)
        results = assemble_results(
            batch, self._result_context(), list(self.forward_model.data_names), ms
        )
        if smooth and refine:
            from .served.smooth_result import add_smooth

            for result, observation in zip(results, parsed, strict=True):
                t0 = time.perf_counter()
                add_smooth(result, self.forward_model.name, observation, self.n_layers)
                result["elapsed_ms"] += 1e3 * (time.perf_counter() - t0)
        return results

    def _network_answer(
        self, parsed: list[Observation], fixes: list[dict[str, float]]
    ) -> NetworkAnswer:
        """One batched prediction of the ensemble for the soundings ``parsed``, with ``fixes``
        (one ``{name: value}`` per sounding) in place of the network's values."""
        features = np.asarray(
            self.data_transform_.transform(np.stack([p.network_data for p in parsed])), dtype=float
        )
        members = self._members(features)
        intervals = self._predictive().intervals(members)
        domain = self.domain_.check(features)
        return network_answer(members, intervals, domain, fixes, self.parameter_names)

    def _refine(self, geometries: list[Geometry], answer: NetworkAnswer) -> Refined:
        """Refine every sounding, one batch per observed geometry, from the network's models
        (with the network's calibrated prediction as the prior when ``network_prior``)."""
        starts = RefineStarts(
            models=answer.models,
            fixed=np.array([[v is not None for v in row] for row in answer.fixed]),
            prior=network_prior(answer) if self.network_prior else None,
            members=answer.members,
            in_domain=answer.domain.in_domain,
        )
        lower, upper = self._bounds()
        policy = RefinePolicy(
            lower=lower,
            upper=upper,
            names=self.parameter_names,
            misfit_chi_limit=self.misfit_chi_limit,
            bound_test_alpha=self.bound_test_alpha,
            n_restart_draws=self.n_restart_draws,
            seed=self.seed,
            predictive=self._predictive(),
        )
        return refine_all(geometries, starts, policy)

    def _result_context(self) -> ResultContext:
        """What every result of this inverter needs (limits, threshold, band)."""
        return ResultContext(
            axis_name=self.forward_model.axis_name,
            n_layers=self.n_layers,
            misfit_chi_limit=self.misfit_chi_limit,
            network_chi_limit=self.network_chi_limit_,
            domain_threshold=self.domain_.threshold_,
            band=self._predictive().refined_band,
            lower=self._bounds()[0],
            upper=self._bounds()[1],
        )

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
        x = np.asarray(self.data_transform_.transform(data), dtype=float)
        y = np.asarray(self.param_transform_.transform(models), dtype=float)
        members = self._members(x)
        intervals = self._predictive().intervals(members)
        in_domain = self.domain_.check(x).in_domain
        names = self.parameter_names
        out = network_metrics(names, models, y, members, intervals, in_domain, n_points)
        out["history"] = self.training_history()
        n_ref = min(int(n_refine), models.shape[0])
        if n_ref > 0:
            observations = [observation_from_data(fm, data[i]) for i in range(n_ref)]
            results = self.invert(
                observations, refine=True, noise_floor=noise_floor, synthetic=True
            )
            out["refined"] = refined_metrics(names, models[:n_ref], results)
        return out

    def training_history(self) -> list[list[dict[str, float]]]:
        """Per ensemble member, the per-epoch ``{epoch, train_loss, val_loss}`` of its fit."""
        return training_history(self.ensemble_.history_)

    # -- persistence ----------------------------------------------------------------------------
    def to_metadata(self) -> dict[str, Any]:
        """JSON-safe record of everything but the network weights."""
        n_members, kwargs = self._network_kwargs()
        return persistence.metadata(self, n_members, kwargs)

    def save(self, path: str, metadata: Mapping[str, Any] | None = None) -> None:
        """Write one checksummed ``.npz`` (no pickle) via :func:`bpnet.io.save`.

        The ensemble weights are the arrays; this inverter's record (:meth:`to_metadata`) and the
        caller's ``metadata`` (stored under ``"user"``) are the JSON metadata.
        """
        persistence.save(self.ensemble_, self.to_metadata(), path, metadata)

    @classmethod
    def load(cls, path: str) -> Inverter:
        """Read an inverter written by :meth:`save` (checksums verified by :mod:`bpnet.io`)."""
        return persistence.load(cls, path)
