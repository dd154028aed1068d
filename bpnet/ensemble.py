"""``BPEnsemble``: several ``BPNetwork`` members differing by seed (optionally bootstrap).

Members are fitted one after another in this process (simple, deterministic, and each member
already uses its ``n_jobs`` or the whole GPU); member ``i`` uses ``seed + i``. With
``bootstrap=True`` member ``i`` trains on a resample (with replacement) of the rows drawn from
``np.random.default_rng(seed + i)``. A ``max_time_s`` budget is shared equally by the members.
The spread of the members' predictions is the ensemble's uncertainty estimate.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import archive
from ._params import Spec, validate
from .network import HYPERPARAMETERS, BPNetwork, NotFittedError, check_xy, network_state

ENSEMBLE_PARAMETERS = {
    "n_members": Spec(5, "int", low=1),
    "bootstrap": Spec(False, "bool"),
}


class BPEnsemble:
    """Ensemble of ``n_members`` networks built with the same ``BPNetwork`` keywords.

    Fitted attributes: ``members_`` (list of fitted ``BPNetwork``), ``history_`` (one history
    per member), ``n_features_in_``, ``n_outputs_``, ``stop_reason_`` (``"completed"`` or
    ``"cancelled"``: fewer members, or the last one stopped early, after ``should_stop()``).
    """

    def __init__(self, n_members: int = 5, bootstrap: bool = False, **network_params: Any) -> None:
        self.n_members = n_members
        self.bootstrap = bootstrap
        unknown = sorted(set(network_params) - set(HYPERPARAMETERS))
        if unknown:
            raise ValueError(f"{unknown[0]}: unknown parameter; allowed: {sorted(HYPERPARAMETERS)}")
        self.network_params = dict(network_params)

    def get_ensemble_params(self) -> dict[str, Any]:
        """All keywords: ``n_members``, ``bootstrap`` and the network keywords given."""
        return {"n_members": self.n_members, "bootstrap": self.bootstrap, **self.network_params}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_ensemble_params().items())
        return f"BPEnsemble({args})"

    def fit(
        self,
        X: Any,
        Y: Any,
        callback: Callable[[dict], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        output_loss: Callable[[Any, Any], tuple[Any, Any]] | None = None,
    ) -> BPEnsemble:
        """Fit every member in turn on ``X (n, n_features)``, ``Y (n, n_outputs)``; returns self.

        ``callback(info)`` gets each member's epoch info plus ``member`` (0-based) and
        ``n_members``; ``should_stop()`` cancels the current member and skips the rest;
        ``output_loss`` goes to every member's :meth:`BPNetwork.fit`.
        """
        ens = validate(
            ENSEMBLE_PARAMETERS, {"n_members": self.n_members, "bootstrap": self.bootstrap}
        )
        base = BPNetwork(**self.network_params)
        base._checked_params()
        X, Y = check_xy(X, Y)
        seed0 = base.seed if base.seed is not None else int(np.random.default_rng().integers(2**31))
        members = []
        self.stop_reason_ = "completed"
        for i in range(ens["n_members"]):
            if members and should_stop is not None and should_stop():
                self.stop_reason_ = "cancelled"
                break
            params = dict(self.network_params, seed=seed0 + i)
            if base.max_time_s is not None:  # the budget is for the whole ensemble
                params["max_time_s"] = base.max_time_s / ens["n_members"]
            Xi, Yi = X, Y
            if ens["bootstrap"]:
                rows = np.random.default_rng(seed0 + i).integers(0, X.shape[0], size=X.shape[0])
                Xi, Yi = X[rows], Y[rows]
            member_cb = None
            if callback is not None:

                def member_cb(info: dict, _i: int = i) -> None:
                    callback({**info, "member": _i, "n_members": ens["n_members"]})

            members.append(BPNetwork(**params).fit(Xi, Yi, member_cb, should_stop, output_loss))
            if members[-1].stop_reason_ == "cancelled":
                self.stop_reason_ = "cancelled"
        self.members_ = members
        self._set_fitted_from_members()
        return self

    def _set_fitted_from_members(self) -> None:
        self.history_ = [m.history_ for m in self.members_]
        self.n_features_in_ = self.members_[0].n_features_in_
        self.n_outputs_ = self.members_[0].n_outputs_

    def _check_fitted(self, what: str) -> None:
        if not hasattr(self, "members_"):
            raise NotFittedError(f"{what}: this BPEnsemble is not fitted yet; call fit(X, Y) first")

    def predict(self, X: Any, return_members: bool = False, return_std: bool = False) -> Any:
        """Mean prediction ``(n, n_outputs)``; with ``return_members`` the stack
        ``(n_members, n, n_outputs)`` instead; with ``return_std`` a tuple (mean, std)."""
        self._check_fitted("predict")
        stack = np.stack([m.predict(X) for m in self.members_])
        if return_members:
            return stack
        mean = stack.mean(axis=0)
        if return_std:
            return mean, stack.std(axis=0)
        return mean

    def predict_quantiles(self, X: Any, q: Any = (0.1, 0.5, 0.9)) -> np.ndarray:
        """Quantiles ``q`` (each in [0, 1]) across members: ``(len(q), n, n_outputs)``."""
        q = np.atleast_1d(np.asarray(q, dtype=np.float64))
        if q.ndim != 1 or q.size == 0 or not np.all((q >= 0) & (q <= 1)):
            raise ValueError(f"q: quantiles must be a non-empty list of numbers in [0, 1], got {q}")
        return np.quantile(self.predict(X, return_members=True), q, axis=0)

    def save(self, path: str, metadata: dict | None = None) -> None:
        """Write all members to one checksummed ``.npz`` file (see ``bpnet.archive``)."""
        user = archive.check_metadata(metadata)
        self._check_fitted("save")
        arrays: dict[str, np.ndarray] = {}
        members = []
        for i, member in enumerate(self.members_):
            a, s = network_state(member, prefix=f"member{i}.")
            arrays.update(a)
            members.append(s)
        doc = {
            "kind": "BPEnsemble",
            "ensemble": self.get_ensemble_params(),
            "members": members,
            "stop_reason": self.stop_reason_,
        }
        archive.save_document(path, arrays, doc, user)
        self.metadata_ = user
