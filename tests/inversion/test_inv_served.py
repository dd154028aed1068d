"""Served networks: the canonical frame, the robust search, the layer choice and the refusals."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import forward_models
from inversion import InversionInputError
from inversion.layers import bic, choose_simplest
from inversion.misfit import chi as chi_of
from inversion.served import (
    METHODS,
    SearchSettings,
    ServedNetwork,
    ServedSet,
    TrainingSettings,
    load_set,
    save_set,
    train_set,
)
from inversion.served.frame import features_batch, frame_batch, resample, to_canonical, to_physical
from inversion.served.inverter import noisy_copies
from inversion.served.parse import method_of
from inversion.served.search import bounds_for, merge_layers, split_layers

TINY = TrainingSettings(
    n_samples=3000, n_members=2, network={"hidden": 16, "max_epochs": 8, "learning_rate": 3e-3}
)


@pytest.fixture(scope="module")
def served() -> ServedSet:
    """Tiny served networks (2 and 3 layers) for Schlumberger, Wenner and MT."""
    return train_set(("ves-schlumberger", "mt-1d", "ves-wenner"), TINY, max_layers=3)


def _features(method: str, axis: np.ndarray, data: np.ndarray) -> tuple[np.ndarray, float, float]:
    spec = METHODS[method]
    k = axis.size
    rho, phase, inside = resample(
        spec, np.log10(axis), np.log10(data[:k]), data[k:] if spec.has_phase else None
    )
    lr, ll = frame_batch(spec, np.log10(axis[:1]), rho[None], inside[None])
    x = features_batch(spec, rho[None], None if phase is None else phase[None], inside[None], lr)
    return x[0], float(lr[0]), float(ll[0])


def test_ves_features_are_invariant_under_length_and_resistivity_scaling():
    model = np.array([100.0, 10.0, 1000.0, 5.0, 20.0])
    ab2 = np.logspace(0, 2.5, 16)
    fm = forward_models.create("ves-schlumberger", n_layers=3, ab2_m=ab2)
    scaled_fm = fm.with_geometry(ab2_m=ab2 * 7.0, mn2_m=None)
    scaled = model * np.array([3, 3, 3, 7, 7.0])
    x1, r1, l1 = _features("ves-schlumberger", ab2, fm.forward(model)[0])
    x2, r2, l2 = _features("ves-schlumberger", ab2 * 7, scaled_fm.forward(scaled)[0])
    np.testing.assert_allclose(x1, x2, atol=1e-9)
    assert r2 - r1 == pytest.approx(np.log10(3.0))
    assert l2 - l1 == pytest.approx(np.log10(7.0))
    c1 = to_canonical(model[None], 3, r1, l1)
    np.testing.assert_allclose(c1, to_canonical(scaled[None], 3, r2, l2), atol=1e-9)
    np.testing.assert_allclose(to_physical(c1, 3, r1, l1)[0], model, rtol=1e-12)


def test_mt_features_are_invariant_under_the_mt_scaling():
    model = np.array([30.0, 1000.0, 3.0, 500.0, 4000.0])
    periods = np.logspace(-3, 3, 25)
    c, s = 10.0, 100.0
    fm = forward_models.create("mt-1d", n_layers=3, periods_s=periods)
    fm2 = forward_models.create("mt-1d", n_layers=3, periods_s=periods * s)
    scaled = model * np.array([c, c, c, np.sqrt(c * s), np.sqrt(c * s)])
    d1 = fm.forward(model, precision="double")[0]
    d2 = fm2.forward(scaled, precision="double")[0]
    x1, r1, l1 = _features("mt-1d", periods, d1)
    x2, r2, l2 = _features("mt-1d", periods * s, d2)
    np.testing.assert_allclose(x1, x2, atol=1e-6)
    np.testing.assert_allclose(
        to_canonical(model[None], 3, r1, l1), to_canonical(scaled[None], 3, r2, l2), atol=1e-6
    )


def test_mask_marks_the_grid_points_the_sounding_reaches():
    spec = METHODS["ves-schlumberger"]
    _, _, inside = resample(spec, np.log10([2.0, 20.0, 200.0]), np.zeros(3), None)
    assert inside.sum() == 2 * spec.points_per_decade + 1


def test_split_layers_keeps_every_interface():
    model = np.array([10.0, 100.0, 4.0])
    splits = split_layers(model, 2)
    assert splits.shape == (2, 5)
    assert splits[0, 3] + splits[0, 4] == pytest.approx(4.0)  # top layer halved
    assert splits[1, 3] == pytest.approx(4.0)  # the half-space gains an interface below


def test_merge_layers_joins_neighbours_of_equal_resistivity():
    # layers 2 and 3 equal: thicknesses add, ρ stays
    merged = merge_layers(np.array([5.0, 1e5, 1e5, 13.0, 0.8, 0.7, 6.0, 6.0, 38.0]), 5)
    np.testing.assert_allclose(merged, [5.0, 1e5, 13.0, 0.8, 0.7, 12.0, 38.0])
    # a run reaching the half-space keeps the half-space's ρ and loses its interfaces
    merged = merge_layers(np.array([10.0, 100.0, 100.5, 4.0, 9.0]), 3)
    np.testing.assert_allclose(merged, [10.0, 100.5, 4.0])
    # within 0.01 decades: thickness-weighted geometric mean
    merged = merge_layers(np.array([100.0, 102.0, 10.0, 1.0, 3.0]), 3)
    np.testing.assert_allclose(merged, [10 ** ((2 + 3 * np.log10(102.0)) / 4), 10.0, 4.0])
    distinct = np.array([10.0, 11.0, 4.0])  # 0.04 decades apart: two layers
    np.testing.assert_array_equal(merge_layers(distinct, 2), distinct)


def test_a_layer_count_is_refined_again_from_a_larger_count_with_equal_layers():
    """A 3-layer fit whose two lower layers are equal is a 2-layer model: when it beats the
    2-layer search's own fit, the 2-layer fit is refined again from it and keeps the better."""
    from inversion.served import ServedSet
    from inversion.served.results import Candidate
    from inversion.served.search import Best, SearchSettings

    ab2 = np.geomspace(1.0, 300.0, 25)
    truth = np.array([30.0, 300.0, 8.0])
    fm = forward_models.create("ves-schlumberger", n_layers=2, ab2_m=ab2)
    obs = {"ab2_m": ab2.tolist(), "rho_a_ohmm": _noisy(fm, truth, np.random.default_rng(3))}
    (sounding,) = ServedSet().parse(obs)
    is_phase = np.zeros(ab2.size, dtype=bool)
    split = np.array([30.0, 300.0, 300.0, 5.0, 3.0])  # the truth with its half-space split

    def candidate(n_layers, model):
        fwd = forward_models.create("ves-schlumberger", n_layers=n_layers, ab2_m=ab2)
        pred = fwd.forward(model, precision="double")[0]
        chi = float(np.sqrt(np.mean((np.log(pred / sounding.obs.data) / 0.03) ** 2)))
        p = model.size
        best = Best(model, pred, chi, np.eye(p) * 0.01, 10, "prior", 5)
        bounds = bounds_for(METHODS["ves-schlumberger"], n_layers, ab2, sounding.rho_a)
        return Candidate(n_layers, best, bounds, None, None, {})

    stuck = candidate(2, np.array([300.0, 30.0, 50.0]))  # a search that missed the minimum
    candidates = [stuck, candidate(3, split)]
    assert candidates[1].best.chi < stuck.best.chi
    ServedSet._fewer_layers_pass(sounding, candidates, is_phase, SearchSettings())
    fixed = candidates[0]
    # the merged model, and the four with one interface removed (two of them the same model)
    assert fixed.best.start in {"merged", "dropped"} and fixed.best.n_starts == 10 + 5
    assert fixed.best.chi <= candidates[1].best.chi * (1 + 1e-6)
    np.testing.assert_allclose(fixed.best.model, truth, rtol=0.2)
    # nothing to merge, or a merged model no better than the smaller count's fit: unchanged
    good = replace(stuck, best=replace(stuck.best, chi=0.0))
    kept = [good, candidate(3, split)]
    ServedSet._fewer_layers_pass(sounding, kept, is_phase, SearchSettings())
    assert kept[0] is good


def test_drop_interfaces_removes_each_interface_keeping_either_resistivity():
    from inversion.served.search import drop_interfaces

    dropped = drop_interfaces(np.array([10.0, 100.0, 1.0, 5.0, 7.0]), 3)
    np.testing.assert_allclose(
        dropped, [[10.0, 1.0, 12.0], [100.0, 1.0, 12.0], [10.0, 100.0, 5.0], [10.0, 1.0, 5.0]]
    )
    np.testing.assert_allclose(drop_interfaces(np.array([10.0, 100.0, 5.0]), 2), [[10.0], [100.0]])


def test_a_missed_smaller_count_is_found_from_a_larger_fit_with_an_interface_removed():
    """A 3-layer truth; the 3-layer search is stuck far off, the 4-layer fit holds the truth
    plus a spurious thin layer of distinct ρ (nothing to merge): removing that interface gives
    the 3-layer minimum (start ``dropped``)."""
    from inversion.served import ServedSet
    from inversion.served.results import Candidate
    from inversion.served.search import Best, SearchSettings

    ab2 = np.geomspace(1.0, 1000.0, 31)
    truth = np.array([100.0, 5.0, 300.0, 10.0, 20.0])
    fm = forward_models.create("ves-schlumberger", n_layers=3, ab2_m=ab2)
    obs = {"ab2_m": ab2.tolist(), "rho_a_ohmm": _noisy(fm, truth, np.random.default_rng(5))}
    (sounding,) = ServedSet().parse(obs)
    is_phase = np.zeros(ab2.size, dtype=bool)

    def candidate(n_layers, model):
        fwd = forward_models.create("ves-schlumberger", n_layers=n_layers, ab2_m=ab2)
        pred = fwd.forward(model, precision="double")[0]
        chi = float(np.sqrt(np.mean((np.log(pred / sounding.obs.data) / 0.03) ** 2)))
        best = Best(model, pred, chi, np.eye(model.size) * 0.01, 10, "prior", 5)
        bounds = bounds_for(METHODS["ves-schlumberger"], n_layers, ab2, sounding.rho_a)
        return Candidate(n_layers, best, bounds, None, None, {})

    stuck = candidate(3, np.array([3.0, 2000.0, 1.0, 200.0, 1.0]))
    four = candidate(4, np.array([100.0, 5.0, 300.0, 30.0, 10.0, 20.0, 5.0]))
    assert merge_layers(four.best.model, 4).size == 7  # no equal neighbours to merge
    candidates = [stuck, four]
    assert four.best.chi < stuck.best.chi
    ServedSet._fewer_layers_pass(sounding, candidates, is_phase, SearchSettings())
    fixed = candidates[0]
    assert fixed.best.start == "dropped" and fixed.best.n_starts == 10 + 4
    assert fixed.best.chi <= 1.2 and fixed.best.chi < stuck.best.chi / 3
    rho, thk = fixed.best.model[:3], fixed.best.model[3:]
    np.testing.assert_allclose(rho[[0, 2]], truth[[0, 2]], rtol=0.35)
    assert thk[1] / rho[1] == pytest.approx(truth[4] / truth[1], rel=0.35)  # the conductance


def _noisy(fm, model, rng, rel=0.03, phase=1.0):
    data = fm.forward(model, precision="double")[0]
    k = len(fm.axis_values)
    data[:k] *= 1 + rel * rng.standard_normal(k)
    if data.size > k:
        data[k:] += phase * rng.standard_normal(k)
    return data


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_geometries_invert_to_the_noise_level(served, seed):
    rng = np.random.default_rng(seed)
    x0 = 10 ** rng.uniform(0, 2)
    ab2 = x0 * np.logspace(0, rng.uniform(1.5, 2.5), int(rng.integers(12, 25)))
    model = np.array(
        [10 ** rng.uniform(0.5, 3), 10 ** rng.uniform(0.5, 3), 10 ** rng.uniform(0.5, 3)]
    )
    model = np.concatenate([model, [ab2[2], ab2[6]]])
    fm = forward_models.create("ves-schlumberger", n_layers=3, ab2_m=ab2)
    obs = {"ab2_m": ab2.tolist(), "rho_a_ohmm": _noisy(fm, model, rng).tolist()}
    result = served.invert(obs)[0]
    assert result["method"] == "ves-schlumberger"
    assert result["misfit"]["chi"] <= 1.2
    t0 = 10 ** rng.uniform(-4, 0)
    periods = t0 * np.logspace(0, rng.uniform(3, 6), int(rng.integers(15, 40)))
    mt_model = np.array([10 ** rng.uniform(0, 3) for _ in range(3)] + [300.0, 3000.0])
    fm = forward_models.create("mt-1d", n_layers=3, periods_s=periods)
    data = _noisy(fm, mt_model, rng)
    k = periods.size
    obs = {
        "periods_s": periods.tolist(),
        "rho_a_ohmm": data[:k].tolist(),
        "phase_deg": data[k:].tolist(),
    }
    result = served.invert(obs)[0]
    assert result["method"] == "mt-1d"
    assert result["misfit"]["chi"] <= 1.2


@pytest.mark.parametrize("seed", [3, 4])
def test_wenner_soundings_invert_to_the_noise_level(served, seed):
    rng = np.random.default_rng(seed)
    a = 10 ** rng.uniform(-0.3, 1) * np.logspace(
        0, rng.uniform(1.5, 2.5), int(rng.integers(10, 20))
    )
    model = np.concatenate([10 ** rng.uniform(0.5, 3, 3), [a[1], a[5]]])
    fm = forward_models.create("ves-wenner", n_layers=3, a_m=a)
    result = served.invert({"a_m": a.tolist(), "rho_a_ohmm": _noisy(fm, model, rng).tolist()})[0]
    assert result["method"] == "ves-wenner"
    assert result["network"]["name"] == f"served-ves-wenner-{result['n_layers']}l"
    assert result["misfit"]["chi"] <= 1.2


def test_a_half_space_is_chosen_as_one_layer(served):
    ab2 = np.logspace(0, 2, 15)
    obs = {"ab2_m": ab2.tolist(), "rho_a_ohmm": [250.0] * 15}
    result = served.invert(obs)[0]
    assert result["n_layers"] == 1
    assert result["model"]["rho_ohmm"][0] == pytest.approx(250.0, rel=1e-6)
    assert result["runner_up"]["n_layers"] != 1
    assert [c["n_layers"] for c in result["candidates"]] != []


def test_each_layer_count_is_refined_to_its_minimum(served):
    """Noise-free 2-layer data: the 2-layer candidate reaches χ ≪ 1 (not stopped at χ ≤ 1)."""
    fm = forward_models.create("ves-schlumberger", n_layers=2, ab2_m=np.logspace(0, 2.5, 20))
    model = np.array([20.0, 400.0, 6.0])
    obs = {"ab2_m": list(fm.axis_values), "rho_a_ohmm": fm.forward(model)[0].tolist()}
    result = served.invert(obs)[0]
    two = next(c for c in result["candidates"] if c["n_layers"] == 2)
    assert two["chi"] < 1e-2
    assert result["n_layers"] == 2
    np.testing.assert_allclose(result["model"]["rho_ohmm"], [20.0, 400.0], rtol=1e-3)


@pytest.mark.parametrize("method", ["ves-schlumberger", "mt-1d"])
def test_noisy_copies_perturb_only_the_observed_data_by_the_training_noise(served, method):
    spec, net = METHODS[method], served.networks[(method, 2)]
    axis = np.logspace(0, 2, 13) if method != "mt-1d" else np.logspace(-2, 2, 21)
    fm = forward_models.create(method, n_layers=2, **{spec.axis: axis})
    data = fm.forward(np.array([30.0, 300.0, 10.0 if method != "mt-1d" else 900.0]))[0]
    x = _features(method, axis, np.asarray(data, dtype=float))[0][None]
    copies = noisy_copies(spec, net, x, 400, 2.0)
    assert copies.shape == (401, x.shape[1])
    np.testing.assert_array_equal(copies[0], x[0])
    np.testing.assert_array_equal(copies, noisy_copies(spec, net, x, 400, 2.0))  # reproducible
    g, kinds = spec.n_grid, 2 if spec.has_phase else 1
    inside = x[0, kinds * g : (kinds + 1) * g] > 0.5
    assert 0 < inside.sum() < g  # the window covers part of the grid
    np.testing.assert_array_equal(copies[:, kinds * g :], np.repeat(x[:, kinds * g :], 401, 0))
    delta = (copies[1:] - x)[:, : kinds * g].reshape(400, kinds, g)
    assert np.all(delta[:, :, ~inside] == 0.0)  # grid points the sounding does not reach
    expected = [2.0 * 0.03 / np.log(10.0), 2.0 * 1.0 / 45.0][:kinds]  # TINY: 3 %, 1°
    np.testing.assert_allclose(delta[:, :, inside].std(axis=(0, 2)), expected, rtol=0.05)
    np.testing.assert_array_equal(noisy_copies(spec, net, x, 0, 2.0), x)


def test_noisy_copies_give_better_fitting_network_answers(served):
    """The copies only add candidates, so no sounding's network χ rises; on average it falls."""
    rng = np.random.default_rng(11)
    ab2 = np.geomspace(1.0, 300.0, 20)
    fm = forward_models.create("ves-schlumberger", n_layers=3, ab2_m=ab2)
    truths = np.hstack([10 ** rng.uniform(0, 3, (12, 3)), 10 ** rng.uniform(0, 1.5, (12, 2))])
    data = fm.forward(truths)
    alone = ServedSet(served.networks.values(), 3, replace(served.search, answer_copies=0))
    chis = []
    for row in data:
        (sounding,) = served.parse({"ab2_m": ab2.tolist(), "rho_a_ohmm": row.tolist()})
        chis.append([s.network_chi(sounding, 3) for s in (alone, served)])
    without, with_copies = np.array(chis).T
    assert np.all(with_copies <= without)
    assert np.mean(with_copies < without) >= 0.75  # (these tiny networks fit at χ ≈ 10–40)
    assert with_copies.mean() < 0.97 * without.mean()


def test_the_network_answer_is_the_best_fitting_of_mean_and_members(served):
    """network_misfit is the χ of the best of the ensemble mean and its members on the data
    (without noisy copies; with them, no worse); the network-only answer is the lowest BIC."""
    fm = forward_models.create("mt-1d", n_layers=3, periods_s=np.logspace(-2, 3, 21))
    data = fm.forward(np.array([30.0, 300.0, 3.0, 400.0, 2000.0]), precision="double")[0]
    obs = {"periods_s": list(fm.axis_values), "rho_a_ohmm": data[:21].tolist()}
    obs["phase_deg"] = data[21:].tolist()
    with_copies = served.invert(obs, max_layers=3)[0]
    default = served.search
    served.search = replace(default, answer_copies=0)
    try:
        result = served.invert(obs, max_layers=3)[0]
    finally:
        served.search = default
    (sounding,) = served.parse(obs)
    net = served.networks[("mt-1d", 3)]
    x = _features("mt-1d", fm.axis_values, data)
    members = to_physical(net.predict(x[0][None])[:, 0, :], 3, x[1], x[2])
    answers = np.vstack([10.0 ** np.log10(members).mean(axis=0), members])
    fm_obs = forward_models.create("mt-1d", n_layers=3, periods_s=sounding.obs.axis_values)
    lower, upper = bounds_for(METHODS["mt-1d"], 3, sounding.axis, sounding.rho_a)
    pred = fm_obs.forward(np.clip(answers, lower, upper), precision="double")
    is_phase = np.arange(42) >= 21
    chis = chi_of(sounding.obs.data, pred, is_phase, sounding.obs.sigma)
    three = next(c for c in result["candidates"] if c["n_layers"] == 3)
    assert three["network_chi"] == pytest.approx(chis.min(), rel=1e-9)
    three_copies = next(c for c in with_copies["candidates"] if c["n_layers"] == 3)
    assert three_copies["network_chi"] <= three["network_chi"]
    result = with_copies
    answer = result["network_answer"]  # the networks alone: the lowest BIC over layer counts
    with_networks = [c for c in result["candidates"] if c["network_chi"] is not None]
    n_data = 42
    scores = {
        c["n_layers"]: bic(c["network_chi"], n_data, 2 * c["n_layers"] - 1) for c in with_networks
    }
    assert answer["n_layers"] == min(scores, key=scores.get) and len(scores) >= 2
    assert answer["bic"] == pytest.approx(min(scores.values()), rel=1e-12)
    by_count = {c["n_layers"]: c for c in with_networks}
    assert answer["chi"] == by_count[answer["n_layers"]]["network_chi"]
    assert len(answer["model"]["rho_ohmm"]) == answer["n_layers"]
    search = result["search"]
    assert result["n_layers"] >= 2 and search["iterations"] >= 1
    assert search["network_start_iterations"] >= 1  # the network's answer refined on its own
    if search["winning_start"] == "network":
        assert search["network_start_iterations"] == search["iterations"]


def test_a_given_start_is_refined(served):
    fm = forward_models.create("ves-schlumberger", n_layers=3, ab2_m=np.logspace(0, 2.5, 20))
    model = np.array([20.0, 400.0, 5.0, 6.0, 30.0])
    obs = {"ab2_m": list(fm.axis_values), "rho_a_ohmm": fm.forward(model)[0].tolist()}
    start = {"rho_ohmm": [20.0, 400.0, 5.0], "thickness_m": [6.0, 30.0]}
    settings = served.search
    served.search = SearchSettings(n_draws=0, n_refined=0, max_iterations=5)
    try:
        result = served.invert(obs, start=start)[0]
    finally:
        served.search = settings
    three = next(c for c in result["candidates"] if c["n_layers"] == 3)
    assert three["chi"] < 1e-3


@pytest.mark.parametrize(
    "start, field",
    [
        ({"rho_ohmm": [1.0, 2.0]}, "start.thickness_m"),
        ({"rho_ohmm": [-1.0]}, "start"),
        ([1], "start"),
    ],
)
def test_a_bad_start_is_refused(served, start, field):
    obs = {"ab2_m": [1, 2, 4, 8], "rho_a_ohmm": [10, 12, 15, 20]}
    with pytest.raises(InversionInputError) as info:
        served.invert(obs, start=start)
    assert info.value.field == field and info.value.status == 400


@pytest.mark.parametrize(
    "obs, field, text",
    [
        ({"ab2_m": [1, 10, 100, 1e5], "rho_a_ohmm": [1, 2, 3, 4]}, "ab2_m[3]", "[0.5, 30000] m"),
        ({"a_m": [0.1, 1, 10], "rho_a_ohmm": [1, 2, 3]}, "a_m[0]", "served range"),
        (
            {"periods_s": [1e-7, 1, 10], "rho_a_ohmm": [1, 2, 3], "phase_deg": [45] * 3},
            "periods_s[0]",
            "[1e-05, 100000] s",
        ),
        ({"ab2_m": [1, 10, 100], "rho_a_ohmm": [1, 2, 1e7]}, "rho_a_ohmm[2]", "[0.1, 100000]"),
    ],
)
def test_outside_the_served_range_is_a_422_naming_the_range(served, obs, field, text):
    with pytest.raises(InversionInputError) as info:
        served.invert(obs)
    assert info.value.status == 422
    assert info.value.field == field
    assert text in str(info.value)


def test_data_without_a_method_are_a_400(served):
    with pytest.raises(InversionInputError) as info:
        served.invert({"x_m": [1, 2, 3], "rho_a_ohmm": [1, 2, 3]})
    assert info.value.status == 400 and "periods_s" in str(info.value)


def test_save_and_load_round_trip(served, tmp_path):
    paths = save_set(served, tmp_path)
    assert sorted(p.name for p in paths)[0] == "served-mt-1d-2l.npz"
    loaded = load_set(tmp_path, max_layers=3)
    x = np.random.default_rng(0).normal(size=(4, METHODS["mt-1d"].n_features))
    np.testing.assert_array_equal(
        loaded.networks[("mt-1d", 3)].predict(x), served.networks[("mt-1d", 3)].predict(x)
    )
    assert loaded.ready() == {
        "ves-schlumberger": True,
        "ves-wenner": True,
        "mt-1d": True,
        "tem-central-loop": False,  # no TEM networks in this set
        "tem-coincident-loop": False,
    }
    assert ServedSet(max_layers=3).ready() == dict.fromkeys(METHODS, False)
    (tmp_path / "served-x.npz").write_bytes(b"not an archive")
    with pytest.raises(ValueError):
        ServedNetwork.load(str(tmp_path / "served-x.npz"))


def _c(n, bic, unresolved=(), chi=1.0, n_data=30):
    return {
        "n_layers": n,
        "bic": bic,
        "chi": chi,
        "n_data": n_data,
        "n_free_params": 2 * n - 1,
        "unresolved": list(unresolved),
    }


def test_choose_simplest_prefers_fewer_layers_that_fit_as_well():
    assert choose_simplest([_c(2, 100.0), _c(3, 50.0)]) == 1
    assert choose_simplest([_c(2, 51.5), _c(3, 50.0)]) == 0  # within ΔBIC 2
    # within ΔBIC 6 only when the better one has unresolved layers and the simpler none
    assert choose_simplest([_c(2, 55.0), _c(3, 50.0, ["h2"])]) == 0
    assert choose_simplest([_c(2, 55.0), _c(3, 50.0)]) == 1
    assert choose_simplest([_c(2, 55.0, ["rho2"]), _c(3, 50.0, ["h2"])]) == 1


def test_a_simpler_model_outside_its_errors_does_not_fit_as_well():
    from inversion.layers import within_errors

    # 20 data: χ 1.295 with 3 parameters is rejected (χ² 33.5 on 17 dof, p 0.01), χ 0.97 with
    # 7 is not (the real case: a 4-layer TEM truth answered with 2 layers at χ 1.295)
    assert not within_errors(_c(2, 0.0, chi=1.295, n_data=20))
    assert within_errors(_c(4, 0.0, chi=0.97, n_data=20))
    assert within_errors({**_c(2, 0.0, chi=9.0, n_data=20), "chi_minimum": 1.0})
    simpler = _c(2, 42.5, chi=1.295, n_data=20)
    best = _c(4, 39.8, ["rho2", "h2", "h3"], chi=0.97, n_data=20)
    assert choose_simplest([simpler, best]) == 1
    # the next count within its errors is still preferred by the same rules
    assert choose_simplest([simpler, _c(3, 39.9, chi=1.115, n_data=20), best]) == 1
    # where the best-scoring fit is outside its errors too, the rules are as before
    worse = _c(4, 39.8, ["rho2"], chi=2.0, n_data=20)
    assert choose_simplest([_c(2, 42.5, chi=2.2, n_data=20), worse]) == 0


def test_a_tem_sounding_is_served_and_one_outside_the_range_gets_a_clear_422() -> None:
    obs = {"times_s": [1e-5, 1e-4, 1e-3], "dbzdt_v_per_am2": [1e-3, 1e-5, 1e-7]}
    assert method_of({**obs, "receiver": "coincident"}) == "tem-coincident-loop"
    far = {**obs, "times_s": [1e-5, 1e-4, 30.0], "receiver": "central", "loop_side_m": 50.0}
    with pytest.raises(InversionInputError, match=r"served range \[1e-06, 1\] s") as caught:
        ServedSet().parse(far)
    assert caught.value.status == 422 and caught.value.field == "times_s[2]"


def test_metrics_give_each_members_epochs_and_stop_reason():
    """A noisy validation loss (learning rate 3·10⁻², patience 2) stops members early; the
    metrics say so instead of only "completed"."""
    from inversion.served.network import train_served

    quick = TrainingSettings(
        n_samples=600,
        n_members=2,
        network={"hidden": 8, "max_epochs": 60, "learning_rate": 3e-2, "patience": 2},
    )
    net = train_served("ves-schlumberger", 2, quick)
    assert net.metrics["member_epochs"] and len(net.metrics["member_epochs"]) == 2
    for epochs, reason in zip(
        net.metrics["member_epochs"], net.metrics["member_stop_reasons"], strict=True
    ):
        assert 1 <= epochs <= 60
        assert reason in ("max_epochs", "early_stopping", "converged")
        assert (reason == "max_epochs") == (epochs == 60)
    assert "early_stopping" in net.metrics["member_stop_reasons"]
