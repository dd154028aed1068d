"""generate_dataset: (model, data) pairs for training, chunkable and reproducible.

Chunk i of k holds rows ``[i*n//k, (i+1)*n//k)``. Its models come from the model space's sample
sequence (``ModelSpace.sample`` with ``start``) and its noise from per-block generators keyed by
``(seed, block)``, so each chunk depends on the seed and its row range only, and concatenating the
chunks reproduces the one-shot dataset exactly.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from .base import ForwardModel
from .noise import NoiseModel
from .space import ModelSpace

#: rows per independently seeded noise block
NOISE_BLOCK_ROWS = 4096
_NOISE_KEY = 0x6E6F697365


@dataclass(frozen=True, eq=False)
class Dataset:
    """One dataset or chunk.

    ``models (n, n_params)``; ``data (n, n_data)`` (noisy if a noise model was given, else equal
    to ``data_clean``); ``data_clean (n, n_data)``; the global row range ``[start, stop)``.
    """

    models: np.ndarray
    data: np.ndarray
    data_clean: np.ndarray
    start: int = 0
    stop: int = 0

    def __len__(self) -> int:
        return int(self.models.shape[0])


def chunk_bounds(n_samples: int, chunk_index: int, n_chunks: int) -> tuple[int, int]:
    """Row range ``[start, stop)`` of chunk ``chunk_index`` of ``n_chunks`` (``n_samples`` rows)."""
    for name, value in (("n_samples", n_samples), ("n_chunks", n_chunks)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    if (
        isinstance(chunk_index, bool)
        or not isinstance(chunk_index, numbers.Integral)
        or not 0 <= chunk_index < n_chunks
    ):
        raise ValueError(
            f"chunk_index: expected an integer in [0, {n_chunks}), got {chunk_index!r}"
        )
    return chunk_index * n_samples // n_chunks, (chunk_index + 1) * n_samples // n_chunks


def standard_normal_rows(seed: int, start: int, stop: int, n_cols: int) -> np.ndarray:
    """Rows ``[start, stop)`` of the seed's standard-normal noise table with ``n_cols`` columns."""
    if stop <= start:
        return np.zeros((0, n_cols))
    first, last = start // NOISE_BLOCK_ROWS, (stop - 1) // NOISE_BLOCK_ROWS
    blocks = [
        np.random.default_rng([seed, _NOISE_KEY, b]).standard_normal((NOISE_BLOCK_ROWS, n_cols))
        for b in range(first, last + 1)
    ]
    table = np.concatenate(blocks)
    offset = first * NOISE_BLOCK_ROWS
    return table[start - offset : stop - offset]


def generate_dataset(
    fm: ForwardModel,
    space: ModelSpace,
    n_samples: int,
    *,
    sampler: str = "sobol",
    seed: int = 0,
    noise: NoiseModel | None = None,
    chunk_index: int = 0,
    n_chunks: int = 1,
    backend: str | None = None,
) -> Dataset:
    """Sample models from ``space`` and compute ``fm``'s data (float64, host memory).

    ``n_samples``: rows of the whole dataset; ``chunk_index``/``n_chunks`` select rows
    ``[i*n//k, (i+1)*n//k)``. ``backend`` is passed to ``fm.forward`` (``"cupy"`` to use a GPU).
    """
    if not isinstance(fm, ForwardModel):
        raise ValueError(f"fm: expected a ForwardModel, got {type(fm).__name__}")
    if not isinstance(space, ModelSpace):
        raise ValueError(f"space: expected a ModelSpace, got {type(space).__name__}")
    if space.parameter_names != fm.parameter_names:
        raise ValueError(
            f"space: parameters {space.parameter_names} do not match the forward model's "
            f"{fm.parameter_names}"
        )
    if noise is not None and not isinstance(noise, NoiseModel):
        raise ValueError(f"noise: expected a NoiseModel or None, got {type(noise).__name__}")
    start, stop = chunk_bounds(n_samples, chunk_index, n_chunks)
    if stop == start:
        empty = np.zeros((0, fm.n_data))
        return Dataset(np.zeros((0, fm.n_params)), empty, empty.copy(), start, stop)
    models = space.sample(stop - start, sampler=sampler, seed=seed, start=start, n_total=n_samples)
    if backend in (None, "auto", "numpy"):
        clean = np.asarray(fm.forward(models, backend="numpy"))
    else:
        from ._backend import get_array_module, to_numpy

        xp = get_array_module(backend=backend)
        clean = to_numpy(fm.forward(xp.asarray(models), backend=backend))
    data = clean
    if noise is not None:
        z = standard_normal_rows(seed, start, stop, fm.n_data)
        data = noise.apply(clean, fm.data_kinds, standard_normal=z)
    return Dataset(models, data, clean, start, stop)
