"""Device selection, and what ``import bpnet`` brings in."""

import subprocess
import sys

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


def test_bpnet_exports_arrays_only():
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        bpnet.Nope  # noqa: B018
    assert set(bpnet.__all__) >= {"BPNetwork", "BPEnsemble", "load"}
    assert not hasattr(bpnet, "Inverter")  # the inversion workflow lives in ``inversion``


def test_import_bpnet_pulls_in_neither_scipy_nor_the_physics():
    code = (
        "import sys, bpnet; "
        "print(sorted(m for m in ('scipy', 'forward_models', 'inversion') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
