"""The one training pipeline: spec → training set → fit → held-out set → evaluation → record.

The worker (``geobp.generate_chunk`` / ``geobp.train``) and the command line (``geobp train``,
``geobp demo``) both call it; they differ only in how they report progress, which they pass in as
callbacks, and in where the training set comes from (the worker generates it in chunks in
separate tasks, the command line in one process, in chunks of ``CHUNK_ROWS``: the same models,
and data equal to the last bits).

A training spec is the REST training-job body as stored (``inversion.problem`` turns its parts
into objects). The held-out set is drawn with the spec's seed plus
``problem.TEST_SEED_OFFSET``, so it never shares rows with the training set, and has
``problem.n_test_rows(spec)`` rows; at most 50 of them are refined against the physics.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

import forward_models
from inversion import problem
from inversion.inverter import Inverter
from inversion.jsonable import jsonable

CHUNK_ROWS = 5000  # rows per chunk when the training set is generated in one process
MAX_REFINED = 50  # held-out soundings refined in the evaluation

Progress = Callable[[dict[str, Any]], None]
StopCheck = Callable[[], bool]
RowsDone = Callable[[int, int], None]


@dataclass(frozen=True)
class TrainingSetup:
    """A training spec's objects: ``forward_model``, ``space`` (ModelSpace), ``noise``
    (NoiseModel), ``network`` (BPNetwork keywords), ``n_members``, ``seed``, ``sampler``,
    ``n_samples`` (training rows) and ``n_test`` (held-out rows)."""

    spec: Mapping[str, Any]
    forward_model: Any
    space: Any
    noise: Any
    network: dict[str, Any]
    n_members: int
    seed: int
    sampler: str
    n_samples: int
    n_test: int

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> TrainingSetup:
        """Build the objects of ``spec`` (a checked training spec, defaults filled)."""
        spec = dict(spec)
        fm = problem.build_forward_model(spec)
        network, n_members = problem.network_keywords(spec)
        return cls(
            spec=spec,
            forward_model=fm,
            space=problem.build_space(spec, fm),
            noise=problem.build_noise(spec),
            network=network,
            n_members=n_members,
            seed=int(spec.get("seed", 1)),
            sampler=str(spec.get("sampler", "sobol")),
            n_samples=int(spec["n_samples"]),
            n_test=problem.n_test_rows(spec),
        )


@dataclass
class TrainingOutcome:
    """What :func:`train_inverter` produced.

    ``metrics``: ``Inverter.evaluate``'s held-out metrics in plain JSON, plus ``held_out_loss``
    (the figure ``production`` promotion compares); ``record``: the registry's fields that do not
    depend on the job (``forward_model``, ``domain``, ``noise``, ``network_config``, ``metrics``,
    ``seed``, ``n_samples``). When ``cancelled`` (``should_stop`` said so) ``metrics`` and
    ``record`` are empty and the inverter is not to be saved.
    """

    inverter: Any
    metrics: dict[str, Any]
    record: dict[str, Any]
    cancelled: bool = False


def as_setup(spec: Mapping[str, Any] | TrainingSetup) -> TrainingSetup:
    """``spec`` itself when it is a :class:`TrainingSetup`, else ``TrainingSetup.from_spec``."""
    return spec if isinstance(spec, TrainingSetup) else TrainingSetup.from_spec(spec)


def n_chunks_for(n_rows: int, chunk_rows: int = CHUNK_ROWS) -> int:
    """Chunks of at most ``chunk_rows`` rows for ``n_rows`` rows (at least one)."""
    return max(1, -(-int(n_rows) // int(chunk_rows)))


def _rows(
    setup: TrainingSetup, n_rows: int, seed: int, index: int, n_chunks: int
) -> tuple[np.ndarray, np.ndarray]:
    chunk = forward_models.generate_dataset(
        setup.forward_model,
        setup.space,
        n_rows,
        sampler=setup.sampler,
        seed=seed,
        noise=setup.noise,
        chunk_index=index,
        n_chunks=n_chunks,
    )
    return np.asarray(chunk.models), np.asarray(chunk.data)


def _all_rows(
    setup: TrainingSetup, n_rows: int, seed: int, on_rows: RowsDone | None
) -> tuple[np.ndarray, np.ndarray]:
    n_chunks = n_chunks_for(n_rows)
    models, data, done = [], [], 0
    for index in range(n_chunks):
        chunk_models, chunk_data = _rows(setup, n_rows, seed, index, n_chunks)
        models.append(chunk_models)
        data.append(chunk_data)
        done += chunk_models.shape[0]
        if on_rows is not None:
            on_rows(done, n_rows)
    return np.concatenate(models), np.concatenate(data)


def generate_chunk(
    spec: Mapping[str, Any] | TrainingSetup, index: int, n_chunks: int
) -> tuple[np.ndarray, np.ndarray]:
    """Chunk ``index`` of ``n_chunks`` of the training set: ``(models (n, n_params), noisy data
    (n, n_data))``. Models and noise depend on the seed and the row range only, so the chunks of
    any ``n_chunks`` concatenate to the same set (data equal up to rounding in the last bits)."""
    setup = as_setup(spec)
    return _rows(setup, setup.n_samples, setup.seed, index, n_chunks)


def generate_training_data(
    spec: Mapping[str, Any] | TrainingSetup, *, on_rows: RowsDone | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The whole training set (in chunks of ``CHUNK_ROWS``); ``on_rows(done, total)`` after each
    chunk."""
    setup = as_setup(spec)
    return _all_rows(setup, setup.n_samples, setup.seed, on_rows)


def generate_held_out(
    spec: Mapping[str, Any] | TrainingSetup, *, on_rows: RowsDone | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The held-out set (seed + ``TEST_SEED_OFFSET``, ``n_test`` rows), in one chunk so that its
    data are bit for bit those the worker has always evaluated on (the forward solvers' sums
    depend on the batch size in the last bits); ``on_rows(done, total)`` once it is done."""
    setup = as_setup(spec)
    models, data = _rows(setup, setup.n_test, setup.seed + problem.TEST_SEED_OFFSET, 0, 1)
    if on_rows is not None:
        on_rows(int(models.shape[0]), setup.n_test)
    return models, data


def fit_inverter(
    spec: Mapping[str, Any] | TrainingSetup,
    models: np.ndarray,
    data: np.ndarray,
    *,
    callback: Progress | None = None,
    should_stop: StopCheck | None = None,
) -> tuple[Inverter, bool]:
    """A new ``Inverter`` fitted to ``(models, data)``; returns it and whether ``should_stop``
    stopped the training (``callback`` gets ``Inverter.fit``'s per-epoch dicts)."""
    setup = as_setup(spec)
    inverter = Inverter(
        forward_model=setup.forward_model,
        space=setup.space,
        noise=setup.noise,
        network=setup.network,
        n_members=setup.n_members,
        seed=setup.seed,
    )
    stopped = False

    def stop() -> bool:
        nonlocal stopped
        stopped = stopped or bool(should_stop())
        return stopped

    inverter.fit(models, data, callback=callback, should_stop=stop if should_stop else None)
    return inverter, stopped


def headline_metrics(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """``metrics`` plus ``held_out_loss``: the held-out mean squared error in standardised target
    space that ``production`` promotion compares (``Inverter.evaluate``'s ``val_loss``)."""
    out = dict(metrics)
    if isinstance(out.get("val_loss"), int | float):
        out["held_out_loss"] = float(out["val_loss"])
    return out


def train_inverter(
    spec: Mapping[str, Any] | TrainingSetup,
    models: np.ndarray,
    data: np.ndarray,
    *,
    callback: Progress | None = None,
    should_stop: StopCheck | None = None,
    on_stage: Callable[[str], None] | None = None,
    on_rows: RowsDone | None = None,
) -> TrainingOutcome:
    """Fit an ``Inverter`` to the training set ``(models, data)``, evaluate it on the held-out
    set and build its registry record.

    ``callback``: per-epoch progress dicts of ``Inverter.fit``; ``should_stop()``: asked during
    the training and once after it, True cancels (the outcome is then ``cancelled``, nothing is
    evaluated); ``on_stage(stage)``: called as ``"train"`` and ``"evaluate"`` begin;
    ``on_rows(done, total)``: held-out rows generated so far.
    """
    setup = as_setup(spec)
    if on_stage is not None:
        on_stage("train")
    inverter, stopped = fit_inverter(
        setup, models, data, callback=callback, should_stop=should_stop
    )
    if stopped or (should_stop is not None and should_stop()):
        return TrainingOutcome(inverter, {}, {}, cancelled=True)
    if on_stage is not None:
        on_stage("evaluate")
    test_models, test_data = generate_held_out(setup, on_rows=on_rows)
    n_test = int(test_models.shape[0])
    evaluated = inverter.evaluate(test_models, test_data, n_refine=min(MAX_REFINED, n_test))
    metrics = headline_metrics(jsonable(evaluated))
    record = {
        "forward_model": setup.forward_model.to_dict(),
        "domain": inverter.domain_bounds(),
        "noise": jsonable(setup.noise.to_dict()),
        "network_config": dict(setup.spec.get("network") or {}),
        "metrics": metrics,
        "seed": setup.seed,
        "n_samples": int(np.asarray(models).shape[0]),
    }
    return TrainingOutcome(inverter, metrics, record)
