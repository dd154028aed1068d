"""``geobp invert``: read field data, pick the network(s), invert, write the results."""

from __future__ import annotations

import argparse
import logging
import math
import re
import sys
from pathlib import Path
from typing import Any

from inversion import formats
from inversion.layers import rank_by_bic
from service.cli.errors import CliError
from service.cli.networks import Candidate, load_candidates

log = logging.getLogger(__name__)

_FIX = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(\S+)\s*$")


def parse_fixes(items: list[str]) -> dict[str, float]:
    """``["h1=3.5", "rho2=10,h2=20"]`` → ``{"h1": 3.5, "rho2": 10.0, "h2": 20.0}`` (Ω·m, m)."""
    fixes: dict[str, float] = {}
    for item in items:
        for part in item.split(","):
            match = _FIX.match(part)
            if match is None:
                raise CliError(f"--fix {part!r}: expected NAME=VALUE, e.g. h1=3.5", status=2)
            name, text = match.groups()
            try:
                value = float(text)
            except ValueError:
                raise CliError(f"--fix {name}: {text!r} is not a number", status=2) from None
            if not math.isfinite(value) or value <= 0:
                raise CliError(f"--fix {name}: {text} must be a positive number", status=2)
            if name in fixes:
                raise CliError(f"--fix {name} is given twice", status=2)
            fixes[name] = value
    return fixes


def _axis(inverter: Any) -> str:
    return str(inverter.forward_model.axis_name)


def _usable_candidates(
    candidates: list[Candidate], layers: str | int | None, observation: dict[str, Any]
) -> list[Candidate]:
    usable = [c for c in candidates if _axis(c.inverter) in observation]
    if not usable:
        kinds = sorted({_axis(c.inverter) for c in candidates})
        have = [k for k in ("ab2_m", "a_m", "periods_s") if k in observation]
        raise CliError(
            f"the data have {have[0] if have else 'no known axis'} but the network expects "
            f"{' or '.join(kinds)}: a different kind of sounding"
        )
    if isinstance(layers, int):
        chosen = [c for c in usable if c.inverter.n_layers == layers]
        if not chosen:
            offered = sorted({c.inverter.n_layers for c in usable})
            raise CliError(f"--layers {layers}: no network with {layers} layers (have {offered})")
        return chosen[:1]
    return usable


def _with_sounding_id(exc: ValueError, ids: list[str]) -> str:
    """The inversion's message with the 0-based sounding index replaced by the file's id."""
    message = str(exc)
    index = getattr(exc, "index", None)
    if index is not None and 0 <= index < len(ids):
        return f"sounding {ids[index]}: {exc.detail}"
    if len(ids) == 1:
        return f"sounding {ids[0]}: {message}"
    return message


def invert_soundings(
    candidates: list[Candidate],
    soundings: dict[str, dict[str, Any]],
    *,
    layers: str | int | None,
    refine: bool,
    fixed: dict[str, float],
) -> list[tuple[str, dict[str, Any]]]:
    """Invert each sounding with the chosen network(s); with several candidates keep, per
    sounding, the result with the lowest BIC (n·χ² + k·ln n, k free parameters;
    ``inversion.layers.rank_by_bic``)."""
    first = next(iter(soundings.values()))
    chosen = _usable_candidates(candidates, layers, first)
    per_candidate: list[tuple[Candidate, list[dict[str, Any]]]] = []
    observations = list(soundings.values())
    for candidate in chosen:
        names = set(candidate.inverter.parameter_names)
        unknown = sorted(set(fixed) - names)
        if unknown and len(chosen) > 1:
            log.warning("%s has no parameter %s; skipped", candidate.label, ", ".join(unknown))
            continue
        try:
            results = candidate.inverter.invert(observations, refine=refine, fixed=fixed or None)
        except ValueError as exc:
            raise CliError(_with_sounding_id(exc, list(soundings))) from None
        per_candidate.append((candidate, results))
    if not per_candidate:
        raise CliError(f"--fix {', '.join(fixed)}: no candidate network has these parameters")
    n_free = [len(c.inverter.parameter_names) - len(fixed) for c, _ in per_candidate]
    out: list[tuple[str, dict[str, Any]]] = []
    for i, sounding_id in enumerate(soundings):
        results = [dict(found[i]) for _, found in per_candidate]
        ranked = rank_by_bic(results, n_free)
        best = ranked[0]["index"]
        result = results[best]
        result["network"] = dict(per_candidate[best][0].info)
        if len(results) > 1:
            by_index = {entry["index"]: entry for entry in ranked}
            result["model_selection"] = [
                {
                    "network": candidate.label,
                    "n_layers": candidate.inverter.n_layers,
                    "chi": by_index[j]["chi"],
                    "bic": float(by_index[j]["bic"]),
                    "selected": j == best,
                }
                for j, (candidate, _) in enumerate(per_candidate)
            ]
        out.append((sounding_id, result))
    return out


def _write_text(text: str, output: str | None) -> None:
    if output is None:
        sys.stdout.write(text)
    else:
        Path(output).write_text(text, encoding="utf-8")


def render(results: list[tuple[str, dict[str, Any]]], fmt: str) -> str:
    """Results as ``table``, ``json`` or ``csv`` text (profile CSV for several soundings)."""
    if fmt == "json":
        docs = [{"sounding": sid, **result} for sid, result in results]
        return formats.format_result_json(docs[0] if len(docs) == 1 else docs)
    if fmt == "csv":
        if len(results) == 1:
            return formats.format_layer_csv(results[0][1])
        return formats.format_profile_csv(results)
    blocks = []
    for sid, result in results:
        network = result.get("network", {})
        title = f"sounding {sid}: network {network.get('name')}"
        if "version" in network:
            title += f" v{network['version']}"
        n_layers = len(result["model"]["rho_ohmm"])
        text = f"{title}, {n_layers} layers\n" + formats.format_layer_table(result)
        for entry in result.get("model_selection", []):
            mark = "  <- selected" if entry["selected"] else ""
            text += (
                f"candidate {entry['network']} ({entry['n_layers']} layers): "
                f"chi {entry['chi']:.3g}, BIC {entry['bic']:.4g}{mark}\n"
            )
        blocks.append(text)
    return "\n".join(blocks)


def _figure_paths(figure: str, ids: list[str]) -> list[Path]:
    path = Path(figure)
    if path.suffix.lower() not in (".png", ".svg"):
        raise CliError(f"--figure {figure}: use a .png or .svg file name", status=2)
    if len(ids) == 1:
        return [path]
    safe = [re.sub(r"[^A-Za-z0-9._-]", "_", sid) for sid in ids]
    return [path.with_name(f"{path.stem}_{s}{path.suffix}") for s in safe]


def run(args: argparse.Namespace) -> int:
    """Run ``geobp invert`` with parsed arguments; returns the exit status."""
    fixed = parse_fixes(args.fix)
    if args.figure:
        _figure_paths(args.figure, ["check"])  # a bad suffix fails before any work
    data_path = Path(args.data)
    if not data_path.is_file():
        raise CliError(f"data file {args.data} does not exist")
    soundings = formats.read_soundings(data_path, mode=args.mode)
    candidates = load_candidates(args.network)
    layers = args.layers if args.layers is not None else ("auto" if len(candidates) > 1 else None)
    results = invert_soundings(
        candidates, soundings, layers=layers, refine=not args.no_refine, fixed=fixed
    )
    _write_text(render(results, args.format), args.output)
    if args.figure:
        paths = _figure_paths(args.figure, [sid for sid, _ in results])
        for (sid, result), path in zip(results, paths, strict=True):
            formats.write_figure(soundings[sid], result, path, title=f"sounding {sid}")
            log.info("figure written to %s", path)
    return 0
