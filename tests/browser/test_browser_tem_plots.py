"""The invert page's TEM plots (plots_tem.js) in headless Chromium: observed gates the server
dropped (absent from the result's predicted times) are drawn apart from the fitted ones, and
the data axis follows the data, not a noise gate's error bar."""

from __future__ import annotations

import math
from typing import Any

import pytest

pytestmark = pytest.mark.browser

DRAW = """async () => {
  const data = document.createElement("div");
  const rho = document.createElement("div");
  document.body.append(data, rho);
  const observation = {
    times_s: [1e-5, 2e-5, 3e-5, 4e-5, 5e-5],
    dbzdt_v_per_am2: [5e-3, 4.9e-3, 1e-3, 5e-4, 3e-4],
    dbzdt_error_percent: [1, 1, 2, 2, 83000],
    loop_side_m: 50,
  };
  const result = { predicted: { times_s: [3e-5, 4e-5, 5e-5],
                                dbzdt_v_per_am2: [1.1e-3, 4.8e-4, 3.1e-4] } };
  await window.geobpTemPlots.temPlots(data, rho, observation, result);
  const show = (div) => div.data.map((t) => [t.name, t.x.length]);
  const range = data.layout.yaxis.range;
  const fitted = window.geobpTemPlots.fittedGates(observation.times_s, result.predicted.times_s);
  return { data: show(data), rho: show(rho), fitted: fitted, range: range };
}"""


def test_dropped_gates_are_drawn_apart(open_tab: Any) -> None:
    tab = open_tab("/invert")
    tab.page.wait_for_function("window.geobpTemPlots !== undefined")
    drawn = tab.page.evaluate(DRAW)
    assert drawn["fitted"] == [False, False, True, True, True]
    left_out = "not fitted (dropped: see the warnings)"
    assert drawn["data"] == [
        ["observed", 3],
        [left_out, 2],
        ["predicted (model response at the gates)", 3],
    ]
    assert drawn["rho"] == [["observed", 3], [left_out, 2], ["predicted", 3]]
    # the axis follows the data and the model a decade either side, not the last gate's bar
    assert drawn["range"] == pytest.approx([math.log10(3e-4) - 1, math.log10(5e-3) + 1])
    assert tab.errors == []


DRAW_IP = """async (preferred) => {
  const data = document.createElement("div");
  const rho = document.createElement("div");
  const model = document.createElement("div");
  document.body.append(data, rho, model);
  const observation = {
    times_s: [1e-5, 2e-5, 3e-5, 4e-5],
    dbzdt_v_per_am2: [5e-3, 1e-3, 2e-4, 4e-5],
    loop_side_m: 25,
    reversed_gates: { times_s: [5e-5, 6e-5], dbzdt_v_per_am2: [-2e-6, -1e-6],
                      dbzdt_error_percent: [10, 20] },
  };
  const ip = {
    model: { rho_ohmm: [40, 200], thickness_m: [8], depth_m: [8], chargeability: [0.3, 0],
             tau_s: [2e-4, 0], c: [0.6, 0] },
    n_layers: 2, polarisable_layer: 1, misfit: { chi: 0.97 }, preferred: preferred,
    predicted: [5e-3, 1e-3, 2e-4, -1e-6],
    reversed_gates: { predicted: [-1.9e-6, -1.1e-6], chi: 0.8 },
  };
  const result = {
    model: { rho_ohmm: [30, 5], thickness_m: [10], depth_m: [10] },
    predicted: { times_s: observation.times_s, dbzdt_v_per_am2: [4e-3, 1.2e-3, 1.5e-4, 5e-5] },
    ip: ip,
  };
  await window.geobpTemPlots.temPlots(data, rho, observation, result);
  await window.geobpPlots.modelPlot(model, result, "model", "log");
  const show = (div) => div.data.map((t) => [t.name, t.x.length]);
  return { data: show(data), rho: show(rho), model: show(model) };
}"""


@pytest.mark.parametrize("preferred", [True, False])
def test_a_preferred_polarisable_model_is_drawn(open_tab: Any, preferred: bool) -> None:
    """The result's ``ip`` model: its positive response at the gates (the reversed last gate is
    left off the log axis) in both TEM panels, and its ρ0 profile, only when BIC prefers it."""
    tab = open_tab("/invert")
    tab.page.wait_for_function("window.geobpTemPlots !== undefined")
    drawn = tab.page.evaluate(DRAW_IP, preferred)
    name = "polarisable (Cole–Cole) model, χ 0.970"
    assert ([name, 3] in drawn["data"]) == preferred
    assert ([name, 3] in drawn["rho"]) == preferred
    assert ["below zero: |value|", 2] in drawn["data"]
    assert (["polarisable model's |value| below zero", 2] in drawn["data"]) == preferred
    assert not any(name.startswith("below zero") for name, _ in drawn["rho"])
    profile = "polarisable model ρ0 (layer 1: m 0.30, τ 0.00020 s, c 0.60)"
    assert ([profile, 4] in drawn["model"]) == preferred
    assert tab.errors == []
