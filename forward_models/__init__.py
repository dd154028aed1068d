"""geobp forward models: batched 1D layered-earth solvers, model spaces, noise and transforms.

>>> import forward_models
>>> fm = forward_models.create("ves-schlumberger", n_layers=3, ab2_m=[1, 2, 5, 10], mn2_m=None)
>>> fm.forward([100.0, 10.0, 1000.0, 5.0, 20.0]).shape
(1, 4)
"""

from .base import ForwardModel
from .dataset import Dataset, chunk_bounds, generate_dataset
from .noise import NoiseModel
from .registry import create, from_dict, names
from .space import ModelSpace
from .transforms import DataTransform, ParameterTransform

__all__ = [
    "DataTransform",
    "Dataset",
    "ForwardModel",
    "ModelSpace",
    "NoiseModel",
    "ParameterTransform",
    "chunk_bounds",
    "create",
    "from_dict",
    "generate_dataset",
    "names",
]
