"""Forward-model throughput: geobp vs SimPEG (and pyGIMLi when it imports), in one run.

Measures models per second for three-layer Schlumberger soundings (30 AB/2 from 1 m to 1 km,
MN/2 = AB/2 / 10) and three-layer MT soundings (40 periods from 1 ms to 1000 s):

- geobp on a large batch (``--n`` models, best of ``--repeat`` runs, both cores via its threads),
- SimPEG's 1D simulations (``Simulation1DLayers``, ``Simulation1DRecursive``) and pyGIMLi's
  (``DC1dModelling``, ``MT1dModelling``) on the same first ``--n-ref`` models, called the fastest
  way a user can: one simulation object, built once, then ``dpred``/``response`` per model (for
  SimPEG's VES also without maps: ``rho`` and ``thicknesses`` set per model, then ``dpred()``),
- the cost of geobp's ``forward_and_jacobian`` over its ``forward`` on ``--n-jac`` models.

It prints models/s, the ratios ours/theirs, and the largest deviation from each code on those
models. Then three-layer central-loop TEM soundings (30 gates from 10 µs to 10 ms, ideal step-off):
geobp on ``--n-tem`` models (forward, and forward with the exact Jacobian) against SimPEG's
``Simulation1DLayered`` (circular loop, radius 20 m,
one simulation object, ``dpred`` per model) and empymod's ``bipole`` (square loop of side 40 m as
four wires, lagged-convolution filters, one call per model) on ``--n-ref-tem`` models.
Usage: ``python bench/forward.py [--n 200000] [--n-ref 1000] [--repeat 3] [--n-tem 20000]
[--n-ref-tem 50] [--n-jac 50000] [--only tem|ves-mt]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import forward_models  # noqa: E402
from forward_models import ModelSpace  # noqa: E402

AB2_M = np.geomspace(1.0, 1000.0, 30)
MN2_M = AB2_M / 10
PERIODS_S = np.geomspace(1e-3, 1e3, 40)
TEM_TIMES_S = np.geomspace(1e-5, 1e-2, 30)
TEM_RADIUS_M, TEM_SIDE_M = 20.0, 40.0


def best_rate(fn: Callable[[], object], n_models: int, repeat: int) -> tuple[float, float]:
    """Models per wall-clock second and per CPU second (all threads) of ``fn``, best of ``repeat``
    timed runs after one warm-up."""
    fn()
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return n_models / min(wall), n_models / min(cpu)


def loop_rate(
    fn: Callable[[np.ndarray], np.ndarray], models: np.ndarray
) -> tuple[float, float, np.ndarray]:
    """Per-wall-second and per-CPU-second rates of calling ``fn`` once per model, and the data."""
    fn(models[0])
    start, start_cpu = time.perf_counter(), time.process_time()
    out = np.array([fn(m) for m in models])
    wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    return models.shape[0] / wall, models.shape[0] / cpu, out


def simpeg_ves() -> Callable[[np.ndarray], np.ndarray] | None:
    """SimPEG Simulation1DLayers over the Schlumberger geometry (rho and thicknesses mapped)."""
    try:
        from simpeg import maps
        from simpeg.electromagnetics.static import resistivity as dc
    except ImportError:
        return None
    sources = []
    for ab2, mn2 in zip(AB2_M, MN2_M, strict=True):
        rx = dc.receivers.Dipole(
            locations_m=np.array([[-mn2, 0.0, 0.0]]),
            locations_n=np.array([[mn2, 0.0, 0.0]]),
            data_type="apparent_resistivity",
        )
        sources.append(
            dc.sources.Dipole([rx], location_a=[-ab2, 0.0, 0.0], location_b=[ab2, 0.0, 0.0])
        )
    survey = dc.Survey(sources)
    survey.set_geometric_factor(space_type="half-space")
    wires = maps.Wires(("rho", 3), ("thk", 2))
    sim = dc.Simulation1DLayers(survey=survey, rhoMap=wires.rho, thicknessesMap=wires.thk)
    return sim.dpred


def simpeg_ves_direct() -> Callable[[np.ndarray], np.ndarray] | None:
    """SimPEG Simulation1DLayers without maps, as its docs allow: one simulation object, ``rho``
    and ``thicknesses`` set per model, then ``dpred()`` (no model vector, no mapping)."""
    try:
        from simpeg.electromagnetics.static import resistivity as dc
    except ImportError:
        return None
    sim_mapped = simpeg_ves()
    survey = sim_mapped.__self__.survey  # the same survey (sources, receivers, factors)
    sim = dc.Simulation1DLayers(survey=survey, rho=np.ones(3), thicknesses=np.ones(2))

    def run(model: np.ndarray) -> np.ndarray:
        sim.rho = model[:3]
        sim.thicknesses = model[3:]
        return sim.dpred()

    return run


def simpeg_mt() -> Callable[[np.ndarray], np.ndarray] | None:
    """SimPEG Simulation1DRecursive: apparent resistivity and phase for each period."""
    try:
        from simpeg import maps
        from simpeg.electromagnetics import natural_source as nsem
    except ImportError:
        return None
    loc = np.array([[0.0, 0.0, 0.0]])
    sources = []
    for period in PERIODS_S:
        rxs = [
            nsem.receivers.Impedance(loc, orientation="xy", component="apparent_resistivity"),
            nsem.receivers.Impedance(loc, orientation="xy", component="phase"),
        ]
        sources.append(nsem.sources.PlanewaveXYPrimary(rxs, frequency=1.0 / period))
    survey = nsem.Survey(sources)
    wires = maps.Wires(("rho", 3), ("thk", 2))
    sim = nsem.Simulation1DRecursive(survey=survey, rhoMap=wires.rho, thicknessesMap=wires.thk)

    def run(model: np.ndarray) -> np.ndarray:
        # Simulation1DRecursive (SimPEG 0.25) takes layers from the bottom up
        bottom_up = np.r_[model[2::-1], model[:2:-1]]
        pairs = sim.dpred(bottom_up).reshape(-1, 2)  # per period: (rho_a, phase)
        phase = np.mod(pairs[:, 1], 180.0)  # SimPEG's xy phase lies in the third quadrant
        return np.concatenate([pairs[:, 0], phase])

    return run


def pygimli_codes() -> tuple[Callable | None, Callable | None, str]:
    """pyGIMLi's DC1dModelling and MT1dModelling (parameters: thicknesses, then resistivities)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pygimli as pg
    except Exception as exc:  # noqa: BLE001 - any failure means "not available"
        return None, None, f"pyGIMLi not available ({type(exc).__name__})"
    am, an = AB2_M - MN2_M, AB2_M + MN2_M
    dc_fop = pg.core.DC1dModelling(3, am, an, an, am)
    mt_fop = pg.core.MT1dModelling(pg.Vector(PERIODS_S), 3, False)

    def dc_run(model: np.ndarray) -> np.ndarray:
        return np.asarray(dc_fop.response(pg.Vector(np.r_[model[3:], model[:3]])))

    def mt_run(model: np.ndarray) -> np.ndarray:
        out = np.asarray(mt_fop.response(pg.Vector(np.r_[model[3:], model[:3]])))
        k = PERIODS_S.size
        return np.concatenate([out[:k], np.degrees(out[k:])])

    return dc_run, mt_run, f"pyGIMLi {pg.__version__}"


VES_PEERS = [("SimPEG, maps", simpeg_ves), ("SimPEG, rho/thk set", simpeg_ves_direct)]
MT_PEERS = [("SimPEG", simpeg_mt)]


def jacobian_cost(fm: forward_models.ForwardModel, models: np.ndarray, repeat: int) -> None:
    """Prints the cost of ``forward_and_jacobian`` over that of ``forward`` (default precision
    and double) on the same models, best of ``repeat`` each, in wall-clock and in CPU time (the
    steadier figure when other jobs share the cores); target ≤ 3×. Where the model offers
    float32 derivatives (MT), also single against single."""
    n = models.shape[0]
    jac = best_rate(lambda: fm.forward_and_jacobian(models), n, repeat)
    fwd = best_rate(lambda: fm.forward(models), n, repeat)
    text = (
        f"forward + Jacobian: {jac[0]:,.0f} models/s on {n:,} models; cost / forward "
        f"({fm.default_precision}) = {fwd[0] / jac[0]:.2f}x wall, {fwd[1] / jac[1]:.2f}x CPU "
        f"(target 3x: {'met' if fwd[1] / jac[1] <= 3 else 'NOT met'})"
    )
    if fm.default_precision != "double":
        dbl = best_rate(lambda: fm.forward(models, precision="double"), n, repeat)
        text += (
            f"; cost / forward (double) = {dbl[0] / jac[0]:.2f}x wall, {dbl[1] / jac[1]:.2f}x CPU"
        )
    print(text)
    if "single" in fm.derivative_precisions:
        jac32 = best_rate(lambda: fm.forward_and_jacobian(models, precision="single"), n, repeat)
        fwd32 = best_rate(lambda: fm.forward(models, precision="single"), n, repeat)
        print(
            f"forward + Jacobian (single): {jac32[0]:,.0f} models/s; cost / forward (single) = "
            f"{fwd32[0] / jac32[0]:.2f}x wall, {fwd32[1] / jac32[1]:.2f}x CPU "
            f"(target 3x: {'met' if fwd32[1] / jac32[1] <= 3 else 'NOT met'})"
        )


def compare(ours: np.ndarray, theirs: np.ndarray, n_rho: int) -> str:
    rel = np.max(np.abs(ours[:, :n_rho] / theirs[:, :n_rho] - 1))
    text = f"max |rel. dev.| rho_a {rel:.2e}"
    if ours.shape[1] > n_rho:
        text += f", max |dev.| phase {np.max(np.abs(ours[:, n_rho:] - theirs[:, n_rho:])):.2e} deg"
    return text


def simpeg_tem() -> Callable[[np.ndarray], np.ndarray] | None:
    """SimPEG Simulation1DLayered: −dB_z/dt at the centre of a circular loop, step-off, 1 A."""
    try:
        from simpeg import maps
        from simpeg.electromagnetics import time_domain as tdem
    except ImportError:
        return None
    rx = tdem.receivers.PointMagneticFluxTimeDerivative(
        np.zeros((1, 3)), TEM_TIMES_S, orientation="z"
    )
    src = tdem.sources.CircularLoop(
        [rx], location=np.zeros(3), radius=TEM_RADIUS_M, waveform=tdem.sources.StepOffWaveform()
    )
    wires = maps.Wires(("rho", 3), ("thk", 2))
    sim = tdem.Simulation1DLayered(
        survey=tdem.Survey([src]), rhoMap=wires.rho, thicknessesMap=wires.thk
    )
    return lambda model: -sim.dpred(model)  # SimPEG's dB_z/dt is negative while decaying


def square_loop_wires(side_m: float) -> list[np.ndarray]:
    """empymod.bipole's ``src`` for a square loop of side ``side_m`` (m) centred on the origin:
    x1, x2, y1, y2, z1, z2 of its four wires, anticlockwise."""
    h = side_m / 2
    return [
        np.array([-h, h, h, -h]),
        np.array([h, h, -h, -h]),
        np.array([-h, -h, h, h]),
        np.array([-h, h, h, -h]),
        np.zeros(4),
        np.zeros(4),
    ]


def empymod_tem() -> tuple[Callable[[np.ndarray], np.ndarray] | None, str]:
    """empymod.bipole: H_z impulse response at the centre of a square loop of four wires."""
    try:
        import empymod
    except ImportError:
        return None, "empymod not installed"
    src = square_loop_wires(TEM_SIDE_M)
    mu0 = 4e-7 * np.pi

    def run(model: np.ndarray) -> np.ndarray:
        depth = [0.0, model[3], model[3] + model[4]]
        out = empymod.bipole(
            src=src, rec=[0, 0, 0, 0, 90], depth=depth, res=[2e14, *model[:3]],
            freqtime=TEM_TIMES_S, signal=0, mrec=True, srcpts=5, strength=1, verb=1,
            ft="dlf", ftarg={"dlf": "key_81_2009", "pts_per_dec": -1},
            htarg={"dlf": "key_101_2009", "pts_per_dec": -1},
        )  # fmt: skip
        return mu0 * np.asarray(out).sum(axis=-1)  # the four wires

    return run, f"empymod {empymod.__version__}"


def tem_section(n: int, n_ref: int, repeat: int) -> None:
    """Central-loop TEM: geobp vs SimPEG (circle) and empymod (square), in this run."""
    circle = forward_models.create(
        "tem-central-loop", n_layers=3, times_s=TEM_TIMES_S, loop_radius_m=TEM_RADIUS_M
    )
    square = circle.with_geometry(times_s=TEM_TIMES_S, loop_side_m=TEM_SIDE_M)
    models = ModelSpace.for_forward_model(circle, (1.0, 1000.0), (2.0, 100.0)).sample(n, seed=0)
    print("\n## TEM central loop 3-layer @30 gates (10 us - 10 ms), step-off")
    print("# models: Sobol', log-uniform rho 1-1000 ohm-m, thickness 2-100 m")
    print(f"{'code':<26}  {'models/s (wall)':>16}  {'models/CPU-s':>14}")
    rates = {}
    for label, fm, precision in (
        ("geobp circle (double)", circle, "double"),
        ("geobp circle (single)", circle, "single"),
        ("geobp square (double)", square, "double"),
    ):
        rate, rate_cpu = best_rate(
            lambda f=fm, p=precision: f.forward(models, precision=p), n, repeat
        )
        rates[label] = (rate, rate_cpu)
        note = ""
        if label == "geobp circle (double)":  # the default precision
            note = f"   target 10,000/s: {'met' if rate >= 10_000 else 'NOT met'} (wall)"
        print(f"{label:<26}  {rate:16,.0f}  {rate_cpu:14,.0f}{note}")
    rate, rate_cpu = best_rate(lambda: circle.forward_and_jacobian(models), n, repeat)
    fwd, fwd_cpu = rates["geobp circle (double)"]
    print(
        f"{'geobp circle fwd+Jacobian':<26}  {rate:16,.0f}  {rate_cpu:14,.0f}   "
        f"time / forward: {fwd / rate:.2f}x wall, {fwd_cpu / rate_cpu:.2f}x per CPU-s "
        "(target <= 3x)"
    )
    emp_fn, emp_note = empymod_tem()
    ref = models[:n_ref]
    for name, fn, fm, ours_label in (
        ("SimPEG (circle)", simpeg_tem(), circle, "geobp circle (double)"),
        ("empymod (square)", emp_fn, square, "geobp square (double)"),
    ):
        if fn is None:
            print(f"{name:<26}  not installed")
            continue
        rate, rate_cpu, data = loop_rate(fn, ref)
        ours, ours_cpu = rates[ours_label]
        dev = np.abs(fm.forward(ref, precision="double") / data - 1)
        print(
            f"{name:<26}  {rate:16,.2f}  {rate_cpu:14,.2f}   ours/{name.split()[0]}: "
            f"{ours / rate:,.0f}x wall, {ours_cpu / rate_cpu:,.0f}x per CPU-s; "
            f"median |rel. dev.| {np.median(dev):.1e}, max {dev.max():.1e}"
        )
    print(f"# {emp_note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000, help="batch size for geobp")
    parser.add_argument("--n-ref", type=int, default=1000, help="models for SimPEG/pyGIMLi")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--n-jac", type=int, default=50_000, help="models for the Jacobian cost")
    parser.add_argument("--n-tem", type=int, default=20_000, help="TEM batch size for geobp")
    parser.add_argument("--n-ref-tem", type=int, default=50, help="TEM models for the peers")
    parser.add_argument(
        "--only", choices=["tem", "ves-mt"], help="run the TEM section only, or VES and MT only"
    )
    args = parser.parse_args()
    if args.only == "tem":
        tem_section(args.n_tem, args.n_ref_tem, args.repeat)
        return

    print(
        f"# forward-model benchmark, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, NumPy {np.__version__}"
    )
    ves = forward_models.create("ves-schlumberger", n_layers=3, ab2_m=AB2_M, mn2_m=MN2_M)
    mt = forward_models.create("mt-1d", n_layers=3, periods_s=PERIODS_S)
    ves_models = ModelSpace.for_forward_model(ves, (1.0, 5000.0), (0.5, 100.0)).sample(
        args.n, seed=0
    )
    mt_models = ModelSpace.for_forward_model(mt, (1.0, 5000.0), (10.0, 2000.0)).sample(
        args.n, seed=0
    )
    print(
        "# models: Sobol', log-uniform rho 1-5000 ohm-m; thickness 0.5-100 m (VES), 10-2000 m (MT)"
    )

    dc_pg, mt_pg, pg_note = pygimli_codes()
    cases = [
        ("VES Schlumberger 3-layer @30 AB/2", ves, ves_models, VES_PEERS, dc_pg, 300_000, 20),
        ("MT 1D 3-layer @40 periods", mt, mt_models, MT_PEERS, mt_pg, 1_000_000, 50),
    ]
    print(f"# {pg_note}")
    for title, fm, models, peer_makers, pg_fn, target, target_ratio in cases:
        print(f"\n## {title}")
        ours, ours_cpu = best_rate(lambda fm=fm, m=models: fm.forward(m), args.n, args.repeat)
        print(f"{'code':<22}  {'models/s (wall)':>16}  {'models/CPU-s':>14}")
        label = f"geobp (default: {fm.default_precision})"
        print(
            f"{label:<22}  {ours:16,.0f}  {ours_cpu:14,.0f}   target {target:,}/s: "
            f"{'met' if ours >= target else 'NOT met'} (wall)"
        )
        for precision in ("single", "double"):
            if precision != fm.default_precision:
                rate, rate_cpu = best_rate(
                    lambda fm=fm, m=models, p=precision: fm.forward(m, precision=p),
                    args.n,
                    args.repeat,
                )
                print(f"{'geobp (' + precision + ')':<22}  {rate:16,.0f}  {rate_cpu:14,.0f}")
        ref = models[: args.n_ref]
        ours_ref = fm.forward(ref)
        n_rho = fm.data_kinds.count("rho_a")
        rates = {}
        peers = [(name, make()) for name, make in peer_makers] + [("pyGIMLi", pg_fn)]
        for name, fn in peers:
            if fn is None:
                print(f"{name:<22}  not installed")
                continue
            rate, rate_cpu, data = loop_rate(fn, ref)
            rates[name] = (rate, rate_cpu)
            print(
                f"{name:<22}  {rate:16,.0f}  {rate_cpu:14,.0f}   ours/{name}: "
                f"{ours / rate:.1f}x wall, {ours_cpu / rate_cpu:.1f}x per CPU-s; "
                f"{compare(ours_ref, data, n_rho)}"
            )
        if rates:
            fastest = max(rates, key=lambda k: rates[k][0])
            ratio = ours / rates[fastest][0]
            print(
                f"ours / fastest ({fastest}) = {ratio:.1f}x wall-clock (target {target_ratio}x: "
                f"{'met' if ratio >= target_ratio else 'NOT met'}); "
                f"{ours_cpu / rates[fastest][1]:.1f}x per CPU-second"
            )
        jacobian_cost(fm, models[: args.n_jac], args.repeat)
    if args.only != "ves-mt":
        tem_section(args.n_tem, args.n_ref_tem, args.repeat)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\n# 1-minute load average at the end: {load:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
