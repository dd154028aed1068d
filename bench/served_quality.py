"""Served networks on synthetic soundings: random geometries and models across the served range.

For each method, ``--n`` soundings: a random first abscissa and span inside the served range
(VES AB/2 or a 0.5 m–30 km, at least one decade; MT periods 1e-5–1e5 s, at least 1.5 decades),
4–12 points per decade with random jitter, a random 1–4 layer model (ρ log-uniform in 1–10⁴ Ω·m,
interfaces inside the depth range the data see), 3 % Gaussian noise on ρa and 1° on phase,
errors stated as 3 % / 1°. Each is inverted by ``inversion.served.ServedSet`` (every layer
count, automatic choice); printed per method: the share at χ ≤ 1.2 after refinement, the median
network-only χ of the chosen layer count and its share at χ ≤ 2 (both over the soundings
whose chosen layer count has a network: a half-space has none), how often the true layer count
was chosen, the median time per sounding, and "min found": the share whose chosen χ ≤ 1.2 or
whose true layer count's fit reaches χ at or below the true model's (the search found the
minimum; what remains above 1.2 is the noise of soundings with few data, where the honest choice
keeps the simpler model; each sounding above 1.2 is listed with its candidates); then the
χ ≤ 1.2 share among soundings of at least 15 and of at least 20 points, and "truth ≤ 1.2": the
share whose *true* model fits the noisy data to χ ≤ 1.2 — the ceiling an answer that does not
overfit can reach (with 3 % noise and 6–15 data the true model itself often lands above 1.2);
"true N ≤ 1.2": the share whose fit with the *true layer count* reaches χ ≤ 1.2 — what an oracle
that knew the layer count would score (a fit with few parameters, a half-space above all, keeps
most of the noise's χ²); "χ² ceiling": the share an exact least-squares fit with the true
number of parameters can expect at χ ≤ 1.2, P(χ²_{K−p} ≤ 1.44 K) averaged over the soundings
(``inversion.misfit.expected_share_within``; K data, p = 2N − 1) — above it, a method overfits;
then the median Levenberg–Marquardt iterations of the chosen
fit's winning start, and last ("net LM it") those of the row started at the chosen layer
count's network answer, to its own minimum (over the soundings with one): how far the
network's answer lies from a minimum.

With ``--draws 0`` the search refines only the network's answers, their members and the split
models (no prior draws): how far the networks alone carry the refinement.

``--geometry field`` draws spans and densities like those of the real soundings in the field
fixtures (``inversion.served.champion.FIELD_SPANS_DECADES``: VES 1.8–3.5 decades, MT 3.5–6,
8–16 points per decade) instead of the wide default, whose one-decade soundings of 5–12 points
no survey records.

Run: ``.venv/bin/python bench/served_quality.py --networks DIR [--n 200] [--draws 1024]
[--geometry field] [--answer-copies 32]``
(DIR: served-*.npz).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np

from inversion.misfit import chi, expected_share_within
from inversion.served import METHODS, SearchSettings, load_set
from inversion.served.champion import noisy_observation, random_truth


def random_sounding(
    method: str, rng: np.random.Generator, geometry: str = "wide"
) -> tuple[dict, int, float]:
    """One noisy synthetic observation dict, its true layer count and the true model's χ;
    ``geometry`` as :func:`inversion.served.champion.random_truth`."""
    axis, model, data = random_truth(method, (1, 5), rng, geometry)
    obs = noisy_observation(method, axis, data, rng)
    noisy = np.concatenate([obs["rho_a_ohmm"], obs.get("phase_deg", [])])
    is_phase = np.arange(data.size) >= axis.size
    true_chi = float(chi(noisy, data, is_phase, np.where(is_phase, 1.0, 0.03)))
    return obs, (model.size + 1) // 2, true_chi


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", required=True, help="directory of served-*.npz")
    parser.add_argument("--n", type=int, default=200, help="soundings per method")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--geometry",
        choices=("wide", "field"),
        default="wide",
        help="wide: spans from one decade, 4–12 points per decade; field: spans and densities "
        "like the real soundings' (VES 1.8–3.5 decades, MT 3.5–6, 8–16 points per decade)",
    )
    parser.add_argument(
        "--draws",
        type=int,
        default=SearchSettings.n_draws,
        help="prior draws screened per layer count (0: the network's answers, its members and "
        "the split models are the only starts)",
    )
    parser.add_argument(
        "--answer-copies",
        type=int,
        default=SearchSettings.answer_copies,
        help="noisy copies of each sounding in the network's answer (0: the sounding alone)",
    )
    args = parser.parse_args()
    served = load_set(args.networks)
    served.search = replace(served.search, n_draws=args.draws, answer_copies=args.answer_copies)
    print(
        f"{'method':17s} {'n':>4s} {'chi<=1.2':>9s} {'net chi med':>11s} "
        f"{'net<=2':>7s} {'N right':>8s} {'ms med':>7s} {'min found':>9s} {'chi<=1.2, K>=15':>15s} "
        f"{'K>=20':>6s} {'truth<=1.2':>10s} {'true N<=1.2':>11s} {'chi2 ceil':>9s} {'LM it':>6s} "
        f"{'net LM it':>9s}"
    )
    for method, ok in served.ready().items():
        if METHODS[method].is_tem:
            continue  # bench/tem_quality.py
        if not ok:
            print(f"{method:17s} not served in {args.networks}")
            continue
        rng = np.random.default_rng(args.seed)
        chis, nets, right, times, found, sizes, truths, iters = [], [], [], [], [], [], [], []
        net_iters = []
        true_n_fits, ceilings = [], []
        for _ in range(args.n):
            obs, n_true, true_chi = random_sounding(method, rng, args.geometry)
            sizes.append(len(obs["rho_a_ohmm"]))
            n_data = sizes[-1] + len(obs.get("phase_deg", []))
            ceilings.append(expected_share_within(1.2, n_data, 2 * n_true - 1))
            truths.append(true_chi)
            t0 = time.perf_counter()
            result = served.invert(obs, noise_floor={"rho_a_rel": 0.03, "phase_deg": 1.0})[0]
            times.append(1e3 * (time.perf_counter() - t0))
            chis.append(result["misfit"]["chi"])
            iters.append(result["search"]["iterations"])
            if result["search"]["network_start_iterations"] is not None:
                net_iters.append(result["search"]["network_start_iterations"])
            net = result["network_misfit"]["chi"]
            nets.append(np.nan if net is None else net)
            right.append(result["n_layers"] == n_true)
            at_truth = next(c["chi"] for c in result["candidates"] if c["n_layers"] == n_true)
            found.append(result["misfit"]["chi"] <= 1.2 or at_truth <= true_chi * (1 + 1e-6))
            true_n_fits.append(at_truth <= 1.2)
            if not result["misfit"]["chi"] <= 1.2:
                candidates = {c["n_layers"]: round(c["chi"], 3) for c in result["candidates"]}
                print(
                    f"  chi > 1.2: true {n_true} layers (true model chi {true_chi:.3f}), "
                    f"{sizes[-1]} points, chosen {result['n_layers']}, candidates {candidates}",
                    flush=True,
                )
        chis_a, sizes_a, nets_a = np.asarray(chis), np.asarray(sizes), np.asarray(nets)
        print(
            f"{method:17s} {args.n:4d} {100 * np.mean(chis_a <= 1.2):8.1f}% "
            f"{np.nanmedian(nets):11.2f} {100 * np.mean(nets_a[np.isfinite(nets_a)] <= 2):6.1f}% "
            f"{100 * np.mean(right):7.1f}% {np.median(times):7.0f} "
            f"{100 * np.mean(found):8.1f}% "
            f"{100 * np.mean(chis_a[sizes_a >= 15] <= 1.2):14.1f}% "
            f"{100 * np.mean(chis_a[sizes_a >= 20] <= 1.2):5.1f}% "
            f"{100 * np.mean(np.asarray(truths) <= 1.2):9.1f}% "
            f"{100 * np.mean(true_n_fits):10.1f}% {100 * np.mean(ceilings):8.1f}% "
            f"{np.median(iters):6.0f} {np.median(net_iters) if net_iters else np.nan:9.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
