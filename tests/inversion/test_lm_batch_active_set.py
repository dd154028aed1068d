"""refine_batch holds a parameter at a bound whose descent direction points outside."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from inversion.layers import TO_MINIMUM
from inversion.lm_batch import refine_batch

SHAPE = np.array([1.0, 1.001, 0.999])


def _forward(m: np.ndarray) -> np.ndarray:
    """ρa (k, 3) = m1 · m2^0.01 · SHAPE: m1 well determined, m2 nearly insensitive."""
    m = np.atleast_2d(m)
    return (m[:, :1] * m[:, 1:2] ** 0.01) * SHAPE


def test_a_parameter_pushing_past_its_bound_does_not_stall_the_others():
    """The data want m1 · m2^0.01 = 100 from m1 = 1: the gradient pushes m2 up against its
    bound 10. Solved together, m2's Gauss–Newton step is ~10⁴ decades, the step cap shrinks
    m1's to nothing and the row creeps; held at its bound, m2 no longer blocks m1."""
    out = refine_batch(
        _forward,
        np.array([[1.0, 9.0]]),
        (100.0 * SHAPE)[None],
        np.full((1, 3), 0.03),
        np.zeros(3, bool),
        np.array([0.1, 0.1]),
        np.array([1e5, 10.0]),
        settings=replace(TO_MINIMUM, max_iterations=15),
        covariance=False,
    )
    assert out.models[0, 1] == 10.0
    np.testing.assert_allclose(out.models[0, 0], 100.0 / 10.0**0.01, rtol=1e-3)
    assert out.chi[0] < 0.05
