"""Served TEM networks on synthetic soundings, and the time the starter set spends training them.

``--train DIR`` first trains the TEM networks of the starter set (both receivers, 2–6 layers,
``service.starter.STARTER_SETTINGS``) into DIR and prints each network's time. Then, for each
TEM method, ``--n`` soundings: a random loop (square side or circle of equal area, 5–500 m), a
span of 1.5–3.5 decades with the first gate log-uniform from 10⁻⁶ s to where the last reaches
1 s, 5–12 gates per decade (jittered), a linear ramp of 0–60 % of the first time on half of
them; a random 1–4 layer model
(ρ log-uniform in 1–10³ Ω·m, interfaces between 0.3 and 0.7 diffusion depths of the geometric-
mean resistivity at the first and last gate); 3 % Gaussian noise on −dBz/dt, errors stated as 3 %.
Soundings a receiver could not record are redrawn: τ = tρ/(μ₀A) at the first gate below 10⁻³
(the loop is still far larger than the diffusion distance) or at the last above 10³ (below any
instrument's dynamic range). Each is inverted by ``inversion.served.ServedSet`` (every layer count
up to ``--max-layers``, automatic choice); printed per method: the share at χ ≤ 1.2 after
refinement, the median χ, the median network-only χ of the chosen layer count, how often the
true layer count was chosen, "min found" (as ``bench/served_quality.py``: the share whose
chosen χ ≤ 1.2 or whose true layer count's fit reaches χ at or below the true model's on the
gates the inversion kept — the least-squares minimum is never above the truth, so a fit above
it is a minimum the search missed, and each such sounding is listed), "truth ≤ 1.2" (the share
whose *true* model fits the noisy data to χ ≤ 1.2: with 3 % noise and few gates the truth
itself often lands above), "true N ≤ 1.2" (the share whose fit with the true layer count
reaches χ ≤ 1.2: what an oracle that knew the layer count would score), "χ² ceiling" (the share
an exact least-squares fit with the true number of parameters can expect at χ ≤ 1.2, as
``bench/served_quality.py``) and the median time per sounding. Each sounding above χ 1.2 is
listed with its candidates and the true model's χ.

``--geometry field`` draws spans of 1.8–3.0 decades and 8–16 gates per decade, like the real
TEM soundings (``GEOMETRIES``), instead of the wide default.

Run: ``.venv/bin/python bench/tem_quality.py --networks DIR [--train] [--n 50]
[--geometry field]``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import forward_models
from inversion.formats.figures_tem import fitted_gates
from inversion.misfit import expected_share_within
from inversion.served import ServedSet, load_set, served_name, train_served
from inversion.served.frame import MU0
from service.starter import STARTER_SETTINGS

TEM = ("tem-coincident-loop", "tem-central-loop")


#: ``--geometry``: (span in decades, gates per decade) ranges; "field" spans and densities of the
#: 19 real TEM soundings in the field fixtures and tests/data/field_more (1.84–3.04 decades,
#: 8.9–19.1 gates per decade, 27–47 gates), kept below their densest
GEOMETRIES = {"wide": ((1.5, 3.5), (5.0, 12.0)), "field": ((1.8, 3.0), (8.0, 16.0))}


def random_sounding(
    method: str, rng: np.random.Generator, geometry: str = "wide"
) -> tuple[dict, int, float]:
    """One noisy synthetic TEM observation dict, its true layer count and the true model's χ
    on the noisy data (3 % errors); ``geometry`` names the ``GEOMETRIES`` ranges."""
    obs, model, residuals = random_truth(method, rng, geometry)
    return obs, (model.size + 1) // 2, float(np.sqrt(np.mean(residuals**2)))


def random_truth(
    method: str,
    rng: np.random.Generator,
    geometry: str = "wide",
    layers: tuple[int, int] = (1, 5),
) -> tuple[dict, np.ndarray, np.ndarray]:
    """As :func:`random_sounding`, with the true model (2N − 1,) instead of N and the true
    model's weighted residuals (K,) on the noisy data instead of its χ; N drawn by
    ``rng.integers(*layers)`` (1–4 layers by default)."""
    spans, densities = GEOMETRIES[geometry]
    while True:
        side = 10.0 ** rng.uniform(np.log10(5.0), np.log10(500.0))
        circle = rng.uniform() < 0.3
        area = side**2
        span = rng.uniform(*spans)
        first = rng.uniform(-6.0, -span)  # the last gate at most 1 s
        k = int(span * rng.uniform(*densities)) + 1
        log_t = np.sort(first + span * np.concatenate([[0, 1], rng.uniform(size=k - 2)]))
        times = 10.0**log_t
        n_layers = int(rng.integers(*layers))
        rho = 10.0 ** rng.uniform(0.0, 3.0, n_layers)
        rho_mean = float(np.exp(np.log(rho).mean()))
        tau = times[[0, -1]] * np.array([rho.min(), rho_mean]) / (MU0 * area)
        if tau[0] < 1e-3 or tau[1] > 1e3:
            continue
        delta = np.sqrt(2 * times[[0, -1]] * rho_mean / MU0)
        depths = 10.0 ** np.sort(
            rng.uniform(np.log10(0.3 * delta[0]), np.log10(0.7 * delta[1]), n_layers - 1)
        )
        model = np.concatenate([rho, np.diff(np.concatenate([[0.0], depths]))])
        loop = {"loop_radius_m": side / np.sqrt(np.pi)} if circle else {"loop_side_m": side}
        ramp = 0.6 * times[0] * rng.uniform() if rng.uniform() < 0.5 else 0.0
        fm = forward_models.create(
            method, n_layers=n_layers, times_s=times, ramp_off_s=ramp, **loop
        )
        data = np.asarray(fm.forward(model, precision="double"), dtype=float)[0]
        if not np.all(data > 0):
            continue
        noisy = data * (1 + 0.03 * rng.standard_normal(k))
        residuals = np.log(data / noisy) / 0.03
        obs = {
            "times_s": times.tolist(),
            "dbzdt_v_per_am2": noisy.tolist(),
            "dbzdt_error_percent": 3.0,
            "receiver": method.split("-")[1],
            "ramp_off_s": ramp,
            **loop,
        }
        return obs, model, residuals


def train(folder: Path) -> None:
    """Train the starter set's TEM networks into ``folder``, printing each one's time."""
    folder.mkdir(parents=True, exist_ok=True)
    total = 0.0
    for method in TEM:
        for n_layers in range(2, 7):
            t0 = time.perf_counter()
            net = train_served(method, n_layers, STARTER_SETTINGS)
            net.save(str(folder / f"{served_name(method, n_layers)}.npz"))
            dt = time.perf_counter() - t0
            total += dt
            print(
                f"trained {served_name(method, n_layers)}: {dt:.1f} s "
                f"({STARTER_SETTINGS.samples_for(method)} soundings, val rmse "
                f"{net.metrics['val_rmse_log10']:.3f} decades)",
                flush=True,
            )
    print(f"TEM starter networks: {total:.0f} s in all", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", required=True, help="directory of served-*.npz")
    parser.add_argument("--train", action="store_true", help="train the TEM networks first")
    parser.add_argument("--n", type=int, default=50, help="soundings per method")
    parser.add_argument("--max-layers", type=int, default=6)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--geometry",
        choices=tuple(GEOMETRIES),
        default="wide",
        help="wide: 1.5–3.5 decades, 5–12 gates per decade; field: 1.8–3.0 decades, 8–16 "
        "gates per decade, like the real soundings",
    )
    args = parser.parse_args()
    if args.train:
        train(Path(args.networks))
    served: ServedSet = load_set(args.networks)
    print(
        f"{'method':20s} {'n':>4s} {'chi<=1.2':>9s} {'chi med':>8s} {'net chi med':>11s} "
        f"{'N right':>8s} {'min found':>10s} {'truth<=1.2':>11s} {'true N<=1.2':>11s} "
        f"{'chi2 ceil':>9s} {'s med':>6s}"
    )
    for method in TEM:
        if served.missing(method):
            print(f"{method:20s} not served in {args.networks}")
            continue
        rng = np.random.default_rng(args.seed)
        chis, nets, right, times, found, truths, true_n_fits = [], [], [], [], [], [], []
        ceilings = []
        for _ in range(args.n):
            obs, model, residuals = random_truth(method, rng, args.geometry)
            n_true = (model.size + 1) // 2
            true_chi = float(np.sqrt(np.mean(residuals**2)))
            ceilings.append(expected_share_within(1.2, len(obs["times_s"]), 2 * n_true - 1))
            t0 = time.perf_counter()
            (result,) = served.invert(obs, max_layers=args.max_layers)
            times.append(time.perf_counter() - t0)
            chis.append(result["misfit"]["chi"])
            nets.append(result["network_misfit"]["chi"] or np.nan)
            right.append(result["n_layers"] == n_true)
            candidates = {c["n_layers"]: round(c["chi"], 3) for c in result["candidates"]}
            truths.append(true_chi)
            at_n_true = [c["chi"] for c in result["candidates"] if c["n_layers"] == n_true]
            # the truth's χ on the gates the inversion kept (it drops rising or bent early ones)
            fitted_times = np.asarray(result["predicted"]["times_s"])
            kept = fitted_gates(np.asarray(obs["times_s"]), fitted_times)
            true_chi_kept = float(np.sqrt(np.mean(residuals[kept] ** 2)))
            at_truth = bool(at_n_true) and at_n_true[0] <= true_chi_kept * (1 + 1e-6)
            found.append(result["misfit"]["chi"] <= 1.2 or at_truth)
            true_n_fits.append(bool(at_n_true) and at_n_true[0] <= 1.2)
            if not at_truth:
                print(
                    f"  missed: true {n_true} layers, true model chi {true_chi_kept:.3f} on the "
                    f"kept gates, found {candidates.get(n_true)}",
                    flush=True,
                )
            if not result["misfit"]["chi"] <= 1.2:
                print(
                    f"  chi > 1.2: true {n_true} layers (true model chi {true_chi:.3f}), "
                    f"{len(obs['times_s'])} gates, candidates {candidates}",
                    flush=True,
                )
        chis_a = np.asarray(chis, dtype=float)
        print(
            f"{method:20s} {args.n:4d} {100 * np.mean(chis_a <= 1.2):8.1f}% "
            f"{np.median(chis_a):8.3f} "
            f"{np.nanmedian(nets):11.2f} {100 * np.mean(right):7.0f}% "
            f"{100 * np.mean(found):9.1f}% {100 * np.mean(np.asarray(truths) <= 1.2):10.1f}% "
            f"{100 * np.mean(true_n_fits):10.1f}% {100 * np.mean(ceilings):8.1f}% "
            f"{np.median(times):6.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
