"""The forward-model interface: names, create, specs, layout, batching, backends, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

import forward_models
from forward_models._backend import cupy_available, get_array_module

AB2 = [1.0, 1.5, 2.2, 3.2, 4.6, 6.8, 10.0, 15.0, 22.0, 32.0]
GEOMETRIES = {
    "ves-schlumberger": {"ab2_m": AB2, "mn2_m": 0.5},
    "ves-wenner": {"a_m": [1.0, 2.0, 4.0, 8.0]},
    "mt-1d": {"periods_s": [0.01, 0.1, 1.0, 10.0]},
}
MODEL = [100.0, 10.0, 1000.0, 5.0, 20.0]


def test_names():
    assert forward_models.names() == [
        "ves-schlumberger",
        "ves-wenner",
        "mt-1d",
        "tem-central-loop",
        "tem-coincident-loop",
    ]


@pytest.mark.parametrize("name", list(GEOMETRIES))
def test_description_and_round_trip(name):
    fm = forward_models.create(name, n_layers=3, **GEOMETRIES[name])
    assert fm.name == name and fm.n_layers == 3 and fm.n_params == 5
    assert fm.parameter_names == ["rho1", "rho2", "rho3", "h1", "h2"]
    assert len(fm.data_names) == len(fm.data_kinds) == fm.n_data
    spec = json.loads(json.dumps(fm.to_dict()))
    assert spec["name"] == name and spec["n_layers"] == 3
    again = forward_models.from_dict(spec)
    assert again == fm and again.to_dict() == fm.to_dict()
    np.testing.assert_array_equal(again.forward(MODEL), fm.forward(MODEL))


def test_layouts():
    fm = forward_models.create("mt-1d", n_layers=2, periods_s=[0.01, 1.0])
    assert fm.axis_name == "periods_s"
    np.testing.assert_array_equal(fm.axis_values, [0.01, 1.0])
    assert fm.data_kinds == ("rho_a", "rho_a", "phase", "phase")
    assert fm.data_names == ["rho_a@T=0.01s", "rho_a@T=1s", "phase@T=0.01s", "phase@T=1s"]
    ves = forward_models.create("ves-schlumberger", n_layers=2, ab2_m=[1.5, 3.0])
    assert ves.axis_name == "ab2_m" and ves.data_names == ["rho_a@ab2=1.5m", "rho_a@ab2=3m"]
    assert ves.data_kinds == ("rho_a", "rho_a") and ves.geometry["mn2_m"] is None
    wen = forward_models.create("ves-wenner", n_layers=2, a_m=[2.0])
    assert wen.axis_name == "a_m" and wen.data_names == ["rho_a@a=2m"]


def test_schlumberger_mn2_forms_are_kept():
    scalar = forward_models.create("ves-schlumberger", 2, ab2_m=AB2, mn2_m=0.5)
    per = forward_models.create("ves-schlumberger", 2, ab2_m=AB2, mn2_m=[0.5] * len(AB2))
    assert scalar.to_dict()["mn2_m"] == 0.5
    assert per.to_dict()["mn2_m"] == [0.5] * len(AB2)
    np.testing.assert_allclose(scalar.forward([10.0, 100.0, 3.0]), per.forward([10.0, 100.0, 3.0]))


def test_with_geometry():
    fm = forward_models.create("ves-wenner", n_layers=3, a_m=[1.0, 2.0])
    other = fm.with_geometry(a_m=[3.0, 6.0, 12.0])
    assert other.name == fm.name and other.n_layers == 3 and other.n_data == 3
    assert fm.n_data == 2


def test_geometry_is_a_copy():
    fm = forward_models.create("ves-wenner", n_layers=2, a_m=[1.0, 2.0])
    fm.geometry["a_m"][0] = 99.0
    fm.axis_values[0] = 99.0
    assert fm.to_dict()["a_m"] == [1.0, 2.0]


@pytest.mark.parametrize("name", list(GEOMETRIES))
def test_batch_shapes_and_threaded_chunks(name):
    fm = forward_models.create(name, n_layers=3, **GEOMETRIES[name])
    rng = np.random.default_rng(0)
    n = 3 * fm.chunk_rows + 17
    models = np.exp(rng.uniform(np.log(1.0), np.log(500.0), size=(n, 5)))
    out = fm.forward(models)
    assert out.shape == (n, fm.n_data) and out.dtype == np.float64
    rows = [0, fm.chunk_rows - 1, fm.chunk_rows, n - 1]
    np.testing.assert_allclose(out[rows], fm.forward(models[rows]), rtol=1e-6)
    assert fm.forward(models[0]).shape == (1, fm.n_data)
    assert np.all(np.isfinite(out)) and np.all(out > 0)


@pytest.mark.parametrize("name", list(GEOMETRIES))
def test_single_and_double_precision_agree(name):
    fm = forward_models.create(name, n_layers=3, **GEOMETRIES[name])
    rng = np.random.default_rng(1)
    rho = np.exp(rng.uniform(0.0, np.log(5000.0), size=(2000, 3)))
    thk = np.exp(rng.uniform(np.log(0.5), np.log(100.0), size=(2000, 2)))
    models = np.hstack([rho, thk])
    single = fm.forward(models, precision="single")
    double = fm.forward(models, precision="double")
    kinds = np.array(fm.data_kinds)
    rel = np.abs(single[:, kinds == "rho_a"] / double[:, kinds == "rho_a"] - 1)
    assert rel.max() < 6e-4
    if "phase" in kinds:
        assert np.abs(single[:, kinds == "phase"] - double[:, kinds == "phase"]).max() < 0.01


def test_numpy_backend_and_missing_cupy():
    fm = forward_models.create("mt-1d", n_layers=3, **GEOMETRIES["mt-1d"])
    assert get_array_module(np.ones(2)) is np
    np.testing.assert_array_equal(fm.forward(MODEL, backend="numpy"), fm.forward(MODEL))
    if not cupy_available():
        with pytest.raises(ValueError, match="backend"):
            fm.forward(MODEL, backend="cupy")
    with pytest.raises(ValueError, match="backend"):
        fm.forward(MODEL, backend="tpu")
    with pytest.raises(ValueError, match="precision"):
        fm.forward(MODEL, precision="half")


# -- bad input ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, n_layers, geometry, field",
    [
        ("ves-dipole", 3, {}, "name"),
        ("mt-1d", 0, {"periods_s": [1.0]}, "n_layers"),
        ("mt-1d", -2, {"periods_s": [1.0]}, "n_layers"),
        ("mt-1d", 2.5, {"periods_s": [1.0]}, "n_layers"),
        ("mt-1d", True, {"periods_s": [1.0]}, "n_layers"),
        ("mt-1d", 3, {}, "periods_s"),
        ("mt-1d", 3, {"periods_s": []}, "periods_s"),
        ("mt-1d", 3, {"periods_s": [1.0, 0.0]}, r"periods_s\[1\]"),
        ("mt-1d", 3, {"periods_s": [1.0, -3.0]}, r"periods_s\[1\]"),
        ("mt-1d", 3, {"periods_s": [np.nan]}, r"periods_s\[0\]"),
        ("mt-1d", 3, {"periods_s": [1.0, np.inf]}, r"periods_s\[1\]"),
        ("mt-1d", 3, {"periods_s": [[1.0, 2.0]]}, "periods_s"),
        ("mt-1d", 3, {"periods_s": "1,2"}, "periods_s"),
        ("mt-1d", 3, {"periods_s": [1.0], "ab2_m": [1.0]}, "ab2_m"),
        ("ves-wenner", 3, {"a_m": [1.0, -1.0]}, r"a_m\[1\]"),
        ("ves-wenner", 3, {"a_m": [np.nan]}, r"a_m\[0\]"),
        ("ves-schlumberger", 3, {"ab2_m": [0.0, 1.0]}, r"ab2_m\[0\]"),
        ("ves-schlumberger", 3, {"ab2_m": [1.0, np.inf]}, r"ab2_m\[1\]"),
        ("ves-schlumberger", 3, {"ab2_m": [1.0, 2.0], "mn2_m": 1.0}, "mn2_m"),
        ("ves-schlumberger", 3, {"ab2_m": [1.0, 2.0], "mn2_m": [0.5, 2.0]}, r"mn2_m\[1\]"),
        ("ves-schlumberger", 3, {"ab2_m": [1.0, 2.0], "mn2_m": [0.5, 0.5, 0.5]}, "mn2_m"),
        ("ves-schlumberger", 3, {"ab2_m": [1.0, 2.0], "mn2_m": -0.1}, "mn2_m"),
        ("ves-schlumberger", 3, {"ab2_m": [1.0, 2.0], "mn2_m": [0.1, np.nan]}, r"mn2_m\[1\]"),
    ],
)
def test_bad_create_arguments(name, n_layers, geometry, field):
    with pytest.raises(ValueError, match=field):
        forward_models.create(name, n_layers=n_layers, **geometry)


def test_mn2_error_says_what_is_wrong():
    with pytest.raises(ValueError, match=r"mn2_m\[1\]: must be smaller than ab2_m\[1\]"):
        forward_models.create("ves-schlumberger", 2, ab2_m=[1.0, 2.0], mn2_m=[0.5, 2.0])
    with pytest.raises(ValueError, match="one per ab2_m"):
        forward_models.create("ves-schlumberger", 2, ab2_m=[1.0, 2.0], mn2_m=[0.5])


@pytest.mark.parametrize(
    "spec, field",
    [
        ({"n_layers": 3}, "name"),
        ({"name": "mt-1d"}, "n_layers"),
        ({"name": "nope", "n_layers": 3}, "name"),
        ([1, 2], "spec"),
    ],
)
def test_bad_spec(spec, field):
    with pytest.raises(ValueError, match=field):
        forward_models.from_dict(spec)


@pytest.mark.parametrize(
    "models, field",
    [
        ([100.0, 10.0, 1000.0, 5.0], r"models: expected shape \(n, 5\)"),
        ([[100.0, 10.0, 1000.0, 5.0, 20.0, 1.0]], "models: expected shape"),
        (np.ones((2, 5, 1)), "models: expected shape"),
        ([[100.0, -10.0, 1000.0, 5.0, 20.0]], r"models\[0, 1\] \(rho2\): resistivity"),
        ([[100.0, 10.0, 0.0, 5.0, 20.0]], r"models\[0, 2\] \(rho3\): resistivity"),
        ([MODEL, [100.0, 10.0, 1000.0, np.nan, 20.0]], r"models\[1, 3\] \(h1\): thickness"),
        ([[100.0, 10.0, 1000.0, 5.0, -np.inf]], r"models\[0, 4\] \(h2\): thickness"),
        ([["a", "b", "c", "d", "e"]], "models"),
    ],
)
def test_bad_models(models, field):
    fm = forward_models.create("ves-schlumberger", n_layers=3, ab2_m=AB2)
    with pytest.raises(ValueError, match=field):
        fm.forward(models)


@pytest.mark.parametrize("geometry", [{"ab2_m": AB2}, {"ab2_m": AB2, "mn2_m": 0.5}])
def test_single_precision_survives_extreme_contrasts(geometry):
    """Five layers over 6 decades of resistivity: float32 cancellation is caught and redone."""
    fm = forward_models.create("ves-schlumberger", n_layers=5, **geometry)
    rng = np.random.default_rng(3)
    rho = np.exp(rng.uniform(np.log(0.1), np.log(1e5), size=(3000, 5)))
    thk = np.exp(rng.uniform(np.log(0.1), np.log(300.0), size=(3000, 4)))
    models = np.hstack([rho, thk])
    single = fm.forward(models, precision="single")
    double = fm.forward(models, precision="double")
    assert np.all(single > 0) and np.all(double > 0)
    assert np.max(np.abs(single / double - 1)) < 6e-4


def test_mt_single_precision_at_extreme_contrasts():
    fm = forward_models.create("mt-1d", n_layers=5, periods_s=np.geomspace(1e-4, 1e4, 41))
    rng = np.random.default_rng(4)
    rho = np.exp(rng.uniform(np.log(0.1), np.log(1e5), size=(3000, 5)))
    thk = np.exp(rng.uniform(np.log(0.1), np.log(1e4), size=(3000, 4)))
    models = np.hstack([rho, thk])
    single = fm.forward(models, precision="single")
    double = fm.forward(models, precision="double")
    assert np.max(np.abs(single[:, :41] / double[:, :41] - 1)) < 1e-3
    assert np.max(np.abs(single[:, 41:] - double[:, 41:])) < 0.01
    assert np.all((double[:, 41:] > 0) & (double[:, 41:] < 90))
