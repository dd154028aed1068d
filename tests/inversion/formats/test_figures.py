"""Figures: PNG and SVG files are written, valid and non-empty, for VES and MT."""

from __future__ import annotations

import pytest

from inversion.formats import write_figure
from inversion.formats.figures import make_figure


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_ves_figure_files(tmp_path, suffix, ves_observation, ves_result) -> None:
    path = write_figure(ves_observation, ves_result, tmp_path / f"fit{suffix}", title="VES 1")
    data = path.read_bytes()
    assert len(data) > 5000
    if suffix == ".png":
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
    else:
        assert b"<svg" in data[:2000] and data.rstrip().endswith(b"</svg>")


def test_mt_figure_has_a_phase_panel(tmp_path, mt_observation, mt_result) -> None:
    fig = make_figure(mt_observation, mt_result)
    assert len(fig.axes) == 3
    phase_ax = fig.axes[1]
    assert phase_ax.get_ylim() == (0.0, 90.0) and "phase" in phase_ax.get_ylabel()
    path = write_figure(mt_observation, mt_result, tmp_path / "mt.png")
    assert path.read_bytes().startswith(b"\x89PNG")


def test_model_panel_is_a_depth_step_plot_with_band(ves_observation, ves_result) -> None:
    fig = make_figure(ves_observation, ves_result)
    data_ax, model_ax = fig.axes
    assert data_ax.get_xscale() == "log" and data_ax.get_yscale() == "log"
    assert model_ax.get_xscale() == "log"
    assert model_ax.get_yscale() == "log"  # thin top layers stay visible
    bottom, top = model_ax.get_ylim()
    assert top < 4.1 / 5 and bottom > 27.1  # depth increases downwards, half-space shown
    (line,) = [ln for ln in model_ax.get_lines() if ln.get_label() == "layered model"]
    assert list(line.get_xdata()) == [120.0, 120.0, 8.5, 8.5, 900.0, 900.0]
    assert len(model_ax.collections) == 1  # the p10–p90 band
    linear = make_figure(ves_observation, ves_result, depth_scale="linear").axes[1]
    assert linear.get_yscale() == "linear" and linear.get_ylim()[1] == 0.0
    labels = [t.get_text() for t in model_ax.texts]
    assert labels[0] == f"S {4.1 / 120:.3g} S\nT {4.1 * 120:.3g} Ω·m²" and len(labels) == 2


def test_the_model_response_is_drawn_densely_between_the_data(ves_observation, ves_result) -> None:
    import numpy as np

    import forward_models

    data_ax = make_figure(ves_observation, ves_result).axes[0]
    (curve,) = [ln for ln in data_ax.get_lines() if ln.get_label() == "model response"]
    x, y = np.asarray(curve.get_xdata()), np.asarray(curve.get_ydata())
    assert x.size >= 40 * 2 and x[0] == 1.0 and x[-1] == pytest.approx(100.0)  # 40 per decade
    fm = forward_models.create("ves-schlumberger", n_layers=3, ab2_m=x)
    model = np.array([120.0, 8.5, 900.0, 4.1, 23.0])
    np.testing.assert_allclose(y, fm.forward(model)[0], rtol=1e-12)


def test_error_bars_are_symmetric_in_log_space(ves_observation, ves_result) -> None:
    import numpy as np

    from inversion.formats.response import log_error_bars

    bars = log_error_bars(np.array([100.0]), np.array([5.0]))
    low, high = 100.0 - bars[0, 0], 100.0 + bars[1, 0]
    assert np.log(100.0 / low) == pytest.approx(0.05) and np.log(high / 100.0) == pytest.approx(
        0.05
    )


def test_error_bars_of_noise_gates_stay_finite() -> None:
    """A real terraTEM gate (VIV1) has an error 830 times its value: e^σ would overflow."""
    import warnings

    import numpy as np

    from inversion.formats.response import MAX_BAR_LN, log_error_bars

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bars = log_error_bars(np.array([3.1e-9, 1e-6]), np.array([83_000.0, 5.0]))
    assert np.all(np.isfinite(bars))
    assert bars[1, 0] == pytest.approx(3.1e-9 * np.expm1(MAX_BAR_LN))
    assert bars[1, 1] == pytest.approx(1e-6 * np.expm1(0.05))


def test_unknown_figure_type(tmp_path, ves_observation, ves_result) -> None:
    with pytest.raises(ValueError, match="use .png or .svg"):
        write_figure(ves_observation, ves_result, tmp_path / "fit.jpg")


def test_label_positions_keep_their_order_apart_and_inside() -> None:
    import numpy as np

    from inversion.formats.figures import LABEL_GAP, label_positions

    wanted = np.array([0.9, 0.5, 0.49, 0.48, 0.05])
    placed = label_positions(wanted)
    assert placed[0] == 0.9 and placed[1] == 0.5  # labels with room stay at their layer
    assert np.all(-np.diff(placed) >= LABEL_GAP - 1e-12)
    assert placed.min() >= LABEL_GAP / 2 and placed.max() <= 1 - LABEL_GAP / 2
    crowded = label_positions(np.full(30, 0.5))  # more labels than fit: spread evenly
    assert np.all(-np.diff(crowded) >= 1 / 30 - 1e-12) and crowded.min() >= 0


def test_s_and_t_labels_of_thin_layers_do_not_overlap(ves_observation, ves_result) -> None:
    """A 5-layer model with two thin layers at 43–47 m (a real sounding's answer): the S/T
    labels of neighbouring layers are moved apart, each joined to its layer by a line."""
    result = dict(ves_result)
    result["model"] = {
        "rho_ohmm": [403.0, 74.0, 4286.0, 1.49, 202.0],
        "thickness_m": [5.07, 37.9, 0.94, 2.73],
        "depth_m": [5.07, 43.0, 43.9, 46.7],
    }
    result.pop("uncertainty")
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = make_figure(ves_observation, result)
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    model_ax = fig.axes[1]
    from matplotlib.text import Text

    labels = [t for t in model_ax.texts if "S " in t.get_text()]
    boxes = [Text.get_window_extent(t, renderer) for t in labels]  # the text, not its line
    assert len(boxes) == 4
    for a, b in zip(boxes, boxes[1:], strict=False):
        assert not a.overlaps(b), (a, b)
    assert sum(t.arrow_patch is not None for t in model_ax.texts) >= 1  # a leader line


def test_the_data_fit_title_gives_chi_and_rms(ves_observation, ves_result) -> None:
    from inversion.formats.response import fit_title

    assert make_figure(ves_observation, ves_result).axes[0].get_title() == (
        "data fit (χ 0.9, rms 2.4 %)"
    )
    assert fit_title({"misfit": {"chi": None, "rms_percent": 197.4}}) == "data fit (rms 2e+02 %)"
    assert fit_title({}) == "data fit"


def test_tem_figure_axis_follows_the_data_not_the_noise_gates_bars() -> None:
    """−dBz/dt and late-time ρa panels; a late gate whose error bar spans 10⁶ decades (as on
    the real terraTEM VIV1 file) neither overflows nor stretches the axis."""
    import warnings

    import numpy as np

    import forward_models

    times = np.geomspace(1e-5, 1e-2, 20)
    fm = forward_models.create("tem-coincident-loop", n_layers=2, times_s=times, loop_side_m=50.0)
    data = fm.forward([30.0, 300.0, 20.0], precision="double")[0]
    errors = np.full(times.size, 5.0)
    errors[-1] = 83_000.0
    observation = {
        "times_s": times.tolist(),
        "dbzdt_v_per_am2": data.tolist(),
        "dbzdt_error_percent": errors.tolist(),
        "receiver": "coincident",
        "loop_side_m": 50.0,
    }
    result = {
        "method": "tem-coincident-loop",
        "model": {"rho_ohmm": [30.0, 300.0], "thickness_m": [20.0], "depth_m": [20.0]},
        "predicted": {"times_s": times.tolist(), "dbzdt_v_per_am2": data.tolist()},
        "misfit": {"chi": 0.4, "rms_percent": 2.0},
    }
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = make_figure(observation, result)
    top, rho_ax = fig.axes[0], fig.axes[1]
    assert top.get_title() == "data fit (χ 0.4, rms 2 %)"
    assert "late-time" in rho_ax.get_ylabel()
    low, high = top.get_ylim()
    assert low == pytest.approx(data.min() / 10, rel=1e-6)
    assert high == pytest.approx(data.max() * 10, rel=1e-6)


def test_tem_gates_the_fit_left_out_are_drawn_apart() -> None:
    """Gates the served path dropped (absent from the predicted times) are grey open circles
    labelled as not fitted, in both panels; the fitted ones are the observed series."""
    import numpy as np

    import forward_models
    from inversion.formats.figures_tem import LEFT_OUT, fitted_gates

    times = np.geomspace(1e-5, 1e-2, 20)
    fm = forward_models.create("tem-coincident-loop", n_layers=1, times_s=times, loop_side_m=50.0)
    data = fm.forward([30.0], precision="double")[0]
    data[:2] = data[2] * 1.01  # a clipped start the server dropped
    observation = {
        "times_s": times.tolist(),
        "dbzdt_v_per_am2": data.tolist(),
        "receiver": "coincident",
        "loop_side_m": 50.0,
    }
    result = {
        "method": "tem-coincident-loop",
        "model": {"rho_ohmm": [30.0], "thickness_m": [], "depth_m": []},
        "predicted": {"times_s": times[2:].tolist(), "dbzdt_v_per_am2": data[2:].tolist()},
        "misfit": {"chi": 0.4, "rms_percent": 2.0},
    }
    assert fitted_gates(times, times[2:]).tolist() == [False] * 2 + [True] * 18
    assert fitted_gates(times, None).all()
    top, rho_ax = make_figure(observation, result).axes[:2]
    (left_out,) = [ln for ln in top.get_lines() if ln.get_label().startswith("not fitted")]
    np.testing.assert_allclose(left_out.get_xdata(), times[:2])
    assert left_out.get_markerfacecolor() == "none" and left_out.get_color() == LEFT_OUT
    grey = [ln for ln in rho_ax.get_lines() if ln.get_color() == LEFT_OUT]
    assert len(grey) == 1 and len(grey[0].get_xdata()) == 2
    (observed,) = [c for c in top.containers if c.get_label() == "observed"]
    np.testing.assert_allclose(observed.lines[0].get_xdata(), times[2:])


@pytest.mark.parametrize(
    ("standard", "conservative", "n_labels"),
    [(32.1, 25.5, 1), (60.0, 12.0, 2), (20.0, 20.0, 1)],
)
def test_doi_labels_share_one_line_when_they_would_overlap(
    ves_observation, ves_result, standard, conservative, n_labels
) -> None:
    """The depth axis spans 0.1–100 m: 32.1 and 25.5 m are 3 % of it apart (one label), 60 and
    12 m 23 % (two)."""
    result = dict(ves_result, doi_m={"standard": standard, "conservative": conservative})
    model_ax = make_figure(ves_observation, result).axes[1]
    assert model_ax.get_ylim() == (100.0, 0.1)
    labels = [t.get_text() for t in model_ax.texts if t.get_text().startswith("DOI")]
    assert len(labels) == n_labels, labels
    assert any(f"{standard:.3g} m (standard)" in t for t in labels)
    assert any(f"{conservative:.3g} m (conservative)" in t for t in labels)


@pytest.mark.parametrize("preferred", [True, False])
def test_a_preferred_polarisable_model_is_drawn_in_both_panels(preferred) -> None:
    """The result's ``ip`` model: its positive response at the gates (a reversed tail is not
    drawn on the log axis) and its ρ_0 profile, only when BIC prefers it."""
    import numpy as np

    from inversion.formats.figures_tem import POLARISABLE

    times = np.geomspace(1e-5, 1e-3, 10)
    data = 1e-4 * (times / 1e-5) ** -2.5
    ip_data = data.copy()
    ip_data[-2:] = -1e-12  # reversed
    observation = {
        "times_s": times.tolist(),
        "dbzdt_v_per_am2": data.tolist(),
        "receiver": "coincident",
        "loop_side_m": 25.0,
    }
    result = {
        "method": "tem-coincident-loop",
        "model": {"rho_ohmm": [30.0, 5.0], "thickness_m": [10.0], "depth_m": [10.0]},
        "predicted": {"times_s": times.tolist(), "dbzdt_v_per_am2": data.tolist()},
        "misfit": {"chi": 3.0, "rms_percent": 20.0},
        "ip": {
            "model": {
                "rho_ohmm": [40.0, 200.0],
                "thickness_m": [8.0],
                "depth_m": [8.0],
                "chargeability": [0.3, 0.0],
                "tau_s": [2e-4, 0.0],
                "c": [0.6, 0.0],
            },
            "n_layers": 2,
            "polarisable_layer": 1,
            "misfit": {"chi": 1.0, "rms_percent": 3.0},
            "predicted": ip_data.tolist(),
            "preferred": preferred,
        },
    }
    observation["reversed_gates"] = {
        "times_s": [2e-3, 3e-3],
        "dbzdt_v_per_am2": [-2e-9, -1e-9],
        "dbzdt_error_percent": [10.0, 20.0],
    }
    result["ip"]["reversed_gates"] = {"predicted": [-1.8e-9, -1.1e-9], "chi": 0.8}
    fig = make_figure(observation, result)
    data_ax, model_ax = fig.axes[0], fig.axes[2]
    (below,) = [ln for ln in data_ax.get_lines() if ln.get_label() == "below zero: |value|"]
    np.testing.assert_allclose(below.get_ydata(), [2e-9, 1e-9])  # drawn as |−dB/dt|
    assert not [ln for ln in fig.axes[1].get_lines() if ln.get_marker() == "v"]  # no ρa of them
    fitted = [ln for ln in data_ax.get_lines() if ln.get_label() == "its |value| below zero"]
    assert len(fitted) == (1 if preferred else 0)
    curves = [
        ln for ln in data_ax.get_lines() if ln.get_color() == POLARISABLE and ln.get_marker() != "v"
    ]
    profiles = [ln for ln in model_ax.get_lines() if ln.get_color() == POLARISABLE]
    assert len(curves) == len(profiles) == (1 if preferred else 0)
    if preferred:
        assert len(curves[0].get_xdata()) == 8 and "χ 1.00" in curves[0].get_label()
        assert profiles[0].get_label() == "polarisable model ρ₀"
        assert any(t.get_text() == "m 0.30, τ 0.0002 s, c 0.60" for t in model_ax.texts)
        assert sorted(set(profiles[0].get_xdata())) == [40.0, 200.0]


def test_a_tem_figure_takes_one_error_for_every_gate() -> None:
    """``dbzdt_error_percent`` may be one number (the API allows it): bars on every gate."""
    import numpy as np

    times = np.geomspace(1e-5, 1e-3, 6)
    data = 1e-4 * (times / 1e-5) ** -2.5
    observation = {
        "times_s": times.tolist(),
        "dbzdt_v_per_am2": data.tolist(),
        "dbzdt_error_percent": 3.0,
        "loop_side_m": 25.0,
    }
    result = {
        "method": "tem-coincident-loop",
        "model": {"rho_ohmm": [30.0], "thickness_m": [], "depth_m": []},
        "predicted": {"times_s": times.tolist(), "dbzdt_v_per_am2": data.tolist()},
        "misfit": {"chi": 1.0, "rms_percent": 3.0},
    }
    (observed,) = [c for c in make_figure(observation, result).axes[0].containers]
    assert observed.has_yerr and len(observed.lines[0].get_xdata()) == 6
