"""Training speed and quality: bpnet vs PyTorch (CPU) vs scikit-learn, same task, same run.

Task: a smooth synthetic 30 → 5 map, 10⁵ samples (15 % held out for validation), network
30 → 64 tanh → 5, Adam (lr 1e-3), batch 256, the same number of epochs for every library,
float32 for bpnet and PyTorch (scikit-learn computes in float64); PyTorch starts from bpnet's
initial weights, so the two runs differ only in shuffling order and rounding. Prints

* time ratio bpnet / PyTorch (target ≤ 0.5) and the validation MSEs side by side (bpnet within
  5 % of PyTorch's);
* bpnet's achieved GFLOP/s at batch 4096 (matrix-multiply FLOPs of its best epoch) as a fraction
  of a large float32 matrix multiply's GFLOP/s (best of 5) measured in this run on as many
  cores (target ≥ 30 %): on all ``--threads`` cores (the whole machine; bpnet ``n_jobs`` worker
  processes, one BLAS thread each, the matmul that many BLAS threads) and on one core; measured
  first, before PyTorch's and scikit-learn's idle worker threads exist. "Whole fit" includes
  starting bpnet's worker processes (≈ 0.15 s);
* scikit-learn ``MLPRegressor`` on the same task, for reference.

Run: ``.venv/bin/python bench/train.py`` (``--help`` for sizes; ``--threads`` sets PyTorch's
threads, NumPy's BLAS threads and bpnet's ``n_jobs``, default: all cores). PyTorch and
scikit-learn (with threadpoolctl) come from the ``bench`` extra.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np

import bpnet
from bpnet.initializers import xavier

N_IN, N_OUT = 30, 5


def make_data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Standardised smooth map: X ~ U(−1, 1)^30, Y = tanh(X A) B + 0.3 sin(X C) (5 outputs)."""
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(N_IN, 8)) / np.sqrt(N_IN) * 1.5
    B = rng.normal(size=(8, N_OUT)) / np.sqrt(8)
    C = rng.normal(size=(N_IN, N_OUT)) / np.sqrt(N_IN) * 2.0
    X = rng.uniform(-1, 1, size=(n, N_IN))
    Y = np.tanh(X @ A) @ B + 0.3 * np.sin(X @ C)
    Y = (Y - Y.mean(0)) / Y.std(0)
    return X, Y


def matmul_gflops(size: int = 2048, repeats: int = 5) -> float:
    """Best-of-``repeats`` float32 GFLOP/s of a ``size × size`` matrix product (NumPy BLAS)."""
    rng = np.random.default_rng(1)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    out = np.empty_like(a)
    np.matmul(a, b, out=out)
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        np.matmul(a, b, out=out)
        best = min(best, time.perf_counter() - t)
    return 2 * size**3 / best / 1e9


def flops_per_sample(hidden: int) -> int:
    """Matrix-multiply FLOPs of one training step per sample: forward (both layers), ∂W2,
    ∂H (= ∂O W2ᵀ) and ∂W1 (the input gradient is never formed)."""
    return 2 * (2 * N_IN * hidden) + 3 * (2 * hidden * N_OUT)


def run_bpnet(X, Y, Xv, Yv, epochs, batch, hidden, threads) -> tuple[float, float, float]:
    """bpnet fit: ``(wall seconds, val MSE, best epoch's samples/s)``."""
    net = bpnet.BPNetwork(
        hidden=hidden,
        activation="tanh",
        optimizer="adam",
        learning_rate=1e-3,
        batch_size=batch,
        max_epochs=epochs,
        early_stopping=False,
        validation_fraction=0.0,
        device="cpu",
        n_jobs=threads,
        dtype="float32",
        seed=0,
    )
    t = time.perf_counter()
    net.fit(X, Y)
    elapsed = time.perf_counter() - t
    best_rate = max(h["samples_per_s"] for h in net.history_)
    return elapsed, float(np.mean((net.predict(Xv) - Yv) ** 2)), best_rate


def run_torch(X, Y, Xv, Yv, epochs, batch, hidden, threads) -> tuple[float, float]:
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(N_IN, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, N_OUT)
    )
    # start from bpnet's initial weights (Xavier, seed 0; the validation split draws first)
    rng = np.random.default_rng(0)
    w0 = xavier(rng, N_IN, hidden, N_OUT)
    with torch.no_grad():
        for layer, (w, b) in zip((model[0], model[2]), (("W1", "b1"), ("W2", "b2")), strict=True):
            layer.weight.copy_(torch.from_numpy(w0[w].T.astype(np.float32)))
            layer.bias.copy_(torch.from_numpy(w0[b].astype(np.float32)))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.MSELoss()
    t = time.perf_counter()
    Xt = torch.from_numpy(X.astype(np.float32))
    Yt = torch.from_numpy(Y.astype(np.float32))
    n = Xt.shape[0]
    for _ in range(epochs):
        perm = torch.randperm(n)
        for start in range(0, n, batch):
            idx = perm[start : start + batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(Xt[idx]), Yt[idx])
            loss.backward()
            opt.step()
    elapsed = time.perf_counter() - t
    with torch.no_grad():
        pred = model(torch.from_numpy(Xv.astype(np.float32))).numpy()
    return elapsed, float(np.mean((pred - Yv) ** 2))


def run_sklearn(X, Y, Xv, Yv, epochs, batch, hidden) -> tuple[float, float]:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPRegressor

    model = MLPRegressor(
        hidden_layer_sizes=(hidden,),
        activation="tanh",
        solver="adam",
        learning_rate_init=1e-3,
        batch_size=batch,
        max_iter=epochs,
        alpha=0.0,
        tol=0.0,
        n_iter_no_change=epochs + 1,
        random_state=0,
    )
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, Y)
    elapsed = time.perf_counter() - t
    return elapsed, float(np.mean((model.predict(Xv) - Yv) ** 2))


def print_gflops(X, Y, Xv, Yv, epochs: int, hidden: int, threads: int) -> None:
    """bpnet's GFLOP/s at batch 4096 on ``threads`` cores (``n_jobs``) against a large matmul on
    as many BLAS threads."""
    from threadpoolctl import threadpool_limits

    big_batch = 4096
    with threadpool_limits(threads):
        peak = matmul_gflops()
    t_big, _, best_rate = run_bpnet(X, Y, Xv, Yv, epochs, big_batch, hidden, threads)
    mean_gf = flops_per_sample(hidden) * len(X) * epochs / t_big / 1e9
    best_gf = flops_per_sample(hidden) * best_rate / 1e9
    print(
        f"bpnet at batch {big_batch}, {threads} job(s): {best_gf:.1f} GFLOP/s (best epoch; "
        f"{mean_gf:.1f} over the whole fit); large float32 matmul on {threads} thread(s) (best of "
        f"5) {peak:.1f} GFLOP/s; fraction = {best_gf / peak:.1%}   (target >= 30 %)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-samples", type=int, default=100_000)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--skip-sklearn", action="store_true")
    args = parser.parse_args()

    from threadpoolctl import threadpool_limits

    threadpool_limits(args.threads)  # NumPy's BLAS gets the same threads as PyTorch
    X, Y = make_data(args.n_samples)
    n_val = int(0.15 * args.n_samples)
    Xv, Yv, X, Y = X[:n_val], Y[:n_val], X[n_val:], Y[n_val:]
    print(
        f"task: {N_IN} -> {args.hidden} tanh -> {N_OUT}, {len(X)} train / {n_val} val samples, "
        f"Adam lr 1e-3, batch {args.batch}, {args.epochs} epochs, {args.threads} threads"
    )
    # the GFLOP/s figure first: PyTorch's and scikit-learn's idle worker threads would
    # otherwise share the cores with it
    for threads in sorted({args.threads, 1}, reverse=True):
        print_gflops(X, Y, Xv, Yv, args.epochs, args.hidden, threads)
    t_bp, v_bp, _ = run_bpnet(X, Y, Xv, Yv, args.epochs, args.batch, args.hidden, args.threads)
    t_pt, v_pt = run_torch(X, Y, Xv, Yv, args.epochs, args.batch, args.hidden, args.threads)
    print(f"bpnet   : {t_bp:7.2f} s   val MSE {v_bp:.5f}")
    print(f"PyTorch : {t_pt:7.2f} s   val MSE {v_pt:.5f}")
    if not args.skip_sklearn:
        t_sk, v_sk = run_sklearn(X, Y, Xv, Yv, args.epochs, args.batch, args.hidden)
        print(f"sklearn : {t_sk:7.2f} s   val MSE {v_sk:.5f}   (reference, float64)")
        print(f"time ratio bpnet / scikit-learn = {t_bp / t_sk:.3f}")
    rel = (v_bp - v_pt) / v_pt
    print(f"time ratio bpnet / PyTorch      = {t_bp / t_pt:.3f}   (target <= 0.5)")
    print(
        f"val MSE bpnet vs PyTorch        = {v_bp:.5f} vs {v_pt:.5f} "
        f"({rel:+.1%}; target within 5 %)"
    )


if __name__ == "__main__":
    main()
