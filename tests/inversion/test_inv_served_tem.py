"""TEM through the served path: the scaling law behind its frame, the parse of the real files,
the refusals, a tiny network, and inversions of a synthetic and a real sounding."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import forward_models
import inversion
from inversion import InversionInputError
from inversion.served import METHODS, ServedSet, TrainingSettings, train_served
from inversion.served.frame import features_batch, frame_batch, resample, to_canonical
from inversion.served.network import synthetic
from inversion.served.parse import method_of, parse_served
from inversion.served.search import SearchSettings, bounds_for, refine_starts
from inversion.served.tem import RISING_Z, late_time_rho_a, rising_early_gates

FIELD = Path(__file__).resolve().parents[1] / "data" / "field"
FLOOR = {"rho_a_rel": 0.05, "phase_deg": 1.5}
TEM_FILES = sorted(FIELD.glob("tem_*.csv"))


def _tem(method: str, model, times, **loop) -> np.ndarray:
    fm = forward_models.create(method, n_layers=(len(model) + 1) // 2, times_s=times, **loop)
    return np.asarray(fm.forward(np.asarray(model, float), precision="double"))[0]


@pytest.mark.parametrize("method", ["tem-central-loop", "tem-coincident-loop"])
def test_tem_scales_as_the_frame_assumes(method):
    """Lengths × s, resistivities × c: times × s²/c and −dBz/dt per ampere × c/s³."""
    model = np.array([30.0, 3.0, 300.0, 20.0, 40.0])
    times = np.logspace(-5, -2, 13)
    s, c = 3.0, 10.0
    base = _tem(method, model, times, loop_side_m=50.0)
    scaled = _tem(method, model * [c, c, c, s, s], times * s * s / c, loop_side_m=150.0)
    np.testing.assert_allclose(scaled, base * c / s**3, rtol=1e-8)


def test_late_time_apparent_resistivity_of_a_half_space_is_its_resistivity():
    times = np.logspace(-3, -2, 5)  # τ = tρ/(μ₀A) from 32 to 318
    for method in ("tem-central-loop", "tem-coincident-loop"):
        data = _tem(method, [100.0], times, loop_side_m=50.0)
        np.testing.assert_allclose(late_time_rho_a(times, data, 2500.0), 100.0, rtol=0.01)


def _served_features(obs: dict) -> tuple[np.ndarray, float, float]:
    sounding = parse_served(obs, {"rho_a_rel": 0.03, "phase_deg": 1.0})
    rho, _, inside = resample(sounding.spec, sounding.log_axis, sounding.log_rho_a, None)
    lr, ll = frame_batch(sounding.spec, sounding.log_axis[:1], rho[None], inside[None])
    x = features_batch(
        sounding.spec, rho[None], None, inside[None], lr, sounding.extra_features(lr)
    )
    return x[0], float(lr[0]), float(ll[0])


def test_tem_features_and_canonical_models_are_invariant_under_the_scaling():
    model = np.array([30.0, 3.0, 300.0, 20.0, 40.0])
    times = np.logspace(-5, -2.5, 16)
    s, c = 3.0, 10.0
    obs = []
    for ci, si in ((1.0, 1.0), (c, s)):
        t, side = times * si * si / ci, 50.0 * si
        data = _tem("tem-coincident-loop", model * [ci, ci, ci, si, si], t, loop_side_m=side)
        obs.append(
            {"times_s": t, "dbzdt_v_per_am2": data, "receiver": "coincident", "loop_side_m": side}
        )
    (x1, r1, l1), (x2, r2, l2) = (_served_features(o) for o in obs)
    assert x1.size == METHODS["tem-coincident-loop"].n_features
    np.testing.assert_allclose(x1, x2, atol=1e-7)
    assert r2 - r1 == pytest.approx(np.log10(c), abs=1e-7)
    assert l2 - l1 == pytest.approx(np.log10(s), abs=1e-7)
    scaled_model = model * np.array([c, c, c, s, s])
    np.testing.assert_allclose(
        to_canonical(model[None], 3, r1, l1), to_canonical(scaled_model[None], 3, r2, l2), atol=1e-7
    )


@pytest.mark.parametrize("path", TEM_FILES, ids=lambda p: p.stem)
def test_each_real_tem_file_parses_into_a_served_sounding(path):
    (obs,) = inversion.read_soundings(str(path)).values()
    sounding = parse_served(obs, FLOOR)
    assert sounding.spec.name == "tem-coincident-loop"  # every field file is a single loop
    k = sounding.axis.size
    assert k >= 20 and np.all(np.diff(sounding.axis) > 0)
    assert np.all(sounding.obs.sigma >= 0.05) and sounding.obs.data.size == k
    assert np.all(np.isfinite(sounding.log_rho_a)) and sounding.loop_area_m2 > 0
    # the data must be a decay from the first kept gate on
    assert np.argmax(sounding.obs.data) == 0


def test_rising_early_gates_are_dropped_with_a_warning():
    (obs,) = inversion.read_soundings(
        str(FIELD / "tem_temfast_salzlacken_P2_21_loop50m.csv")
    ).values()
    sounding = parse_served(obs, FLOOR)
    assert sounding.axis.size == len(obs["times_s"]) - 3
    assert any("the response rises" in w for w in sounding.obs.warnings)


def test_early_gates_within_their_errors_of_a_flat_start_are_kept():
    """A central loop's early-time response is flat (3ρ/(μ_0 a³)): with 3 % noise the first
    gate is often a little below the second. Only a rise beyond ``RISING_Z`` standard
    deviations of the log difference drops gates, the whole leading run of them."""
    rel = np.full(6, 0.03)
    flat = np.array([1.00, 1.05, 1.02, 0.8, 0.5, 0.3])  # +5 %: 1.2 sd of the difference
    assert rising_early_gates(flat, rel) == 0
    step = RISING_Z * np.hypot(0.03, 0.03)
    ramp = np.exp(np.array([-2.2, -1.1, 0.0, -0.2, -0.5, -0.9]) * step / 1.0)
    assert rising_early_gates(ramp, rel) == 2  # gates 0 and 1 lie > 3 sd below gate 2
    assert rising_early_gates(ramp, np.full(6, 0.5)) == 0  # within wide errors: kept


def test_synthetic_central_loops_keep_their_flat_early_gates():
    """A 300 m central loop on 30 Ω·m from 1 µs: the early-time response stays within 7 % of
    its first value for a decade. With 3 % noise nothing is dropped (the earlier rule, every
    gate before the largest value, dropped early gates of 82 of these 200 soundings)."""
    times = np.geomspace(1e-6, 1e-3, 31)
    fwd = forward_models.create("tem-central-loop", n_layers=1, times_s=times, loop_side_m=300.0)
    clean = np.asarray(fwd.forward(np.array([[30.0]]), precision="double"))[0]
    rng = np.random.default_rng(4)
    noisy = clean * (1 + 0.03 * rng.standard_normal((200, times.size)))
    dropped = [rising_early_gates(d, np.full(times.size, 0.03)) for d in noisy]
    assert rising_early_gates(clean, np.full(times.size, 0.03)) == 0
    assert np.count_nonzero(dropped) <= 2  # 3-sd rule over ~30 later gates: rare
    assert sum(np.argmax(d) > 0 for d in noisy) > 50  # what "before the largest" would drop


@pytest.mark.parametrize("n_layers, model", [(1, [30.0]), (3, [300.0, 5.0, 80.0, 8.0, 40.0])])
def test_saturated_early_gates_of_a_coincident_loop_are_dropped(n_layers, model):
    """A layered earth's coincident-loop response (here with a ramp) is log-convex in time, and
    no gate is dropped; three early gates clipped flat (a saturated receiver) are, with a
    warning. A central loop (not log-convex at early times) is never tested."""
    times = np.geomspace(2e-5, 5e-3, 30)
    geometry = {"loop_side_m": 50.0, "ramp_off_s": 1e-5}
    clean = _tem("tem-coincident-loop", model, times, **geometry)
    base = {
        "times_s": times.tolist(),
        "receiver": "coincident",
        "dbzdt_error_percent": 1.0,
        **geometry,
    }
    sounding = parse_served({**base, "dbzdt_v_per_am2": clean.tolist()}, FLOOR)
    assert sounding.axis.size == times.size
    assert not any("bends the wrong way" in w for w in sounding.obs.warnings)
    saturated = clean.copy()
    saturated[:3] = clean[3] * np.array([1.03, 1.02, 1.01])  # flat, then the true decay
    sounding = parse_served({**base, "dbzdt_v_per_am2": saturated.tolist()}, FLOOR)
    (warning,) = [w for w in sounding.obs.warnings if "bends the wrong way" in w]
    n_dropped = times.size - sounding.axis.size
    assert warning.startswith(f"the first {n_dropped} gate(s)") and warning.endswith("dropped")
    assert n_dropped in (3, 4)  # the plateau, and at most the first true gate after it
    np.testing.assert_allclose(sounding.axis, times[n_dropped:])
    central = parse_served(
        {**base, "receiver": "central", "dbzdt_v_per_am2": saturated.tolist()}, FLOOR
    )
    assert central.axis.size == times.size
    assert not any("bends the wrong way" in w for w in central.obs.warnings)


@pytest.mark.parametrize(
    ("name", "n_dropped"),
    [
        ("tem_terratem_viveros_VIV2_loop300m.csv", 2),  # clipped flat at 2.97e-5
        ("tem_temfast_salzlacken_P2_28_loop25m.csv", 1),
        ("tem_terratem_xochimilco_XOC3_loop150m.csv", 0),  # clean: nothing dropped
    ],
)
def test_real_early_gates_no_layered_earth_gives_are_dropped(name, n_dropped):
    (obs,) = inversion.read_soundings(str(FIELD.parent / "field_more" / name)).values()
    sounding = parse_served(obs, FLOOR)
    bent = [w for w in sounding.obs.warnings if "bends the wrong way" in w]
    assert sounding.axis.size == len(obs["times_s"]) - n_dropped
    assert len(bent) == (n_dropped > 0)
    if n_dropped:
        assert bent[0].startswith(f"the first {n_dropped} gate(s)")


def _body(**extra) -> dict:
    times = np.geomspace(1e-5, 1e-3, 12)
    body = {
        "times_s": times.tolist(),
        "dbzdt_v_per_am2": _tem("tem-central-loop", [50.0], times, loop_side_m=40.0).tolist(),
        "receiver": "central",
        "loop_side_m": 40.0,
    }
    return {**body, **extra}


@pytest.mark.parametrize(
    "change, status, field, text",
    [
        ({"times_s": list(np.geomspace(1e-3, 10.0, 12))}, 422, "times_s[", "served range"),
        ({"loop_side_m": 2000.0}, 422, "loop_side_m", "served range"),
        ({"loop_side_m": None, "loop_radius_m": 1.0}, 422, "loop_radius_m", "served range"),
        ({"receiver": None}, 400, "receiver", "central"),
        ({"rx_turns": 4}, 400, "rx_turns", "per turn"),
        ({"ramp_off_s": 1e-3}, 400, "times_s", "ramp"),
        ({"dbzdt_v_per_am2": [1e-3] * 5}, 400, "dbzdt_v_per_am2", "has 5 values"),
    ],
)
def test_tem_refusals_name_the_field(change, status, field, text):
    with pytest.raises(InversionInputError, match=text) as caught:
        parse_served(_body(**change), FLOOR)
    assert caught.value.status == status and caught.value.field.startswith(field)


def test_method_of_reads_the_receiver():
    assert method_of(_body()) == "tem-central-loop"
    assert method_of(_body(receiver="coincident")) == "tem-coincident-loop"


def test_tiny_tem_network_trains_on_finite_canonical_soundings():
    settings = TrainingSettings(n_samples=200, n_members=1, network={"hidden": 8, "max_epochs": 3})
    x, y = synthetic("tem-central-loop", 3, 200, settings, np.random.default_rng(0))
    assert x.shape[1] == METHODS["tem-central-loop"].n_features and y.shape[1] == 5
    assert x.shape[0] >= 190 and np.isfinite(x).all() and np.isfinite(y).all()
    net = train_served("tem-central-loop", 2, settings)
    assert net.predict(x[:4, :]).shape == (1, 4, 3)
    assert TrainingSettings().samples_for("tem-central-loop") < TrainingSettings().n_samples


def test_a_synthetic_tem_sounding_inverts_to_its_model():
    times = np.geomspace(1e-5, 3e-3, 25)
    truth = [100.0, 10.0, 30.0]
    clean = _tem("tem-central-loop", truth, times, loop_radius_m=20.0)
    noisy = clean * (1 + 0.03 * np.random.default_rng(0).standard_normal(times.size))
    obs = {
        "times_s": times.tolist(),
        "dbzdt_v_per_am2": noisy.tolist(),
        "dbzdt_error_percent": 3.0,
        "receiver": "central",
        "loop_radius_m": 20.0,
    }
    (result,) = ServedSet().invert(obs, max_layers=2)
    assert result["method"] == "tem-central-loop" and result["n_layers"] == 2
    assert result["misfit"]["chi"] <= 1.5
    np.testing.assert_allclose(result["model"]["rho_ohmm"], truth[:2], rtol=0.15)
    assert result["model"]["thickness_m"][0] == pytest.approx(30.0, rel=0.15)
    assert result["predicted"]["dbzdt_v_per_am2"] and "rho_a_ohmm" not in result["predicted"]


def test_served_set_inverts_a_real_tem_file_with_a_full_result():
    (obs,) = inversion.read_soundings(
        str(FIELD / "tem_temfast_salzlacken_P2_21_loop50m.csv")
    ).values()
    (result,) = ServedSet().invert(obs, noise_floor=FLOOR, max_layers=1)
    assert result["method"] == "tem-coincident-loop"
    k = len(obs["times_s"]) - 3
    assert len(result["predicted"]["times_s"]) == k == len(result["predicted"]["dbzdt_v_per_am2"])
    assert result["model"]["rho_ohmm"][0] == pytest.approx(19.0, rel=0.3)  # late-time ρa 17.5–19
    band = result["uncertainty"]["rho_ohmm"]
    assert band["p10"][0] <= result["model"]["rho_ohmm"][0] <= band["p90"][0]
    assert np.isfinite(result["misfit"]["chi"]) and result["misfit"]["rms_percent"] > 0
    assert result["in_domain"] == (result["misfit"]["chi"] <= 1.5)
    assert [c["n_layers"] for c in result["candidates"]] == [1]


def _search_case() -> tuple:
    """A noise-free 3-layer central-loop sounding, its forward model, bounds and a poor start."""
    times = np.geomspace(1e-5, 3e-3, 25)
    truth = np.array([100.0, 10.0, 300.0, 30.0, 60.0])
    fwd = forward_models.create("tem-central-loop", n_layers=3, times_s=times, loop_radius_m=20.0)
    data = np.asarray(fwd.forward(truth, precision="double"), dtype=float)[0]
    rho_a = late_time_rho_a(times, data, np.pi * 20.0**2)
    bounds = bounds_for(METHODS["tem-central-loop"], 3, times, rho_a)
    start = np.array([[50.0, 30.0, 100.0, 15.0, 100.0], [200.0, 5.0, 500.0, 60.0, 30.0]])
    return fwd, data, np.full(times.size, 0.03), bounds, start, truth


def test_tem_search_uses_the_exact_jacobian_and_reaches_the_fd_minimum():
    tem = SearchSettings().for_method(METHODS["tem-central-loop"])
    assert tem.model_jacobian and tem.n_refined <= 12
    fwd, data, sigma, bounds, start, truth = _search_case()
    is_phase = np.zeros(data.size, bool)
    fits = [
        refine_starts(fwd, data, sigma, is_phase, bounds, [("given", start)], np.empty((0, 5)), s)
        for s in (replace(tem, model_jacobian=True), replace(tem, model_jacobian=False))
    ]
    exact, fd = fits
    assert exact.chi <= 0.05 and fd.chi <= 0.05  # noise-free: both reach the truth
    np.testing.assert_allclose(exact.model, truth, rtol=0.02)
    np.testing.assert_allclose(exact.model, fd.model, rtol=0.02)


def test_culled_tem_search_refines_only_the_best_starts_to_the_truth():
    fwd, data, sigma, bounds, start, truth = _search_case()
    rng = np.random.default_rng(1)
    pool = truth * 10.0 ** rng.uniform(-1.0, 1.0, (64, truth.size))
    tem = SearchSettings().for_method(METHODS["tem-central-loop"])
    tem = replace(tem, n_refined=8, cull_after=4, n_kept=2)
    best = refine_starts(
        fwd, data, sigma, np.zeros(data.size, bool), bounds, [("given", start)], pool, tem
    )
    assert best.n_starts == 8 and best.chi <= 0.05
    np.testing.assert_allclose(best.model, truth, rtol=0.02)
