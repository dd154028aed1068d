"""Files written before the ``inversion`` package existed keep loading and inverting.

``tests/data/old_inverter_v010.npz`` was written by geobp 0.1.0 at commit 31530f8, when the
Inverter lived in ``bpnet.inverter`` (a 2-member, hidden-8 Schlumberger inverter trained for
5 epochs); ``old_inverter_v010.json`` holds one observation and the result that code gave.
Saved files carry no module paths, so the move must not change what they load as.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import inversion
from bpnet import IntegrityError

DATA = Path(__file__).resolve().parents[1] / "data"
OLD_FILE = DATA / "old_inverter_v010.npz"


@pytest.fixture(scope="module")
def expected() -> dict:
    return json.loads((DATA / "old_inverter_v010.json").read_text())


def test_old_inverter_loads_with_its_record() -> None:
    inv = inversion.Inverter.load(str(OLD_FILE))
    assert inv.metadata_["made_by"].startswith("geobp 0.1.0")
    assert inv.parameter_names == ["rho1", "rho2", "rho3", "h1", "h2"]
    assert inv.forward_model.name == "ves-schlumberger"
    assert inv.domain_bounds()["rho1"] == [1.0, 5000.0]


def test_old_inverter_gives_the_result_it_gave_before_the_move(expected) -> None:
    inv = inversion.Inverter.load(str(OLD_FILE))
    result = inv.invert([expected["observation"]])[0]
    for key in ("rho_ohmm", "thickness_m", "depth_m"):
        # The network's answer comes from the stored weights and transforms alone: unchanged.
        np.testing.assert_allclose(result["network_model"][key], expected["network_model"][key])
        # The refinement has since gained exact VES derivatives (forward_and_jacobian) in place
        # of finite differences: the same minimum, reached by a slightly different path.
        np.testing.assert_allclose(result["model"][key], expected["model"][key], rtol=1e-2)
    assert result["misfit"]["chi"] <= expected["chi"] + 0.01


def test_a_tampered_old_file_is_refused(tmp_path) -> None:
    path = tmp_path / "old.npz"
    shutil.copy(OLD_FILE, path)
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(IntegrityError):
        inversion.Inverter.load(str(path))
