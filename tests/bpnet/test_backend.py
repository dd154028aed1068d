"""Device selection and the lazily imported Inverter."""

import numpy as np
import pytest

import bpnet
from bpnet.backend import DeviceUnavailableError, get_array_module, to_numpy


def test_cpu_is_numpy():
    assert get_array_module("cpu") == (np, "cpu")


def test_auto_uses_the_gpu_only_when_one_is_seen():
    xp, name = get_array_module("auto")
    if bpnet.gpu_available():
        assert name == "gpu" and xp.__name__ == "cupy"
    else:
        assert (xp, name) == (np, "cpu")


def test_gpu_without_a_gpu_is_a_clear_error():
    if bpnet.gpu_available():
        assert get_array_module("gpu")[1] == "gpu"
    else:
        with pytest.raises(DeviceUnavailableError, match='device: "gpu" was requested but'):
            get_array_module("gpu")
        with pytest.raises(ValueError, match="device"):
            bpnet.BPNetwork(device="gpu").fit(np.zeros((4, 1)), np.zeros(4))


def test_unknown_device():
    with pytest.raises(ValueError, match="device: must be one of"):
        get_array_module("tpu")


def test_to_numpy_passes_numpy_through():
    a = np.arange(3.0)
    assert to_numpy(a) is a
    assert isinstance(to_numpy([1, 2]), np.ndarray)


def test_unknown_attribute_and_lazy_names():
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        bpnet.Nope  # noqa: B018
    assert set(bpnet.__all__) >= {"BPNetwork", "BPEnsemble", "load", "Inverter"}


def test_inverter_is_imported_lazily_from_its_module():
    import bpnet.inverter

    assert bpnet.Inverter is bpnet.inverter.Inverter
    assert issubclass(bpnet.InversionInputError, ValueError)
