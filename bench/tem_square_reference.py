"""Regenerate tests/data/tem_square_loop_empymod.json: square-loop central TEM with empymod.

−dB_z/dt per A at the centre of a square loop (four wires, ``empymod.bipole``, ``srcpts=9``,
impulse response of H times μ_0), Werthmüller's wer_201_2018 sine/cosine and Key's key_201_2009
Hankel filters, no lagged convolution. Usage: ``python bench/tem_square_reference.py``
(needs the bench extra: empymod).
"""

from __future__ import annotations

import json
from pathlib import Path

import empymod
import numpy as np
from forward import square_loop_wires

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "tem_square_loop_empymod.json"
TIMES_S = np.geomspace(1e-5, 1e-2, 20)
CASES = [  # loop side (m), resistivities (Ω·m), thicknesses (m)
    (40.0, [30.0, 300.0, 5.0], [20.0, 40.0]),
    (40.0, [100.0], []),
    (100.0, [500.0, 20.0], [60.0]),
    (100.0, [10.0, 100.0, 1.0, 300.0], [5.0, 30.0, 50.0]),
]


def square_loop(
    side_m: float, rho: list[float], thk: list[float], times_s: np.ndarray = TIMES_S, res=None
) -> list[float]:
    """−dBz/dt per A at the centre of a square loop at ``times_s``; ``res``: empymod's ``res``
    including the air (default: air and ``rho``; a dict for a ``func_eta`` hook)."""
    out = empymod.bipole(
        src=square_loop_wires(side_m), rec=[0, 0, 0, 0, 90],
        depth=[0.0, *np.cumsum(thk)], res=[2e14, *rho] if res is None else res,
        freqtime=times_s, signal=0, mrec=True, srcpts=9, strength=1, verb=1,
        ft="dlf", ftarg={"dlf": "wer_201_2018"}, htarg={"dlf": "key_201_2009"},
    )  # fmt: skip
    return (4e-7 * np.pi * np.asarray(out).sum(axis=-1)).tolist()


def main() -> None:
    cases = [
        {"loop_side_m": side, "rho": rho, "thk": thk, "dbzdt": square_loop(side, rho, thk)}
        for side, rho, thk in CASES
    ]
    about = (
        "-dBz/dt per A (V/(A m^2)) at the centre of a square loop on the surface (step-off, z up, "
        f"positive while decaying), computed with empymod {empymod.__version__} by "
        "bench/tem_square_reference.py: bipole with the loop as four wires (srcpts=9), impulse "
        "response of H times mu_0, Fourier filter wer_201_2018 (key_201_2012 is off by up to 2 % "
        "over resistive ground), Hankel filter key_201_2009, no lagged convolution."
    )
    OUT.write_text(
        json.dumps({"about": about, "times_s": TIMES_S.tolist(), "cases": cases}, indent=1)
    )


if __name__ == "__main__":
    main()
