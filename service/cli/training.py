"""In-process dataset generation and training with progress bars (``geobp train`` and ``demo``),
through the one training pipeline (``inversion.pipeline``) that the worker calls too."""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError
from tqdm import tqdm

from inversion import pipeline
from inversion.jsonable import jsonable
from inversion.pipeline import TrainingSetup
from service import schemas
from service.cli.console import say
from service.cli.errors import CliError
from service.training_spec import SpecError, check_training_spec

log = logging.getLogger(__name__)


def _bar(total: int, desc: str, unit: str, quiet: bool) -> Any:
    return tqdm(
        total=total, desc=desc, unit=unit, disable=quiet, file=sys.stderr, dynamic_ncols=True
    )


def load_spec(path: str | Path) -> dict[str, Any]:
    """Read and check a training spec (the REST training-job body); defaults filled in."""
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
    except SpecError as exc:
        raise CliError(f"{path.name}: {exc}") from None


def generate(setup: TrainingSetup, *, quiet: bool) -> tuple[np.ndarray, np.ndarray]:
    """The training set of ``setup``: models (n, n_params) and noisy data (n, n_data), generated
    in chunks under a progress bar (the same rows as the worker's chunks)."""
    with _bar(setup.n_samples, "dataset", "models", quiet) as bar:
        return pipeline.generate_training_data(
            setup, on_rows=lambda done, _total: bar.update(done - bar.n)
        )


class _Bars:
    """The progress bars of one training run: members × epochs while training, then the rows of
    the held-out set (the pipeline's ``callback``, ``on_stage`` and ``on_rows``)."""

    def __init__(self, setup: TrainingSetup, quiet: bool) -> None:
        self.max_epochs = int(setup.network.get("max_epochs", 200))
        self.n_members = setup.n_members
        self.quiet = quiet
        self.bar: Any = None
        self.training = False

    def stage(self, stage: str) -> None:
        self.close()
        if stage == "train":
            total = self.max_epochs * self.n_members
            self.bar = _bar(total, "training", "epochs", self.quiet)
            self.training = True

    def epoch(self, info: dict[str, Any]) -> None:
        member = int(info.get("member", 0))
        position = member * self.max_epochs + int(info["epoch"])
        self.bar.update(max(0, position - self.bar.n))
        self.bar.set_postfix(
            member=f"{member + 1}/{self.n_members}",
            val_loss=f"{float(info.get('val_loss') or float('nan')):.4f}",
            refresh=False,
        )

    def rows(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = _bar(total, "held-out set", "models", self.quiet)
        self.bar.update(done - self.bar.n)
        if done >= total:
            self.close()

    def close(self) -> None:
        """Close the open bar (a finished training bar first jumps to 100 %)."""
        if self.bar is None:
            return
        if self.training:
            self.bar.update(self.bar.total - self.bar.n)
        self.bar.close()
        self.bar, self.training = None, False


def fit(setup: TrainingSetup, models: np.ndarray, data: np.ndarray, quiet: bool) -> Any:
    """Train an ``inversion.Inverter`` with a progress bar over members × epochs; returns it."""
    bars = _Bars(setup, quiet)
    bars.stage("train")
    try:
        inverter, _ = pipeline.fit_inverter(setup, models, data, callback=bars.epoch)
    finally:
        bars.close()
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
    spec = load_spec(args.spec)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    setup = TrainingSetup.from_spec(spec)
    fm = setup.forward_model
    say(
        f"training {spec['name']!r}: {fm.name}, {fm.n_layers} layers, {fm.n_data} data, "
        f"{spec['n_samples']} samples, {setup.n_members} member(s)"
    )
    started = time.perf_counter()
    models, data = generate(setup, quiet=args.quiet)
    bars = _Bars(setup, args.quiet)
    try:
        outcome = pipeline.train_inverter(
            setup, models, data, callback=bars.epoch, on_stage=bars.stage, on_rows=bars.rows
        )
    finally:
        bars.close()
    for line in summary(outcome.metrics):
        say(line)
    network_path = out / f"{spec['name']}.npz"
    outcome.inverter.save(str(network_path), metadata={"name": spec["name"], "spec": spec})
    record = {"spec": spec, "metrics": outcome.metrics, "domain": outcome.record["domain"]}
    (out / f"{spec['name']}.json").write_text(json.dumps(jsonable(record), indent=2) + "\n")
    say(f"saved {network_path} ({time.perf_counter() - started:.1f} s)")
    return 0
