"""Training-domain statistics: Mahalanobis distance, percentile threshold, envelope."""

import numpy as np
import pytest

from inversion.domain import TrainingDomain


@pytest.fixture(scope="module")
def gaussian() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    scales = np.array([1.0, 2.0, 0.5, 3.0])
    return rng.normal(size=(20000, 4)) * scales, scales


def test_mahalanobis_matches_the_analytic_distance(gaussian) -> None:
    x, scales = gaussian
    domain = TrainingDomain().fit(x)
    point = np.array([[1.0, -2.0, 0.5, 3.0]])
    expected = np.sqrt(np.sum((point / scales) ** 2))  # = 2 for independent axes
    assert domain.mahalanobis(point)[0] == pytest.approx(expected, rel=0.03)


def test_threshold_flags_about_half_a_percent_of_fresh_in_domain_points(gaussian) -> None:
    x, scales = gaussian
    domain = TrainingDomain(percentile=99.5).fit(x)
    fresh = np.random.default_rng(4).normal(size=(20000, 4)) * scales
    rate = 1.0 - domain.check(fresh).in_domain.mean()
    assert 0.002 < rate < 0.012
    # χ with 4 degrees of freedom: the 99.5th percentile of the distance is sqrt(14.86) = 3.85.
    assert domain.threshold_ == pytest.approx(3.85, rel=0.05)


def test_points_far_away_or_outside_the_envelope_are_flagged(gaussian) -> None:
    x, _ = gaussian
    domain = TrainingDomain().fit(x)
    far = np.array([[0.0, 0.0, 0.0, 40.0], [0.0, 0.0, 0.0, 0.0]])
    check = domain.check(far)
    assert check.in_domain.tolist() == [False, True]
    assert check.outside_envelope[0].tolist() == [False, False, False, True]
    reasons = check.reasons(0, ["a", "b", "c", "d"])
    assert any("envelope: d" in r for r in reasons)
    assert any("Mahalanobis" in r for r in reasons)
    assert check.reasons(1, ["a", "b", "c", "d"]) == []


def test_round_trip_through_a_dict_keeps_the_decisions(gaussian) -> None:
    x, _ = gaussian
    domain = TrainingDomain().fit(x[:5000])
    copy = TrainingDomain.from_dict(domain.to_dict())
    probe = x[5000:6000] * 1.5
    np.testing.assert_allclose(copy.mahalanobis(probe), domain.mahalanobis(probe))
    assert copy.check(probe).in_domain.tolist() == domain.check(probe).in_domain.tolist()


def test_bad_arguments_raise() -> None:
    with pytest.raises(ValueError, match="percentile"):
        TrainingDomain(percentile=100.0)
    with pytest.raises(ValueError, match="features"):
        TrainingDomain().fit(np.zeros((3, 4)))
