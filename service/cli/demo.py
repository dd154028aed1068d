"""``geobp demo``: generate → train → invert end to end in one process, printing each step."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from inversion import formats
from inversion.pipeline import TrainingSetup
from service.cli import training
from service.cli.console import say

TRUE_MODEL = np.array([100.0, 10.0, 1000.0, 5.0, 20.0])  # rho1..3 (Ω·m), h1, h2 (m)
AB2_M = np.round(np.logspace(0.0, np.log10(300.0), 19), 2)
NOISE_REL = 0.03


def run(args: Any) -> int:
    """Run the demo with parsed arguments (``out``, ``samples``, ``epochs``, ``members``,
    ``hidden``, ``seed``, ``quiet``); returns the exit status."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    clock = time.perf_counter()

    def step(number: int, text: str) -> None:
        say(f"[{number}/6] {text}  (t = {time.perf_counter() - clock:.1f} s)")

    step(1, f"forward model: 3-layer Schlumberger, {AB2_M.size} AB/2 from 1 to 300 m")
    network = {"hidden": args.hidden, "max_epochs": args.epochs, "patience": 15, "device": "cpu"}
    setup = TrainingSetup.from_spec(
        {
            "name": "demo",
            "forward_model": {
                "name": "ves-schlumberger",
                "n_layers": 3,
                "ab2_m": AB2_M.tolist(),
                "mn2_m": None,
            },
            "bounds": {"rho_ohmm": [1.0, 5000.0], "thickness_m": [0.5, 100.0]},
            "noise": {"rho_a_rel": NOISE_REL, "phase_deg": 1.0},
            "sampler": "sobol",
            "n_samples": args.samples,
            "seed": args.seed,
            "network": {**network, "n_members": args.members},
        }
    )
    fm = setup.forward_model

    step(2, f"generating {args.samples} synthetic soundings (Sobol, {100 * NOISE_REL:.0f} % noise)")
    models, data = training.generate(setup, quiet=args.quiet)

    step(3, f"training {args.members} network(s): {args.hidden} hidden, up to {args.epochs} epochs")
    inverter = training.fit(setup, models, data, args.quiet)
    network_path = out / "demo_network.npz"
    inverter.save(str(network_path), metadata={"name": "demo"})
    say(f"      saved the network to {network_path}")

    step(4, "a 'field' sounding of a known model, written to CSV and read back")
    rng = np.random.default_rng(args.seed + 7)
    clean = np.asarray(fm.forward(TRUE_MODEL), dtype=float).reshape(-1)
    observed = clean * np.exp(NOISE_REL * rng.standard_normal(clean.size))
    sounding = {
        "ab2_m": AB2_M.tolist(),
        "rho_a_ohmm": observed.tolist(),
        "rho_a_error_percent": [100 * NOISE_REL] * AB2_M.size,
    }
    csv_path = formats.write_sounding(sounding, out / "demo_sounding.csv")
    observation = formats.read_observation(csv_path)
    say(f"      {csv_path}: {len(observation['ab2_m'])} readings")

    step(5, "inverting (network, then refinement against the physics)")
    result = inverter.invert([observation], refine=True)[0]
    result["network"] = {"name": "demo", "path": str(network_path)}
    say(formats.format_layer_table(result).rstrip())
    true_rho = ", ".join(f"{v:g}" for v in TRUE_MODEL[:3])
    true_h = ", ".join(f"{v:g}" for v in TRUE_MODEL[3:])
    say(f"      true model: rho {true_rho} ohm.m, thickness {true_h} m")

    step(6, "writing the figure and the result")
    figure = formats.write_figure(observation, result, out / "demo_fit.png", title="geobp demo")
    formats.write_result_json(result, out / "demo_result.json")
    formats.write_layer_csv(result, out / "demo_layers.csv")
    say(f"      {figure}, {out / 'demo_result.json'}, {out / 'demo_layers.csv'}")
    say(f"done in {time.perf_counter() - clock:.1f} s")
    return 0
