"""TEM over polarisable (Cole–Cole) ground: the dispersive kernel against the plain one, the
Pelton model's limits, empymod's response, sign reversals and the refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import forward_models
from forward_models import cole_cole

DATA = Path(__file__).resolve().parents[1] / "data"
TIMES = np.geomspace(5e-6, 2e-3, 20)
GEOMETRIES = [
    ("tem-central-loop", {"loop_radius_m": 20.0}),
    ("tem-central-loop", {"loop_side_m": 40.0, "ramp_off_s": 3e-6, "lowpass_hz": [3e5]}),
    ("tem-coincident-loop", {"loop_side_m": 25.0, "ramp_off_s": 2e-6}),
]
MODELS = np.array([[30.0, 300.0, 5.0, 10.0, 40.0], [500.0, 2.0, 100.0, 3.0, 80.0]])


@pytest.mark.parametrize(("name", "geometry"), GEOMETRIES)
def test_non_polarisable_layers_give_the_plain_forward(name, geometry):
    fm = forward_models.create(name, n_layers=3, times_s=TIMES, **geometry)
    plain = fm.forward(MODELS, precision="double")
    dispersive = fm.forward_cole_cole(MODELS, 0.0, 1e-3, 0.5)
    np.testing.assert_allclose(dispersive, plain, rtol=1e-7)


def test_pelton_conductivity_tends_to_its_dc_and_high_frequency_limits():
    omega = np.array([1e-9, 1e14])
    sigma = cole_cole.conductivity([[50.0]], [[0.4]], [[1e-3]], [[0.6]], omega)[0, 0]
    assert sigma[0] == pytest.approx(1 / 50.0, rel=1e-6)  # ρ(0) = ρ_0
    assert sigma[1] == pytest.approx(1 / (50.0 * 0.6), rel=1e-5)  # ρ(∞) = ρ_0 (1 − m)
    mid = cole_cole.conductivity([[50.0]], [[0.4]], [[1e-3]], [[0.6]], [1e3])[0, 0, 0]
    assert mid.imag > 0  # e^{iωt}: a polarisable conductivity leads in phase


def test_polarisable_ground_matches_empymod():
    """Square-loop central receivers over four Cole–Cole earths (bench/tem_ip_reference.py):
    within 1 % of empymod, except within a factor 10 of a sign reversal, where the difference
    stays within 1 % of the larger neighbouring value."""
    ref = json.loads((DATA / "tem_cole_cole_empymod.json").read_text())
    times = np.asarray(ref["times_s"])
    for case in ref["cases"]:
        n = len(case["rho"])
        fm = forward_models.create(
            "tem-central-loop", n_layers=n, times_s=times, loop_side_m=case["loop_side_m"]
        )
        ours = fm.forward_cole_cole(
            [case["rho"] + case["thk"]], [case["chargeability"]], [case["tau_s"]], [case["c"]]
        )[0]
        expected = np.asarray(case["dbzdt"])
        scale = np.maximum.reduce(
            [np.abs(expected), np.abs(np.roll(expected, 1)), np.abs(np.roll(expected, -1))]
        )
        near_zero = np.abs(expected) < 0.1 * scale
        allowed = 0.01 * np.where(near_zero, scale, np.abs(expected))
        assert np.all(np.abs(ours - expected) <= allowed)
        plain = fm.forward([case["rho"] + case["thk"]], precision="double")[0]
        assert np.max(np.abs(plain / expected - 1)) > 0.5  # the cases do polarise


def test_a_polarisable_top_layer_reverses_the_coincident_loop_transient():
    fm = forward_models.create("tem-coincident-loop", n_layers=2, times_s=TIMES, loop_side_m=25.0)
    model = [40.0, 200.0, 8.0]
    plain = fm.forward(model, precision="double")[0]
    ip = fm.forward_cole_cole(model, [[0.3, 0.0]], [[2e-4, 1e-3]], [[0.6, 0.5]])[0]
    assert np.all(plain > 0)
    assert ip[0] > 0 and ip[-1] < 0
    assert np.count_nonzero(np.diff(np.sign(ip))) == 1  # one reversal


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"chargeability": 1.0}, "chargeability[0, 0]: 1.0 is outside 0 ≤ m < 1"),
        ({"chargeability": [0.2, -0.1]}, "chargeability[0, 1]"),
        ({"tau_s": 0.0}, "tau_s[0, 0]: 0.0 is outside τ > 0 s"),
        ({"c": 1.5}, "c[0, 0]: 1.5 is outside 0 < c ≤ 1"),
        ({"c": float("nan")}, "c[0, 0]"),
        ({"tau_s": [1e-3, 1e-3, 1e-3]}, "tau_s: expected a number or an array of shape (1, 2)"),
    ],
)
def test_cole_cole_parameters_are_validated(kwargs, text):
    fm = forward_models.create("tem-central-loop", n_layers=2, times_s=TIMES, loop_radius_m=20.0)
    args = {"chargeability": 0.2, "tau_s": 1e-3, "c": 0.5, **kwargs}
    with pytest.raises(ValueError) as err:
        fm.forward_cole_cole([[30.0, 300.0, 5.0]], **args)
    assert text in str(err.value)
