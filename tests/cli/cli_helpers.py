"""Constants and helpers shared by the command-line tests."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import forward_models

AB2_M = np.geomspace(1.0, 100.0, 10)
PERIODS_S = np.geomspace(1e-3, 1e2, 9)


@dataclass
class Run:
    """Exit status and output of one ``geobp`` run."""

    returncode: int
    stdout: str
    stderr: str


def ves_data(model: list[float], n_layers: int) -> np.ndarray:
    """Noise-free ρa (Ω·m) at AB2_M for a model [rho…, h…]."""
    fm = forward_models.create(
        "ves-schlumberger", n_layers=n_layers, ab2_m=AB2_M.tolist(), mn2_m=None
    )
    return np.asarray(fm.forward(np.asarray(model, dtype=float)), dtype=float).reshape(-1)


def one_line_error(run: Run) -> str:
    """Assert a failure printed exactly one ``geobp: error:`` line and no traceback."""
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("geobp: error: "), run.stderr
    assert "Traceback" not in run.stderr
    return lines[0]
