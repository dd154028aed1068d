"""NumPy vs CuPy: the same network, data and seed on both backends.

1. Agreement: 30 → 64 tanh → 5, float64, a few Adam epochs on 20 000 samples with NumPy and
   CuPy: the same seed gives the same initial weights, split and shuffles, so the predictions
   must agree to ~1e-6 (only floating-point summation order differs).
2. Speed: float32 training time NumPy / CuPy for 10⁵ and 10⁶ samples (batch 256 and 4096),
   printed as the ratio (> 1: the GPU is faster).
3. Forward models on the same code path: VES (Schlumberger, Wenner) and MT ``forward``
   (double), ``forward_and_jacobian`` and ``forward_and_vjp`` on CuPy arrays against NumPy, to
   10⁻⁹ relative (summation order only).

Without a usable GPU it prints "no GPU", still runs the NumPy half of the agreement check
(float64 vs float32 on the CPU, which must agree to float32 accuracy) and exits 0.
Run: ``.venv/bin/python bench/gpu_check.py``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from train import make_data  # noqa: E402

import bpnet  # noqa: E402
import forward_models  # noqa: E402
from forward_models._backend import to_numpy  # noqa: E402

FORWARD_CASES = {
    "ves-schlumberger": {"ab2_m": np.geomspace(1.0, 1000.0, 30), "mn2_m": 0.5},
    "ves-wenner": {"a_m": np.geomspace(1.0, 500.0, 20)},
    "mt-1d": {"periods_s": np.geomspace(1e-3, 1e3, 40)},
}


def train(X, Y, device: str, dtype: str, epochs: int, batch: int) -> tuple[bpnet.BPNetwork, float]:
    net = bpnet.BPNetwork(
        hidden=64,
        batch_size=batch,
        max_epochs=epochs,
        early_stopping=False,
        validation_fraction=0.1,
        device=device,
        dtype=dtype,
        seed=0,
    )
    t = time.perf_counter()
    net.fit(X, Y)
    return net, time.perf_counter() - t


def agreement(device_a: str, dtype_a: str, device_b: str, dtype_b: str, tol: float) -> bool:
    X, Y = make_data(20_000, seed=3)
    a, _ = train(X, Y, device_a, dtype_a, epochs=3, batch=256)
    b, _ = train(X, Y, device_b, dtype_b, epochs=3, batch=256)
    diff = float(np.abs(a.predict(X[:2000]) - b.predict(X[:2000])).max())
    va, vb = a.history_[-1]["val_loss"], b.history_[-1]["val_loss"]
    ok = diff < tol
    print(
        f"agreement {device_a}/{dtype_a} vs {device_b}/{dtype_b}: max |Δŷ| = {diff:.2e} "
        f"(tolerance {tol:g}), val loss {va:.6f} vs {vb:.6f} -> {'OK' if ok else 'MISMATCH'}"
    )
    return ok


def forward_agreement(tol: float = 1e-9) -> bool:
    """CuPy against NumPy for every forward-model entry point of the VES and MT models."""
    import cupy

    rng = np.random.default_rng(5)
    ok = True
    for name, geometry in FORWARD_CASES.items():
        fm = forward_models.create(name, n_layers=4, **geometry)
        models = np.hstack(
            [10 ** rng.uniform(0, 4, (2000, 4)), 10 ** rng.uniform(0, 2.5, (2000, 3))]
        )
        on_gpu = cupy.asarray(models)
        cot = rng.normal(size=(models.shape[0], fm.n_data))
        data, jac = fm.forward_and_jacobian(models)
        _, vjp = fm.forward_and_vjp(models)
        data_gpu, jac_gpu = fm.forward_and_jacobian(on_gpu)
        _, vjp_gpu = fm.forward_and_vjp(on_gpu)
        pairs = {
            "forward": (
                fm.forward(models, precision="double"),
                fm.forward(on_gpu, precision="double"),
            ),
            "forward_and_jacobian data": (data, data_gpu),
            "forward_and_jacobian jac": (jac, jac_gpu),
            "forward_and_vjp": (vjp(cot), vjp_gpu(cupy.asarray(cot))),
        }
        if "single" in fm.derivative_precisions:  # MT: float32 derivatives, within float32
            _, vjp32 = fm.forward_and_vjp(models, precision="single")
            _, vjp32_gpu = fm.forward_and_vjp(on_gpu, precision="single")
            pairs["forward_and_vjp single"] = (vjp32(cot), vjp32_gpu(cupy.asarray(cot)))
        for label, (cpu, gpu) in pairs.items():
            err = float(np.max(np.abs(to_numpy(gpu) - cpu)) / np.max(np.abs(cpu)))
            ok &= err < (1e-4 if label.endswith("single") else tol)
            print(f"{name:17s} {label:26s} max rel. |CuPy − NumPy| = {err:.1e}")
    print(f"forward models on CuPy: {'OK' if ok else 'MISMATCH'} (tolerance {tol:g})")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    if not bpnet.gpu_available():
        print("no GPU (CuPy missing or no device visible): checking the NumPy half only")
        return 0 if agreement("cpu", "float64", "cpu", "float32", tol=1e-3) else 1
    ok = agreement("cpu", "float64", "gpu", "float64", tol=1e-6)
    ok &= forward_agreement()
    for n in (100_000, 1_000_000):
        X, Y = make_data(n)
        for batch in (256, 4096):
            train(X[:5000], Y[:5000], "gpu", "float32", 1, batch)  # warm-up: kernels compile
            _, t_cpu = train(X, Y, "cpu", "float32", args.epochs, batch)
            _, t_gpu = train(X, Y, "gpu", "float32", args.epochs, batch)
            print(
                f"n={n:>9,d} batch={batch:>5d} epochs={args.epochs}: NumPy {t_cpu:7.2f} s, "
                f"CuPy {t_gpu:7.2f} s, speed ratio NumPy/CuPy = {t_cpu / t_gpu:6.2f}"
            )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
