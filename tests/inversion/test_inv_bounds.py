"""The bound test: a likelihood-ratio test for data that prefer a model beyond the bounds."""

import numpy as np
from inverter_helpers import noisy

from inversion.domain import BoundTest, bound_test_reasons, bound_test_setup
from inversion.inverter import observation_from_data

NAMES = ["rho1", "rho2", "rho3", "h1", "h2"]
LOWER = np.array([1.0, 1.0, 1.0, 0.5, 0.5])
UPPER = np.array([5000.0, 5000.0, 5000.0, 100.0, 100.0])


def test_only_bound_parameters_the_data_push_outwards_are_tested() -> None:
    inside = [100.0, 10.0, 100.0, 5.0, 20.0]
    top_at_bound = [4990.0, 10.0, 100.0, 5.0, 20.0]
    models = np.array(
        [
            top_at_bound,  # ρ1 at the upper bound, the data pull it up
            [100.0, 10.0, 100.0, 5.0, 0.51],  # h2 at the lower bound, the data pull it down
            inside,
            top_at_bound,  # held fixed
            top_at_bound,  # the data pull it back inside
            top_at_bound,  # pulled out, but crossing would gain little
        ]
    )
    free = np.ones_like(models, dtype=bool)
    free[3, 0] = False
    # Six data, one per parameter (plus one that nothing explains): a Gauss–Newton step moves
    # parameter j by −r_j and removes r_j² from Σr².
    jacobian = np.broadcast_to(np.vstack([np.eye(5), np.zeros(5)]), (6, 6, 5))
    residuals = np.zeros((6, 6))
    residuals[[0, 3], 0] = -4.0
    residuals[1, 4] = 4.0
    residuals[2, 0] = -4.0
    residuals[4, 0] = 4.0
    residuals[5, 0] = -1.0
    residuals[:, 5] = 2.0
    test = bound_test_setup(models, LOWER, UPPER, free, jacobian, residuals, alpha=0.01)
    np.testing.assert_array_equal(test.rows, [0, 1])
    np.testing.assert_allclose(test.upper[0], [500000.0, 5000.0, 5000.0, 100.0, 100.0])
    np.testing.assert_allclose(test.lower[0], LOWER)
    np.testing.assert_allclose(test.lower[1], [1.0, 1.0, 1.0, 0.5, 0.005])
    np.testing.assert_array_equal(test.n_relaxed, [1, 1])


def test_a_reason_needs_a_significant_improvement_from_a_model_beyond_the_bounds() -> None:
    models = np.array([[4990.0, 10.0, 100.0, 5.0, 20.0]] * 3)
    test = BoundTest(
        np.arange(3), LOWER[None].repeat(3, 0), UPPER * [[100, 1, 1, 1, 1]], np.ones(3)
    )
    relaxed = models.copy()
    relaxed[:2, 0] = 12000.0  # rows 0 and 1 moved beyond; row 2 stayed inside
    n_data = 40
    chi_inside = np.sqrt(np.array([50.0, 44.0, 60.0]) / n_data)
    chi_relaxed = np.sqrt(np.array([38.0, 38.0, 38.0]) / n_data)
    reasons = bound_test_reasons(
        test, chi_inside, chi_relaxed, relaxed, n_data, NAMES, LOWER, UPPER, alpha=0.01
    )
    # Δχ² = 12 > 6.63 (χ² with 1 degree of freedom, 1 %): flagged; Δχ² = 6 is not significant;
    # the third improved a lot but not by leaving the bounds.
    assert len(reasons[0]) == 1 and reasons[1] == [] and reasons[2] == []
    assert "rho1 ≈ 12000 Ω·m, above the training range 1–5000 Ω·m" in reasons[0][0]
    assert "Δχ² = 12.0 > 6.6" in reasons[0][0]


def _invert_copies(inv, top: float, n: int = 20) -> list[dict]:
    """n noisy soundings over a 40 m top layer of resistivity ``top`` (Ω·m)."""
    models = np.tile([top, 100.0, 1000.0, 40.0, 20.0], (n, 1))
    return inv.invert([observation_from_data(inv.forward_model, d) for d in noisy(inv, models, 3)])


def _preferring(results: list[dict]) -> list[str]:
    return [r for res in results for r in res["domain"]["reasons"] if "prefer" in r]


def test_the_inverter_says_which_parameter_the_data_want_beyond_its_bounds(ves_inverter) -> None:
    inv = ves_inverter
    # A thick top layer 4 % below / above the resistivity bounds (1–5000 Ω·m): the first readings
    # see it, and in-bounds models fit them only moderately worse (χ often still ≤ 1.5).
    below, above = _invert_copies(inv, 0.96), _invert_copies(inv, 5200.0)
    reasons_below, reasons_above = _preferring(below), _preferring(above)
    assert len(reasons_below) >= 8 and len(reasons_above) >= 4
    assert all("resistivity rho1" in r and "below the training range" in r for r in reasons_below)
    assert all("resistivity rho1" in r and "above the training range" in r for r in reasons_above)
    # Some of these would pass every other test: the bound test adds flags.
    inv.bound_test_alpha = None
    try:
        without = _invert_copies(inv, 0.96)
    finally:
        inv.bound_test_alpha = 0.01
    flagged = np.mean([not r["in_domain"] for r in below])
    assert flagged > np.mean([not r["in_domain"] for r in without]) + 0.2
    # Well inside the bounds: no reason at all.
    for top in (4000.0, 1.3):
        results = _invert_copies(inv, top)
        assert all(r["in_domain"] and not r["domain"]["reasons"] for r in results)


def test_in_domain_soundings_are_almost_never_said_to_prefer_other_bounds(ves_inverter) -> None:
    inv = ves_inverter
    models = inv.space.sample(200, sampler="random", seed=41)
    results = inv.invert(
        [observation_from_data(inv.forward_model, d) for d in noisy(inv, models, 5)]
    )
    preferring = [any("prefer" in r for r in res["domain"]["reasons"]) for res in results]
    assert np.mean(preferring) <= 0.02
