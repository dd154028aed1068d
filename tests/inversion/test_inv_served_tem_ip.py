"""Induced polarisation in the served TEM path: a polarisable layer is fitted where no layered
earth fits (synthetic Cole–Cole data, and a real IP-affected TEM-FAST sounding), and nowhere
else."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import forward_models
import inversion
from inversion.served import ServedSet
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


def test_a_real_ip_affected_sounding_is_fitted_by_a_polarisable_layer():
    """Hengstberg P08-25 (TEM-FAST, 25 m loop, graphite site): no layered earth of up to 3 layers
    fits it at a 5 % floor; one polarisable layer does, and although fitted without the six gates
    where the transient reverses sign (file lines 24–29, dropped by the reader), it predicts
    their negative sign."""
    path = DATA / "field_more" / "tem_temfast_hengstberg_p20_sel.tem"
    obs = inversion.read_soundings(str(path))["P08-25"]
    (result,) = ServedSet().invert(obs, noise_floor=FLOOR, max_layers=3)
    assert result["misfit"]["chi"] > 5
    ip = result["ip"]
    assert ip["preferred"] and ip["misfit"]["chi"] <= 1.5
    lines = path.read_text().splitlines()[23:29]  # channels 16–21: µs, V/A
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
