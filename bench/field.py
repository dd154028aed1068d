"""Field soundings through the served networks, against a 200-start least-squares reference.

Every VES and MT file in ``/work/shared/fixtures/field/`` (and with ``--tem`` the TEM files) is
inverted by ``inversion.served.ServedSet`` with the data's own errors floored at 5 % (ρa and TEM
−dBz/dt) and 1.5° (phase).
For the chosen layer count the same problem (error-weighted residuals of log ρa and phase, on
the same forward model and observed geometry, within the same bounds, over log10 m) is solved
from ``--n-starts`` random starts (log-uniform within the bounds) with
``scipy.optimize.least_squares``; the table shows both χ and their ratio (geobp / reference).
Where the answer applied MN/2 segment factors (:mod:`inversion.segments`) the reference solves
the same problem (the factors profiled out of its residuals too); "seg" is the number of factors
and "chi w/o" the χ of geobp's best fit without them. "net chi" is the network-only χ of the
chosen layer count; "net BIC" the network-only answer a network-only inverter would give: of
every layer count's network answer (no refinement), the one with the lowest BIC
(n·χ² + (2N − 1)·ln n), as χ/N. "IP chi" is the χ of the TEM answer's polarisable
(Cole–Cole) model where the layered χ exceeds 1.5 (:mod:`inversion.served.tem_ip`), with its
layer count and ``*`` where BIC prefers it.

Run: ``.venv/bin/python bench/field.py [--networks DIR] [--n-starts 200] [--tem] [--field DIR ...]
[--tem-starts 20]`` (without ``--networks`` the served set is trained first, with the starter
settings; TEM forward models cost ~100× a VES one, hence fewer reference starts for TEM).
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

import forward_models
import inversion
from inversion.misfit import weighted_residuals
from inversion.segments import shifted
from inversion.served import ServedSet, load_set, train_set
from inversion.served.parse import parse_served
from inversion.served.search import bounds_for

FIELD = Path("/work/shared/fixtures/field")
FLOOR = {"rho_a_rel": 0.05, "phase_deg": 1.5}
log = logging.getLogger("bench.field")


def reference_chi(
    obs: dict, n_layers: int, n_starts: int, seed: int = 0, segment_factors: bool = False
) -> float:
    """Best χ of ``n_starts`` bounded least-squares fits from random starts (log10 m), with
    the sounding's MN/2 segment factors profiled out when ``segment_factors``; a start whose
    response is not finite (extreme TEM models) is drawn again, up to 20 times."""
    s = parse_served(obs, FLOOR)
    spec, o = s.spec, s.obs
    fwd = forward_models.create(spec.name, n_layers=n_layers, **o.geometry)
    fwd = shifted(fwd, s.shifts if segment_factors else None)
    lower, upper = bounds_for(spec, n_layers, s.axis, s.rho_a)
    lo, hi = np.log10(lower), np.log10(upper)
    is_phase = np.arange(o.data.size) >= s.axis.size

    def residuals(x: np.ndarray) -> np.ndarray:
        pred = np.asarray(fwd.forward(10.0**x, precision="double"), dtype=float)[0]
        return weighted_residuals(o.data, pred, is_phase, o.sigma)

    rng = np.random.default_rng(seed)
    best = np.inf
    for _ in range(n_starts):
        for _draw in range(20):  # a start whose response is not finite (TEM) is drawn again
            x0 = lo + rng.uniform(size=lo.size) * (hi - lo)
            if np.all(np.isfinite(residuals(x0))):
                break
        else:
            continue
        fit = least_squares(residuals, x0, bounds=(lo, hi), method="trf", x_scale=1.0)
        best = min(best, float(np.sqrt(np.mean(fit.fun**2))))
    return best


def soundings(tem: bool = False, folders: list[Path] | None = None) -> list[tuple[str, dict]]:
    """(id, observation dict) of every VES and MT field sounding (and TEM with ``tem``) in
    ``folders`` (default: the shared fixtures)."""
    out = []
    paths = [p for folder in folders or [FIELD] for p in sorted(Path(folder).iterdir())]
    for path in paths:
        is_tem = path.name.startswith("tem_") or path.suffix in (".tem", ".usf")
        if path.suffix not in (".csv", ".edi", ".tem", ".usf") or (is_tem and not tem):
            continue
        try:
            out.extend(inversion.read_soundings(str(path)).items())
        except ValueError as exc:
            log.warning("%s: not read (%s)", path.name, exc)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", help="directory of served-*.npz (default: train them)")
    parser.add_argument("--n-starts", type=int, default=200)
    parser.add_argument("--tem", action="store_true", help="include the TEM field files")
    parser.add_argument("--tem-starts", type=int, default=20, help="reference starts for TEM")
    parser.add_argument(
        "--field",
        action="append",
        type=Path,
        help=f"a folder of field files (repeatable; default {FIELD})",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    t0 = time.perf_counter()
    served: ServedSet = (
        load_set(args.networks)
        if args.networks
        else train_set(("ves-schlumberger", "mt-1d", "tem-coincident-loop", "tem-central-loop"))
    )
    log.info("served set ready in %.1f s", time.perf_counter() - t0)
    header = f"{'sounding':34s} {'method':17s} {'N':>2s} {'chi':>6s} {'RMS%':>6s} {'net chi':>8s}"
    print(
        header + f" {'ref chi':>8s} {'ratio':>6s} {'time s':>7s} {'seg':>3s} {'chi w/o':>7s}"
        f" {'net BIC':>8s} {'IP chi':>9s}"
    )
    for sid, obs in soundings(args.tem, args.field):
        t = time.perf_counter()
        result = served.invert(obs, noise_floor=FLOOR)[0]
        elapsed = time.perf_counter() - t
        n = result["n_layers"]
        report = result.get("segment_shifts") or {}
        applied = bool(report.get("applied"))
        starts = args.tem_starts if "times_s" in obs else args.n_starts
        ref = reference_chi(obs, n, starts, segment_factors=applied)
        chi, net = result["misfit"]["chi"], result["network_misfit"]["chi"]
        net_text = f"{net:8.2f}" if net is not None else f"{'-':>8s}"
        seg = f"{len(report['segments']):3d}" if applied else f"{'-':>3s}"
        without = f"{report['chi_without_shifts']:7.3f}" if applied else f"{'-':>7s}"
        print(
            f"{sid:34s} {result['method']:17s} {n:2d} {chi:6.3f} "
            f"{result['misfit']['rms_percent']:6.2f} {net_text} {ref:8.3f} {chi / ref:6.3f} "
            f"{elapsed:7.2f} {seg} {without} {network_only(result)} {polarisable(result)}",
            flush=True,
        )


def polarisable(result: dict) -> str:
    """``χ/N`` of the polarisable model, ``*`` where BIC prefers it ("-": none was fitted)."""
    ip = result.get("ip")
    if not ip:
        return f"{'-':>9s}"
    text = f"{ip['misfit']['chi']:.3f}/{ip['n_layers']}{'*' if ip['preferred'] else ' '}"
    return f"{text:>9s}"


def network_only(result: dict) -> str:
    """``χ/N`` of the result's ``network_answer``, the network answer with the lowest BIC over
    the layer counts ("-": none)."""
    answer = result["network_answer"]
    if answer is None:
        return f"{'-':>8s}"
    return f"{answer['chi']:6.2f}/{answer['n_layers']}"


if __name__ == "__main__":
    main()
