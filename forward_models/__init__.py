"""geobp forward models: batched 1D layered-earth solvers, model spaces and noise.

>>> import forward_models
>>> fm = forward_models.create("ves-schlumberger", n_layers=3, ab2_m=[1, 2, 5, 10], mn2_m=None)
>>> fm.forward([100.0, 10.0, 1000.0, 5.0, 20.0]).shape
(1, 4)
"""

from ._backend import get_array_module, to_numpy
from .base import ForwardModel
from .dataset import Dataset, chunk_bounds, generate_dataset
from .noise import NoiseModel, check_data_kinds
from .registry import create, from_dict, names
from .space import ModelSpace

__all__ = [
    "Dataset",
    "ForwardModel",
    "ModelSpace",
    "NoiseModel",
    "check_data_kinds",
    "chunk_bounds",
    "create",
    "from_dict",
    "generate_dataset",
    "get_array_module",
    "names",
    "to_numpy",
]
