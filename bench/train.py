"""Training speed and quality: bpnet vs PyTorch (CPU) vs scikit-learn, same task, same run.

Task: a real inverse problem. 10⁵ three-layer Schlumberger soundings (30 AB/2 from 1 m to 1 km,
MN/2 = AB/2 / 10; Sobol' models, log-uniform ρ 1–5000 Ω·m, h 0.5–100 m; 3 % Gaussian noise),
inputs log10 ρ_a and targets log10 of the five parameters, both standardised with the training
rows' statistics; 15 % held out for validation. Network 30 → 64 tanh → 5, Adam (lr 1e-3),
batch 256, the same number of epochs everywhere, float32 for bpnet and PyTorch (scikit-learn
computes in float64). Prints

* validation MSE and wall time of bpnet and PyTorch **each from its own defaults** (bpnet's
  ``BPNetwork()`` initialiser; PyTorch's ``nn.Linear`` initialiser, uniform ±1/√fan_in on weights
  and biases), and from **shared initial weights** (PyTorch started from bpnet's initial weights
  for each bpnet initialiser in ``--inits``), averaged over ``--seeds`` seeds, with the ratios
  (targets: bpnet's MSE within 5 % of PyTorch's or better, time ratio ≤ 0.5);
* PyTorch's time the fastest way we found on CPU (``torch.set_num_threads(--threads)``): the
  plain autograd loop, autograd with fused Adam and preallocated batch tensors, a hand-written
  forward/backward without autograd (fused Adam on preallocated gradients), and, with
  ``--torch-compile``, ``torch.compile`` of the forward + loss in the fused loop (timed last and
  without its compile time: its compile workers linger and slow whatever runs after); the
  fastest of the first three is used for the ratios;
* bpnet's achieved GFLOP/s at batch 4096 (matrix-multiply FLOPs of its best epoch) as a fraction
  of a large float32 matrix multiply's GFLOP/s (best of 5) on as many cores (target ≥ 30 %),
  measured first, before PyTorch's idle worker threads exist (``--skip-gflops`` leaves it out);
* scikit-learn ``MLPRegressor`` on the same task, for reference (``--skip-sklearn``).

Run: ``.venv/bin/python bench/train.py`` (``--help`` for sizes; ``--threads`` sets PyTorch's
threads, NumPy's BLAS threads and bpnet's ``n_jobs``, default: all cores). PyTorch and
scikit-learn (with threadpoolctl) come from the ``bench`` extra.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bpnet  # noqa: E402
import forward_models  # noqa: E402
from bpnet.initializers import initialize  # noqa: E402
from forward_models import ModelSpace, NoiseModel, generate_dataset  # noqa: E402

AB2_M = np.geomspace(1.0, 1000.0, 30)
N_IN, N_OUT = 30, 5
LR = 1e-3


def make_data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(X (n, 30), Y (n, 5))``: log10 of noisy Schlumberger ρ_a and of the 3-layer models."""
    fm = forward_models.create("ves-schlumberger", n_layers=3, ab2_m=AB2_M, mn2_m=AB2_M / 10)
    space = ModelSpace.for_forward_model(fm, (1.0, 5000.0), (0.5, 100.0))
    noise = NoiseModel(rho_a_rel=0.03)
    ds = generate_dataset(fm, space, n, seed=seed, noise=noise)
    order = np.random.default_rng(seed).permutation(n)  # Sobol' order is not random
    return np.log10(ds.data[order]), np.log10(ds.models[order])


def make_smooth_data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The earlier synthetic task: X ~ U(−1, 1)^30, Y = tanh(X A) B + 0.3 sin(X C) (5 outputs)."""
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(N_IN, 8)) / np.sqrt(N_IN) * 1.5
    B = rng.normal(size=(8, N_OUT)) / np.sqrt(8)
    C = rng.normal(size=(N_IN, N_OUT)) / np.sqrt(N_IN) * 2.0
    X = rng.uniform(-1, 1, size=(n, N_IN))
    return X, np.tanh(X @ A) @ B + 0.3 * np.sin(X @ C)


def standardise(train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """Each array shifted and scaled by the training rows' column mean and standard deviation."""
    mean, std = train.mean(0), train.std(0)
    return [(a - mean) / std for a in (train, *others)]


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


def run_bpnet(X, Y, Xv, Yv, epochs, batch, hidden, threads, seed=0, init=None):
    """bpnet fit: ``(wall seconds, val MSE, best epoch's samples/s)``; ``init=None``: default."""
    kwargs = {} if init is None else {"init": init}
    net = bpnet.BPNetwork(
        hidden=hidden,
        learning_rate=LR,
        batch_size=batch,
        max_epochs=epochs,
        early_stopping=False,
        validation_fraction=0.0,
        device="cpu",
        n_jobs=threads,
        seed=seed,
        **kwargs,
    )
    t = time.perf_counter()
    net.fit(X, Y)
    elapsed = time.perf_counter() - t
    best_rate = max(h["samples_per_s"] for h in net.history_)
    return elapsed, float(np.mean((net.predict(Xv) - Yv) ** 2)), best_rate


def bpnet_initial_weights(init: str, seed: int, hidden: int) -> dict:
    """The initial weights ``BPNetwork(init=init, seed=seed, validation_fraction=0)`` starts from
    (no validation split, so the initialiser is the generator's first draw)."""
    return initialize(init, np.random.default_rng(seed), N_IN, hidden, N_OUT)


def torch_model(hidden: int, seed: int, start: dict | None):
    """30 → hidden tanh → 5 ``nn.Sequential``: PyTorch's own initialisation (``start=None``,
    ``torch.manual_seed(seed)``) or the given bpnet weights."""
    import torch

    torch.manual_seed(seed)
    model = torch.nn.Sequential(
        torch.nn.Linear(N_IN, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, N_OUT)
    )
    if start is not None:
        with torch.no_grad():
            for layer, (w, b) in zip(
                (model[0], model[2]), (("W1", "b1"), ("W2", "b2")), strict=True
            ):
                layer.weight.copy_(torch.from_numpy(start[w].T.astype(np.float32)))
                layer.bias.copy_(torch.from_numpy(start[b].astype(np.float32)))
    return model


def torch_plain(model, Xt, Yt, epochs, batch) -> None:
    """The textbook loop: autograd, ``nn.MSELoss``, default ``torch.optim.Adam``, fancy indexing."""
    import torch

    opt = torch.optim.Adam(model.parameters(), lr=LR)
    loss_fn = torch.nn.MSELoss()
    n = Xt.shape[0]
    for _ in range(epochs):
        perm = torch.randperm(n)
        for start in range(0, n, batch):
            idx = perm[start : start + batch]
            opt.zero_grad(set_to_none=True)
            loss_fn(model(Xt[idx]), Yt[idx]).backward()
            opt.step()


def torch_fused(model, Xt, Yt, epochs, batch, loss_fn: Callable | None = None) -> None:
    """Autograd with fused Adam, the batch gathered into preallocated tensors
    (``index_select(out=)``); ``loss_fn(x, y)`` replaces the plain forward + MSE (e.g. compiled)."""
    import torch

    opt = torch.optim.Adam(model.parameters(), lr=LR, fused=True)
    if loss_fn is None:

        def loss_fn(xb, yb):
            return torch.nn.functional.mse_loss(model(xb), yb)

    n = Xt.shape[0]
    xb = torch.empty((batch, Xt.shape[1]))
    yb = torch.empty((batch, Yt.shape[1]))
    for _ in range(epochs):
        perm = torch.randperm(n)
        for start in range(0, n, batch):
            idx = perm[start : start + batch]
            k = idx.shape[0]
            x, y = (xb, yb) if k == batch else (xb[:k], yb[:k])
            torch.index_select(Xt, 0, idx, out=x)
            torch.index_select(Yt, 0, idx, out=y)
            opt.zero_grad(set_to_none=False)
            loss_fn(x, y).backward()
            opt.step()


def time_compiled(X, Y, Xv, Yv, epochs, batch, hidden, seed=0) -> tuple[float, float, float]:
    """``torch.compile`` of the forward + loss in the fused loop: ``(compile s, train s, val
    MSE)``; compiled once for the full and the last, shorter batch shape before the timing."""
    import torch

    model = torch_model(hidden, seed, None)
    Xt = torch.from_numpy(X.astype(np.float32))
    Yt = torch.from_numpy(Y.astype(np.float32))

    def loss_of(xb, yb):
        return torch.nn.functional.mse_loss(model(xb), yb)

    compiled = torch.compile(loss_of, dynamic=False)
    t = time.perf_counter()
    for k in {batch, len(X) % batch or batch}:
        compiled(Xt[:k], Yt[:k]).backward()  # compiles; the gradients are reset by the loop
    t_compile = time.perf_counter() - t
    torch.manual_seed(seed)
    t = time.perf_counter()
    torch_fused(model, Xt, Yt, epochs, batch, compiled)
    elapsed = time.perf_counter() - t
    with torch.no_grad():
        pred = model(torch.from_numpy(Xv.astype(np.float32))).numpy()
    return t_compile, elapsed, float(np.mean((pred - Yv) ** 2))


def torch_manual(model, Xt, Yt, epochs, batch) -> None:
    """No autograd: forward and backward by hand into preallocated tensors (``out=``), the
    gradients handed to fused Adam (the same MSE gradient autograd computes)."""
    import torch

    lin1, lin2 = model[0], model[2]
    params = [lin1.weight, lin1.bias, lin2.weight, lin2.bias]
    for p in params:
        p.grad = torch.zeros_like(p)
    opt = torch.optim.Adam(params, lr=LR, fused=True)
    n, h, m = Xt.shape[0], lin1.weight.shape[0], Yt.shape[1]
    xb, yb = torch.empty((batch, Xt.shape[1])), torch.empty((batch, m))
    hb, ob, dh = torch.empty((batch, h)), torch.empty((batch, m)), torch.empty((batch, h))
    with torch.no_grad():
        for _ in range(epochs):
            perm = torch.randperm(n)
            for start in range(0, n, batch):
                idx = perm[start : start + batch]
                k = idx.shape[0]
                x, y, H, O, dH = (
                    (xb, yb, hb, ob, dh) if k == batch else (xb[:k], yb[:k], hb[:k], ob[:k], dh[:k])
                )
                torch.index_select(Xt, 0, idx, out=x)
                torch.index_select(Yt, 0, idx, out=y)
                torch.addmm(lin1.bias, x, lin1.weight.t(), out=H)
                H.tanh_()
                torch.addmm(lin2.bias, H, lin2.weight.t(), out=O)
                O.sub_(y).mul_(2.0 / (k * m))  # ∂loss/∂O of the mean squared error
                torch.mm(O.t(), H, out=lin2.weight.grad)
                torch.sum(O, 0, out=lin2.bias.grad)
                torch.mm(O, lin2.weight, out=dH)
                H.mul_(H).neg_().add_(1.0)  # 1 − tanh²
                dH.mul_(H)
                torch.mm(dH.t(), x, out=lin1.weight.grad)
                torch.sum(dH, 0, out=lin1.bias.grad)
                opt.step()


TORCH_LOOPS: dict[str, Callable] = {
    "autograd": torch_plain,
    "autograd+fused": torch_fused,
    "manual+fused": torch_manual,
}


def run_torch(loop: str, X, Y, Xv, Yv, epochs, batch, hidden, seed=0, start=None):
    """One PyTorch fit with the named loop: ``(wall seconds, val MSE)``."""
    import torch

    model = torch_model(hidden, seed, start)
    Xt = torch.from_numpy(X.astype(np.float32))
    Yt = torch.from_numpy(Y.astype(np.float32))
    torch.manual_seed(seed)
    t = time.perf_counter()
    TORCH_LOOPS[loop](model, Xt, Yt, epochs, batch)
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
        learning_rate_init=LR,
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


def over_seeds(runs: list[tuple[float, ...]]) -> tuple[float, float, float]:
    """``(shortest time, mean val MSE, spread of val MSE (max − min))`` over per-seed results
    (the shortest time: the least disturbed by other jobs on a shared machine)."""
    t = np.array([r[0] for r in runs])
    v = np.array([r[1] for r in runs])
    return float(t.min()), float(v.mean()), float(v.max() - v.min())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--task",
        choices=("ves", "smooth"),
        default="ves",
        help="ves: the VES inverse problem; "
        "smooth: the earlier synthetic smooth map (inputs kept in [-1, 1])",
    )
    parser.add_argument("--n-samples", type=int, default=100_000)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--seeds", type=int, default=3, help="seeds averaged per configuration")
    parser.add_argument("--inits", default="xavier,fan-in", help="bpnet initialisers compared")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--torch-compile", action="store_true", help="also time torch.compile")
    parser.add_argument("--skip-sklearn", action="store_true")
    parser.add_argument("--skip-gflops", action="store_true")
    args = parser.parse_args()

    import torch
    from threadpoolctl import threadpool_limits

    threadpool_limits(args.threads)  # NumPy's BLAS gets the same threads as PyTorch
    torch.set_num_threads(args.threads)
    X, Y = (make_data if args.task == "ves" else make_smooth_data)(args.n_samples)
    n_val = int(0.15 * args.n_samples)
    if args.task == "ves":
        X, Xv = standardise(X[n_val:], X[:n_val])
    else:
        X, Xv = X[n_val:], X[:n_val]
    Y, Yv = standardise(Y[n_val:], Y[:n_val])
    seeds = range(args.seeds)
    hp = (args.epochs, args.batch, args.hidden)
    default_init = bpnet.BPNetwork().init
    inits = args.inits.split(",")
    print(
        f"task: {'VES 3-layer inverse' if args.task == 'ves' else 'smooth map'}, "
        f"{N_IN} -> {args.hidden} tanh -> {N_OUT}, "
        f"{len(X)} train / {n_val} val samples, Adam lr {LR:g}, batch {args.batch}, "
        f"{args.epochs} epochs, {args.threads} threads, {args.seeds} seed(s); "
        f"bpnet default init: {default_init}"
    )
    if not args.skip_gflops:
        for threads in sorted({args.threads, 1}, reverse=True):
            print_gflops(X, Y, Xv, Yv, args.epochs, args.hidden, threads)

    # which PyTorch loop is fastest here: one seed each, PyTorch's own initialisation
    speed = {}
    for loop in TORCH_LOOPS:  # warm-up: PyTorch's first calls pay for lazy set-up
        run_torch(
            loop, X[: 4 * args.batch], Y[: 4 * args.batch], Xv, Yv, 1, args.batch, args.hidden
        )
    for loop in TORCH_LOOPS:
        speed[loop] = run_torch(loop, X, Y, Xv, Yv, *hp)
        print(f"PyTorch loop {loop:15s}: {speed[loop][0]:7.2f} s   val MSE {speed[loop][1]:.5f}")
    fastest = min(speed, key=lambda k: speed[k][0])
    print(f"fastest PyTorch loop: {fastest}")

    bp = {
        i: over_seeds([run_bpnet(X, Y, Xv, Yv, *hp, args.threads, s, i) for s in seeds])
        for i in inits
    }
    pt_own = over_seeds([run_torch(fastest, X, Y, Xv, Yv, *hp, s) for s in seeds])
    pt_shared = {
        i: over_seeds(
            [
                run_torch(fastest, X, Y, Xv, Yv, *hp, s, bpnet_initial_weights(i, s, args.hidden))
                for s in seeds
            ]
        )
        for i in inits
    }
    print(f"{'run':42s} {'best s':>8s} {'val MSE':>9s} {'spread':>8s}   (over the seeds)")
    for i in inits:
        tag = " (bpnet default)" if i == default_init else ""
        print(f"{'bpnet, init ' + i + tag:42s} {bp[i][0]:8.2f} {bp[i][1]:9.5f} {bp[i][2]:8.5f}")
    print(f"{'PyTorch, own default init':42s} {pt_own[0]:8.2f} {pt_own[1]:9.5f} {pt_own[2]:8.5f}")
    for i in inits:
        r = pt_shared[i]
        print(f"{'PyTorch from bpnet ' + i + ' weights':42s} {r[0]:8.2f} {r[1]:9.5f} {r[2]:8.5f}")
    if not args.skip_sklearn:
        t_sk, v_sk = run_sklearn(X, Y, Xv, Yv, *hp)
        print(f"{'scikit-learn (seed 0, float64)':42s} {t_sk:8.2f} {v_sk:9.5f}")
    if default_init in bp:
        t_bp, v_bp, _ = bp[default_init]
        print(
            f"defaults vs defaults: val MSE bpnet {v_bp:.5f} vs PyTorch {pt_own[1]:.5f} "
            f"({(v_bp - pt_own[1]) / pt_own[1]:+.1%}; target within 5 % or better); "
            f"time ratio bpnet / PyTorch = {t_bp / pt_own[0]:.3f} (target <= 0.5)"
        )
    for i in inits:
        v_bp, v_pt = bp[i][1], pt_shared[i][1]
        print(
            f"shared start ({i}): val MSE bpnet {v_bp:.5f} vs PyTorch {v_pt:.5f} "
            f"({(v_bp - v_pt) / v_pt:+.1%}); time ratio {bp[i][0] / pt_shared[i][0]:.3f}"
        )

    if args.torch_compile:
        t_c, t_run, v_c = time_compiled(X, Y, Xv, Yv, *hp)
        print(
            f"PyTorch torch.compile (fused loop): compile {t_c:.1f} s, then {t_run:.2f} s "
            f"val MSE {v_c:.5f}; vs {fastest} {speed[fastest][0]:.2f} s: "
            f"x{t_run / speed[fastest][0]:.2f}"
        )


if __name__ == "__main__":
    main()
