"""Polarisable (Cole–Cole) TEM soundings through the served path, and false alarms without IP.

For ``--n`` synthetic soundings per kind, from ``bench/tem_quality.py``'s generator (``--geometry``
as there; coincident loop unless ``--method``):

* **IP**: a random 1–3 layer earth of which one random layer polarises (m uniform in 0.1–0.6,
  τ log-uniform over the gate times, c uniform in 0.4–0.9), 3 % noise; gates whose clean response
  is not positive are left out (the readers drop them), and soundings with fewer than 8 positive
  gates are redrawn. Printed: the share whose non-polarisable layered answer stays above χ 1.5
  (where the served path tries the polarisable fits), and of those the share where BIC prefers the
  polarisable model, the share of those at χ ≤ 1.2 and ≤ 1.5, the share whose fit reaches the true
  model's χ or below ("min found": the true model fits its noisy data to that χ, so a fit above it
  is a missed minimum) and the median |log10| error of τ of the polarisable layer where the fit
  chose the right layer count and layer, and how often the true τ lies in its p10–p90 band there;
  the median time per sounding.
* **no IP**: the generator's non-polarisable soundings. Printed: the share above χ 1.5, and the
  share where a polarisable model is preferred (false alarms).

Run: ``.venv/bin/python bench/tem_ip_quality.py --networks DIR [--n 40] [--seed 1]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from tem_quality import random_truth

import forward_models
from inversion.served import ServedSet, load_set
from inversion.served.tem_ip import IP_TRIGGER_CHI

MIN_GATES = 8


def polarised_sounding(
    method: str, rng: np.random.Generator, geometry: str
) -> tuple[dict, dict[str, float], float]:
    """A noisy polarisable sounding (only its positive gates), its truth ``{"n_layers", "layer",
    "tau_s"}`` and the true model's χ on the kept noisy gates."""
    while True:
        obs, model, _ = random_truth(method, rng, geometry, layers=(1, 4))
        n = (model.size + 1) // 2
        times = np.asarray(obs["times_s"])
        layer = int(rng.integers(n))
        m, tau, c = np.zeros(n), np.ones(n), np.full(n, 0.5)
        m[layer] = rng.uniform(0.1, 0.6)
        tau[layer] = 10.0 ** rng.uniform(np.log10(times[0]), np.log10(times[-1]))
        c[layer] = rng.uniform(0.4, 0.9)
        geometry_kw = {
            k: v for k, v in obs.items() if k in ("ramp_off_s", "loop_side_m", "loop_radius_m")
        }
        fm = forward_models.create(method, n_layers=n, times_s=times, **geometry_kw)
        clean = fm.forward_cole_cole(model, m[None], tau[None], c[None])[0]
        keep = clean > 0
        if keep.sum() < MIN_GATES:
            continue
        noisy = clean[keep] * (1 + 0.03 * rng.standard_normal(keep.sum()))
        chi_true = float(np.sqrt(np.mean((np.log(noisy / clean[keep]) / 0.03) ** 2)))
        obs = {**obs, "times_s": times[keep].tolist(), "dbzdt_v_per_am2": noisy.tolist()}
        return obs, {"n_layers": n, "layer": layer, "tau_s": float(tau[layer])}, chi_true


def share(flags: list[bool]) -> str:
    return f"{100 * np.mean(flags):5.1f}% ({sum(flags)}/{len(flags)})" if flags else "    -"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", required=True, help="directory of served-*.npz")
    parser.add_argument("--n", type=int, default=40, help="soundings per kind")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--geometry", choices=("wide", "field"), default="field")
    parser.add_argument("--method", default="tem-coincident-loop")
    args = parser.parse_args()
    served: ServedSet = load_set(args.networks)
    rng = np.random.default_rng(args.seed)
    seen, preferred, within12, within15, found, times = [], [], [], [], [], []
    tau_err, tau_cover = [], []
    for _ in range(args.n):
        obs, truth, chi_true = polarised_sounding(args.method, rng, args.geometry)
        t0 = time.perf_counter()
        (result,) = served.invert(obs)
        times.append(time.perf_counter() - t0)
        seen.append(result["misfit"]["chi"] > IP_TRIGGER_CHI)
        ip = result["ip"]
        if not seen[-1] or ip is None:
            continue
        preferred.append(bool(ip["preferred"]))
        if not ip["preferred"]:
            continue
        chi = ip["misfit"]["chi"]
        within12.append(chi <= 1.2)
        within15.append(chi <= 1.5)
        found.append(chi <= chi_true * 1.0001 or chi <= 1.2)
        if ip["n_layers"] == truth["n_layers"] and ip["polarisable_layer"] - 1 == truth["layer"]:
            k = truth["layer"]
            tau_err.append(abs(np.log10(ip["model"]["tau_s"][k] / truth["tau_s"])))
            band = ip["uncertainty"]["tau_s"]
            tau_cover.append(band["p10"] <= truth["tau_s"] <= band["p90"])
    print(f"IP soundings ({args.method}, {args.geometry}, n {args.n}, seed {args.seed}):")
    print(f"  layered chi > {IP_TRIGGER_CHI}:      {share(seen)}")
    print(f"  of those, IP preferred:  {share(preferred)}")
    print(f"  of those, IP chi <= 1.2: {share(within12)}   <= 1.5: {share(within15)}")
    print(f"  of those, min found:     {share(found)}")
    tau_text = f"{np.median(tau_err):.2f} decades (n {len(tau_err)})" if tau_err else "-"
    print(f"  median |log10 tau error| (right layer count and layer): {tau_text}")
    print(f"  true tau within the p10-p90 band (same):  {share(tau_cover)}")
    print(f"  median time per sounding {np.median(times):.1f} s")
    above, alarms, times = [], [], []
    for _ in range(args.n):
        obs, _model, _ = random_truth(args.method, rng, args.geometry)
        t0 = time.perf_counter()
        (result,) = served.invert(obs)
        times.append(time.perf_counter() - t0)
        above.append(result["misfit"]["chi"] > IP_TRIGGER_CHI)
        alarms.append(bool(result["ip"] and result["ip"]["preferred"]))
    print(f"non-polarisable soundings (n {args.n}):")
    print(
        f"  layered chi > {IP_TRIGGER_CHI}: {share(above)}   "
        f"IP preferred (false alarm): {share(alarms)}"
    )
    print(f"  median time per sounding {np.median(times):.1f} s")


if __name__ == "__main__":
    main()
