"""Small trained networks saved to files, and a runner for the ``geobp`` console script."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import AB2_M, PERIODS_S, Run, ves_data

import forward_models
import inversion

GEOBP = Path(sys.executable).with_name("geobp")


@pytest.fixture(scope="session")
def geobp(tmp_path_factory):
    """Run ``.venv/bin/geobp ARGS…`` in a subprocess with a private GEOBP_VAR_DIR."""
    assert GEOBP.exists(), f"console script missing: {GEOBP} (pip install -e .)"
    var_dir = tmp_path_factory.mktemp("var")

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> Run:
        inherited = {
            k: v
            for k, v in os.environ.items()
            if k not in ("GEOBP_DATABASE_URL", "GEOBP_ARTIFACT_DIR", "GEOBP_API_TOKEN")
        }
        full_env = {**inherited, "GEOBP_VAR_DIR": str(var_dir), **(env or {})}
        done = subprocess.run(
            [str(GEOBP), *args], capture_output=True, text=True, env=full_env, timeout=timeout
        )
        return Run(done.returncode, done.stdout, done.stderr)

    return run


@pytest.fixture
def geobp_main(capsys):
    """Run ``service.cli.main(ARGS)`` in this process (same code as the console script)."""
    from service.cli import main

    def run(*args: str) -> Run:
        code = main(list(args))
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


def _train(fm, bounds_rho, bounds_h, path: Path, seed: int = 0) -> Path:
    space = forward_models.ModelSpace.for_forward_model(
        fm, rho_ohmm=bounds_rho, thickness_m=bounds_h
    )
    noise = forward_models.NoiseModel(rho_a_rel=0.03, phase_deg=1.0)
    ds = forward_models.generate_dataset(fm, space, 3000, seed=seed, noise=noise)
    inverter = inversion.Inverter(
        forward_model=fm,
        space=space,
        noise=noise,
        network={"hidden": 24, "max_epochs": 40, "device": "cpu"},
        n_members=2,
        seed=seed,
    )
    inverter.fit(np.asarray(ds.models), np.asarray(ds.data))
    inverter.save(str(path))
    return path


@pytest.fixture(scope="session")
def networks(tmp_path_factory) -> dict[str, Path]:
    """Saved inverters: 2- and 3-layer Schlumberger (ideal MN, AB/2 1–100 m), 2-layer MT."""
    folder = tmp_path_factory.mktemp("networks")
    ves = {
        n: _train(
            forward_models.create("ves-schlumberger", n_layers=n, ab2_m=AB2_M.tolist(), mn2_m=None),
            (1.0, 1000.0),
            (1.0, 50.0),
            folder / f"ves{n}.npz",
        )
        for n in (2, 3)
    }
    mt = _train(
        forward_models.create("mt-1d", n_layers=2, periods_s=PERIODS_S.tolist()),
        (1.0, 1000.0),
        (10.0, 5000.0),
        folder / "mt2.npz",
    )
    return {"ves2": ves[2], "ves3": ves[3], "mt2": mt, "folder": folder}


@pytest.fixture
def ves_csv(tmp_path) -> Path:
    """A 3-layer sounding (100, 10, 500 Ω·m; 4 m, 15 m) with 2 % noise as CSV."""
    rng = np.random.default_rng(5)
    rho = ves_data([100.0, 10.0, 500.0, 4.0, 15.0], 3) * np.exp(0.02 * rng.standard_normal(10))
    lines = ["AB/2 (m),rho_a (ohm.m),error (%)"]
    lines += [f"{float(a)!r},{float(r)!r},3" for a, r in zip(AB2_M, rho, strict=True)]
    path = tmp_path / "ves12.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def registry(tmp_path, networks, monkeypatch):
    """A migrated SQLite registry in a private var dir holding the ves3 network as 'ves-3l'."""
    from service.artifacts import ArtifactStore
    from service.db import Database
    from service.migrate import upgrade_head
    from service.registry import register_network

    var = tmp_path / "var"
    var.mkdir()
    monkeypatch.setenv("GEOBP_VAR_DIR", str(var))
    monkeypatch.delenv("GEOBP_DATABASE_URL", raising=False)
    monkeypatch.delenv("GEOBP_ARTIFACT_DIR", raising=False)
    db = Database(f"sqlite:///{var / 'geobp.sqlite'}")
    upgrade_head(db.engine)
    record = {
        "name": "ves-3l",
        "forward_model": {"name": "ves-schlumberger", "n_layers": 3},
        "domain": {},
        "noise": {"rho_a_rel": 0.03},
        "network_config": {"hidden": 24},
        "metrics": {"held_out_loss": 0.25},
        "job_id": None,
        "seed": 0,
        "n_samples": 3000,
        "code_version": "test",
    }
    network_id = register_network(
        db, ArtifactStore(var / "artifacts"), record, lambda p: shutil.copy(networks["ves3"], p)
    )
    db.dispose()
    return {"var": var, "id": network_id}
