"""Feature and target transforms: exact inverses, JSON round trips, clear errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

import forward_models
from forward_models import ModelSpace
from inversion.transforms import DataTransform, ParameterTransform

PERIODS = np.geomspace(1e-3, 1e3, 12)


@pytest.fixture(scope="module")
def mt():
    return forward_models.create("mt-1d", n_layers=3, periods_s=PERIODS)


@pytest.fixture(scope="module")
def space(mt):
    return ModelSpace.for_forward_model(mt, rho_ohmm=(1.0, 5000.0), thickness_m=(0.5, 100.0))


def test_data_transform_is_exactly_invertible_and_serialisable(mt, space):
    data = mt.forward(space.sample(1000, seed=2))
    transform = DataTransform(mt.data_kinds).fit(data)
    features = transform.transform(data)
    np.testing.assert_allclose(features.mean(axis=0), 0, atol=1e-10)
    np.testing.assert_allclose(features.std(axis=0), 1, rtol=1e-10)
    np.testing.assert_allclose(transform.inverse_transform(features), data, rtol=1e-12)
    k = len(PERIODS)
    log_rho = np.log10(data[:, :k])
    np.testing.assert_allclose(
        features[:, 0], (log_rho[:, 0] - log_rho[:, 0].mean()) / log_rho[:, 0].std()
    )
    phase = data[:, k] / 90
    np.testing.assert_allclose(features[:, k], (phase - phase.mean()) / phase.std())
    again = DataTransform.from_dict(json.loads(json.dumps(transform.to_dict())))
    np.testing.assert_array_equal(again.transform(data), features)


def test_parameter_transform_is_exactly_invertible_and_serialisable(space):
    models = space.sample(1000, seed=4)
    transform = ParameterTransform(5).fit(models)
    features = transform.transform(models)
    np.testing.assert_allclose(transform.inverse_transform(features), models, rtol=1e-12)
    again = ParameterTransform.from_dict(json.loads(json.dumps(transform.to_dict())))
    np.testing.assert_array_equal(
        again.inverse_transform(features), transform.inverse_transform(features)
    )


def test_transform_errors():
    transform = ParameterTransform(2)
    with pytest.raises(ValueError, match="not fitted"):
        transform.transform(np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"models: expected shape \(n, 2\)"):
        transform.fit(np.ones((3, 3)))
    with pytest.raises(ValueError, match="non-finite"):
        transform.fit(np.array([[1.0, -1.0]]))
    with pytest.raises(ValueError, match="n_params"):
        ParameterTransform(0)
    with pytest.raises(ValueError, match="data_kinds"):
        DataTransform(["rho_a", "tipper"])
    with pytest.raises(ValueError, match="std"):
        ParameterTransform.from_dict({"n_params": 1, "mean": [0.0], "std": [0.0]})
