"""The registry path's smooth model (``Inverter.invert(smooth=True)``): the served path's Occam
model and DOIs on a user-trained network's answer, opt-in, only with refinement."""

from __future__ import annotations

import numpy as np
import pytest
from inverter_helpers import AB2_M, PERIODS_S

TRUTH = {"ves": [100.0, 10.0, 500.0, 5.0, 20.0], "mt": [100.0, 10.0, 1000.0, 500.0, 3000.0]}


@pytest.mark.parametrize("which", ["ves", "mt"])
def test_smooth_model_and_dois_beside_the_refined_answer(which, request, noisy) -> None:
    inverter = request.getfixturevalue(f"{which}_inverter")
    data = noisy(inverter, np.array([TRUTH[which]]), 3)[0]
    if which == "ves":
        obs = {"ab2_m": AB2_M.tolist(), "rho_a_ohmm": data.tolist(), "rho_a_error_percent": 3.0}
    else:
        k = PERIODS_S.size
        obs = {
            "periods_s": PERIODS_S.tolist(),
            "rho_a_ohmm": data[:k].tolist(),
            "phase_deg": data[k:].tolist(),
            "rho_a_error_percent": 3.0,
            "phase_error_deg": 1.0,
        }
    result = inverter.invert(obs, smooth=True)[0]
    smooth = result["smooth"]
    assert 20 <= len(smooth["rho_ohmm"]) <= 40
    assert len(smooth["depth_m"]) == len(smooth["rho_ohmm"]) - 1
    assert 0.8 <= smooth["misfit"]["chi"] <= 1.25
    for block in (result["doi_m"], smooth["doi_m"]):
        assert 0 < block["conservative"] <= block["standard"]
    rho, p10, p90 = (np.asarray(smooth[k]) for k in ("rho_ohmm", "p10", "p90"))
    assert np.all((p10 <= rho) & (rho <= p90))
    assert "smooth" not in inverter.invert(obs)[0]
    assert "smooth" not in inverter.invert(obs, refine=False, smooth=True)[0]
