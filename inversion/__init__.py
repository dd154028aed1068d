"""inversion: observed soundings in, trustworthy layered earth models out.

Where the physics (``forward_models``) and the learning (``bpnet``) meet: field files are read
into observations (``read_soundings``), checked, and inverted by an ``Inverter`` (networks →
forward check → refinement → misfit → uncertainty → domain flags → result); ``choose_layer_count``
picks among inverters of several layer counts, and ``train_inverter`` is the one training pipeline
(dataset → fit → held-out evaluation) that both the worker and ``geobp train`` call.
"""

from __future__ import annotations

from .formats import FormatError, read_observation, read_soundings
from .inverter import Inverter, observation_from_data
from .layers import choose_layer_count
from .observations import InversionInputError
from .pipeline import TrainingOutcome, train_inverter

__all__ = [
    "FormatError",
    "InversionInputError",
    "Inverter",
    "TrainingOutcome",
    "choose_layer_count",
    "observation_from_data",
    "read_observation",
    "read_soundings",
    "train_inverter",
]
