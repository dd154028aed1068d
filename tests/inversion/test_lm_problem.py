"""The Levenberg–Marquardt problem's residuals (inversion.lm_problem)."""

from __future__ import annotations

import warnings

import numpy as np

from inversion.lm_problem import Evaluator, Rows


def test_non_positive_predictions_are_penalised_quietly():
    """A trial model whose response is zero, negative or NaN (a TEM start far off) gets the
    1e6 penalty residual, without a RuntimeWarning reaching the user."""
    is_phase = np.array([False, False, False, True])
    evaluator = Evaluator(lambda m: m, None, is_phase, 2, 0.01)
    one = np.ones((1, 4))
    rows = Rows(
        log_obs=np.zeros((1, 4)),
        weight=one,
        free=np.ones((1, 2), bool),
        mean=np.zeros((1, 2)),
        precision=np.zeros((1, 2)),
        lo=np.full((1, 2), -3.0),
        hi=np.full((1, 2), 3.0),
        stop=np.zeros(1),
        accept=np.zeros(1),
        cap=np.full(1, 10),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = evaluator.residuals(np.array([[-2.0, 0.0, np.e, 30.0]]), rows)
    np.testing.assert_allclose(r, [[1e6, 1e6, 1.0, 30.0]])
