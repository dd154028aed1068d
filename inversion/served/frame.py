"""The canonical frame of the served networks: one log grid per method, scale-free data.

A layered earth's VES response is unchanged when every length (AB/2, MN/2, a, thicknesses) is
scaled by s, and scales by c when every resistivity does; an MT response keeps its phases and
scales ρa by c under ρ → cρ, T → sT, h → √(cs)·h. So a sounding is described, up to these
scalings, by its log ρa relative to a reference ``rho_ref_ohmm`` (the geometric mean of its ρa)
as a function of log(abscissa / first abscissa). :func:`resample` puts a sounding onto the
method's canonical grid (``points_per_decade`` points per decade from its first abscissa on) with
a mask for the grid points it does not reach; :func:`frame_batch` gives its references (ρ_ref,
and L_ref: VES the first AB/2 or a, MT the skin depth 503·√(ρ_ref·T₁)); :func:`features_batch`
the network input; :func:`to_canonical`/:func:`to_physical` convert models. TEM soundings
enter as their late-time apparent resistivity against time, with L_ref the diffusion depth
√(2t₁ρ_ref/μ₀) and one extra input, log10 τ₁ (:mod:`inversion.served.tem`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "METHODS",
    "MU0",
    "SKIN_M",
    "TEM_DATA",
    "MethodSpec",
    "features_batch",
    "frame_batch",
    "grid_log10",
    "resample",
    "to_canonical",
    "to_physical",
]

SKIN_M = 503.0  # skin depth δ = 503·√(ρ·T) m for ρ in Ω·m and T in s
MU0 = 4e-7 * np.pi  # H/m
TEM_DATA = "dbzdt_v_per_am2"  # −dBz/dt per ampere, V/(A·m²)


@dataclass(frozen=True)
class MethodSpec:
    """One served method: the forward model ``name``, its abscissa ``axis`` with the served
    range ``axis_range`` (m or s), whether its data carry phases, the canonical grid (``decades``
    wide, ``points_per_decade``), and the served resistivity range ``rho_range_ohmm``."""

    name: str
    axis: str
    axis_range: tuple[float, float]
    has_phase: bool
    decades: float
    points_per_decade: int
    rho_range_ohmm: tuple[float, float] = (0.1, 1e5)
    data_key: str = "rho_a_ohmm"
    n_extra: int = 0

    @property
    def is_tem(self) -> bool:
        """Transient EM: data −dBz/dt, read by the network as late-time apparent resistivity."""
        return self.axis == "times_s"

    @property
    def n_grid(self) -> int:
        """Number of canonical grid points."""
        return int(round(self.decades * self.points_per_decade)) + 1

    @property
    def n_features(self) -> int:
        """Network input length: log ρa (and phase) on the grid, the mask, then ``n_extra``
        scalars (TEM: log10 of the dimensionless first time τ₁)."""
        return self.n_grid * (3 if self.has_phase else 2) + self.n_extra


METHODS: dict[str, MethodSpec] = {
    "ves-schlumberger": MethodSpec("ves-schlumberger", "ab2_m", (0.5, 3e4), False, 5.0, 6),
    "ves-wenner": MethodSpec("ves-wenner", "a_m", (0.5, 3e4), False, 5.0, 6),
    "mt-1d": MethodSpec("mt-1d", "periods_s", (1e-5, 1e5), True, 10.0, 5),
    **{
        name: MethodSpec(name, "times_s", (1e-6, 1.0), False, 5.0, 5, (0.1, 1e5), TEM_DATA, 1)
        for name in ("tem-central-loop", "tem-coincident-loop")
    },
}


def grid_log10(spec: MethodSpec) -> np.ndarray:
    """Canonical grid (n_grid,): log10(abscissa / first abscissa), from 0 in even steps."""
    return np.arange(spec.n_grid) / spec.points_per_decade


def resample(
    spec: MethodSpec,
    log_axis: np.ndarray,
    log_rho_a: np.ndarray,
    phase_deg: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """One sounding on the canonical grid: ``log_axis`` (K,) ascending distinct log10 abscissae,
    ``log_rho_a`` (K,) log10 ρa, ``phase_deg`` (K,) or None → (log10 ρa (G,), phases (G,) or
    None, inside (G,) bool: grid points within the observed range), linear in log space."""
    grid = grid_log10(spec)
    rel = np.asarray(log_axis, dtype=float) - float(log_axis[0])
    inside = grid <= rel[-1] + 1e-9
    rho = np.interp(grid, rel, log_rho_a)
    phase = None if phase_deg is None else np.interp(grid, rel, phase_deg)
    return rho, phase, inside


def frame_batch(
    spec: MethodSpec, log_axis_first: np.ndarray, log_rho_a: np.ndarray, inside: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The scalings of n soundings on the grid: log10 ρ_ref (n,) (mean log10 ρa over the grid
    points inside) and log10 L_ref (n,) (VES: the first abscissa; MT: the skin depth
    503·√(ρ_ref·T₁); TEM: the diffusion depth √(2 t₁ ρ_ref/μ₀)); ``log_axis_first`` (n,) log10
    of the first abscissa (m or s)."""
    w = inside.astype(float)
    log_rho_ref = (log_rho_a * w).sum(axis=1) / w.sum(axis=1)
    if spec.is_tem:
        return log_rho_ref, 0.5 * (np.log10(2.0 / MU0) + log_rho_ref + log_axis_first)
    if spec.has_phase:
        return log_rho_ref, np.log10(SKIN_M) + 0.5 * (log_rho_ref + log_axis_first)
    return log_rho_ref, np.asarray(log_axis_first, dtype=float)


def features_batch(
    spec: MethodSpec,
    log_rho_a: np.ndarray,
    phase_deg: np.ndarray | None,
    inside: np.ndarray,
    log_rho_ref: np.ndarray,
    extra: np.ndarray | None = None,
) -> np.ndarray:
    """Network inputs (n, n_features) of n soundings on the grid (n, G): log10(ρa/ρ_ref) (the
    references (n,) from :func:`frame_batch`) and (phase − 45°)/45°, zero outside the observed
    range, then the mask (1 inside), then the method's ``extra`` scalars (n, n_extra)."""
    w = inside.astype(float)
    parts = [np.where(inside, log_rho_a - np.reshape(log_rho_ref, (-1, 1)), 0.0)]
    if spec.has_phase:
        assert phase_deg is not None
        parts.append(np.where(inside, (phase_deg - 45.0) / 45.0, 0.0))
    parts.append(w)
    if spec.n_extra:
        assert extra is not None and np.shape(extra)[-1] == spec.n_extra
        parts.append(np.reshape(extra, (-1, spec.n_extra)))
    return np.concatenate(parts, axis=1)


def to_canonical(
    models: np.ndarray, n_layers: int, log_rho_ref: np.ndarray, log_length_ref: np.ndarray
) -> np.ndarray:
    """Physical models (n, 2N−1) [ρ Ω·m…, h m…] → log10 of ρ/ρ_ref and h/L_ref (n, 2N−1);
    references (n,) or scalars, log10."""
    out = np.log10(np.asarray(models, dtype=float))
    out[:, :n_layers] -= np.reshape(log_rho_ref, (-1, 1))
    out[:, n_layers:] -= np.reshape(log_length_ref, (-1, 1))
    return out


def to_physical(
    canonical: np.ndarray, n_layers: int, log_rho_ref: np.ndarray, log_length_ref: np.ndarray
) -> np.ndarray:
    """Inverse of :func:`to_canonical`: log10 ratios (..., 2N−1) → physical models."""
    out = np.array(canonical, dtype=float)
    out[..., :n_layers] += np.reshape(log_rho_ref, (-1, 1))
    out[..., n_layers:] += np.reshape(log_length_ref, (-1, 1))
    return 10.0**out
