"""ServedSet: the served networks of every method; any served sounding in, a chosen model out.

For each sounding (:func:`inversion.served.parse.parse_served`) and each layer count from 1 to
``max_layers``, the robust search (:mod:`inversion.served.search`) refines the network's answer
and many other starts to the minimum χ on the observed geometry; the layer count is then chosen
by BIC with the simpler-model rule (:func:`inversion.layers.choose_simplest`), and the result
(:mod:`inversion.served.results`) carries the chosen model, its runner-up and every candidate.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

import forward_models

from ..input_checks import InversionInputError, as_batch, validate_noise_floor
from ..layers import choose_simplest
from ..misfit import chi as chi_of
from ..observations import phase_mask
from ..segments import shifted
from ..window import window_observation
from .frame import METHODS, MethodSpec, features_batch, frame_batch, resample, to_physical
from .network import ServedNetwork, prior_draws
from .parse import ServedSounding, parse_served
from .results import Candidate, result_dict, segment_report
from .search import (
    DROP_STARTS,
    SearchSettings,
    bounds_for,
    drop_interfaces,
    merge_layers,
    refine_starts,
    split_layers,
)
from .tem_ip import IP_TRIGGER_CHI, fit_polarisable

__all__ = ["MAX_LAYERS", "SHIFT_MODES", "ServedSet", "noisy_copies"]

MAX_LAYERS = 6
COPY_SEED = 20261207  # the noise draws of the network answer's noisy copies (noisy_copies)
#: ``segment_shifts`` modes: fit segment factors when BIC prefers it, always, never
SHIFT_MODES = ("auto", "always", "never")


@dataclass
class LayerFits:
    """Every layer count's best fit on one sounding (``candidates``, their ``scored`` dicts)
    and the ``chosen`` index; ``n_data`` the sounding's data count."""

    candidates: list[Candidate]
    scored: list[dict[str, Any]]
    chosen: int
    n_data: int

    @property
    def chosen_candidate(self) -> Candidate:
        """The chosen layer count's candidate."""
        return self.candidates[self.chosen]

    def bic(self, n_extra_params: int = 0) -> float:
        """The chosen fit's BIC with ``n_extra_params`` more free parameters (segment factors)."""
        return self.scored[self.chosen]["bic"] + n_extra_params * float(np.log(self.n_data))


class ServedSet:
    """Served networks keyed by ``(method, n_layers)``, with their registry ``info``
    (``{"id", "name", "version"}``, optional). Layer count 1 (a half-space) needs no network;
    a layer count without one is still searched, from the prior draws and the split models."""

    def __init__(
        self,
        networks: Iterable[ServedNetwork] = (),
        max_layers: int = MAX_LAYERS,
        search: SearchSettings | None = None,
    ) -> None:
        self.networks: dict[tuple[str, int], ServedNetwork] = {}
        self.info: dict[tuple[str, int], dict[str, Any]] = {}
        self.max_layers = int(max_layers)
        self.search = search or SearchSettings()
        for net in networks:
            self.add(net)

    def add(self, net: ServedNetwork, info: Mapping[str, Any] | None = None) -> None:
        """Serve ``net`` (replacing one of the same method and layer count)."""
        key = (net.method, net.n_layers)
        self.networks[key] = net
        self.info[key] = dict(info or {"name": served_name(net.method, net.n_layers)})

    def missing(self, method: str) -> list[int]:
        """Layer counts (2…max_layers) of ``method`` that have no network yet."""
        return [n for n in range(2, self.max_layers + 1) if (method, n) not in self.networks]

    def ready(self) -> dict[str, bool]:
        """``{method: every layer count has its network}`` for each served method."""
        return {method: not self.missing(method) for method in METHODS}

    def invert(
        self,
        observations: Sequence[Mapping[str, Any]] | Mapping[str, Any],
        noise_floor: Mapping[str, float] | None = None,
        start: Mapping[str, Any] | None = None,
        max_layers: int | None = None,
        segment_shifts: str = "auto",
    ) -> list[dict[str, Any]]:
        """Invert each observation dict (REST layout) with the method its fields name.

        ``noise_floor``: ``{"rho_a_rel", "phase_deg"}`` minimum standard errors; ``start``: a
        starting model ``{"rho_ohmm": [...], "thickness_m": [...]}`` refined alongside the
        others at its layer count; ``max_layers``: the largest layer count tried (≤ 6);
        ``segment_shifts``: for a Schlumberger sounding with overlapping MN/2 segments, fit one
        factor per segment (:mod:`inversion.segments`) ``"auto"`` when BIC prefers the fit with
        them (their count added to the parameters), ``"always"``, or ``"never"``.
        Raises :class:`InversionInputError` (400 malformed, 422 outside the served range).
        """
        parsed = self.parse(observations, noise_floor)
        return self.invert_parsed(parsed, start, max_layers, segment_shifts)

    def parse(
        self,
        observations: Sequence[Mapping[str, Any]] | Mapping[str, Any],
        noise_floor: Mapping[str, float] | None = None,
        window: tuple[float | None, float | None] | None = None,
    ) -> list[ServedSounding]:
        """Each observation dict cut to ``window`` ``(min, max)`` of its abscissa when given
        (:func:`inversion.window.window_observation`), then checked and read for the method its
        fields name (:func:`inversion.served.parse.parse_served`: 400 malformed, 422 outside
        the range)."""
        observations = as_batch(observations)
        floor = validate_noise_floor(noise_floor)
        n = len(observations)
        out = []
        for i, obs in enumerate(observations):
            index = i if n > 1 else None
            if window is not None:
                obs = window_observation(obs, *window, index)
            out.append(parse_served(obs, floor, index))
        return out

    def invert_parsed(
        self,
        soundings: Sequence[ServedSounding],
        start: Mapping[str, Any] | None = None,
        max_layers: int | None = None,
        segment_shifts: str = "auto",
    ) -> list[dict[str, Any]]:
        """:meth:`invert` of soundings already read by :meth:`parse`."""
        top = self.max_layers if max_layers is None else int(max_layers)
        if not 1 <= top <= MAX_LAYERS:
            raise InversionInputError(
                f"max_layers must lie in [1, {MAX_LAYERS}], got {max_layers}", field="max_layers"
            )
        if segment_shifts not in SHIFT_MODES:
            raise InversionInputError(
                f"segment_shifts must be one of {', '.join(SHIFT_MODES)}, got {segment_shifts!r}",
                field="segment_shifts",
            )
        given = _start_model(start)
        return [self._invert_one(s, given, top, segment_shifts) for s in soundings]

    def _invert_one(
        self, sounding: ServedSounding, given: np.ndarray | None, top: int, shift_mode: str
    ) -> dict[str, Any]:
        """Every layer count searched (with and without segment factors as ``shift_mode``
        asks), one chosen: the result dict."""
        t0 = time.perf_counter()
        plain = replace(sounding, shifts=None)
        try_shifts = sounding.shifts is not None and shift_mode != "never"
        fit = None if try_shifts and shift_mode == "always" else self._search(plain, given, top)
        shifted_fit = self._search(sounding, given, top) if try_shifts else None
        applied = shifted_fit is not None and (
            fit is None or shifted_fit.bic(len(sounding.shifts.groups)) < fit.bic()
        )
        chosen_fit, used = (shifted_fit, sounding) if applied else (fit, plain)
        shift_report = None
        if shifted_fit is not None:
            shift_report = segment_report(sounding, shifted_fit.chosen_candidate, fit, applied)
        ms = 1e3 * (time.perf_counter() - t0)
        result = result_dict(
            used, chosen_fit.candidates, chosen_fit.scored, chosen_fit.chosen, ms, shift_report
        )
        _add_polarisable(result, used, chosen_fit)
        untrained = [
            c.n_layers for c in chosen_fit.candidates if c.n_layers > 1 and c.network_model is None
        ]
        if untrained:
            result["warnings"].append(
                f"no served {sounding.spec.name} network for {', '.join(map(str, untrained))} "
                "layers yet: those layer counts were searched from prior draws and split models "
                "only"
            )
        return result

    def _search(self, sounding: ServedSounding, given: np.ndarray | None, top: int) -> LayerFits:
        """Every layer count from 1 to ``top`` searched on ``sounding``, one chosen."""
        spec, obs = sounding.spec, sounding.obs
        frame = _frame(sounding)
        log_rho_ref, log_len_ref = frame[1], frame[2]
        span = float(sounding.log_axis[-1] - sounding.log_axis[0])
        is_phase = phase_mask(_kinds(spec, obs))
        search = self.search.for_method(spec)
        rng = np.random.default_rng(search.seed)
        candidates: list[Candidate] = []
        previous: np.ndarray | None = None
        for n_layers in range(1, top + 1):
            fwd = _forward(sounding, n_layers)
            bounds = bounds_for(spec, n_layers, sounding.axis, sounding.rho_a)
            kept: list[tuple[str, np.ndarray]] = []
            network_model, network_chi = None, None
            answer = self._network_answer(sounding, frame, n_layers, fwd, bounds, is_phase)
            if answer is not None:
                members, network_model, network_chi = answer
                kept += [("network", network_model), ("member", members)]
            if previous is not None:
                kept.append(("split", split_layers(previous, n_layers - 1)))
            if given is not None and given.size == 2 * n_layers - 1:
                kept.append(("given", given))
            draws = prior_draws(spec, n_layers, span, search.n_draws, rng)
            pool = to_physical(draws, n_layers, log_rho_ref, log_len_ref)
            if n_layers == 1:
                kept.append(("frame", 10.0 ** log_rho_ref[None, :]))
            best = refine_starts(fwd, obs.data, obs.sigma, is_phase, bounds, kept, pool, search)
            previous = best.model
            info = self.info_of(spec.name, n_layers)
            candidates.append(Candidate(n_layers, best, bounds, network_model, network_chi, info))
        self._fewer_layers_pass(sounding, candidates, is_phase, search)
        scored = [c.scored(obs.data.size) for c in candidates]
        return LayerFits(candidates, scored, choose_simplest(scored), obs.data.size)

    @staticmethod
    def _fewer_layers_pass(
        sounding: ServedSounding,
        candidates: list[Candidate],
        is_phase: np.ndarray,
        search: SearchSettings,
    ) -> None:
        """Each layer count's fit, from the largest down, seeds the smaller counts: its equal-ρ
        neighbours merged (:func:`merge_layers`: a fit of N layers with two equal ones is an
        N'-layer model in disguise; start ``merged``, always refined) and each of its interfaces
        removed (:func:`drop_interfaces`, start ``dropped``; the best ``DROP_STARTS`` by χ
        refined). When the larger fit beats the smaller count's, the smaller count is refined
        again from these starts and keeps the better fit: a search that missed a smaller
        count's minimum is caught where a larger count found the structure, so the layer
        choice never prefers extra layers over a fit the search failed to find."""
        obs = sounding.obs
        by_count = {c.n_layers: i for i, c in enumerate(candidates)}
        for n_layers in sorted(by_count, reverse=True):
            cand = candidates[by_count[n_layers]]
            merged = merge_layers(cand.best.model, n_layers)
            n_merged = (merged.size + 1) // 2
            seeds: list[tuple[int, list[tuple[str, np.ndarray]], np.ndarray]] = []
            if n_layers - 1 in by_count:
                kept = [("merged", merged)] if n_merged == n_layers - 1 else []
                seeds.append((n_layers - 1, kept, drop_interfaces(cand.best.model, n_layers)))
            if n_merged < n_layers - 1:
                seeds.append((n_merged, [("merged", merged)], np.empty((0, merged.size))))
            for n_small, kept, pool in seeds:
                if n_small not in by_count:
                    continue
                target = candidates[by_count[n_small]]
                if not cand.best.chi < target.best.chi:
                    continue
                again = refine_starts(
                    _forward(sounding, n_small),
                    obs.data,
                    obs.sigma,
                    is_phase,
                    target.bounds,
                    kept,
                    pool,
                    replace(search, n_refined=len(kept) + DROP_STARTS),
                    pool_label="dropped",
                )
                if again.chi < target.best.chi:  # the first pass's network row stays reported
                    again = replace(
                        again,
                        n_starts=target.best.n_starts + again.n_starts,
                        network_iterations=target.best.network_iterations,
                    )
                    candidates[by_count[n_small]] = replace(target, best=again)

    def network_chi(self, sounding: ServedSounding, n_layers: int) -> float | None:
        """χ of the answer of the network serving ``n_layers`` alone (no search) on a sounding
        read by :meth:`parse`; None without that network."""
        fit = self.network_fit(sounding, n_layers)
        return None if fit is None else fit[1]

    def network_fit(
        self, sounding: ServedSounding, n_layers: int
    ) -> tuple[np.ndarray, float] | None:
        """``(model (2N−1,) Ω·m / m, χ)`` of the answer of the network serving ``n_layers``
        alone (no search) on a sounding read by :meth:`parse`; None without that network."""
        spec, obs = sounding.spec, sounding.obs
        fwd = _forward(sounding, n_layers)
        bounds = bounds_for(spec, n_layers, sounding.axis, sounding.rho_a)
        is_phase = phase_mask(_kinds(spec, obs))
        frame = _frame(sounding)
        answer = self._network_answer(sounding, frame, n_layers, fwd, bounds, is_phase)
        return None if answer is None else (answer[1], answer[2])

    def _network_answer(
        self,
        sounding: ServedSounding,
        frame: tuple[np.ndarray, np.ndarray, np.ndarray],
        n_layers: int,
        fwd: Any,
        bounds: tuple[np.ndarray, np.ndarray],
        is_phase: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, float] | None:
        """``(members (k, p), model (p,), χ)`` of the network serving ``n_layers``: of the
        ensemble's geometric mean and its members (each within ``bounds``), for the sounding's
        features and their noisy copies (:func:`noisy_copies`), the one whose response fits the
        data best (one forward call); ``members`` are those for the sounding itself. None
        without that network. ``frame`` from :func:`_frame`, ``fwd`` the forward model of
        ``n_layers`` on the observed geometry."""
        net = self.networks.get((sounding.spec.name, n_layers))
        if net is None:
            return None
        x, log_rho_ref, log_len_ref = frame
        settings = self.search.for_method(sounding.spec)
        xs = noisy_copies(sounding.spec, net, x, settings.answer_copies, settings.copy_noise)
        canonical = net.predict(xs).transpose(1, 0, 2)  # (copies, members, p), log10
        by_copy = to_physical(canonical, n_layers, log_rho_ref, log_len_ref)
        members = by_copy[0]
        # geometric means: the canonical outputs are already log10
        means = to_physical(canonical.mean(axis=1), n_layers, log_rho_ref, log_len_ref)
        answers = np.clip(np.vstack([means, by_copy.reshape(-1, by_copy.shape[-1])]), *bounds)
        pred = np.asarray(fwd.forward(answers, precision="double"), dtype=float)
        obs = sounding.obs
        chis = np.nan_to_num(chi_of(obs.data, pred, is_phase, obs.sigma), nan=np.inf)
        best = int(np.argmin(chis))
        return members, answers[best], float(chis[best])

    def info_of(self, method: str, n_layers: int) -> dict[str, Any]:
        """Registry info of the network serving ``method`` with ``n_layers`` (or its name)."""
        return dict(self.info.get((method, n_layers), {"name": served_name(method, n_layers)}))


def served_name(method: str, n_layers: int) -> str:
    """The registry name of a served network, e.g. ``served-mt-1d-3l``."""
    return f"served-{method}-{n_layers}l"


def _forward(sounding: ServedSounding, n_layers: int) -> Any:
    """The forward model of ``n_layers`` on the sounding's observed geometry, with its
    segment factors profiled out (:mod:`inversion.segments`) where it has them."""
    fwd = forward_models.create(sounding.spec.name, n_layers=n_layers, **sounding.obs.geometry)
    return shifted(fwd, sounding.shifts)


def noisy_copies(
    spec: MethodSpec, net: ServedNetwork, x: np.ndarray, copies: int, noise: float
) -> np.ndarray:
    """Network inputs (1 + copies, n_features): a sounding's ``x`` (1, n_features), then
    ``copies`` copies with Gaussian noise of ``noise`` times the network's training noise on
    its observed grid points (relative ρa as log10, phase in the features' (φ − 45°)/45° unit);
    the same draws for every sounding (seed ``COPY_SEED``), so an answer is reproducible. The
    network's answers to them spread along the models that explain data within the noise, where
    the answer to the sounding alone is one point (docs/methods.md). TEM: ``x`` alone."""
    if copies <= 0 or spec.is_tem:
        return x
    g, kinds = spec.n_grid, 2 if spec.has_phase else 1
    inside = x[0, kinds * g : (kinds + 1) * g] > 0.5
    training = net.settings
    sigma = [np.full(g, noise * training.get("rho_a_rel", 0.03) / np.log(10.0))]
    if spec.has_phase:
        sigma.append(np.full(g, noise * training.get("phase_deg", 1.0) / 45.0))
    scale = np.concatenate(sigma) * np.tile(inside, kinds)
    out = np.repeat(x, copies + 1, axis=0)
    out[1:, : kinds * g] += (
        np.random.default_rng(COPY_SEED).standard_normal((copies, kinds * g)) * scale
    )
    return out


def _frame(sounding: ServedSounding) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The network input (1, n_features) of a sounding and its references (1,) log10 ρ_ref
    and log10 L_ref (:mod:`inversion.served.frame`)."""
    spec = sounding.spec
    rho_g, phase_g, inside = resample(
        spec, sounding.log_axis, sounding.log_rho_a, sounding.phase_deg
    )
    log_rho_ref, log_len_ref = frame_batch(
        spec, np.array([sounding.log_axis[0]]), rho_g[None], inside[None]
    )
    phase_in = None if phase_g is None else phase_g[None]
    extra = sounding.extra_features(log_rho_ref)
    x = features_batch(spec, rho_g[None], phase_in, inside[None], log_rho_ref, extra)
    return x, log_rho_ref, log_len_ref


def _kinds(spec: Any, obs: Any) -> list[str]:
    """Data kinds (n_data,) of the observed geometry: ρa, then phases for MT."""
    k = obs.axis_values.size
    return ["rho_a"] * k + (["phase"] * k if spec.has_phase else [])


def _start_model(start: Mapping[str, Any] | None) -> np.ndarray | None:
    """A caller's starting model ``{"rho_ohmm": [...], "thickness_m": [...]}`` as a vector."""
    if start is None:
        return None
    if not isinstance(start, Mapping) or "rho_ohmm" not in start:
        raise InversionInputError(
            'start must be an object {"rho_ohmm": [...], "thickness_m": [...]}', field="start"
        )
    try:
        rho = np.asarray(start["rho_ohmm"], dtype=float).ravel()
        thk = np.asarray(start.get("thickness_m", []), dtype=float).ravel()
    except (TypeError, ValueError):
        raise InversionInputError("start: values must be numbers", field="start") from None
    if not 1 <= rho.size <= MAX_LAYERS or thk.size != rho.size - 1:
        raise InversionInputError(
            f"start: {rho.size} resistivities need {max(rho.size - 1, 0)} thicknesses "
            f"(got {thk.size}); 1 to {MAX_LAYERS} layers",
            field="start.thickness_m",
        )
    model = np.concatenate([rho, thk])
    if not np.all(np.isfinite(model) & (model > 0)):
        raise InversionInputError("start: values must be positive numbers", field="start")
    return model


def _add_polarisable(result: dict[str, Any], sounding: ServedSounding, fits: LayerFits) -> None:
    """For a TEM sounding whose layered answer stays above ``IP_TRIGGER_CHI``: the best layered
    earth with one Cole–Cole layer (:mod:`inversion.served.tem_ip`) as ``result["ip"]``, with a
    warning that says which fits better by BIC. Other soundings get ``"ip": None``."""
    result["ip"] = None
    chi = fits.chosen_candidate.best.chi
    if not sounding.spec.is_tem or not chi > IP_TRIGGER_CHI:
        return
    t0 = time.perf_counter()
    fit = fit_polarisable(sounding, fits.candidates)
    result["elapsed_ms"] += 1e3 * (time.perf_counter() - t0)
    if fit is None:
        return
    result["ip"] = fit.as_dict(fits.bic())
    result["warnings"].append(
        fit.warning(fits.chosen_candidate.n_layers, chi, preferred=result["ip"]["preferred"])
    )
