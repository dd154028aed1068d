"""Regenerate tests/data/tem_cole_cole_empymod.json: central-loop TEM over polarisable ground.

−dB_z/dt per A at the centre of a square loop (four wires, ``empymod.bipole``, ``srcpts=9``,
impulse response of H times μ_0), as ``bench/tem_square_reference.py``, with Pelton's Cole–Cole
resistivity in the layers through empymod's ``func_eta`` hook (η = σ(ω) + iωε). Usage: ``python
bench/tem_ip_reference.py`` (needs the bench extra: empymod).
"""

from __future__ import annotations

import json
from pathlib import Path

import empymod
import numpy as np
import tem_square_reference

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "tem_cole_cole_empymod.json"
TIMES_S = np.geomspace(5e-6, 2e-3, 24)
CASES = [  # loop side (m), ρ_0 (Ω·m), thicknesses (m), chargeability, τ (s), c per layer
    (25.0, [50.0, 5.0], [10.0], [0.0, 0.6], [1e-4, 5e-4], [0.5, 0.7]),
    (12.5, [200.0, 30.0, 100.0], [4.0, 20.0], [0.5, 0.0, 0.0], [2e-5, 1e-3, 1e-3], [0.8, 0.5, 0.5]),
    (50.0, [20.0], [], [0.3], [1e-3], [0.4]),
    (12.5, [500.0, 10.0], [8.0], [0.8, 0.2], [1e-4, 1e-2], [0.9, 0.3]),
]


def pelton_eta(inp: dict, p_dict: dict) -> tuple[np.ndarray, np.ndarray]:
    """empymod hook: η = σ(ω) of Pelton's model plus the displacement term empymod adds."""
    iw = 2j * np.pi * p_dict["freq"][:, None]
    rho = inp["res"] * (1 - inp["m"] * (1 - 1 / (1 + (iw * inp["tau"]) ** inp["c"])))
    eta = 1 / rho + (p_dict["etaH"] - 1 / inp["res"])
    return eta, eta


def square_loop(side_m, rho, thk, m, tau, c) -> list[float]:
    res = {
        "res": np.array([2e14, *rho]), "m": np.array([0.0, *m]), "tau": np.array([1.0, *tau]),
        "c": np.array([0.5, *c]), "func_eta": pelton_eta,
    }  # fmt: skip
    return tem_square_reference.square_loop(side_m, rho, thk, TIMES_S, res)


def main() -> None:
    cases = [
        {
            "loop_side_m": side, "rho": rho, "thk": thk, "chargeability": m, "tau_s": tau, "c": c,
            "dbzdt": square_loop(side, rho, thk, m, tau, c),
        }
        for side, rho, thk, m, tau, c in CASES
    ]  # fmt: skip
    about = (
        "-dBz/dt per A (V/(A m^2)) at the centre of a square loop on the surface over layers "
        "with Pelton's Cole-Cole resistivity rho0 [1 - m (1 - 1/(1 + (i w tau)^c))] (step-off, "
        f"z up, positive while decaying), computed with empymod {empymod.__version__} by "
        "bench/tem_ip_reference.py: bipole with the loop as four wires (srcpts=9), the func_eta "
        "hook, impulse response of H times mu_0, Fourier filter wer_201_2018, Hankel filter "
        "key_201_2009, no lagged convolution."
    )
    OUT.write_text(
        json.dumps({"about": about, "times_s": TIMES_S.tolist(), "cases": cases}, indent=1)
    )


if __name__ == "__main__":
    main()
