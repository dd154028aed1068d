"""Segment factors of overlapping MN/2 segments (inversion.segments) and their use in the served
search: detection rules, the closed-form factors, the profiled Jacobian against finite
differences, and recovery of a known factor from a synthetic sounding."""

from __future__ import annotations

import numpy as np
import pytest

import forward_models
from inversion.formats.response import dense_response
from inversion.segments import SegmentShifts, ShiftedForward
from inversion.served import ServedSet

# a Schlumberger sounding in three segments, the overlaps at AB/2 = 10 and 60 m
AB2_M = np.array([1.5, 2, 3, 4.5, 6, 8, 10, 10, 15, 20, 30, 40, 60, 60, 80, 100, 150, 200])
MN2_M = np.array([0.5] * 7 + [2.0] * 6 + [10.0] * 5)
TRUE_MODEL = np.array([[80.0, 15.0, 400.0, 6.0, 25.0]])  # ρ1..ρ3 Ω·m, h1, h2 m


def _forward(n_layers: int = 3):
    return forward_models.create(
        "ves-schlumberger", n_layers=n_layers, ab2_m=AB2_M, mn2_m=MN2_M.copy()
    )


def _shifts(rho_a: np.ndarray, sigma: float = 0.03) -> SegmentShifts:
    shifts = SegmentShifts.detect(AB2_M, MN2_M, rho_a, np.full(AB2_M.size, sigma))
    assert shifts is not None
    return shifts


def test_the_segment_with_most_data_is_the_reference_and_overlapping_ones_are_shifted():
    shifts = _shifts(np.ones(AB2_M.size))
    assert shifts.reference_mn2_m == 0.5  # 7 data, against 6 and 5
    assert shifts.mn2_m == (2.0, 10.0)
    assert [g.tolist() for g in shifts.groups] == [list(range(7, 13)), list(range(13, 18))]


def test_a_segment_joined_through_another_is_shifted_and_an_isolated_one_is_not():
    ab2 = np.array([1.0, 2, 3, 4, 4, 6, 8, 20, 30])
    mn2 = np.array([0.5, 0.5, 0.5, 0.5, 1, 1, 1, 5, 5])
    shifts = SegmentShifts.detect(ab2, mn2, np.ones(9), np.full(9, 0.05))
    assert shifts is not None and shifts.mn2_m == (1.0,)  # MN/2 = 5 m shares no AB/2
    chain = np.array([0.5, 0.5, 1, 1, 1, 1, 1, 5, 5])
    ab2_chain = np.array([1.0, 2, 2, 3, 4, 5, 6, 6, 8])
    shifts = SegmentShifts.detect(ab2_chain, chain, np.ones(9), np.full(9, 0.05))
    assert shifts.reference_mn2_m == 1.0 and shifts.mn2_m == (0.5, 5.0)


@pytest.mark.parametrize("mn2", [None, 0.5, np.full(AB2_M.size, 0.5)])
def test_one_segment_or_no_overlap_means_nothing_to_shift(mn2):
    assert SegmentShifts.detect(AB2_M, mn2, np.ones(AB2_M.size), np.ones(AB2_M.size)) is None
    no_overlap = np.where(np.arange(AB2_M.size) < 7, 0.5, 2.0)
    ab2 = np.geomspace(1, 200, AB2_M.size)
    assert SegmentShifts.detect(ab2, no_overlap, np.ones(ab2.size), np.ones(ab2.size)) is None


def test_the_factors_are_the_error_weighted_mean_log_ratio_of_each_segment():
    predicted = _forward().forward(TRUE_MODEL, precision="double")
    observed = predicted[0].copy()
    observed[7:13] *= 1.4
    observed[13:] *= 0.7
    shifts = _shifts(observed)
    np.testing.assert_allclose(np.exp(shifts.log_shifts(predicted)), [[1.4, 0.7]], rtol=1e-12)
    np.testing.assert_allclose(shifts.apply(predicted)[0], observed, rtol=1e-12)
    report = shifts.report(predicted[0])
    assert [s["factor"] for s in report["segments"]] == pytest.approx([1.4, 0.7], rel=1e-12)
    # unequal errors weigh the log ratios: a datum with 10x smaller error counts 100x more
    sigma = np.full(AB2_M.size, 0.05)
    sigma[7] = 0.005
    noisy = observed.copy()
    noisy[8] *= 1.2
    weighted = SegmentShifts.detect(AB2_M, MN2_M, noisy, sigma)
    w2 = 1 / sigma[7:13] ** 2
    expected = np.exp(np.sum(w2 * np.log(noisy[7:13] / predicted[0, 7:13])) / w2.sum())
    assert np.exp(weighted.log_shifts(predicted)[0, 0]) == pytest.approx(expected, rel=1e-12)


def test_the_profiled_jacobian_matches_finite_differences():
    fwd = _forward()
    rng = np.random.default_rng(3)
    observed = fwd.forward(TRUE_MODEL, precision="double")[0] * rng.lognormal(0, 0.1, AB2_M.size)
    wrapped = ShiftedForward(fwd, _shifts(observed))
    models = TRUE_MODEL * rng.lognormal(0, 0.3, (4, TRUE_MODEL.shape[1]))
    data, jac = wrapped.forward_and_jacobian(models)
    np.testing.assert_allclose(data, wrapped.forward(models, precision="double"), rtol=1e-10)
    step = 1e-5
    for j in range(models.shape[1]):
        up, down = models.copy(), models.copy()
        up[:, j] *= np.exp(step)
        down[:, j] *= np.exp(-step)
        numeric = (
            wrapped.forward(up, precision="double") - wrapped.forward(down, precision="double")
        ) / (2 * step)
        scale = np.abs(jac[:, :, j]).max()
        np.testing.assert_allclose(jac[:, :, j], numeric, atol=1e-6 * scale)
    # the wrapper is the wrapped model in every other respect
    assert wrapped.n_params == fwd.n_params and wrapped.n_data == fwd.n_data


def _observation(rho_a: np.ndarray) -> dict:
    return {
        "ab2_m": AB2_M.tolist(),
        "mn2_m": MN2_M.tolist(),
        "rho_a_ohmm": rho_a.tolist(),
        "rho_a_error_percent": 3.0,
    }


def test_a_known_segment_factor_is_recovered_and_the_fit_reaches_the_noise():
    rng = np.random.default_rng(7)
    clean = _forward().forward(TRUE_MODEL, precision="double")[0]
    observed = clean * np.exp(rng.normal(0, 0.02, clean.size))
    observed[13:] *= 1.5  # the MN/2 = 10 m segment reads 50 % high
    served = ServedSet(max_layers=4)
    auto = served.invert(_observation(observed))[0]
    report = auto["segment_shifts"]
    assert report["applied"] and report["reference_mn2_m"] == 0.5
    factors = {s["mn2_m"]: s["factor"] for s in report["segments"]}
    assert factors[10.0] == pytest.approx(1.5, rel=0.08)
    assert factors[2.0] == pytest.approx(1.0, abs=0.08)
    assert auto["misfit"]["chi"] <= 1.2
    assert report["chi_without_shifts"] > 2.0
    assert any("segments disagree" in w and "10 m" in w for w in auto["warnings"])
    # the plotted model response carries each segment's factor: it meets the fitted prediction
    curves = dense_response(_observation(observed), auto, "ab2_m")
    predicted = auto["predicted"]["rho_a_ohmm"]
    for (x, data), first in zip(curves, (0, 7, 13), strict=True):
        assert x[0] == AB2_M[first]
        assert data[0, 0] == pytest.approx(predicted[first], rel=1e-6)
    never = served.invert(_observation(observed), segment_shifts="never")[0]
    assert never["segment_shifts"] is None and never["misfit"]["chi"] > 2.0
    always = served.invert(_observation(observed), segment_shifts="always")[0]
    assert always["segment_shifts"]["applied"]
    assert always["segment_shifts"]["chi_without_shifts"] is None


def test_segments_that_agree_get_no_factors_in_auto():
    clean = _forward().forward(TRUE_MODEL, precision="double")[0]
    result = ServedSet(max_layers=4).invert(_observation(clean))[0]
    report = result["segment_shifts"]
    assert report is not None and not report["applied"]
    assert not any("segments disagree" in w for w in result["warnings"])


def test_an_unknown_shift_mode_is_refused():
    clean = _forward().forward(TRUE_MODEL, precision="double")[0]
    with pytest.raises(ValueError, match="segment_shifts must be one of auto, always, never"):
        ServedSet(max_layers=2).invert(_observation(clean), segment_shifts="sometimes")
