"""Helpers for the inverter tests: small trained inverters and noisy observations."""

import numpy as np

import forward_models
from inversion import Inverter

AB2_M = np.geomspace(1.0, 300.0, 20)
PERIODS_S = np.geomspace(1e-4, 1e1, 16)
NETWORK = {
    "hidden": 32,
    "max_epochs": 60,
    "batch_size": 128,
    "learning_rate": 3e-3,
    "patience": 10,
}


def train(name: str, n_layers: int, n_samples: int = 4000, **geometry) -> Inverter:
    """A small 3-member inverter on Sobol samples with 3 % / 1° noise."""
    fm = forward_models.create(name, n_layers=n_layers, **geometry)
    space = forward_models.ModelSpace.for_forward_model(
        fm, rho_ohmm=(1, 5000), thickness_m=(0.5, 100)
    )
    noise = forward_models.NoiseModel(rho_a_rel=0.03, phase_deg=1.0)
    ds = forward_models.generate_dataset(fm, space, n_samples, seed=1, noise=noise)
    inv = Inverter(forward_model=fm, space=space, noise=noise, network=NETWORK, n_members=3)
    return inv.fit(ds.models, ds.data)


def noisy(inv: Inverter, models: np.ndarray, seed: int, fm=None) -> np.ndarray:
    """Noisy data (n, n_data) for ``models`` with the inverter's noise model."""
    fm = fm or inv.forward_model
    rng = np.random.default_rng(seed)
    return inv.noise.apply(fm.forward(models), fm.data_kinds, rng)
