"""The fixed stack of a smooth model: many layers whose thicknesses grow with depth.

A smooth (Occam) model describes the earth by N layers of fixed thickness whose
interface depths are evenly spaced in log depth from ``top_m`` to ``bottom_m`` (the first layer is
``top_m`` thick; below it each interface is deeper by the constant ratio
``(bottom_m/top_m)^(1/(N−2))``, and so is each layer thicker than the one above), the last a
half-space. The depth range follows the depths the data see (:func:`depth_range_m`):

* VES (``ab2_m`` or ``a_m``): from a third of the shortest spacing to twice the longest;
* MT (``periods_s``): from a third of the skin depth δ = 503·√(ρ·T) m at the shortest period and
  the lowest resistivity to 2δ at the longest period and the highest resistivity;
* TEM (``times_s``): the same with the diffusion depth √(2·t·ρ/μ₀) ≈ 1262·√(ρ·t) m.

The bottom lies well below what the data resolve, so that the depth of investigation
(:mod:`inversion.doi`) falls inside the stack rather than at its half-space.

N follows the depth span (:func:`n_layers_for`): ``LAYERS_PER_DECADE`` = 7 interfaces per
decade of depth, at least ``MIN_LAYERS`` = 20 and at most ``MAX_LAYERS`` = 40 layers (a VES
sounding over three decades of AB/2 gets ~30, a wide MT sounding 40). Coarser stacks cannot fit
thin high-contrast layers to the noise (χ stays above 1.2 on some synthetic MT soundings with
5 interfaces per decade); finer ones cost time without changing the models (10 and 14 per
decade, and a top at a tenth of the first spacing or a bottom at 1× or 4× the longest, changed
the synthetic accuracy of ``bench/smooth.py`` by at most three of ~95 scored layers). (Danish TEM
practice, 19 layers with a first layer of 4 m, fixes the stack for one instrument's depth range;
here the range follows each sounding's own data instead.) A thinner TEM stack does not pay: with
TEM's linearised Occam search (``inversion.served.smooth_result.TEM_OCCAM``), 7 per decade with a
floor of 12 instead of 20 layers (most synthetic TEM stacks of ``bench/smooth.py --n 20 --methods
tem-coincident-loop`` then 13–19 layers) changed the forward work (layers × (forwards + 5 ×
Jacobians) per sounding) by −5 % at p50 and +13 % at p95, and moved the DOIs by up to ±20 %.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "DIFFUSION_M",
    "LAYERS_PER_DECADE",
    "MAX_LAYERS",
    "MIN_LAYERS",
    "average_layered",
    "SKIN_M",
    "depth_range_m",
    "mid_depth_m",
    "n_layers_for",
    "sample_layered",
    "snap_interfaces",
    "stack_thickness_m",
]

LAYERS_PER_DECADE = 7
MIN_LAYERS, MAX_LAYERS = 20, 40
SKIN_M = 503.0  # skin depth δ = 503·√(ρ·T) m (ρ in Ω·m, T in s)
DIFFUSION_M = float(np.sqrt(2.0 / (4e-7 * np.pi)))  # diffusion depth √(2tρ/μ₀) = 1262·√(ρt) m
_TOP_FRACTION = 1.0 / 3.0
_BOTTOM_FACTOR = 2.0


def depth_range_m(
    axis_name: str, axis: np.ndarray, rho_lo_ohmm: float, rho_hi_ohmm: float
) -> tuple[float, float]:
    """``(top_m, bottom_m)``: the first and the deepest interface depth of the stack for a
    sounding with abscissae ``axis`` (K,) named ``axis_name`` (``ab2_m``, ``a_m``, ``periods_s``
    or ``times_s``) over resistivities ``rho_lo_ohmm``…``rho_hi_ohmm`` (Ω·m)."""
    axis = np.asarray(axis, dtype=float)
    first, last = float(axis.min()), float(axis.max())
    if axis_name in ("ab2_m", "a_m"):
        top, bottom = first * _TOP_FRACTION, last * _BOTTOM_FACTOR
    elif axis_name == "periods_s":
        top = SKIN_M * np.sqrt(rho_lo_ohmm * first) * _TOP_FRACTION
        bottom = SKIN_M * np.sqrt(rho_hi_ohmm * last) * _BOTTOM_FACTOR
    elif axis_name == "times_s":
        top = DIFFUSION_M * np.sqrt(rho_lo_ohmm * first) * _TOP_FRACTION
        bottom = DIFFUSION_M * np.sqrt(rho_hi_ohmm * last) * _BOTTOM_FACTOR
    else:
        raise ValueError(f"axis_name: no smooth stack for {axis_name!r}")
    return float(top), float(max(bottom, 10.0 * top))


def n_layers_for(top_m: float, bottom_m: float) -> int:
    """Number of stack layers for interfaces from ``top_m`` to ``bottom_m``: 7 interfaces per
    decade, within 20…40 layers."""
    decades = float(np.log10(bottom_m / top_m))
    return int(np.clip(round(LAYERS_PER_DECADE * decades) + 2, MIN_LAYERS, MAX_LAYERS))


def stack_thickness_m(top_m: float, bottom_m: float, n_layers: int) -> np.ndarray:
    """Thicknesses (n_layers − 1,) m of a stack whose n_layers − 1 interfaces lie evenly in log
    depth from ``top_m`` to ``bottom_m`` (the first layer ``top_m`` thick)."""
    depth = np.geomspace(top_m, bottom_m, n_layers - 1)
    return np.diff(np.concatenate([[0.0], depth]))


def mid_depth_m(depth_m: np.ndarray) -> np.ndarray:
    """Representative depth (N,) m of each layer of a stack with interfaces ``depth_m`` (N−1,):
    the geometric mean of its top and bottom (half the first interface for the top layer, 1.5×
    the last interface for the half-space)."""
    depth_m = np.asarray(depth_m, dtype=float)
    inner = np.sqrt(depth_m[:-1] * depth_m[1:])
    return np.concatenate([[0.5 * depth_m[0]], inner, [1.5 * depth_m[-1]]])


def sample_layered(
    model: np.ndarray, n_layers: int, depth_m: np.ndarray, at_m: np.ndarray | None = None
) -> np.ndarray:
    """log10 ρ (N,) of a layered ``model`` [ρ (n_layers) Ω·m, h (n_layers − 1) m] at the
    representative depths (:func:`mid_depth_m`) of a stack with interfaces ``depth_m`` (N−1,),
    or at the depths ``at_m`` (M,) when given."""
    model = np.asarray(model, dtype=float)
    rho, thk = model[:n_layers], model[n_layers:]
    where = mid_depth_m(depth_m) if at_m is None else np.asarray(at_m, dtype=float)
    layer = np.searchsorted(np.cumsum(thk), where, side="right")
    return np.log10(rho[layer])


def average_layered(model: np.ndarray, n_layers: int, depth_m: np.ndarray) -> np.ndarray:
    """log10 ρ (N,) of a layered ``model`` averaged over each layer of a stack with interfaces
    ``depth_m`` (N−1,), weighted by the overlap (the stack's half-space taken from its top to
    twice its top): thin layers between two stack interfaces are kept in part."""
    model = np.asarray(model, dtype=float)
    log_rho, layered = np.log10(model[:n_layers]), np.cumsum(model[n_layers:])
    tops = np.concatenate([[0.0], depth_m])
    bottoms = np.concatenate([depth_m, [2.0 * depth_m[-1]]])
    edges_top = np.concatenate([[0.0], layered])
    edges_bottom = np.concatenate([layered, [np.inf]])
    overlap = np.clip(
        np.minimum(bottoms[:, None], edges_bottom[None])
        - np.maximum(tops[:, None], edges_top[None]),
        0.0,
        None,
    )
    return (overlap @ log_rho) / overlap.sum(axis=1)


def snap_interfaces(depth_m: np.ndarray, interfaces_m: np.ndarray) -> np.ndarray:
    """Stack interfaces (N−1,) m with a stack interface moved onto each of ``interfaces_m`` (a
    layered model's interface depths, m) above the deepest: the nearest one in log depth, or the
    next deeper one when that is already taken, so that the layered model is exactly one of the
    stack's models. The deepest stack interface stays where it is."""
    depth = np.asarray(depth_m, dtype=float).copy()
    log_depth = np.log(depth)
    last = -1
    for z in np.sort(np.asarray(interfaces_m, dtype=float)):
        if not 0.0 < z < depth[-1]:
            continue
        i = max(int(np.argmin(np.abs(log_depth - np.log(z)))), last + 1)
        if i >= depth.size - 1:
            break
        depth[i], last = z, i
    return np.sort(depth)
