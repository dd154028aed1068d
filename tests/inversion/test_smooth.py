"""Smooth (Occam) models: the stack, the regularised solver against reference solutions (with
Occam's line search by forwards and on the linearised misfit), TEM."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy.optimize import minimize

import forward_models
from inversion.doi import doi_of_model
from inversion.served import ServedSet
from inversion.served.smooth_result import TEM_OCCAM, smooth_part
from inversion.smooth import (
    UNREACHABLE_MARGIN,
    OccamSettings,
    SmoothModelError,
    invert_smooth,
    linearised_start,
    weighted_jacobian,
)
from inversion.smooth_stack import (
    average_layered,
    depth_range_m,
    mid_depth_m,
    n_layers_for,
    sample_layered,
    snap_interfaces,
    stack_thickness_m,
)

AB2_M = np.geomspace(1.0, 300.0, 20)


class _LinearForward:
    """d = G·log10 ρ (the ρ columns of a model [ρ…, h…]): a linear test problem whose data are
    treated as phase-like (residuals linear in the data) by ``is_phase`` all True."""

    name = "linear"

    def __init__(self, g: np.ndarray) -> None:
        self.g = g

    def forward(self, models: np.ndarray, precision: str = "double") -> np.ndarray:
        models = np.atleast_2d(models)
        return np.log10(models[:, : self.g.shape[1]]) @ self.g.T

    def forward_and_jacobian(self, models: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        models = np.atleast_2d(models)
        jac = np.broadcast_to(self.g / np.log(10.0), (models.shape[0], *self.g.shape))
        pad = np.zeros((models.shape[0], self.g.shape[0], self.g.shape[1] - 1))
        return self.forward(models), np.concatenate([jac, pad], axis=2)


def test_stack_is_log_spaced_from_top_to_bottom():
    thk = stack_thickness_m(2.0, 2000.0, 30)
    depth = np.cumsum(thk)
    assert thk.size == 29 and thk[0] == pytest.approx(2.0)
    assert depth[-1] == pytest.approx(2000.0)
    ratio = depth[1:] / depth[:-1]
    np.testing.assert_allclose(ratio, 1000.0 ** (1 / 28))


def test_layer_count_follows_the_depth_span():
    assert n_layers_for(1.0, 1e4) == 30  # 4 decades: 28 interfaces + 2
    assert n_layers_for(1.0, 10.0) == 20
    assert n_layers_for(1.0, 1e8) == 40


def test_snapped_stack_holds_every_layered_interface():
    depth = np.geomspace(1.0, 1000.0, 22)  # ratio 1.39
    layered = np.array([5.0, 5.5, 6.2, 2000.0])  # three within one stack step, one below
    snapped = snap_interfaces(depth, layered)
    assert snapped.size == depth.size and np.all(np.diff(snapped) > 0)
    assert set(layered[:3]) <= set(snapped.tolist())
    assert snapped[-1] == 1000.0
    model = np.array([10.0, 100.0, 3.0, 30.0, 5.0, 0.5, 0.7])
    thk = np.diff(snapped, prepend=0.0)
    sampled = np.concatenate([10.0 ** sample_layered(model, 4, snapped), thk])
    fm = forward_models.create("ves-schlumberger", n_layers=4, ab2_m=AB2_M)
    fs = forward_models.create("ves-schlumberger", n_layers=22 + 1, ab2_m=AB2_M)
    np.testing.assert_allclose(fs.forward(sampled), fm.forward(model), rtol=1e-10)


def test_depth_ranges_follow_the_data():
    assert depth_range_m("ab2_m", AB2_M, 1, 1) == pytest.approx((1 / 3, 600.0))
    top, bottom = depth_range_m("periods_s", np.array([1e-2, 1e2]), 10.0, 1000.0)
    assert top == pytest.approx(503.0 * np.sqrt(10 * 1e-2) / 3)
    assert bottom == pytest.approx(2 * 503.0 * np.sqrt(1000 * 1e2))
    with pytest.raises(ValueError, match="axis_name"):
        depth_range_m("frequencies_hz", AB2_M, 1, 1)


def test_layered_models_map_onto_the_stack():
    model = np.array([10.0, 1000.0, 5.0])  # 10 Ω·m to 5 m, then 1000 Ω·m
    depth = np.array([2.0, 4.0, 8.0])
    np.testing.assert_allclose(mid_depth_m(depth), [1.0, np.sqrt(8), np.sqrt(32), 12.0])
    np.testing.assert_allclose(sample_layered(model, 2, depth), [1, 1, 3, 3])
    # layer 4–8 m: 1 m of 10 Ω·m and 3 m of 1000 Ω·m → (1·1 + 3·3)/4 decades
    np.testing.assert_allclose(average_layered(model, 2, depth), [1, 1, 2.5, 3])


LINEARISED = OccamSettings(line_search="linearised")


def _occam_q(n: int) -> np.ndarray:
    """Occam's Q = RᵀR + αI (n, n): first differences R, the default reference weight α."""
    r = np.eye(n - 1, n, 1) - np.eye(n - 1, n)
    return r.T @ r + OccamSettings().reference_weight * np.eye(n)


def _linear_case():
    """A linear problem (G (20, 12), noisy data, σ 0.05), its stack and closed-form solution
    x(λ) of (GᵀWᵀWG + λQ) x = GᵀWᵀW d + λα·2 (x_ref = 2, the start's mean), and its χ."""
    rng = np.random.default_rng(3)
    n, n_data = 12, 20
    g = rng.normal(size=(n_data, n)) * np.exp(-np.arange(n) / 4.0)
    truth = np.linspace(1.0, 3.0, n)
    sigma = np.full(n_data, 0.05)
    observed = g @ truth + sigma * rng.standard_normal(n_data)
    thk = stack_thickness_m(1.0, 100.0, n)
    alpha = OccamSettings().reference_weight
    q = _occam_q(n)
    gw = g / sigma[:, None]

    def closed(lam: float) -> np.ndarray:
        return np.linalg.solve(gw.T @ gw + lam * q, gw.T @ (observed / sigma) + lam * alpha * 2.0)

    def chi(x: np.ndarray) -> float:
        return float(np.sqrt(np.mean(((g @ x - observed) / sigma) ** 2)))

    return g, observed, sigma, thk, closed, chi


def test_linearised_search_on_a_linear_problem_is_the_closed_form_at_the_largest_fitting_lambda():
    """On a linear problem the linearised misfit is exact: one step to the smoothest model of
    the fine λ grid (10 per decade) that fits, then the next step is too small to take."""
    g, observed, sigma, thk, closed, chi = _linear_case()
    start = np.linspace(1.5, 2.5, thk.size + 1)  # mean 2; no layer a decade from the answer
    args = (_LinearForward(g), observed, sigma, np.ones(observed.size, bool), thk, start)
    fit = invert_smooth(*args, (1e-3, 1e6), LINEARISED)
    np.testing.assert_allclose(fit.log10_rho, closed(fit.lam), atol=1e-6)
    assert 0.95 <= fit.chi <= 1.0 and chi(fit.log10_rho) == pytest.approx(fit.chi)
    assert chi(closed(10**0.1 * fit.lam)) > 1.0  # the next grid λ no longer fits
    assert fit.n_iterations == 2


def test_linearised_start_of_a_linear_problem_is_its_occam_model():
    """From any model it is linearised about, the start of a linear problem is the smoothest
    model that fits, to the fine grid's 0.05 decades in λ."""
    g, observed, sigma, thk, closed, chi = _linear_case()
    about = np.linspace(3.0, 1.0, thk.size + 1)  # mean 2, the closed form's reference
    residuals = (g @ about - observed) / sigma
    start = linearised_start(about, residuals, g / sigma[:, None], (1e-3, 1e6), LINEARISED)
    lo, hi = -8.0, 8.0  # log10 λ: χ(closed(λ)) rises through 1 between them
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if chi(closed(10**mid)) <= 1.0 else (lo, mid)
    assert 10 ** (lo - 0.05) <= _closest_lambda(closed, start) <= 10**lo
    assert 0.97 <= chi(start) <= 1.0


def _closest_lambda(closed, x: np.ndarray) -> float:
    """The λ (on a 0.001-decade grid) whose closed-form model is nearest to ``x``."""
    lams = 10.0 ** np.arange(-8.0, 8.0, 0.001)
    return float(min(lams, key=lambda lam: float(np.max(np.abs(closed(lam) - x)))))


def test_linear_problem_matches_the_closed_form_at_the_chosen_lambda():
    g, observed, sigma, thk, closed, chi = _linear_case()
    n = thk.size + 1
    start = np.full(n, 2.0)
    fit = invert_smooth(
        _LinearForward(g), observed, sigma, np.ones(observed.size, bool), thk, start, (1e-3, 1e6)
    )
    np.testing.assert_allclose(fit.log10_rho, closed(fit.lam), atol=1e-6)
    assert 0.95 <= fit.chi <= 1.0
    assert chi(fit.log10_rho) == pytest.approx(fit.chi)
    # the next grid λ (half a decade up) no longer fits: the smoothest fitting model
    assert chi(closed(3.2 * fit.lam)) > 1.0
    gw = g / sigma[:, None]
    cov = np.linalg.inv(gw.T @ gw + fit.lam * _occam_q(n))
    np.testing.assert_allclose(fit.log10_std, np.sqrt(np.diag(cov)) * max(1.0, fit.chi))


def _ves_case(rel: float = 0.03, seed: int = 0):
    rng = np.random.default_rng(seed)
    true = np.array([100.0, 10.0, 1000.0, 5.0, 20.0])
    fm = forward_models.create("ves-schlumberger", n_layers=3, ab2_m=AB2_M)
    data = fm.forward(true, precision="double")[0] * (1 + rel * rng.standard_normal(AB2_M.size))
    thk = stack_thickness_m(*depth_range_m("ab2_m", AB2_M, 1, 1), 16)
    fs = forward_models.create("ves-schlumberger", n_layers=16, ab2_m=AB2_M)
    return true, data, thk, fs, np.full(AB2_M.size, rel)


@pytest.mark.parametrize("line_search", ["forward", "linearised"])
def test_nonlinear_ves_reaches_the_target_and_is_the_minimum_of_its_objective(line_search):
    true, data, thk, fs, sigma = _ves_case()
    is_phase = np.zeros(data.size, bool)
    start = sample_layered(true, 3, np.cumsum(thk))
    settings = OccamSettings(
        roughness_rtol=1e-5, max_iterations=60, line_search=line_search, converged_step_log10=0.0
    )
    fit = invert_smooth(fs, data, sigma, is_phase, thk, start, (0.1, 1e5), settings)
    assert 0.9 <= fit.chi <= 1.0 + 1e-9
    # the same objective at the same λ, minimised by scipy from a half-space
    n, lam, alpha = thk.size + 1, fit.lam, settings.reference_weight
    r_mat = np.eye(n - 1, n, 1) - np.eye(n - 1, n)
    x_ref = start.mean()

    def objective(x: np.ndarray) -> float:
        pred = fs.forward(np.concatenate([10.0**x, thk]), precision="double")[0]
        r = np.log(pred / data) / sigma
        reg = np.sum((r_mat @ x) ** 2) + alpha * np.sum((x - x_ref) ** 2)
        return float(r @ r + lam * reg)

    ref = minimize(objective, np.full(n, 2.0), method="BFGS", options={"gtol": 1e-8})
    assert objective(fit.log10_rho) <= ref.fun * 1.001
    np.testing.assert_allclose(fit.log10_rho, ref.x, atol=0.02)


def test_the_best_start_is_used_and_a_bad_one_does_not_matter():
    true, data, thk, fs, sigma = _ves_case(seed=1)
    is_phase = np.zeros(data.size, bool)
    good = sample_layered(true, 3, np.cumsum(thk))
    fit_one = invert_smooth(fs, data, sigma, is_phase, thk, good, (0.1, 1e5))
    fit_two = invert_smooth(
        fs, data, sigma, is_phase, thk, np.vstack([np.full(16, 4.5), good]), (0.1, 1e5)
    )
    np.testing.assert_allclose(fit_two.log10_rho, fit_one.log10_rho, atol=0.05)
    assert fit_two.chi <= 1.0 + 1e-9


def test_tem_stack_jacobian_matches_central_differences_of_the_log_data():
    """∂r/∂ln ρ_j of a TEM stack (exact Jacobian, weighted by 1/σ) against central
    differences of ln(−dBz/dt)/σ in log10 ρ (÷ ln 10)."""
    fm = forward_models.create(
        "tem-central-loop", n_layers=6, times_s=np.geomspace(1e-5, 1e-3, 12), loop_side_m=40.0
    )
    thk = stack_thickness_m(5.0, 200.0, 6)
    log10_rho = np.array([2.0, 1.5, 1.0, 1.5, 2.0, 2.5])
    sigma, is_phase = np.full(12, 0.05), np.zeros(12, bool)
    ours = weighted_jacobian(fm, log10_rho, thk, sigma, is_phase)
    step = 1e-4
    shifted = log10_rho + step * np.vstack([np.eye(6), -np.eye(6)])
    models = np.hstack([10.0**shifted, np.tile(thk, (12, 1))])
    log_data = np.log(fm.forward(models, precision="double")) / 0.05
    reference = ((log_data[:6] - log_data[6:]) / (2 * step * np.log(10.0))).T
    np.testing.assert_allclose(ours, reference, rtol=1e-4, atol=1e-5 * np.abs(reference).max())


def test_a_forward_model_without_finite_data_is_a_clear_error():
    broken = _LinearForward(np.full((4, 3), np.nan))
    thk = stack_thickness_m(1.0, 10.0, 3)
    with pytest.raises(SmoothModelError, match="non-finite data"):
        invert_smooth(broken, np.ones(4), np.ones(4), np.ones(4, bool), thk, np.zeros(3), (1, 10))
    blind = _LinearForward(np.zeros((4, 3)))
    with pytest.raises(SmoothModelError, match="insensitive"):
        invert_smooth(blind, np.ones(4), np.ones(4), np.ones(4, bool), thk, np.zeros(3), (1, 10))


@pytest.mark.parametrize(
    "settings",
    [OccamSettings(), OccamSettings(line_search="linearised", relax_from_starts=False)],
    ids=["forward, relaxed from the starts", "linearised, relaxed from the least chi"],
)
def test_an_unreachable_target_gives_the_smoothest_model_near_the_least_chi(settings):
    """5 % noise stated as 1 %: χ = 1 is out of reach; the answer is the smoothest model within
    UNREACHABLE_MARGIN of the least χ, smoother than the least-χ model itself."""
    rng = np.random.default_rng(3)
    ab2 = np.geomspace(1.0, 300.0, 20)
    truth = np.array([100.0, 10.0, 500.0, 5.0, 20.0])
    clean = forward_models.create("ves-schlumberger", n_layers=3, ab2_m=ab2).forward(
        truth, precision="double"
    )[0]
    observed = clean * np.exp(0.05 * rng.standard_normal(ab2.size))
    sigma, is_phase = np.full(ab2.size, 0.01), np.zeros(ab2.size, dtype=bool)
    thk = stack_thickness_m(0.3, 600.0, 24)
    fwd = forward_models.create("ves-schlumberger", n_layers=24, ab2_m=ab2)
    start = np.full(24, 2.0)
    args = (fwd, observed, sigma, is_phase, thk, start, (0.1, 1e5))
    least = invert_smooth(*args, settings=replace(settings, fallback_chi=np.inf))
    assert least.chi > 2.0  # the target is out of reach
    fit = invert_smooth(*args, settings=settings)
    assert least.chi < fit.chi <= UNREACHABLE_MARGIN * least.chi + 1e-9
    roughness = [float(np.sum(np.diff(f.log10_rho) ** 2)) for f in (least, fit)]
    assert roughness[1] < roughness[0]


class _Counting:
    """A forward model that counts the models it is given: forwards and Jacobians."""

    def __init__(self, fwd) -> None:
        self.fwd, self.forwards, self.jacobians = fwd, 0, 0
        self.name = fwd.name

    def forward(self, models: np.ndarray, precision: str = "auto") -> np.ndarray:
        self.forwards += np.atleast_2d(models).shape[0]
        return self.fwd.forward(models, precision=precision)

    def forward_and_jacobian(self, models: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.jacobians += np.atleast_2d(models).shape[0]
        return self.fwd.forward_and_jacobian(models)


def _tem_sounding():
    """A noisy (3 %) coincident-loop sounding over a 3-layer earth, parsed for the served path,
    and that earth [ρ (3) Ω·m, h (2) m]."""
    truth = np.array([100.0, 10.0, 300.0, 15.0, 40.0])
    times = np.geomspace(1e-5, 3e-3, 25)
    fm = forward_models.create("tem-coincident-loop", n_layers=3, times_s=times, loop_side_m=50.0)
    clean = fm.forward(truth, precision="double")[0]
    noisy = clean * (1 + 0.03 * np.random.default_rng(1).standard_normal(times.size))
    obs = {
        "times_s": times.tolist(),
        "dbzdt_v_per_am2": noisy.tolist(),
        "dbzdt_error_percent": 3.0,
        "receiver": "coincident",
        "loop_side_m": 50.0,
    }
    return ServedSet().parse(obs, {"rho_a_rel": 0.03})[0], truth


def test_tem_smooth_model_fits_and_the_layered_doi_comes_from_the_shared_jacobian():
    sounding, truth = _tem_sounding()
    smooth, layered_doi, _ = smooth_part(sounding, truth, 3)
    assert 0.9 <= smooth["misfit"]["chi"] <= 1.2
    thk = np.asarray(smooth["thickness_m"])
    n, obs = thk.size + 1, sounding.obs
    fs = forward_models.create("tem-coincident-loop", n_layers=n, **obs.geometry)
    reference = doi_of_model(fs, truth, 3, thk, obs.sigma, np.zeros(obs.data.size, bool))
    assert layered_doi == pytest.approx(reference)
    for block in (smooth["doi_m"], layered_doi):
        assert 0 < block["conservative"] <= block["standard"]


def test_tem_linearised_search_needs_far_fewer_forwards_for_the_same_fit():
    """TEM's settings against Occam's line search by forwards, from the same half-space on the
    same stack: both reach χ ≤ 1 with the same roughness to within 30 %, with less than half the
    forward-model work (forwards + 5 × Jacobians, a Jacobian costing ~5 forwards)."""
    sounding, truth = _tem_sounding()
    obs = sounding.obs
    top, bottom = depth_range_m("times_s", sounding.axis, 10.0, 300.0)
    thk = stack_thickness_m(top, bottom, 20)
    fs = forward_models.create("tem-coincident-loop", n_layers=20, **obs.geometry)
    is_phase = np.zeros(obs.data.size, bool)
    fits, work = [], []
    for settings in (OccamSettings(), TEM_OCCAM):
        counting = _Counting(fs)
        fit = invert_smooth(
            counting, obs.data, obs.sigma, is_phase, thk, np.full(20, 1.7), (0.1, 1e5), settings
        )
        fits.append(fit)
        work.append(counting.forwards + 5 * counting.jacobians)
    assert all(0.9 <= f.chi <= 1.0 + 1e-9 for f in fits)
    roughness = [float(np.linalg.norm(np.diff(f.log10_rho))) for f in fits]
    assert roughness[1] == pytest.approx(roughness[0], rel=0.3)
    assert work[1] < 0.5 * work[0]


def test_the_lambda_grid_solve_matches_one_solve_per_lambda():
    """x(λ) of (JᵀJ + λQ) x = rhs + λ·ref from one generalised eigendecomposition against
    numpy's solve for each λ, over 8 decades of λ and a Jacobian spanning 4 decades."""
    from inversion.smooth import _regulariser, _solve

    rng = np.random.default_rng(4)
    n = 25
    jac = rng.normal(size=(30, n)) * np.geomspace(1.0, 1e-4, n)
    jtj = jac.T @ jac
    _, q = _regulariser(n, OccamSettings())
    rhs, ref = rng.normal(size=n), 1e-3 * rng.normal(size=n)
    lams = np.trace(jtj) / np.trace(q) * 10.0 ** np.arange(-5.0, 3.01, 0.5)
    ours = _solve(jtj, rhs, q, lams, ref)
    for lam, x in zip(lams, ours, strict=True):
        reference = np.linalg.solve(jtj + lam * q, rhs + lam * ref)
        # both round at the system's condition number (up to ~10⁷ at the smallest λ)
        assert np.linalg.norm(x - reference) <= 1e-8 * np.linalg.norm(reference)


def test_a_forward_with_its_jacobian_is_reused_by_the_next_linearisation():
    """With ``jacobian_with_forward`` a one-model forward keeps its Jacobian; linearising the
    same model then costs no forward model call and gives what a fresh linearisation gives."""
    from inversion.smooth_problem import StackProblem

    fm = forward_models.create(
        "tem-central-loop", n_layers=6, times_s=np.geomspace(1e-5, 1e-3, 12), loop_side_m=40.0
    )
    thk = stack_thickness_m(5.0, 200.0, 6)
    x = np.array([2.0, 1.5, 1.0, 1.5, 2.0, 2.5])
    observed = fm.forward(np.concatenate([10.0 ** (x + 0.1), thk]), precision="double")[0]
    args = (observed, np.full(12, 0.05), np.zeros(12, bool), thk)
    fresh = StackProblem(fm, *args).linearise(x)

    class Counting:
        def __init__(self) -> None:
            self.calls = 0

        def forward(self, models, precision="auto"):
            self.calls += 1
            return fm.forward(models, precision=precision)

        def forward_and_jacobian(self, models):
            self.calls += 1
            return fm.forward_and_jacobian(models)

    counting = Counting()
    prob = StackProblem(counting, *args, jacobian_with_forward=True)
    np.testing.assert_allclose(prob.forward(x)[0], fresh[0], rtol=1e-12)
    reused = prob.linearise(x)
    assert counting.calls == 1
    for a, b in zip(reused, fresh, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    prob.linearise(x + 0.01)  # another model: computed afresh
    assert counting.calls == 2


def test_tem_smooth_bands_use_their_own_inflation(monkeypatch):
    """TEM's p10–p90 half-widths (in log10 ρ, where not clipped to the served range) scale with
    ``TEM_BAND_INFLATION``, not with the VES/MT factor."""
    from inversion.served import smooth_result

    sounding, truth = _tem_sounding()

    def half_widths() -> tuple[np.ndarray, np.ndarray]:
        smooth, _, _ = smooth_part(sounding, truth, 3)
        log_rho = np.log10(smooth["rho_ohmm"])
        return np.log10(smooth["p90"]) - log_rho, log_rho

    monkeypatch.setattr(smooth_result, "TEM_BAND_INFLATION", 1.0)
    unit, _ = half_widths()
    monkeypatch.setattr(smooth_result, "BAND_INFLATION", 5.0)  # not TEM's
    assert np.array_equal(half_widths()[0], unit)
    monkeypatch.setattr(smooth_result, "TEM_BAND_INFLATION", 2.0)
    doubled, log_rho = half_widths()
    unclipped = log_rho + doubled < np.log10(sounding.spec.rho_range_ohmm[1]) - 1e-9
    assert unclipped.sum() >= 5
    np.testing.assert_allclose(doubled[unclipped], 2.0 * unit[unclipped], rtol=1e-9)


def test_linearised_search_smooths_an_overfitting_start_however_small_the_step():
    """A start that fits better than the target (χ 0.89, an Occam model for a smaller λ) whose
    step to the smoothest fitting model moves no layer by 0.15 decades: the step is still
    taken (below ``converged_low`` the iteration does not stop for a small step), ending at
    χ ≈ 1; with ``converged_low`` 0 it would stop at the start."""
    g, observed, sigma, thk, closed, chi = _linear_case()
    start = closed(10**1.7)
    args = (_LinearForward(g), observed, sigma, np.ones(observed.size, bool), thk, start)
    reference = np.full(start.size, 2.0)
    fit = invert_smooth(*args, (1e-3, 1e6), LINEARISED, reference_log10_rho=reference)
    assert 0.95 <= fit.chi <= 1.0
    stopped = invert_smooth(
        *args, (1e-3, 1e6), replace(LINEARISED, converged_low=0.0), reference_log10_rho=reference
    )
    assert stopped.chi == pytest.approx(chi(start)) and stopped.chi < 0.9
