"""Model spaces, samplers, noise and chunked datasets."""

from __future__ import annotations

import json

import numpy as np
import pytest

import forward_models
from forward_models import (
    ModelSpace,
    NoiseModel,
    generate_dataset,
)

PERIODS = np.geomspace(1e-3, 1e3, 12)


@pytest.fixture(scope="module")
def mt():
    return forward_models.create("mt-1d", n_layers=3, periods_s=PERIODS)


@pytest.fixture(scope="module")
def space(mt):
    return ModelSpace.for_forward_model(mt, rho_ohmm=(1.0, 5000.0), thickness_m=(0.5, 100.0))


def test_space_bounds_and_round_trip(space, mt):
    assert space.parameter_names == mt.parameter_names
    np.testing.assert_array_equal(space.lower, [1, 1, 1, 0.5, 0.5])
    np.testing.assert_array_equal(space.upper, [5000, 5000, 5000, 100, 100])
    again = ModelSpace.from_dict(json.loads(json.dumps(space.to_dict())))
    assert again == space


def test_per_layer_bounds(mt):
    space = ModelSpace.for_forward_model(
        mt, rho_ohmm=[(1, 10), (10, 100), (100, 1000)], thickness_m=[(1, 2), (3, 4)]
    )
    np.testing.assert_array_equal(space.lower, [1, 10, 100, 1, 3])
    np.testing.assert_array_equal(space.upper, [10, 100, 1000, 2, 4])


@pytest.mark.parametrize("sampler", ["sobol", "lhs", "random"])
def test_samples_are_log_uniform_inside_bounds(space, sampler):
    models = space.sample(4096, sampler=sampler, seed=3)
    assert models.shape == (4096, 5) and space.contains(models).all()
    unit = (np.log(models) - np.log(space.lower)) / (np.log(space.upper) - np.log(space.lower))
    # log-uniform: each decile of the log range holds about a tenth of the samples
    counts = np.stack([np.histogram(unit[:, j], bins=10, range=(0, 1))[0] for j in range(5)])
    assert np.all(np.abs(counts / 4096 - 0.1) < 0.03)


@pytest.mark.parametrize("sampler", ["sobol", "lhs", "random"])
def test_samples_are_reproducible_and_seeded(space, sampler):
    a = space.sample(500, sampler=sampler, seed=7)
    np.testing.assert_array_equal(a, space.sample(500, sampler=sampler, seed=7))
    assert not np.allclose(a, space.sample(500, sampler=sampler, seed=8))


@pytest.mark.parametrize("sampler", ["sobol", "random", "lhs"])
@pytest.mark.parametrize("max_depth_m", [None, 60.0])
def test_rows_do_not_depend_on_how_they_are_requested(mt, sampler, max_depth_m):
    space = ModelSpace.for_forward_model(mt, max_depth_m=max_depth_m)
    whole = space.sample(9000, sampler=sampler, seed=1, n_total=9000)
    parts = [
        space.sample(stop - start, sampler=sampler, seed=1, start=start, n_total=9000)
        for start, stop in [(0, 1), (1, 4100), (4100, 8999), (8999, 9000)]
    ]
    np.testing.assert_array_equal(np.concatenate(parts), whole)


def test_depth_limit(mt):
    space = ModelSpace.for_forward_model(mt, thickness_m=(1.0, 100.0), max_depth_m=50.0)
    models = space.sample(2000, sampler="sobol", seed=0)
    assert np.all(models[:, 3:].sum(axis=1) <= 50.0)
    assert space.contains(models).all()
    assert not space.contains([[10, 10, 10, 40.0, 40.0]])[0]


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"bounds": {"a": (1, 2)}, "parameter_names": ["a", "b"]}, "bounds"),
        ({"bounds": {"a": (1, 2), "c": (1, 2)}, "parameter_names": ["a"]}, "bounds"),
        ({"bounds": {"a": (0, 2)}, "parameter_names": ["a"]}, r"bounds\['a'\]\[0\]"),
        ({"bounds": {"a": (3, 2)}, "parameter_names": ["a"]}, r"bounds\['a'\]: low 3.0"),
        ({"bounds": {"a": (1, np.inf)}, "parameter_names": ["a"]}, r"bounds\['a'\]\[1\]"),
        ({"bounds": {"a": (1,)}, "parameter_names": ["a"]}, r"bounds\['a'\]"),
        ({"bounds": {"a": (1, 2)}, "parameter_names": ["a"], "max_depth_m": 5}, "max_depth_m"),
        ({"bounds": {"h1": (1, 2)}, "parameter_names": ["h1"], "max_depth_m": 0.5}, "max_depth_m"),
        ({"bounds": {"h1": (1, 2)}, "parameter_names": ["h1"], "max_depth_m": -1}, "max_depth_m"),
    ],
)
def test_bad_space(kwargs, field):
    with pytest.raises(ValueError, match=field):
        ModelSpace(**kwargs)


def test_bad_sample_arguments(space):
    for kwargs, field in [
        ({"n": 0}, "n"),
        ({"n": 5, "sampler": "grid"}, "sampler"),
        ({"n": 5, "seed": -1}, "seed"),
        ({"n": 5, "start": -2}, "start"),
        ({"n": 5, "sampler": "lhs", "start": 3, "n_total": 6}, "n_total"),
    ]:
        with pytest.raises(ValueError, match=field):
            space.sample(**kwargs)
    with pytest.raises(ValueError, match="thickness_m"):
        ModelSpace.for_forward_model(
            forward_models.create("mt-1d", 3, periods_s=[1.0]), thickness_m=[(1, 2)]
        )


def test_noise_statistics_and_round_trip():
    noise = NoiseModel(rho_a_rel=0.05, phase_deg=2.0)
    kinds = ("rho_a", "phase")
    clean = np.tile([100.0, 45.0], (200000, 1))
    noisy = noise.apply(clean, kinds, rng=np.random.default_rng(0))
    assert abs(np.std(noisy[:, 0] / 100.0 - 1) - 0.05) < 1e-3
    assert abs(np.std(noisy[:, 1] - 45.0) - 2.0) < 0.02
    assert abs(np.mean(noisy[:, 1]) - 45.0) < 0.02
    np.testing.assert_allclose(noise.sigma(clean[:2], kinds), [[5.0, 2.0], [5.0, 2.0]])
    assert NoiseModel.from_dict(json.loads(json.dumps(noise.to_dict()))) == noise
    np.testing.assert_array_equal(NoiseModel(0, 0).apply(clean[:5], kinds, rng=1), clean[:5])


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"rho_a_rel": -0.1}, "rho_a_rel"),
        ({"rho_a_rel": 1.5}, "rho_a_rel"),
        ({"phase_deg": np.nan}, "phase_deg"),
        ({"phase_deg": "1"}, "phase_deg"),
    ],
)
def test_bad_noise(kwargs, field):
    with pytest.raises(ValueError, match=field):
        NoiseModel(**kwargs)


def test_noise_rejects_mismatched_kinds():
    with pytest.raises(ValueError, match="data_kinds"):
        NoiseModel().apply(np.ones((2, 2)), ["rho_a", "amplitude"], rng=0)
    with pytest.raises(ValueError, match="data"):
        NoiseModel().apply(np.ones((2, 3)), ["rho_a", "phase"], rng=0)


@pytest.mark.parametrize("sampler", ["sobol", "lhs", "random"])
def test_chunks_equal_the_one_shot_dataset(mt, sampler):
    space = ModelSpace.for_forward_model(mt, max_depth_m=120.0)
    noise = NoiseModel(rho_a_rel=0.03, phase_deg=1.0)
    whole = generate_dataset(mt, space, 5001, sampler=sampler, seed=11, noise=noise)
    chunks = [
        generate_dataset(
            mt, space, 5001, sampler=sampler, seed=11, noise=noise, chunk_index=i, n_chunks=3
        )
        for i in (2, 0, 1)
    ]
    chunks.sort(key=lambda c: c.start)
    assert [(c.start, c.stop) for c in chunks] == [(0, 1667), (1667, 3334), (3334, 5001)]
    for field in ("models", "data", "data_clean"):
        np.testing.assert_array_equal(
            np.concatenate([getattr(c, field) for c in chunks]), getattr(whole, field)
        )
    np.testing.assert_array_equal(whole.data_clean, mt.forward(whole.models))
    assert not np.allclose(whole.data, whole.data_clean)
    assert len(whole) == 5001


def test_dataset_without_noise_and_bad_arguments(mt, space):
    ds = generate_dataset(mt, space, 10, seed=0)
    np.testing.assert_array_equal(ds.data, ds.data_clean)
    for kwargs, field in [
        ({"chunk_index": 3, "n_chunks": 3}, "chunk_index"),
        ({"n_chunks": 0}, "n_chunks"),
        ({"noise": {"rho_a_rel": 0.1}}, "noise"),
    ]:
        with pytest.raises(ValueError, match=field):
            generate_dataset(mt, space, 10, **kwargs)
    with pytest.raises(ValueError, match="n_samples"):
        generate_dataset(mt, space, 0)
    other = ModelSpace.for_forward_model(forward_models.create("mt-1d", 2, periods_s=[1.0]))
    with pytest.raises(ValueError, match="space"):
        generate_dataset(mt, other, 10)
