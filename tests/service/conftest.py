"""Fixtures: the app on a fresh temporary SQLite database and var folder, with a known token,
and a real (tiny) trained network registered through the registry."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from svc_helpers import FM_SPEC, TOKEN

from service.app import create_app
from service.config import load_settings


@pytest.fixture()
def settings(tmp_path: Path):
    """Settings on a temporary var folder (SQLite + embedded broker)."""
    return load_settings(env={}, var_dir=tmp_path / "var", api_token=TOKEN)


@pytest.fixture()
def app(settings):
    """The Flask app on a fresh database."""
    app = create_app({"GEOBP": settings, "TESTING": True})
    yield app
    app.extensions["geobp_db"].dispose()


@pytest.fixture()
def client(app):
    """Flask test client."""
    return app.test_client()


@pytest.fixture()
def auth() -> dict[str, str]:
    """The write-endpoint header."""
    return {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="session")
def tiny_inverter():
    """A real inversion.Inverter trained in-process on 1,500 synthetic Schlumberger soundings."""
    import forward_models
    import inversion

    fm = forward_models.from_dict(FM_SPEC)
    space = forward_models.ModelSpace.for_forward_model(fm)
    noise = forward_models.NoiseModel(rho_a_rel=0.03)
    ds = forward_models.generate_dataset(fm, space, 1500, seed=3, noise=noise)
    inv = inversion.Inverter(
        forward_model=fm,
        space=space,
        noise=noise,
        network={"hidden": 16, "max_epochs": 20},
        n_members=2,
        seed=0,
    )
    return inv.fit(np.asarray(ds.models), np.asarray(ds.data))
