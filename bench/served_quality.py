"""Served networks on synthetic soundings: random geometries and models across the served range.

For each method, ``--n`` soundings: a random first abscissa and span inside the served range
(VES AB/2 or a 0.5 m–30 km, at least one decade; MT periods 1e-5–1e5 s, at least 1.5 decades),
4–12 points per decade with random jitter, a random 1–4 layer model (ρ log-uniform in
1–10⁴ Ω·m, interfaces inside the depth range the data see), 3 % Gaussian noise on ρa and 1° on
phase, errors stated as 3 % / 1°. Each is inverted by ``inversion.served.ServedSet`` (every
layer count, automatic choice); printed per method: the share at χ ≤ 1.2 after refinement, the
median network-only χ of the chosen layer count, how often the true layer count was chosen, the
median time per sounding, and "min found": the share whose chosen χ ≤ 1.2 or whose true layer
count's fit reaches χ at or below the true model's (the search found the minimum; what remains
above 1.2 is the noise of soundings with few data, where the honest choice keeps the simpler
model); the last column is the χ ≤ 1.2 share among soundings of at least 15 points.

Run: ``.venv/bin/python bench/served_quality.py --networks DIR [--n 200]`` (DIR: served-*.npz).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import forward_models
from inversion.misfit import chi
from inversion.served import METHODS, load_set
from inversion.served.frame import SKIN_M


def random_sounding(method: str, rng: np.random.Generator) -> tuple[dict, int, float]:
    """One noisy synthetic observation dict, its true layer count and the true model's χ."""
    spec = METHODS[method]
    lo, hi = np.log10(spec.axis_range)
    min_span = 1.5 if spec.has_phase else 1.0
    span = rng.uniform(min_span, min(hi - lo, 6.0 if spec.has_phase else 3.5))
    first = rng.uniform(lo, hi - span)
    k = int(span * rng.uniform(4, 12)) + 1
    log_axis = np.sort(first + span * np.concatenate([[0, 1], rng.uniform(size=k - 2)]))
    axis = 10.0**log_axis
    n_layers = int(rng.integers(1, 5))
    rho = 10.0 ** rng.uniform(0, 4, n_layers)
    if spec.has_phase:
        skin = SKIN_M * np.sqrt(np.exp(np.log(rho).mean()) * axis[[0, -1]])
        d_lo, d_hi = np.log10(skin[0]) - 0.5, np.log10(skin[1]) - 0.5
    else:
        d_lo, d_hi = log_axis[0] - 0.3, log_axis[-1] - 0.5
    depths = 10.0 ** np.sort(rng.uniform(d_lo, d_hi, n_layers - 1))
    model = np.concatenate([rho, np.diff(np.concatenate([[0.0], depths]))])
    fm = forward_models.create(method, n_layers=n_layers, **{spec.axis: axis})
    data = np.asarray(fm.forward(model, precision="double"), dtype=float)[0]
    noisy = data.copy()
    noisy[:k] *= 1 + 0.03 * rng.standard_normal(k)
    obs = {spec.axis: axis.tolist(), "rho_a_ohmm": noisy[:k].tolist()}
    if spec.has_phase:
        noisy[k:] += rng.standard_normal(k)
        obs["phase_deg"] = noisy[k:].tolist()
    is_phase = np.arange(data.size) >= k
    true_chi = float(chi(noisy, data, is_phase, np.where(is_phase, 1.0, 0.03)))
    return obs, n_layers, true_chi


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", required=True, help="directory of served-*.npz")
    parser.add_argument("--n", type=int, default=200, help="soundings per method")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    served = load_set(args.networks)
    print(
        f"{'method':17s} {'n':>4s} {'chi<=1.2':>9s} {'net chi med':>11s} "
        f"{'N right':>8s} {'ms med':>7s} {'min found':>9s} {'chi<=1.2, K>=15':>15s}"
    )
    for method, ok in served.ready().items():
        if METHODS[method].is_tem:
            continue  # bench/tem_quality.py
        if not ok:
            print(f"{method:17s} not served in {args.networks}")
            continue
        rng = np.random.default_rng(args.seed)
        chis, nets, right, times, found, sizes = [], [], [], [], [], []
        for _ in range(args.n):
            obs, n_true, true_chi = random_sounding(method, rng)
            sizes.append(len(obs["rho_a_ohmm"]))
            t0 = time.perf_counter()
            result = served.invert(obs, noise_floor={"rho_a_rel": 0.03, "phase_deg": 1.0})[0]
            times.append(1e3 * (time.perf_counter() - t0))
            chis.append(result["misfit"]["chi"])
            net = result["network_misfit"]["chi"]
            nets.append(np.nan if net is None else net)
            right.append(result["n_layers"] == n_true)
            at_truth = next(c["chi"] for c in result["candidates"] if c["n_layers"] == n_true)
            found.append(result["misfit"]["chi"] <= 1.2 or at_truth <= true_chi * (1 + 1e-6))
        chis_a = np.asarray(chis)
        print(
            f"{method:17s} {args.n:4d} {100 * np.mean(chis_a <= 1.2):8.1f}% "
            f"{np.nanmedian(nets):11.2f} {100 * np.mean(right):7.1f}% {np.median(times):7.0f} "
            f"{100 * np.mean(found):8.1f}% "
            f"{100 * np.mean(chis_a[np.asarray(sizes) >= 15] <= 1.2):14.1f}%",
            flush=True,
        )


if __name__ == "__main__":
    main()
