"""Induced polarisation in the served TEM path: a polarisable layer is fitted where no layered
earth fits (synthetic Cole–Cole data, and a real IP-affected TEM-FAST sounding), and nowhere
else."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import forward_models
import inversion
from inversion.served import ServedSet
from inversion.served.parse import parse_served
from inversion.served.tem_ip import IP_TRIGGER_CHI

DATA = Path(__file__).resolve().parents[1] / "data"
FLOOR = {"rho_a_rel": 0.05, "phase_deg": 1.5}


def _polarised_sounding() -> tuple[dict, np.ndarray]:
    """A 25 m coincident loop over a polarisable 8 m top (m 0.3, τ 0.2 ms, c 0.6) on 200 Ω·m,
    3 % noise; the gates after the sign reversal are left out, as the readers do."""
    times = np.geomspace(5e-6, 5e-4, 24)
    fm = forward_models.create("tem-coincident-loop", n_layers=2, times_s=times, loop_side_m=25.0)
    clean = fm.forward_cole_cole([40.0, 200.0, 8.0], [[0.3, 0.0]], [[2e-4, 1e-3]], [[0.6, 0.5]])[0]
    keep = clean > 0
    noisy = clean * (1 + 0.03 * np.random.default_rng(0).standard_normal(times.size))
    obs = {
        "times_s": times[keep].tolist(),
        "dbzdt_v_per_am2": noisy[keep].tolist(),
        "dbzdt_error_percent": 3.0,
        "receiver": "coincident",
        "loop_side_m": 25.0,
    }
    return obs, clean[keep]


def test_a_polarisable_layer_fits_cole_cole_data_no_layered_earth_fits():
    obs, clean = _polarised_sounding()
    (result,) = ServedSet().invert(obs, max_layers=2)
    assert result["misfit"]["chi"] > 3  # no non-polarisable layered earth fits
    ip = result["ip"]
    assert ip["preferred"] and ip["misfit"]["chi"] <= 1.2
    assert ip["bic"] < ip["layered_bic"]
    np.testing.assert_allclose(ip["predicted"], clean, rtol=0.05)  # the noise-free response
    model = ip["model"]
    k = ip["polarisable_layer"] - 1
    assert 0 < model["chargeability"][k] < 1 and model["tau_s"][k] > 0
    assert sum(m > 0 for m in model["chargeability"]) == 1
    band = ip["uncertainty"]
    for key in ("chargeability", "tau_s", "c"):
        assert band[key]["p10"] <= model[key][k] <= band[key]["p90"]
    assert band["tau_s"]["p10"] < band["tau_s"]["p90"]  # a finite, non-degenerate band
    for key in ("rho_ohmm", "thickness_m"):
        assert np.all(np.array(band[key]["p10"]) <= np.array(model[key]) * (1 + 1e-9))
        assert np.all(np.array(model[key]) <= np.array(band[key]["p90"]) * (1 + 1e-9))
    assert any(w.startswith("induced polarisation:") for w in result["warnings"])


def test_soundings_a_layered_earth_fits_get_no_polarisable_model():
    times = np.geomspace(1e-5, 3e-3, 25)
    fm = forward_models.create("tem-central-loop", n_layers=2, times_s=times, loop_radius_m=20.0)
    clean = fm.forward([100.0, 10.0, 30.0], precision="double")[0]
    obs = {
        "times_s": times.tolist(),
        "dbzdt_v_per_am2": (
            clean * (1 + 0.03 * np.random.default_rng(1).standard_normal(25))
        ).tolist(),
        "dbzdt_error_percent": 3.0,
        "receiver": "central",
        "loop_radius_m": 20.0,
    }
    (result,) = ServedSet().invert(obs, max_layers=2)
    assert result["misfit"]["chi"] <= IP_TRIGGER_CHI and result["ip"] is None
    (ves,) = ServedSet().invert(
        {"ab2_m": [1, 2, 5, 10, 20, 50], "rho_a_ohmm": [10, 11, 14, 20, 30, 40]}, max_layers=1
    )
    assert ves["ip"] is None


P20 = DATA / "field_more" / "tem_temfast_hengstberg_p20_sel.tem"


def test_a_polarisable_fit_predicts_the_sign_reversal_it_never_saw():
    """Hengstberg P08-25 (TEM-FAST, 25 m loop, graphite site): no layered earth of up to 3 layers
    fits it at a 5 % floor; one polarisable layer does, and fitted without the six gates where
    the transient reverses sign (file lines 24–29), it predicts their negative sign."""
    obs = inversion.read_soundings(str(P20))["P08-25"]
    assert len(obs.pop("reversed_gates")["times_s"]) == 6
    (result,) = ServedSet().invert(obs, noise_floor=FLOOR, max_layers=3)
    assert result["misfit"]["chi"] > 5
    ip = result["ip"]
    assert ip["preferred"] and ip["misfit"]["chi"] <= 1.5 and ip["reversed_gates"] is None
    lines = P20.read_text().splitlines()[23:29]  # channels 16–21: µs, V/A
    times_s = np.array([float(line.split()[1]) for line in lines]) * 1e-6
    observed = np.array([float(line.split()[2]) for line in lines])
    assert np.all(observed < 0)
    model = ip["model"]
    fm = forward_models.create(
        "tem-coincident-loop", n_layers=ip["n_layers"], times_s=times_s, loop_side_m=25.0
    )
    tau = [t if t > 0 else 1.0 for t in model["tau_s"]]
    c = [v if v > 0 else 1.0 for v in model["c"]]
    predicted = fm.forward_cole_cole(
        model["rho_ohmm"] + model["thickness_m"], [model["chargeability"]], [tau], [c]
    )[0]
    assert np.all(predicted < 0)


def test_the_reversed_gates_are_fitted_too():
    """P08-25 as read, with its six reversed gates: the polarisable fit reaches χ ≤ 1.5 on the
    fitted gates and on the reversed ones, predicting them below zero."""
    obs = inversion.read_soundings(str(P20))["P08-25"]
    (result,) = ServedSet().invert(obs, noise_floor=FLOOR, max_layers=4)
    ip = result["ip"]
    assert ip["preferred"] and ip["misfit"]["chi"] <= 1.5
    reversed_fit = ip["reversed_gates"]
    assert reversed_fit["chi"] <= 1.5 and len(reversed_fit["predicted"]) == 6
    assert all(v < 0 for v in reversed_fit["predicted"])
    assert any("after the sign reversal are fitted too" in w for w in result["warnings"])


def _reversing(**change) -> dict:
    obs, _ = _polarised_sounding()
    times = obs["times_s"]
    obs["reversed_gates"] = {
        "times_s": [times[-1] * 1.5, times[-1] * 2.0],
        "dbzdt_v_per_am2": [-1e-9, -5e-10],
        "dbzdt_error_percent": [10.0, 20.0],
    }
    obs["reversed_gates"].update(change)
    return obs


@pytest.mark.parametrize(
    ("change", "field", "text"),
    [
        ({"dbzdt_v_per_am2": [-1e-9, 5e-10]}, "reversed_gates.dbzdt_v_per_am2", "below zero"),
        ({"dbzdt_error_percent": [10.0]}, "reversed_gates", "equal lengths (2, 2, 1)"),
        ({"times_s": [1e-3, 1e-3]}, "reversed_gates.times_s", "repeats a gate time"),
        (
            {"dbzdt_error_percent": [10.0, -1.0]},
            "reversed_gates.dbzdt_error_percent[1]",
            "must be positive",
        ),
        ({"times_s": [1e-3, float("nan")]}, "reversed_gates.times_s[1]", "not a finite number"),
        ({"times_s": None}, "reversed_gates.times_s", "reversed_gates.times_s"),
    ],
)
def test_malformed_reversed_gates_are_refused(change, field, text):
    with pytest.raises(inversion.InversionInputError) as err:
        parse_served(_reversing(**change), FLOOR)
    assert err.value.status == 400 and err.value.field == field and text in str(err.value)


def test_reversed_gates_are_read_sorted_and_not_with_gate_integration():
    sounding = parse_served(_reversing(times_s=[2e-3, 1e-3]), FLOOR)
    np.testing.assert_allclose(sounding.reversed_gates.times_s, [1e-3, 2e-3])
    np.testing.assert_allclose(sounding.reversed_gates.sigma, [0.2, 0.1])  # sorted with them
    gated = _reversing()
    times = np.asarray(gated["times_s"])
    gated["gate_open_s"], gated["gate_close_s"] = (times * 0.95).tolist(), (times * 1.05).tolist()
    with pytest.raises(inversion.InversionInputError, match="gate-integrated"):
        parse_served(gated, FLOOR)
