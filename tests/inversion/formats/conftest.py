"""Shared result dicts in the DESIGN.md shape."""

from __future__ import annotations

import pytest


@pytest.fixture
def ves_result() -> dict:
    return {
        "model": {
            "rho_ohmm": [120.0, 8.5, 900.0],
            "thickness_m": [4.1, 23.0],
            "depth_m": [4.1, 27.1],
        },
        "uncertainty": {
            "rho_ohmm": {"p10": [100.0, 6.0, 700.0], "p90": [140.0, 11.0, 1200.0]},
            "thickness_m": {"p10": [3.5, 18.0], "p90": [4.8, 29.0]},
        },
        "predicted": {
            "ab2_m": [1.0, 3.0, 10.0, 30.0, 100.0],
            "rho_a_ohmm": [119.0, 90.0, 30.0, 40.0, 200.0],
        },
        "misfit": {"rms_percent": 2.4, "chi": 0.9},
        "in_domain": True,
        "warnings": ["data were sorted by increasing ab2_m"],
        "elapsed_ms": 2.7,
    }


@pytest.fixture
def ves_observation() -> dict:
    return {
        "ab2_m": [1.0, 3.0, 10.0, 30.0, 100.0],
        "rho_a_ohmm": [121.0, 88.0, 31.0, 41.0, 190.0],
        "rho_a_error_percent": [3.0, 3.0, 3.0, 3.0, 5.0],
    }


@pytest.fixture
def mt_result() -> dict:
    return {
        "model": {"rho_ohmm": [50.0, 500.0], "thickness_m": [800.0], "depth_m": [800.0]},
        "uncertainty": {
            "rho_ohmm": {"p10": [40.0, 300.0], "p90": [60.0, 800.0]},
            "thickness_m": {"p10": [600.0], "p90": [1000.0]},
        },
        "predicted": {
            "periods_s": [0.01, 0.1, 1.0, 10.0],
            "rho_a_ohmm": [50.0, 55.0, 120.0, 300.0],
            "phase_deg": [45.0, 40.0, 30.0, 38.0],
        },
        "misfit": {"rms_percent": 4.0},
        "in_domain": False,
        "warnings": [],
    }


@pytest.fixture
def mt_observation() -> dict:
    return {
        "periods_s": [0.01, 0.1, 1.0, 10.0],
        "rho_a_ohmm": [51.0, 54.0, 125.0, 290.0],
        "phase_deg": [44.0, 41.0, 29.0, 39.0],
        "phase_error_deg": [1.0, 1.0, 1.0, 2.0],
    }
