"""Constants and helpers shared by the service tests (a uniquely named module, not a package)."""

from __future__ import annotations

TOKEN = "test-token-123"
AB2_M = [1.0, 1.5, 2.2, 3.2, 4.6, 6.8, 10.0, 15.0, 22.0, 32.0, 46.0, 68.0, 100.0]
FM_SPEC = {"name": "ves-schlumberger", "n_layers": 3, "ab2_m": AB2_M, "mn2_m": 0.5}


def register_tiny(app, inverter, name: str = "tiny", held_out_loss: float = 0.5, job_id=None):
    """Register ``inverter`` under ``name`` through the real registry; returns the network id."""
    from service import registry

    record = {
        "name": name,
        "forward_model": inverter.forward_model.to_dict(),
        "domain": inverter.domain_bounds(),
        "noise": {"rho_a_rel": 0.03, "phase_deg": 1.0},
        "network_config": {"hidden": 16},
        "metrics": {"held_out_loss": held_out_loss},
        "job_id": job_id,
        "seed": 0,
        "n_samples": 1500,
        "code_version": "test",
    }
    return registry.register_network(
        app.extensions["geobp_db"], app.extensions["geobp_artifacts"], record, inverter.save
    )


def sounding(model=(100.0, 10.0, 500.0, 5.0, 20.0)) -> dict:
    """A noise-free observation of ``model`` on the network's geometry."""
    import forward_models

    fm = forward_models.from_dict(FM_SPEC)
    return {"ab2_m": AB2_M, "rho_a_ohmm": fm.forward(list(model))[0].tolist()}


def job_spec(**overrides) -> dict:
    """A small, valid training-job body."""
    body = {
        "name": "small",
        "forward_model": dict(FM_SPEC),
        "n_samples": 1000,
        "network": {"hidden": 8, "max_epochs": 5, "n_members": 2},
    }
    body.update(overrides)
    return body
