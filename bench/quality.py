"""Inversion quality: geobp (network alone, network + refinement) vs pyGIMLi and SimPEG.

For 3-layer Schlumberger VES and 3-layer MT with 3 % noise on apparent resistivity (1° on phase):

1. trains (or loads from ``--cache-dir``) a geobp ``Inverter`` on Sobol samples (seed 1);
2. draws a held-out test set with its own seed (random sampler, seed 2026) and noise;
3. network alone on ``--n-test`` soundings; network + refinement on ``--n-refine``;
4. on the first ``--n-compare`` soundings, in the same run: geobp + refinement, pyGIMLi's
   Marquardt inversion (``MarquardtInversion`` with ``VESModelling`` / ``MT1dBlockModelling``)
   and SimPEG's parametric Gauss–Newton inversion (``Simulation1DLayers`` /
   ``Simulation1DRecursive``), both from one generic start (every ρ = median ρa, every
   thickness = the geometric centre of the thickness bounds);
5. out-of-domain flag rates: in-domain data; every resistivity 3–100× outside the bounds; only
   the top layer 3–30× outside (thickness ≥ 3 m); five-layer conductor–resistor–conductor models;
   for the 3-layer sets also the share that any test could detect (no in-bounds model fits the
   noise-free data within the noise).

Printed per method: success rate (χ ≤ 1.2, χ from our forward solver and the stated errors),
median χ and the share at χ ≤ 2, median model error (per sounding the mean |log10 error| over
the parameters, then the median), for geobp's refinement the median Levenberg–Marquardt
iterations from the network's answer ("LM it", the result's ``network_start_iterations``),
median time per sounding, speed ratio against pyGIMLi, coverage table (true value inside
p10–p90), out-of-domain rates.

Run: ``.venv/bin/python bench/quality.py`` (``--help`` for sizes;
``--data-misfit-weight 0.3``: networks trained with the data misfit of their own answer, issue
15's "after" beside the default's "before"). pyGIMLi and SimPEG come from
the ``bench`` extra; a missing one is reported and skipped.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import logging
import os
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

import forward_models
from inversion import Inverter, observation_from_data
from inversion.lm_batch import LMSettings, refine_batch
from inversion.misfit import chi as chi_of
from inversion.misfit import default_sigma, expected_share_within
from inversion.observations import phase_mask

RHO_BOUNDS = (1.0, 5000.0)
THK_BOUNDS = (0.5, 100.0)
NOISE = {"rho_a_rel": 0.03, "phase_deg": 1.0}
GEOMETRY = {
    "ves": ("ves-schlumberger", {"ab2_m": np.geomspace(1.0, 300.0, 20).tolist(), "mn2_m": 0.3}),
    "mt": ("mt-1d", {"periods_s": np.geomspace(1e-4, 1e1, 20).tolist()}),
}


def _setup(kind: str, n_layers: int = 3):
    name, geometry = GEOMETRY[kind]
    fm = forward_models.create(name, n_layers=n_layers, **geometry)
    space = forward_models.ModelSpace.for_forward_model(
        fm, rho_ohmm=RHO_BOUNDS, thickness_m=THK_BOUNDS
    )
    return fm, space


def get_inverter(kind: str, args: argparse.Namespace) -> tuple[Inverter, str]:
    """Train (or load from the cache) the geobp inverter for ``kind``."""
    fm, space = _setup(kind)
    noise = forward_models.NoiseModel(**NOISE)
    network = {
        "hidden": args.hidden,
        "max_epochs": args.epochs,
        "batch_size": 256,
        "learning_rate": 3e-3,
        "patience": 20,
    }
    for key in ("init", "seed"):  # only when given: default runs keep their cache names
        if getattr(args, key) is not None:
            network[key] = getattr(args, key)
    described = [fm.to_dict(), space.to_dict(), NOISE, network, args.members, args.n_train]
    if args.data_misfit_weight > 0:  # likewise: weight-0 runs keep their cache names
        described.append({"data_misfit_weight": args.data_misfit_weight})
    spec = json.dumps(described, sort_keys=True)
    path = (
        Path(args.cache_dir)
        / f"quality-{kind}-{hashlib.sha256(spec.encode()).hexdigest()[:12]}.npz"
    )
    if path.is_file():
        return Inverter.load(str(path)), f"loaded {path}"
    ds = forward_models.generate_dataset(fm, space, args.n_train, seed=1, noise=noise)
    inv = Inverter(
        forward_model=fm,
        space=space,
        noise=noise,
        network=network,
        n_members=args.members,
        data_misfit_weight=args.data_misfit_weight,
    )
    t0 = time.perf_counter()
    inv.fit(ds.models, ds.data)
    took = time.perf_counter() - t0
    path.parent.mkdir(parents=True, exist_ok=True)
    inv.save(str(path))
    return inv, f"trained in {took:.0f} s on {args.n_train} samples, saved to {path}"


def valid_rows(fm, data: np.ndarray) -> np.ndarray:
    """Rows whose noisy phases stay inside [0°, 90°] (the inverter rejects others with 400)."""
    is_phase = phase_mask(fm.data_kinds)
    if not is_phase.any():
        return np.ones(data.shape[0], bool)
    ph = data[:, is_phase]
    return np.all((ph >= 0) & (ph <= 90), axis=1)


def model_error(estimate: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per sounding the mean |log10 error| over the parameters, (n,)."""
    return np.mean(np.abs(np.log10(estimate) - np.log10(truth)), axis=1)


def as_band(result: dict, quantile: str) -> list[float]:
    """One quantile of a result's reported band as ``[rho…, h…]``."""
    u = result["uncertainty"]
    return list(u["rho_ohmm"][quantile]) + list(u["thickness_m"][quantile])


def as_vector(result: dict, key: str = "model") -> list[float]:
    return result[key]["rho_ohmm"] + result[key]["thickness_m"]


def generic_start(fm, data: np.ndarray) -> np.ndarray:
    """ρ = median ρa for every layer, thickness = geometric centre of the thickness bounds."""
    k = len(fm.axis_values)
    rho = float(np.median(data[:k]))
    thk = float(np.sqrt(THK_BOUNDS[0] * THK_BOUNDS[1]))
    return np.array([rho] * fm.n_layers + [thk] * (fm.n_layers - 1))


# -- pyGIMLi ------------------------------------------------------------------------------------
def pygimli_invert(kind: str, fm, data: np.ndarray) -> tuple[np.ndarray, tuple[float, float]]:
    """pyGIMLi Marquardt inversion from the generic start; returns (model ours-order, seconds)."""
    import pygimli  # noqa: F401 - ImportError here means "not installed"

    n = fm.n_layers
    k = len(fm.axis_values)
    start = generic_start(fm, data)
    start_pg = np.concatenate([start[n:], start[:n]])  # pyGIMLi: thicknesses first
    with _scratch_dir():  # pyGIMLi dumps Nan_PhiD_*.vector files into the working directory
        return _pygimli_run(kind, fm, data, n, k, start_pg)


@contextlib.contextmanager
def _scratch_dir():
    """Run the block in a fresh temporary working directory (removed afterwards)."""
    here = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="geobp-pygimli-") as tmp:
        os.chdir(tmp)
        try:
            yield
        finally:
            os.chdir(here)


def _pygimli_run(kind: str, fm, data: np.ndarray, n: int, k: int, start_pg: np.ndarray):
    import pygimli as pg
    from pygimli.physics.em.mt1dmodelling import MT1dBlockModelling
    from pygimli.physics.ves import VESModelling

    t0, c0 = time.perf_counter(), time.process_time()
    if kind == "ves":
        ab2 = np.asarray(fm.axis_values, float)
        fop = VESModelling(ab2=ab2, mn2=np.full(k, fm.geometry["mn2_m"]), nLayers=n)
        fop.setMultiThreadJacobian(1)
        inv = pg.frameworks.MarquardtInversion(fop=fop, verbose=False)
        out = inv.run(data, relativeError=NOISE["rho_a_rel"], startModel=start_pg, verbose=False)
    else:
        fop = MT1dBlockModelling(T=np.asarray(fm.axis_values, float), nLayers=n, verbose=False)
        fop.setMultiThreadJacobian(1)
        inv = pg.frameworks.MarquardtInversion(fop=fop, verbose=False)
        trans = pg.trans.TransCumulative()
        trans.add(pg.trans.TransLog(), k)
        trans.add(pg.trans.TransLin(), k)
        inv.dataTrans = trans
        phase_rad = np.deg2rad(data[k:])
        values = np.concatenate([data[:k], phase_rad])
        rel_err = np.concatenate(
            [np.full(k, NOISE["rho_a_rel"]), np.deg2rad(NOISE["phase_deg"]) / phase_rad]
        )
        out = inv.run(values, rel_err, startModel=start_pg, verbose=False)
    took = (time.perf_counter() - t0, time.process_time() - c0)
    out = np.asarray(out, float)
    return np.concatenate([out[n - 1 :], out[: n - 1]]), took


# -- SimPEG -------------------------------------------------------------------------------------
def simpeg_invert(kind: str, fm, data: np.ndarray) -> tuple[np.ndarray, tuple[float, float]]:
    """SimPEG parametric Gauss–Newton inversion (log ρ, log h) from the generic start."""
    import discretize
    from simpeg import data as sdata
    from simpeg import (
        data_misfit,
        directives,
        inverse_problem,
        inversion,
        maps,
        optimization,
        regularization,
    )

    n = fm.n_layers
    k = len(fm.axis_values)
    start = generic_start(fm, data)
    wires = maps.Wires(("rho", n), ("thk", n - 1))
    t0, c0 = time.perf_counter(), time.process_time()
    if kind == "ves":
        from simpeg.electromagnetics.static import resistivity as dc

        mn2 = float(fm.geometry["mn2_m"])
        sources = []
        for a in np.asarray(fm.axis_values, float):
            rx = dc.receivers.Dipole(
                np.array([[-mn2, 0.0, 0.0]]),
                np.array([[mn2, 0.0, 0.0]]),
                data_type="apparent_resistivity",
            )
            sources.append(dc.sources.Dipole([rx], np.r_[-a, 0.0, 0.0], np.r_[a, 0.0, 0.0]))
        survey = dc.Survey(sources)
        sim = dc.Simulation1DLayers(
            survey=survey,
            rhoMap=maps.ExpMap(nP=n) * wires.rho,
            thicknessesMap=maps.ExpMap(nP=n - 1) * wires.thk,
        )
        dobs = data
        std = NOISE["rho_a_rel"] * np.abs(data)
        m0 = np.log(start)
        to_model = np.exp
    else:
        from simpeg.electromagnetics import natural_source as nsem

        receivers = [
            nsem.receivers.Impedance([[0.0]], orientation="xy", component="apparent_resistivity"),
            nsem.receivers.Impedance([[0.0]], orientation="xy", component="phase"),
        ]
        freqs = 1.0 / np.asarray(fm.axis_values, float)
        survey = nsem.survey.Survey([nsem.sources.PlanewaveXYPrimary(receivers, f) for f in freqs])
        sim = nsem.simulation_1d.Simulation1DRecursive(
            survey=survey,
            sigmaMap=maps.ExpMap(nP=n) * wires.rho,
            thicknessesMap=maps.ExpMap(nP=n - 1) * wires.thk,
        )
        # SimPEG orders data per frequency as (ρa, φ) pairs, lists layers from the bottom up, and
        # reports φ − 180° (checked against our solver to 1e-9 in a half-space and 3 layers).
        dobs = np.empty(2 * k)
        dobs[0::2], dobs[1::2] = data[:k], data[k:] - 180.0
        std = np.empty(2 * k)
        std[0::2], std[1::2] = NOISE["rho_a_rel"] * data[:k], NOISE["phase_deg"]
        m0 = np.r_[np.log(1.0 / start[:n])[::-1], np.log(start[n:])[::-1]]

        def to_model(m: np.ndarray) -> np.ndarray:
            return np.r_[(1.0 / np.exp(m[:n]))[::-1], np.exp(m[n:])[::-1]]

    data_obj = sdata.Data(survey, dobs=dobs, standard_deviation=std)
    dmis = data_misfit.L2DataMisfit(simulation=sim, data=data_obj)
    mesh = discretize.TensorMesh([2 * n - 1])
    reg = regularization.WeightedLeastSquares(
        mesh, alpha_s=1.0, alpha_x=0.0, reference_model=m0.copy()
    )
    opt = optimization.InexactGaussNewton(maxIter=30)
    problem = inverse_problem.BaseInvProblem(dmis, reg, opt)
    directive_list = [
        directives.BetaEstimate_ByEig(beta0_ratio=1.0),
        directives.BetaSchedule(coolingFactor=2.0, coolingRate=1),
        directives.TargetMisfit(chifact=1.0),
    ]
    logging.getLogger("SimPEG").setLevel(logging.WARNING)
    logging.getLogger("simpeg").setLevel(logging.WARNING)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        try:
            m = inversion.BaseInversion(problem, directiveList=directive_list).run(m0)
        except (ValueError, np.linalg.LinAlgError, FloatingPointError):
            m = m0  # the inversion diverged (non-finite predictions): a failure at the start
    took = (time.perf_counter() - t0, time.process_time() - c0)
    return to_model(np.asarray(m, float)), took


# -- out-of-domain sets -------------------------------------------------------------------------
def ood_sets(kind: str, space, n: int, rng: np.random.Generator) -> dict[str, tuple]:
    """Model sets (models, forward model) for the out-of-domain rates."""
    fm3, _ = _setup(kind)
    sets = {}
    all_out = space.sample(n, sampler="random", seed=31)
    high = rng.random(n) < 0.5
    factor = 10 ** rng.uniform(0.5, 2.0, (n, 3))
    all_out[:, :3] = np.where(high[:, None], RHO_BOUNDS[1] * factor, RHO_BOUNDS[0] / factor)
    sets["every ρ 3–100× outside the bounds"] = (all_out, fm3)
    top_out = space.sample(n, sampler="random", seed=32)
    f1 = 10 ** rng.uniform(0.5, 1.5, n)
    top_out[:, 0] = np.where(rng.random(n) < 0.5, RHO_BOUNDS[1] * f1, RHO_BOUNDS[0] / f1)
    top_out[:, 3] = 10 ** rng.uniform(np.log10(3.0), np.log10(THK_BOUNDS[1]), n)
    sets["only ρ1 3–30× outside, h1 ≥ 3 m"] = (top_out, fm3)
    fm5, _ = _setup(kind, n_layers=5)
    base = 10 ** rng.uniform(1.5, 3.5, n)
    rho = np.clip(np.column_stack([base, base / 30, base, base / 30, base]), *RHO_BOUNDS)
    h1 = 10 ** rng.uniform(0.0, np.log10(3.0), n) * (1.0 if kind == "ves" else 10.0)
    five = np.column_stack([rho, h1, 2 * h1, 4 * h1, 8 * h1])
    label = "5 layers, ρ ratio 30, h = h1·(1, 2, 4, 8), h1 " + (
        "1–3 m" if kind == "ves" else "10–30 m"
    )
    sets[label] = (five, fm5)
    return sets


# -- report -------------------------------------------------------------------------------------
def summarise(label: str, chis, errors, wall_ms, cpu_ms, iterations=None) -> dict:
    """One table row: success rate (χ ≤ 1.2), median χ and share at χ ≤ 2, median model error,
    median wall and CPU ms per sounding, and the median and mean LM iterations from the
    network's answer (``iterations``, geobp's refinement only; else None)."""
    chis, errors = np.asarray(chis), np.asarray(errors)
    return {
        "method": label,
        "n": int(chis.size),
        "success": float(np.mean(chis <= 1.2)),
        "median_chi": float(np.median(chis)),
        "within_chi_2": float(np.mean(chis <= 2.0)),
        "median_model_error": float(np.median(errors)),
        "median_ms": float(np.median(wall_ms)),
        "median_cpu_ms": float(np.median(cpu_ms)),
        "median_lm_iterations": None if iterations is None else float(np.median(iterations)),
        "mean_lm_iterations": None if iterations is None else float(np.mean(iterations)),
    }


def summarise_results(label: str, results: list[dict], truth: np.ndarray, wall_ms, cpu_ms) -> dict:
    """:func:`summarise` of ``Inverter.invert`` results against the true models ``truth``."""
    estimates = np.array([as_vector(r) for r in results])
    chis = [r["misfit"]["chi"] for r in results]
    iterations = [r["network_start_iterations"] for r in results]
    refined = all(k is not None for k in iterations)
    return summarise(
        label,
        chis,
        model_error(estimates, truth),
        wall_ms,
        cpu_ms,
        iterations if refined else None,
    )


def print_rows(rows: list[dict], baseline: dict | None) -> None:
    print(
        f"  {'method':38s} {'n':>4s} {'χ≤1.2':>6s} {'χ med':>6s} {'χ≤2':>5s} {'med|Δlog10|':>11s} "
        f"{'LM it med/mean':>14s} {'wall ms':>9s} {'CPU ms':>8s} "
        f"{'speed-up vs pyGIMLi (wall/CPU)':>31s}"
    )
    for r in rows:
        ratio = "—"
        if baseline:
            wall = baseline["median_ms"] / r["median_ms"]
            cpu = baseline["median_cpu_ms"] / max(r["median_cpu_ms"], 1e-9)
            ratio = f"{wall:.0f}× / {cpu:.0f}×"
        iterations = "—"
        if r["median_lm_iterations"] is not None:
            iterations = f"{r['median_lm_iterations']:.1f} / {r['mean_lm_iterations']:.2f}"
        print(
            f"  {r['method']:38s} {r['n']:4d} {100 * r['success']:5.0f}% {r['median_chi']:6.2f} "
            f"{100 * r['within_chi_2']:4.0f}% {r['median_model_error']:11.3f} "
            f"{iterations:>14s} "
            f"{r['median_ms']:9.1f} {r['median_cpu_ms']:8.1f} {ratio:>31s}"
        )


def print_ceiling(fm, models, data, refined: list[dict], is_phase, sigma) -> dict:
    """Print and return what the refined share at χ ≤ 1.2 can be: the share an exact fit can
    expect (χ² with K − p degrees of freedom, ``inversion.misfit.expected_share_within``), the
    share at which the true model itself fits, and the refined misses where the truth fits."""
    n_data, n_params = data.shape[1], models.shape[1]
    ceiling = expected_share_within(1.2, n_data, n_params)
    truth_chi = chi_of(data, fm.forward(models, precision="double"), is_phase, sigma)
    refined_chi = np.array([r["misfit"]["chi"] for r in refined])
    missed = int(np.sum((refined_chi > 1.2) & (truth_chi <= 1.2)))
    print(
        f"  refined χ ≤ 1.2: {np.mean(refined_chi <= 1.2):.1%}; χ² ceiling (an exact fit, "
        f"{n_data} data − {n_params} parameters) {ceiling:.1%}; the true model at χ ≤ 1.2 "
        f"{np.mean(truth_chi <= 1.2):.1%}; refined above 1.2 where the truth fits: {missed} of "
        f"{len(refined)}"
    )
    return {
        "chi2_ceiling": ceiling,
        "truth_within": float(np.mean(truth_chi <= 1.2)),
        "missed_where_truth_fits": missed,
    }


def timed_invert(inv: Inverter, obs: list, refine: bool) -> tuple[list, list, list]:
    """Invert one sounding per call; per sounding (results, wall ms, CPU ms)."""
    results, wall, cpu = [], [], []
    for o in obs:
        t0, c0 = time.perf_counter(), time.process_time()
        results.append(inv.invert([o], refine=refine)[0])
        wall.append(1e3 * (time.perf_counter() - t0))
        cpu.append(1e3 * (time.process_time() - c0))
    return results, wall, cpu


def run_kind(kind: str, args: argparse.Namespace) -> dict:
    inv, how = get_inverter(kind, args)
    fm, space = inv.forward_model, inv.space
    noise = inv.noise
    print(
        f"\n=== 3-layer {fm.name}: {fm.axis_name} {fm.axis_values[0]:g}…{fm.axis_values[-1]:g} "
        f"({len(fm.axis_values)}), noise {NOISE} — inverter {how}"
    )
    test = forward_models.generate_dataset(
        fm, space, args.n_test, sampler="random", seed=2026, noise=noise
    )
    keep = valid_rows(fm, test.data)
    models, data = test.models[keep], test.data[keep]
    if (~keep).any():
        print(f"  ({int((~keep).sum())} test soundings dropped: a noisy phase left [0°, 90°])")
    is_phase = phase_mask(fm.data_kinds)
    sigma = default_sigma(is_phase, **NOISE)
    obs = [observation_from_data(fm, d) for d in data]
    out: dict = {"kind": kind, "forward_model": fm.to_dict(), "inverter": how}

    # network alone (all, one batch), network + refinement (subset, one batch); the refinement
    # once first, untimed: its lazy imports (scipy.stats for the bound test) are start-up costs
    n_ref = min(args.n_refine, len(obs))
    inv.invert(obs[:n_ref], refine=True)
    rows, batches = [], {}
    for label, refine, subset in (
        ("geobp network alone", False, len(obs)),
        ("geobp network + refinement", True, n_ref),
    ):
        c0 = time.process_time()
        res = inv.invert(obs[:subset], refine=refine)
        cpu_ms = 1e3 * (time.process_time() - c0) / subset
        batches[refine] = res
        rows.append(
            summarise_results(
                label, res, models[:subset], [r["elapsed_ms"] for r in res], [cpu_ms] * subset
            )
        )
    ref = batches[True]
    print(
        f"  held-out set, one batch per row ({len(obs)} soundings, the first {n_ref} refined); "
        "wall = median elapsed_ms, CPU = batch CPU time / n:"
    )
    print_rows(rows, None)
    out["held_out"] = rows
    out["ceiling"] = print_ceiling(fm, models[:n_ref], data[:n_ref], ref, is_phase, sigma)

    # side by side on the first n_compare soundings, one sounding per call for everyone
    n_cmp = min(args.n_compare, len(obs))
    cmp_rows = []
    sub_obs, sub_models, sub_data = obs[:n_cmp], models[:n_cmp], data[:n_cmp]
    for label, refine in (("geobp network alone", False), ("geobp network + refinement", True)):
        c0 = time.process_time()
        res = inv.invert(sub_obs, refine=refine)
        cpu = [1e3 * (time.process_time() - c0) / n_cmp] * n_cmp
        cmp_rows.append(
            summarise_results(
                label + ", batch", res, sub_models, [r["elapsed_ms"] for r in res], cpu
            )
        )
        res, wall, cpu = timed_invert(inv, sub_obs, refine)
        cmp_rows.append(summarise_results(label + ", 1 per call", res, sub_models, wall, cpu))
    baseline = None
    for label, fn in (
        ("pyGIMLi Marquardt", pygimli_invert),
        ("SimPEG Gauss–Newton", simpeg_invert),
    ):
        try:
            estimates, wall, cpu = [], [], []
            for d in sub_data:
                m, (took_wall, took_cpu) = fn(kind, fm, d)
                estimates.append(m)
                wall.append(1e3 * took_wall)
                cpu.append(1e3 * took_cpu)
        except ImportError as exc:
            print(f"  {label}: not available ({exc}); skipped")
            continue
        estimates = np.array(estimates)
        pred = fm.forward(np.clip(estimates, 1e-6, None), precision="double")
        chis = chi_of(sub_data, pred, is_phase, sigma)
        row = summarise(label, chis, model_error(estimates, sub_models), wall, cpu)
        cmp_rows.append(row)
        if label.startswith("pyGIMLi"):
            baseline = row
    print(
        f"  side by side on the first {n_cmp} held-out soundings; geobp as one batch and one "
        "sounding per call (pyGIMLi/SimPEG start: every ρ = median ρa, every h = 7.07 m):"
    )
    print_rows(cmp_rows, baseline)
    out["compare"] = cmp_rows

    # coverage
    metrics = inv.evaluate(models, data, n_refine=0)
    print("  p10–p90 coverage on the held-out set (target 70–90 %):")
    print("   " + " ".join(f"{n:>7s}" for n in metrics["parameters"]))
    print("   " + " ".join(f"{100 * v:6.1f}%" for v in metrics["coverage_p10_p90"].values()))
    truth = models[: len(ref)]
    band = {q: np.array([as_band(r, q) for r in ref]) for q in ("p10", "p90")}
    refined_cov = ((truth >= band["p10"]) & (truth <= band["p90"])).mean(axis=0)
    print(f"  p10–p90 coverage of the band reported after refinement ({len(ref)} soundings):")
    print("   " + " ".join(f"{100 * v:6.1f}%" for v in refined_cov))
    print("  median |log10 error| per parameter, network alone / refined:")
    ref_err = np.median(np.abs(np.log10([as_vector(r) for r in ref]) - np.log10(models[:n_ref])), 0)
    print("   " + " ".join(f"{v:7.3f}" for v in metrics["median_abs_log10_error"].values()))
    print("   " + " ".join(f"{v:7.3f}" for v in ref_err))
    out["coverage"] = metrics["coverage_p10_p90"]
    out["coverage_refined"] = dict(zip(metrics["parameters"], refined_cov.tolist(), strict=True))
    out["median_abs_log10_error_network"] = metrics["median_abs_log10_error"]
    out["median_abs_log10_error_refined"] = dict(
        zip(metrics["parameters"], ref_err.tolist(), strict=True)
    )

    # out-of-domain rates
    rng = np.random.default_rng(2027)
    n_ood = args.n_ood
    rates = {"in-domain (held-out)": float(np.mean([not r["in_domain"] for r in ref]))}
    reachable: dict[str, float] = {}
    for label, (ood_models, fm_x) in ood_sets(kind, space, n_ood, rng).items():
        d = noise.apply(fm_x.forward(ood_models), fm_x.data_kinds, rng)
        ok = valid_rows(fm_x, d)
        res = inv.invert([observation_from_data(fm_x, x) for x in d[ok]], refine=True)
        rates[label] = float(np.mean([not r["in_domain"] for r in res]))
        if fm_x.n_layers == fm.n_layers:
            refined = np.array([as_vector(r) for r in res])
            reachable[label] = float(np.mean(~indistinguishable(inv, ood_models[ok], refined)))
    print(
        "  out-of-domain flag rate (refined results; target ≤ 5 % in domain, ≥ 90 % outside);"
        " detectable = share whose noise-free data no in-bounds model fits within the noise"
        " (Σr² ≥ 6.63, χ²₁ at 1 %) — the most any test can flag:"
    )
    for label, rate in rates.items():
        extra = f"   (detectable {100 * reachable[label]:5.1f}%)" if label in reachable else ""
        print(f"    {label:52s} {100 * rate:5.1f}%{extra}")
    out["ood_rates"] = rates
    out["ood_detectable"] = reachable
    return out


def indistinguishable(inv: Inverter, models: np.ndarray, refined: np.ndarray) -> np.ndarray:
    """Per sounding (n,): True when an in-bounds model fits the noise-free data of ``models``
    (n, n_params) to Σr² < 6.63 (the 99th percentile of χ² with one degree of freedom) with the
    stated errors, so that no test at 1 % significance can tell the truth from the bounds. The
    best in-bounds fit (no prior, to convergence) starts from the truth clipped to the bounds
    and from geobp's refined model ``refined`` (n, n_params); the better one counts."""
    fm = inv.forward_model
    clean = fm.forward(models, precision="double")
    is_phase = phase_mask(fm.data_kinds)
    sigma = np.broadcast_to(default_sigma(is_phase, **NOISE), clean.shape)
    lower, upper = np.asarray(inv.space.lower), np.asarray(inv.space.upper)
    chis = [
        refine_batch(
            lambda m: fm.forward(m, precision="double"),
            start,
            clean,
            sigma,
            is_phase,
            lower,
            upper,
            settings=LMSettings(target_chi=0.0, ftol=1e-8, cost_tol=0.0, max_iterations=60),
            jacobian=getattr(fm, "forward_and_jacobian", None),
            covariance=False,
        ).chi
        for start in (np.clip(models, lower, upper), refined)
    ]
    return clean.shape[1] * np.minimum(*chis) ** 2 < 6.63


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kinds", default="ves,mt", help="comma list of ves, mt")
    parser.add_argument("--n-train", type=int, default=40000)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--members", type=int, default=5)
    parser.add_argument("--n-test", type=int, default=1000)
    parser.add_argument("--n-refine", type=int, default=300)
    parser.add_argument("--n-compare", type=int, default=20)
    parser.add_argument("--n-ood", type=int, default=200)
    parser.add_argument("--init", help="BPNetwork initialiser (default: BPNetwork's default)")
    parser.add_argument("--seed", type=int, help="BPNetwork seed (default: BPNetwork's default)")
    parser.add_argument(
        "--data-misfit-weight",
        type=float,
        default=0.0,
        help="weight of the data misfit of the network's own answer in its training loss "
        "(Inverter's data_misfit_weight; 0: parameter MSE alone, the default)",
    )
    parser.add_argument("--cache-dir", default="var/bench")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("pyGIMLi").setLevel(logging.CRITICAL)
    print(
        f"{time.strftime('%Y-%m-%d %H:%M:%S')}  load average (1, 5, 15 min): "
        + ", ".join(f"{v:.1f}" for v in os.getloadavg())
        + f" on {os.cpu_count()} cores"
    )
    results = [run_kind(kind.strip(), args) for kind in args.kinds.split(",") if kind.strip()]
    print("load average at the end: " + ", ".join(f"{v:.1f}" for v in os.getloadavg()))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
