"""Network-only fit with and without the data-misfit term in training (issue 15).

For 3-layer Schlumberger VES (AB/2 1–300 m, 20, MN/2 0.3 m) and 3-layer MT (10⁻⁴–10 s, 20), with
bench/quality.py's bounds and noise (ρ 1–5000 Ω·m, h 0.5–100 m; 3 % ρa, 1° phase): trains one
network (n_data → hidden tanh → 5, Adam lr 3·10⁻³, batch 256, early stopping) per weight of
``inversion.physics_loss.DataMisfitLoss`` on the same Sobol samples (seed 1), and reports on a
held-out random set (seed 2026, same noise) the network-only median χ, the share of soundings at
χ ≤ 2 and ≤ 1.2, the median model error (mean |Δlog10| over the parameters) and the training
time, each beside the weight-0 baseline trained in the same run.

Run: ``.venv/bin/python bench/physics_loss.py`` (``--help`` for sizes).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import bpnet
import forward_models
from inversion.calibration import training_sigma
from inversion.misfit import chi
from inversion.observations import phase_mask
from inversion.physics_loss import DataMisfitLoss
from inversion.transforms import DataTransform, ParameterTransform

GEOMETRY = {
    "ves": ("ves-schlumberger", {"ab2_m": np.geomspace(1.0, 300.0, 20).tolist(), "mn2_m": 0.3}),
    "mt": ("mt-1d", {"periods_s": np.geomspace(1e-4, 1e1, 20).tolist()}),
}


def run_kind(kind: str, weights: list[float], args: argparse.Namespace) -> None:
    """Train one network per weight and print the held-out network-only figures."""
    name, geometry = GEOMETRY[kind]
    fm = forward_models.create(name, n_layers=3, **geometry)
    space = forward_models.ModelSpace.for_forward_model(
        fm, rho_ohmm=(1.0, 5000.0), thickness_m=(0.5, 100.0)
    )
    noise = forward_models.NoiseModel(0.03, 1.0)
    train = forward_models.generate_dataset(fm, space, args.n_train, seed=1, noise=noise)
    test = forward_models.generate_dataset(
        fm, space, args.n_test, sampler="random", seed=2026, noise=noise
    )
    data_t = DataTransform(fm.data_kinds).fit(train.data)
    param_t = ParameterTransform(fm.n_params).fit(train.models)
    sigma, is_phase = training_sigma(fm, noise), phase_mask(fm.data_kinds)
    print(f"=== 3-layer {name}: {args.n_train} samples, hidden {args.hidden}")
    print("  weight  median χ  χ≤2  χ≤1.2  med|Δlog10|  epochs  train s  (vs weight 0)")
    baseline = None
    for weight in weights:
        loss = None
        if weight > 0:
            loss = DataMisfitLoss(fm, data_t, param_t, sigma, space.lower, space.upper, weight)
        t0 = time.perf_counter()
        net = bpnet.BPNetwork(
            hidden=args.hidden, learning_rate=3e-3, max_epochs=args.epochs, seed=0
        ).fit(data_t.transform(train.data), param_t.transform(train.models), output_loss=loss)
        seconds = time.perf_counter() - t0
        models = param_t.inverse_transform(net.predict(data_t.transform(test.data)))
        chis = chi(test.data, fm.forward(models, precision="double"), is_phase, sigma)
        err = float(np.median(np.mean(np.abs(np.log10(models / test.models)), axis=1)))
        row = (float(np.median(chis)), err, seconds)
        baseline = baseline or row
        print(
            f"  {weight:6.3f}  {row[0]:8.2f}  {np.mean(chis <= 2):4.0%}"
            f"  {np.mean(chis <= 1.2):5.0%}"
            f"  {err:11.3f}  {len(net.history_):6d}  {seconds:7.1f}"
            f"  (χ ×{row[0] / baseline[0]:.2f}, error ×{err / baseline[1]:.2f},"
            f" time ×{seconds / baseline[2]:.0f})",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kinds", default="ves,mt")
    parser.add_argument("--weights", default="0,0.03,0.1,0.3")
    parser.add_argument("--n-train", type=int, default=40000)
    parser.add_argument("--n-test", type=int, default=1000)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=100)
    args = parser.parse_args()
    weights = [float(w) for w in args.weights.split(",")]
    for kind in args.kinds.split(","):
        run_kind(kind, weights, args)


if __name__ == "__main__":
    main()
