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

    from inversion.formats.figures import _log_error_bars

    bars = _log_error_bars(np.array([100.0]), np.array([5.0]))
    low, high = 100.0 - bars[0, 0], 100.0 + bars[1, 0]
    assert np.log(100.0 / low) == pytest.approx(0.05) and np.log(high / 100.0) == pytest.approx(
        0.05
    )


def test_unknown_figure_type(tmp_path, ves_observation, ves_result) -> None:
    with pytest.raises(ValueError, match="use .png or .svg"):
        write_figure(ves_observation, ves_result, tmp_path / "fit.jpg")
