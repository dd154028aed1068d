"""Believable bands (inversion.bands.honest_band): inside the trained bounds, widened by χ on a
poor fit, withheld on a failed one, and parameters the data do not bound named."""

from __future__ import annotations

import numpy as np
import pytest

from inversion.bands import WIDEN_CHI, WITHHOLD_CHI, honest_band

NAMES = ["rho1", "rho2", "h1"]
LOWER = np.array([1.0, 1.0, 0.5])
UPPER = np.array([1e5, 1e5, 1e3])


def _band(p10, p50, p90):
    return {"p10": np.array(p10), "p50": np.array(p50), "p90": np.array(p90)}


def test_a_band_inside_the_bounds_on_a_good_fit_is_unchanged() -> None:
    band = _band([50.0, 5.0, 8.0], [100.0, 10.0, 10.0], [200.0, 20.0, 12.5])
    out, notes, warnings = honest_band(band, 0.9, LOWER, UPPER, NAMES)
    for q in ("p10", "p50", "p90"):
        np.testing.assert_array_equal(out[q], band[q])
    assert notes == {"chi_scale": 1.0, "withheld": None, "unbounded": {}} and warnings == []


def test_a_band_past_a_bound_is_clipped_and_the_parameter_named() -> None:
    band = _band([50.0, 1e3, 0.1], [100.0, 1e4, 10.0], [200.0, 3e8, 12.5])
    out, notes, warnings = honest_band(band, 1.0, LOWER, UPPER, NAMES)
    np.testing.assert_array_equal(out["p90"], [200.0, 1e5, 12.5])
    np.testing.assert_array_equal(out["p10"], [50.0, 1e3, 0.5])
    assert notes["unbounded"] == {"rho2": "above", "h1": "below"}
    assert any("rho2 is not bounded by the data from above" in w for w in warnings)


def test_a_band_over_the_whole_range_is_not_bounded_on_either_side() -> None:
    band = _band([0.01, 10.0, 8.0], [100.0, 10.0, 10.0], [1e7, 10.0, 12.0])
    _, notes, _ = honest_band(band, 1.0, LOWER, UPPER, NAMES)
    assert notes["unbounded"] == {"rho1": "both"}


def test_a_poor_fit_widens_the_log_half_widths_by_chi() -> None:
    chi = 2.0
    assert WIDEN_CHI < chi < WITHHOLD_CHI
    band = _band([50.0, 5.0, 8.0], [100.0, 10.0, 10.0], [200.0, 20.0, 12.5])
    out, notes, warnings = honest_band(band, chi, LOWER, UPPER, NAMES)
    assert notes["chi_scale"] == chi and "widened" in warnings[0]
    np.testing.assert_allclose(out["p10"], [25.0, 2.5, 6.4], rtol=1e-12)  # p50·(p10/p50)^χ
    np.testing.assert_allclose(out["p90"], [400.0, 40.0, 15.625], rtol=1e-12)


@pytest.mark.parametrize("chi", [7.1, float("inf"), None])
def test_a_failed_fit_withholds_the_band_with_a_reason(chi) -> None:
    band = _band([95.0, 9.5, 9.5], [100.0, 10.0, 10.0], [105.0, 10.5, 10.5])  # ±3 %
    out, notes, warnings = honest_band(band, chi, LOWER, UPPER, NAMES)
    np.testing.assert_array_equal(out["p10"], LOWER)
    np.testing.assert_array_equal(out["p90"], UPPER)
    assert "does not explain the data" in notes["withheld"]
    assert warnings[0].startswith("uncertainty withheld")


def test_inverter_results_keep_their_bands_inside_the_trained_bounds(ves_inverter, noisy) -> None:
    from inversion.observations import observation_from_data

    fm = ves_inverter.forward_model
    models = np.array([[100.0, 10.0, 4000.0, 5.0, 90.0], [3.0, 300.0, 20.0, 1.0, 10.0]])
    data = noisy(ves_inverter, models, seed=2)
    results = ves_inverter.invert([observation_from_data(fm, d) for d in data])
    lower, upper = ves_inverter._bounds()
    for result in results:
        u = result["uncertainty"]
        p10 = np.array(u["rho_ohmm"]["p10"] + u["thickness_m"]["p10"])
        p90 = np.array(u["rho_ohmm"]["p90"] + u["thickness_m"]["p90"])
        assert np.all(p10 >= lower) and np.all(p90 <= upper)
        assert set(u) >= {"chi_scale", "withheld", "unbounded"}
        for name in u["unbounded"]:
            assert any(w.startswith(f"{name} is not bounded") for w in result["warnings"])
