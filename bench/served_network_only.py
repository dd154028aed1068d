"""Network-only quality of served sets: each VES/MT network on its fixed held-out soundings.

For every method and layer count (2–6) present in each ``--networks`` folder: the network-only χ
(the best-fitting of the ensemble mean and its members, for the sounding and its noisy copies;
no refinement) on the fixed held-out
set of :mod:`inversion.served.champion` (``--n`` soundings with that many true layers, random
geometries inside the served range, 3 % / 1° noise) — median, share at χ ≤ 2 and χ ≤ 1.2 —, the
median model error of that answer (per sounding the mean |log10 m̂ − log10 m| over the
parameters against the true model) and the training settings that made the network. With two
folders the second's row follows the first's, with the ratio of medians.

Then, per method and folder, the answer of a network-only inverter that has the whole set: on
every held-out sounding (all layer counts pooled) each layer count's network answers, and the
one with the lowest BIC (n χ² + (2N − 1) ln n, n data) is returned — the served result's
``network_answer`` ("net BIC" in ``bench/field.py``), without the search; its median χ,
share at χ ≤ 2 and χ ≤ 1.2.

Each network's answer is the served one: the best-fitting of the answers to the sounding and
to ``--answer-copies`` noisy copies of it (``--answer-copies 0``: the sounding alone, as before
the ninth session).

Run: ``.venv/bin/python bench/served_network_only.py --networks DIR [DIR2] [--n 200]
[--answer-copies 16] [--copy-noise 2]``
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

from inversion.input_checks import InversionInputError
from inversion.served import METHODS, ServedNetwork, ServedSet, served_name
from inversion.served.champion import held_out_set, held_out_soundings
from inversion.served.results import lowest_bic
from inversion.served.search import SearchSettings


def network_scores(
    net: ServedNetwork, pairs: list[tuple[dict, np.ndarray]], search: SearchSettings | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Network-only χ (m,) and model error (m,), the mean |Δlog10| over the parameters, of
    ``net`` on the (observation, true model) pairs whose sounding the served parser accepts
    (``search``: the answer's noisy copies, default :class:`SearchSettings`')."""
    served = ServedSet([net], max_layers=net.n_layers, search=search)
    chis, errors = [], []
    for obs, truth in pairs:
        try:
            (sounding,) = served.parse(obs)
        except InversionInputError:
            continue
        model, value = served.network_fit(sounding, net.n_layers)
        chis.append(value if math.isfinite(value) else math.inf)
        errors.append(float(np.mean(np.abs(np.log10(model / truth)))))
    return np.asarray(chis), np.asarray(errors)


def set_answer_chis(served: ServedSet, method: str, n: int) -> np.ndarray:
    """χ (m,) of the lowest-BIC network answer over the layer counts of ``served`` on the
    held-out soundings of ``method`` with 2–6 true layers (``n`` each), pooled."""
    layer_counts = [k for k in range(2, 7) if (method, k) in served.networks]
    chis = []
    for n_layers in range(2, 7):
        for obs in held_out_soundings(method, n_layers, n):
            try:
                (sounding,) = served.parse(obs)
            except InversionInputError:
                continue
            by_count = {k: served.network_chi(sounding, k) for k in layer_counts}
            by_count = {k: v for k, v in by_count.items() if v is not None and math.isfinite(v)}
            best = lowest_bic(by_count, sounding.obs.data.size)
            chis.append(math.inf if best is None else by_count[best[0]])
    return np.asarray(chis)


def describe(settings: dict, method: str) -> str:
    """Short text of a network's training settings (``c``: the physics term's Cauchy scale)."""
    net = settings.get("network", {})
    scale = (settings.get("misfit_cauchy_scale") or {}).get(method)
    robust = f" c{scale:g}" if scale and settings.get("data_misfit_weight") else ""
    return (
        f"{settings.get('n_samples')} x {settings.get('n_members')}m h{net.get('hidden')} "
        f"e{net.get('max_epochs')} w{settings.get('data_misfit_weight', 0.0)}{robust}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", nargs="+", required=True, help="folders of served-*.npz")
    parser.add_argument("--n", type=int, default=200, help="held-out soundings per network")
    parser.add_argument(
        "--answer-copies",
        type=int,
        default=SearchSettings.answer_copies,
        help="noisy copies of each sounding in the network's answer (0: the sounding alone)",
    )
    parser.add_argument(
        "--copy-noise",
        type=float,
        default=SearchSettings.copy_noise,
        help="the copies' noise, in multiples of the network's training noise",
    )
    args = parser.parse_args()
    search = SearchSettings(answer_copies=args.answer_copies, copy_noise=args.copy_noise)
    print(
        f"network answer: the sounding and {args.answer_copies} noisy copies "
        f"({args.copy_noise:g}x the training noise)"
    )
    print(
        f"{'network':26s} {'set':>4s} {'median':>7s} {'<=2':>6s} {'<=1.2':>6s} "
        f"{'|dlog10|':>8s}  settings"
    )
    summary: dict[tuple[str, int], list[tuple[np.ndarray, np.ndarray]]] = {}
    for method, spec in METHODS.items():
        if spec.is_tem:
            continue
        for n_layers in range(2, 7):
            name = served_name(method, n_layers)
            pairs = None
            medians = []
            for k, folder in enumerate(args.networks):
                path = Path(folder) / f"{name}.npz"
                if not path.exists():
                    continue
                pairs = pairs or held_out_set(method, n_layers, args.n)
                net = ServedNetwork.load(str(path))
                chis, errors = network_scores(net, pairs, search)
                summary.setdefault((method, k), []).append((chis, errors))
                medians.append(float(np.median(chis)))
                ratio = f"  x{medians[-1] / medians[0]:.2f}" if k and medians[0] > 0 else ""
                print(
                    f"{name:26s} {k:4d} {medians[-1]:7.2f} {100 * np.mean(chis <= 2):5.1f}% "
                    f"{100 * np.mean(chis <= 1.2):5.1f}% {np.median(errors):8.3f}  "
                    f"{describe(net.settings, net.method)}{ratio}",
                    flush=True,
                )
    for (method, k), parts in summary.items():
        chis = np.concatenate([c for c, _ in parts])
        errors = np.concatenate([e for _, e in parts])
        print(
            f"{method + ' (2-6 layers)':26s} {k:4d} {np.median(chis):7.2f} "
            f"{100 * np.mean(chis <= 2):5.1f}% {100 * np.mean(chis <= 1.2):5.1f}% "
            f"{np.median(errors):8.3f}"
        )
    print("\nthe set's network-only answer: lowest BIC over every layer count's network")
    for method, k in summary:
        served = ServedSet(max_layers=6, search=search)
        for n_layers in range(2, 7):
            path = Path(args.networks[k]) / f"{served_name(method, n_layers)}.npz"
            if path.exists():
                served.add(ServedNetwork.load(str(path)))
        chis = set_answer_chis(served, method, args.n)
        print(
            f"{method + ' (set, BIC)':26s} {k:4d} {np.median(chis):7.2f} "
            f"{100 * np.mean(chis <= 2):5.1f}% {100 * np.mean(chis <= 1.2):5.1f}%",
            flush=True,
        )


if __name__ == "__main__":
    main()
