"""No layered earth's ρa curve rises more steeply than 45°: the rule, and the check built on it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import forward_models
import inversion
from inversion.served.parse import parse_served
from inversion.ves_checks import MAX_SLOPE, steeper_than_45

DATA = Path(__file__).resolve().parents[1] / "data"
FLOOR = {"rho_a_rel": 0.05, "phase_deg": 1.5}
SPACING = np.geomspace(1.0, 3000.0, 60)


@pytest.mark.parametrize(
    ("name", "geometry"),
    [
        ("ves-schlumberger", {"ab2_m": SPACING}),
        ("ves-schlumberger", {"ab2_m": SPACING, "mn2_m": SPACING / 5}),
        ("ves-wenner", {"a_m": SPACING}),
    ],
)
def test_layered_earths_rise_at_most_at_45_degrees(name, geometry):
    rng = np.random.default_rng(11)
    for n_layers in (2, 3, 5):
        fm = forward_models.create(name, n_layers=n_layers, **geometry)
        models = np.hstack(
            [
                10 ** rng.uniform(-1, 5, (500, n_layers)),
                10 ** rng.uniform(-1, 3, (500, n_layers - 1)),
            ]
        )
        rho = fm.forward(models, precision="double")
        slope = np.diff(np.log(rho), axis=1) / np.diff(np.log(SPACING))
        assert slope.max() < MAX_SLOPE + 2e-3
        assert slope.max() > 0.95  # resistive basements do reach the limit


def test_a_steep_jump_is_found_and_a_45_degree_branch_is_not():
    fm = forward_models.create("ves-schlumberger", n_layers=2, ab2_m=SPACING)
    rho = fm.forward([10.0, 1e5, 5.0], precision="double")[0]  # rises at 45° at the end
    sigma = np.full(SPACING.size, 0.03)
    assert steeper_than_45(SPACING, rho, sigma) == []
    jumped = rho.copy()
    jumped[40:] *= 1.8  # a reading problem from the 41st spacing on
    ((lo, hi, slope, sd),) = steeper_than_45(SPACING, jumped, sigma)
    assert (lo, hi) == (SPACING[39], SPACING[40]) and slope > 1 + 3 * sd
    # the same jump where MN/2 changes is a segment offset, not this check's business
    mn2 = np.where(np.arange(SPACING.size) < 40, 1.0, 10.0)
    assert steeper_than_45(SPACING, jumped, sigma, mn2) == []


@pytest.mark.parametrize(
    ("path", "flagged"),
    [
        ("field/ves_schlumberger_mawlamyine_loc4.csv", "AB/2 = 220–240 m"),
        ("field_more/ves_schlumberger_mawlamyine_loc2.csv", "AB/2 = 370–400 m"),
        ("field/ves_schlumberger_boundiali_se1.csv", None),
        ("field/ves_schlumberger_mawlamyine_loc3.csv", None),
    ],
)
def test_real_soundings_steeper_than_45_degrees_get_a_warning(path, flagged):
    (obs,) = inversion.read_soundings(str(DATA / path)).values()
    warnings = [w for w in parse_served(obs, FLOOR).obs.warnings if "45°" in w]
    if flagged is None:
        assert warnings == []
    else:
        (warning,) = warnings
        assert flagged in warning and "1D model cannot fit" in warning
