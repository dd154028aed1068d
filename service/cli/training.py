"""In-process dataset generation and training with progress bars (``geobp train`` and ``demo``)."""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from inversion.formats.results import jsonable
from service.cli.console import say
from service.cli.errors import CliError

log = logging.getLogger(__name__)

CHUNK_ROWS = 5000


def _bar(total: int, desc: str, unit: str, quiet: bool) -> Any:
    from tqdm import tqdm

    return tqdm(
        total=total, desc=desc, unit=unit, disable=quiet, file=sys.stderr, dynamic_ncols=True
    )


def load_spec(path: str | Path) -> dict[str, Any]:
    """Read and check a training spec (the REST training-job body); defaults filled in."""
    from pydantic import ValidationError

    from service import schemas
    from service.errors import ApiError
    from service.training_spec import check_training_spec

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CliError(f"spec file {path} does not exist") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(
            f"{path.name}, line {exc.lineno}, column {exc.colno}: invalid JSON: {exc.msg}"
        ) from None
    try:
        body = schemas.TrainingJobCreate.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'spec'}: {e['msg']}" for e in exc.errors()
        )
        raise CliError(f"{path.name}: {problems}") from None
    try:
        return check_training_spec(body)
    except ApiError as exc:
        raise CliError(f"{path.name}: {exc}") from None


def generate(
    forward_model: Any,
    space: Any,
    n_samples: int,
    *,
    sampler: str,
    seed: int,
    noise: Any,
    quiet: bool,
    desc: str = "dataset",
) -> tuple[np.ndarray, np.ndarray]:
    """Models (n, n_params) and noisy data (n, n_data), generated in chunks under a progress bar;
    identical to one ``generate_dataset`` call (chunks depend on the seed and row range only)."""
    import forward_models

    n_chunks = max(1, -(-n_samples // CHUNK_ROWS))
    models, data = [], []
    with _bar(n_samples, desc, "models", quiet) as bar:
        for index in range(n_chunks):
            chunk = forward_models.generate_dataset(
                forward_model,
                space,
                n_samples,
                sampler=sampler,
                seed=seed,
                noise=noise,
                chunk_index=index,
                n_chunks=n_chunks,
            )
            models.append(np.asarray(chunk.models))
            data.append(np.asarray(chunk.data))
            bar.update(models[-1].shape[0])
    return np.concatenate(models), np.concatenate(data)


def fit(
    forward_model: Any,
    space: Any,
    noise: Any,
    network: dict[str, Any],
    n_members: int,
    seed: int,
    models: np.ndarray,
    data: np.ndarray,
    quiet: bool,
) -> Any:
    """Train a ``inversion.Inverter`` with a progress bar over members × epochs; returns it."""
    import inversion

    inverter = inversion.Inverter(
        forward_model=forward_model,
        space=space,
        noise=noise,
        network=network,
        n_members=n_members,
        seed=seed,
    )
    max_epochs = int(network.get("max_epochs", 200))
    with _bar(max_epochs * n_members, "training", "epochs", quiet) as bar:

        def progress(info: dict[str, Any]) -> None:
            member = int(info.get("member", 0))
            position = member * max_epochs + int(info["epoch"])
            bar.update(max(0, position - bar.n))
            bar.set_postfix(
                member=f"{member + 1}/{n_members}",
                val_loss=f"{float(info.get('val_loss') or float('nan')):.4f}",
                refresh=False,
            )

        inverter.fit(models, data, callback=progress)
        bar.update(bar.total - bar.n)
    return inverter


def summary(metrics: dict[str, Any]) -> list[str]:
    """Readable lines of ``Inverter.evaluate`` metrics."""
    lines = [f"held-out loss (standardised log10 space): {metrics['val_loss']:.4g}"]
    errors = metrics.get("median_abs_log10_error", {})
    coverage = metrics.get("coverage_p10_p90", {})
    if errors:
        lines.append(
            "median |log10 error| of the network: "
            + ", ".join(f"{k} {v:.3f}" for k, v in errors.items())
        )
    if coverage:
        lines.append(
            "p10-p90 coverage (ideal 0.80): "
            + ", ".join(f"{k} {v:.2f}" for k, v in coverage.items())
        )
    refined = metrics.get("refined")
    if refined:
        lines.append(
            f"refined on {refined['n']} soundings: success (chi <= 1.2) "
            f"{100 * refined['success_rate']:.0f} %, median chi {refined['median_chi']:.2f}, "
            f"median {refined['median_ms']:.1f} ms per sounding"
        )
    return lines


def run(args: Any) -> int:
    """Run ``geobp train SPEC.json [--out DIR]``; returns the exit status."""
    from inversion import problem

    spec = load_spec(args.spec)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    fm = problem.build_forward_model(spec)
    space = problem.build_space(spec, fm)
    noise = problem.build_noise(spec)
    network, n_members = problem.network_keywords(spec)
    seed = int(spec.get("seed", 1))
    say(
        f"training {spec['name']!r}: {fm.name}, {fm.n_layers} layers, {fm.n_data} data, "
        f"{spec['n_samples']} samples, {n_members} member(s)"
    )
    started = time.perf_counter()
    models, data = generate(
        fm,
        space,
        int(spec["n_samples"]),
        sampler=spec.get("sampler", "sobol"),
        seed=seed,
        noise=noise,
        quiet=args.quiet,
    )
    inverter = fit(fm, space, noise, network, n_members, seed, models, data, args.quiet)
    n_test = problem.n_test_rows(spec)
    test_models, test_data = generate(
        fm,
        space,
        n_test,
        sampler=spec.get("sampler", "sobol"),
        seed=seed + problem.TEST_SEED_OFFSET,
        noise=noise,
        quiet=args.quiet,
        desc="held-out set",
    )
    metrics = jsonable(inverter.evaluate(test_models, test_data, n_refine=min(50, n_test)))
    for line in summary(metrics):
        say(line)
    network_path = out / f"{spec['name']}.npz"
    inverter.save(str(network_path), metadata={"name": spec["name"], "spec": spec})
    record = {"spec": spec, "metrics": metrics, "domain": inverter.domain_bounds()}
    (out / f"{spec['name']}.json").write_text(json.dumps(jsonable(record), indent=2) + "\n")
    say(f"saved {network_path} ({time.perf_counter() - started:.1f} s)")
    return 0
