"""Smooth (Occam) models and depths of investigation of the served path: synthetics, field data.

Synthetic part: for each of ``--methods`` (``ves-schlumberger``, ``mt-1d`` and
``tem-coincident-loop`` by default), ``--n`` soundings with a random geometry inside the served
range (as bench/served_quality.py draws them: VES AB/2 spans of 1–3.5 decades, MT period spans of
1.5–6 decades, 4–12 points per decade; TEM as bench/tem_quality.py: loops of 5–500 m, 1.5–3.5
decades of gates, 5–12 per decade, ramps on half of them), a random layered truth of 2–5 layers
(ρ log-uniform 1–10⁴ Ω·m, TEM 1–10³ Ω·m, interfaces inside the depths the data see), 3 % Gaussian
noise on ρa, −dB/dt, and 1° on phase, errors stated as 3 % / 1°. Each is inverted by
``inversion.served.ServedSet`` without networks (the layer counts are searched from the prior
draws and split models; ``SearchSettings(n_draws=256, n_refined=16)`` to keep the run short); the
result's ``smooth`` entry is scored:

* χ of the smooth model, share within [0.9, 1.2];
* accuracy: at the mid-depth of each true layer thicker than 10 % of its mid-depth and above
  the smooth model's standard DOI, |log10 ρ_smooth − log10 ρ_true| ≤ 0.3 — share of such layers,
  share among the "thick" ones (at least as thick as the depth of their top, i.e. spanning a
  factor 2 or more in depth), and share of soundings all of whose layers pass;
* resolution of those layers by the data (``resolved``, ``acc res``): a layer counts as resolved
  unless a model with the true number of layers fits the data as well as the true model does
  (χ ≤ max(1, χ_true)) while its log10 ρ at the layer's mid-depth is off by more than 0.3 —
  searched with ``scipy.optimize.least_squares`` over all other log-parameters from the truth,
  with the layer's log10 ρ fixed ``RESOLUTION_STEP_LOG10`` above and then below the true value
  (a local search: the share it calls resolved is an upper bound). Printed: the share of the
  scored layers that are resolved and the smooth model's accuracy on them. The data do not tell
  an unresolved layer's resistivity to 0.3 decades: an answer passes it only where its prior
  (smoothness, blockiness, a layer count) happens to match the truth;
* DOI_conservative ≤ DOI_standard for the smooth and the layered model (violations counted);
* coverage: share of the stack layers above the DOI whose true ρ (at the layer's mid-depth) lies
  within the smooth model's p10–p90 (nominal 80 %), and "cal k": the factor by which the bands
  would have to be widened for 80 % (1 = calibrated; ``BAND_INFLATION`` was set with
  ``--seed 1`` and is checked with the default seed 0);
* latency of the smooth model and both DOIs per sounding (``smooth_part``, timed again after the
  served inversion), p50 and p95 in ms, and "share": its median ratio to the whole served
  inversion's time measured just before (a ratio that survives a loaded machine).

Field part: every file in ``/work/shared/fixtures/field/`` (VES, MT, TEM) with errors floored at
5 % (ρa, −dB/dt) and 1.5° (phase), as bench/field.py; printed: layered χ, smooth χ, the least χ
any model on the same stack reaches (``scipy.optimize.least_squares`` without regularisation,
started from the smooth model, with the forward model's exact Jacobian), which bounds what the
smooth model can reach, and the smooth model's time (``smooth_part``, ms).

``--geometry field`` draws the synthetic geometries with spans and densities like the real
soundings' (``inversion.served.champion.FIELD_SPANS_DECADES``, bench/tem_quality.py's
``GEOMETRIES``) instead of the wide default.

Run: ``.venv/bin/python bench/smooth.py [--n 40] [--seed 0] [--no-field] [--geometry field]
[--methods ves-schlumberger,mt-1d,tem-coincident-loop]``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import least_squares
from tem_quality import random_truth as random_tem_truth

import forward_models
import inversion
from inversion.misfit import weighted_residuals
from inversion.segments import shifted
from inversion.served import SearchSettings, ServedSet
from inversion.served.champion import noisy_observation, random_truth
from inversion.served.smooth_result import smooth_part
from inversion.smooth import weighted_jacobian
from inversion.smooth_stack import mid_depth_m, sample_layered

FIELD = Path("/work/shared/fixtures/field")
RESOLUTION_STEP_LOG10 = 0.31  # just beyond the 0.3-decade accuracy tolerance
FLOOR = {"rho_a_rel": 0.05, "phase_deg": 1.5}
SYNTHETIC_ERRORS = {"rho_a_rel": 0.03, "phase_deg": 1.0}
METHODS = ("ves-schlumberger", "mt-1d", "tem-coincident-loop")


def random_sounding(
    method: str, rng: np.random.Generator, geometry: str = "wide"
) -> tuple[dict, np.ndarray, int]:
    """A noisy synthetic observation dict, its true model and layer count (2–5 layers);
    ``geometry`` as :func:`inversion.served.champion.random_truth`."""
    if method.startswith("tem-"):
        obs, model, _ = random_tem_truth(method, rng, geometry, layers=(2, 6))
        return obs, model, (model.size + 1) // 2
    axis, model, data = random_truth(method, (2, 6), rng, geometry)
    return noisy_observation(method, axis, data, rng), model, (model.size + 1) // 2


def _fits_off_truth(
    residuals: Any, truth: np.ndarray, n_true: int, layer: int, mid_m: float, target: float
) -> bool:
    """Whether a model with the true layer count fits to χ ≤ ``target`` with log10 ρ at
    ``mid_m`` (m) more than 0.3 decades off the true ρ of ``layer``: that ρ fixed
    ``RESOLUTION_STEP_LOG10`` above, then below the truth, the other log-parameters fitted from
    the truth (2·n_true − 1,); ``residuals`` maps log10 parameters to weighted residuals."""
    p_true = np.log10(truth)
    free = np.delete(np.arange(p_true.size), layer)
    for sign in (1.0, -1.0):
        p = p_true.copy()
        p[layer] += sign * RESOLUTION_STEP_LOG10

        def fixed(q: np.ndarray, p: np.ndarray = p) -> np.ndarray:
            p[free] = q
            return residuals(p)

        start = p_true[free]
        fit = least_squares(fixed, start, bounds=(start - 3.0, start + 3.0), max_nfev=400)
        p[free] = fit.x
        at_mid = sample_layered(10.0**p, n_true, np.ones(1), np.array([mid_m]))[0]
        chi = float(np.sqrt(np.mean(fit.fun**2)))
        if chi <= target and abs(at_mid - p_true[layer]) > 0.3:
            return True
    return False


def resolved_layers(
    sounding: inversion.served.parse.ServedSounding,
    truth: np.ndarray,
    n_true: int,
    layers: list[tuple[int, float]],
) -> list[bool]:
    """For each ``(layer index, mid-depth m)`` of the true model (2·n_true − 1,): whether the
    data resolve its log10 ρ to 0.3 decades (module docstring)."""
    obs = sounding.obs
    fwd = forward_models.create(sounding.spec.name, n_layers=n_true, **obs.geometry)
    is_phase = np.arange(obs.data.size) >= sounding.axis.size

    def residuals(p: np.ndarray) -> np.ndarray:
        pred = np.asarray(fwd.forward(10.0**p, precision="double"))[0]
        return weighted_residuals(obs.data, pred, is_phase, obs.sigma)

    target = max(1.0, float(np.sqrt(np.mean(residuals(np.log10(truth)) ** 2))))
    return [not _fits_off_truth(residuals, truth, n_true, i, mid, target) for i, mid in layers]


def score(
    result: dict,
    truth: np.ndarray,
    n_true: int,
    sounding: inversion.served.parse.ServedSounding,
) -> dict:
    """The synthetic scores of one result against its true model."""
    sm = result["smooth"]
    depth = np.asarray(sm["depth_m"])
    log_rho = np.log10(sm["rho_ohmm"])
    doi = sm["doi_m"]["standard"]
    thk = truth[n_true:]
    tops = np.concatenate([[0.0], np.cumsum(thk)])
    checked, passed, thick, thick_passed = 0, 0, 0, 0
    scored = []
    for i, h in enumerate(thk):
        mid = tops[i] + h / 2
        if h > 0.1 * mid and mid < doi:
            smooth = log_rho[np.searchsorted(depth, mid, side="right")]
            ok = abs(smooth - np.log10(truth[i])) <= 0.3
            checked, passed = checked + 1, passed + ok
            scored.append((i, mid, ok))
            if h >= tops[i]:  # spans at least a factor 2 in depth
                thick, thick_passed = thick + 1, thick_passed + ok
    resolved = resolved_layers(sounding, truth, n_true, [(i, mid) for i, mid, _ in scored])
    mids = mid_depth_m(depth)
    above = mids < doi
    true_at = sample_layered(truth, n_true, depth)
    lo, hi = np.log10(sm["p10"]), np.log10(sm["p90"])
    inside = (lo <= true_at) & (true_at <= hi)
    half = np.maximum((hi - lo) / 2, 1e-12)
    return {
        "chi": sm["misfit"]["chi"],
        "checked": checked,
        "passed": passed,
        "thick": thick,
        "thick_passed": thick_passed,
        "resolved": sum(resolved),
        "resolved_passed": sum(r and ok for r, (_, _, ok) in zip(resolved, scored, strict=True)),
        "layered_chi": result["misfit"]["chi"],
        "doi_ok": sm["doi_m"]["conservative"] <= doi
        and result["doi_m"]["conservative"] <= result["doi_m"]["standard"],
        "doi_at_bottom": doi >= depth[-1],
        "covered": int(inside[above].sum()),
        "z": (np.abs(true_at - log_rho) / half)[above],
        "n_above": int(above.sum()),
    }


def synthetic(
    n: int, seed: int, geometry: str = "wide", methods: tuple[str, ...] = METHODS
) -> None:
    """Print the synthetic table."""
    served = ServedSet(search=SearchSettings(n_draws=256, n_refined=16))
    print(
        f"{'method':17s} {'n':>3s} {'chi in[.9,1.2]':>14s} {'chi p50':>7s} {'acc layers':>10s} "
        f"{'acc thick':>9s} {'acc snd':>7s} {'resolved':>8s} {'acc res':>7s} {'DOI ok':>6s} "
        f"{'DOI@bot':>7s} {'cover':>6s} {'cal k':>5s} {'ms p50':>6s} {'ms p95':>6s} {'share':>5s}"
    )
    for method in methods:
        rng = np.random.default_rng(seed)
        rows, times, shares = [], [], []
        for _ in range(n):
            obs, truth, n_true = random_sounding(method, rng, geometry)
            t = time.perf_counter()
            result = served.invert(obs, noise_floor=SYNTHETIC_ERRORS)[0]
            total_ms = 1e3 * (time.perf_counter() - t)
            sounding = served.parse(obs, SYNTHETIC_ERRORS)[0]
            model = np.concatenate([result["model"]["rho_ohmm"], result["model"]["thickness_m"]])
            t = time.perf_counter()
            smooth_part(sounding, model, result["n_layers"])
            times.append(1e3 * (time.perf_counter() - t))
            shares.append(times[-1] / total_ms)
            rows.append(score(result, truth, n_true, sounding))
        chi = np.array([r["chi"] for r in rows])
        checked = sum(r["checked"] for r in rows)
        passed = sum(r["passed"] for r in rows)
        sounding_ok = np.mean([r["passed"] == r["checked"] for r in rows])
        n_resolved = sum(r["resolved"] for r in rows)
        print(
            f"{method:17s} {n:3d} {np.mean((chi >= 0.9) & (chi <= 1.2)):14.2f} "
            f"{np.median(chi):7.3f} {passed / max(checked, 1):10.2f} "
            f"{sum(r['thick_passed'] for r in rows) / max(sum(r['thick'] for r in rows), 1):9.2f} "
            f"{sounding_ok:7.2f} {n_resolved / max(checked, 1):8.2f} "
            f"{sum(r['resolved_passed'] for r in rows) / max(n_resolved, 1):7.2f} "
            f"{np.mean([r['doi_ok'] for r in rows]):6.2f} "
            f"{np.mean([r['doi_at_bottom'] for r in rows]):7.2f} "
            f"{sum(r['covered'] for r in rows) / max(sum(r['n_above'] for r in rows), 1):6.2f} "
            f"{np.quantile(np.concatenate([r['z'] for r in rows]), 0.8):5.2f} "
            f"{np.percentile(times, 50):6.1f} {np.percentile(times, 95):6.1f} "
            f"{np.median(shares):5.2f}",
            flush=True,
        )
        outside = [(r["chi"], r["layered_chi"]) for r in rows if not 0.9 <= r["chi"] <= 1.2]
        text = ", ".join(f"{a:.2f} (layered {b:.2f})" for a, b in outside)
        print(f"  smooth chi outside [0.9, 1.2]: {text or 'none'}", flush=True)


def least_chi(sounding: inversion.served.parse.ServedSounding, result: dict) -> float:
    """The least χ of any model on the result's smooth stack (unregularised least squares
    started from the smooth model; a Schlumberger sounding's segment shifts profiled out as in
    the served fit, :mod:`inversion.segments`)."""
    sm, obs = result["smooth"], sounding.obs
    thk = np.asarray(sm["thickness_m"])
    n = thk.size + 1
    fwd = shifted(
        forward_models.create(sounding.spec.name, n_layers=n, **obs.geometry), sounding.shifts
    )
    is_phase = np.arange(obs.data.size) >= sounding.axis.size
    lo, hi = np.log10(sounding.spec.rho_range_ohmm)

    def residuals(x: np.ndarray) -> np.ndarray:
        pred = np.asarray(fwd.forward(np.concatenate([10.0**x, thk]), precision="double"))
        return weighted_residuals(obs.data, pred[0], is_phase, obs.sigma)

    def jacobian(x: np.ndarray) -> np.ndarray:  # ∂r/∂log10 ρ
        return np.log(10.0) * weighted_jacobian(fwd, x, thk, obs.sigma, is_phase)

    fit = least_squares(
        residuals, np.log10(sm["rho_ohmm"]), jac=jacobian, bounds=(lo, hi), max_nfev=2000
    )
    return float(np.sqrt(np.mean(fit.fun**2)))


def field() -> None:
    """Print the field table."""
    served = ServedSet(search=SearchSettings(n_draws=256, n_refined=16))
    print(
        f"\n{'sounding':34s} {'N':>2s} {'chi':>6s} {'smooth chi':>10s} {'least chi':>9s} "
        f"{'DOI std m':>10s} {'DOI cons m':>10s} {'consistent':>10s} {'ms':>6s}"
    )
    for path in sorted(FIELD.iterdir()):
        if path.suffix not in (".csv", ".edi"):
            continue
        for sid, obs in inversion.read_soundings(str(path)).items():
            result = served.invert(obs, noise_floor=FLOOR)[0]
            sounding = served.parse(obs, FLOOR)[0]
            model = np.concatenate([result["model"]["rho_ohmm"], result["model"]["thickness_m"]])
            t = time.perf_counter()
            smooth_part(sounding, model, result["n_layers"])
            ms = 1e3 * (time.perf_counter() - t)
            sm = result["smooth"]
            print(
                f"{sid:34s} {result['n_layers']:2d} {result['misfit']['chi']:6.3f} "
                f"{sm['misfit']['chi']:10.3f} {least_chi(sounding, result):9.3f} "
                f"{sm['doi_m']['standard']:10.4g} {sm['doi_m']['conservative']:10.4g} "
                f"{sm['consistent']!s:>10s} {ms:6.0f}",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-field", action="store_true")
    parser.add_argument(
        "--methods", default=",".join(METHODS), help="comma-separated methods of the synthetic part"
    )
    parser.add_argument(
        "--geometry",
        choices=("wide", "field"),
        default="wide",
        help="synthetic geometries: wide (spans from one decade, 4–12 points per decade) or "
        "field (spans and densities like the real soundings')",
    )
    args = parser.parse_args()
    synthetic(args.n, args.seed, args.geometry, tuple(args.methods.split(",")))
    if not args.no_field:
        field()


if __name__ == "__main__":
    main()
