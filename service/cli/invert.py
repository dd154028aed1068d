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
from inversion.layers import choose_simplest, score_candidates
from inversion.window import window_observation
from service.cli.errors import CliError
from service.cli.networks import Candidate, load_candidates, load_served

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


def _windowed(
    sid: str, obs: dict[str, Any], window: tuple[float | None, float | None]
) -> dict[str, Any]:
    """The sounding cut to ``--window`` (:func:`inversion.window.window_observation`)."""
    try:
        return window_observation(obs, *window)
    except ValueError as exc:
        raise CliError(f"sounding {sid}: {exc}") from None


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
    noise_floor: dict[str, float] | None = None,
    smooth: bool = False,
) -> list[tuple[str, dict[str, Any]]]:
    """Invert each sounding with the chosen network(s); with several candidates each result is
    refined on to its minimum χ and scored by BIC (n·χ² + k·ln n, k free parameters), and the
    simpler model is kept when it fits as well (``inversion.layers.score_candidates``,
    ``choose_simplest``); ``smooth`` adds the smooth model and the DOIs to each result."""
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
            results = candidate.inverter.invert(
                observations,
                refine=refine,
                fixed=fixed or None,
                noise_floor=noise_floor,
                smooth=smooth,
            )
        except ValueError as exc:
            raise CliError(_with_sounding_id(exc, list(soundings))) from None
        per_candidate.append((candidate, results))
    if not per_candidate:
        raise CliError(f"--fix {', '.join(fixed)}: no candidate network has these parameters")
    out: list[tuple[str, dict[str, Any]]] = []
    for i, sounding_id in enumerate(soundings):
        results = [dict(found[i]) for _, found in per_candidate]
        best = 0
        if len(results) > 1:
            fitted = [(c.inverter, r) for (c, _), r in zip(per_candidate, results, strict=True)]
            scored = score_candidates(fitted, observations[i], noise_floor)
            best = choose_simplest(scored)
        result = results[best]
        result["network"] = dict(per_candidate[best][0].info)
        if len(results) > 1:
            result["model_selection"] = [
                {
                    "network": candidate.label,
                    "n_layers": candidate.inverter.n_layers,
                    "chi": score["chi"],
                    "chi_minimum": score["chi_minimum"],
                    "bic": float(score["bic"]),
                    "unresolved": score["unresolved"],
                    "selected": j == best,
                }
                for j, ((candidate, _), score) in enumerate(zip(per_candidate, scored, strict=True))
            ]
        out.append((sounding_id, result))
    return out


def _write_text(text: str, output: str | None) -> None:
    if output is None:
        sys.stdout.write(text)
    else:
        Path(output).write_text(text, encoding="utf-8")


def render(results: list[tuple[str, dict[str, Any]]], fmt: str) -> str:
    """Results as ``table``, ``json``, ``csv`` or ``smooth-csv`` text (profile CSV for several
    soundings)."""
    if fmt == "json":
        docs = [{"sounding": sid, **result} for sid, result in results]
        return formats.format_result_json(docs[0] if len(docs) == 1 else docs)
    if fmt == "csv":
        if len(results) == 1:
            return formats.format_layer_csv(results[0][1])
        return formats.format_profile_csv(results)
    if fmt == "smooth-csv":
        missing = [sid for sid, result in results if not result.get("smooth")]
        if missing:
            raise CliError(
                f"--format smooth-csv: no smooth model for sounding {', '.join(missing)} "
                "(smooth models come with the served networks, or with --network and --smooth)",
                status=2,
            )
        if len(results) == 1:
            return formats.format_smooth_csv(results[0][1])
        return formats.format_smooth_profile_csv(results)
    blocks = []
    for sid, result in results:
        network = result.get("network", {})
        title = f"sounding {sid}: network {network.get('name')}"
        if "version" in network:
            title += f" v{network['version']}"
        n_layers = len(result["model"]["rho_ohmm"])
        text = f"{title}, {n_layers} layers\n" + formats.format_layer_table(result)
        for entry in result.get("candidates", []):
            mark = "  <- selected" if entry["n_layers"] == n_layers else ""
            unresolved = (
                f", unresolved {','.join(entry['unresolved'])}" if entry["unresolved"] else ""
            )
            text += (
                f"candidate {entry['n_layers']} layers: chi {entry['chi']:.3g}, "
                f"BIC {entry['bic']:.4g}{unresolved}{mark}\n"
            )
        alone = result.get("network_answer")
        if alone is not None:
            text += (
                f"networks alone (no refinement): {alone['n_layers']} layers, "
                f"chi {alone['chi']:.3g}\n"
            )
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


#: file name endings that are field data, never networks
DATA_SUFFIXES = (".csv", ".tsv", ".txt", ".dat", ".edi", ".json", ".usf", ".tem")


def _network_files(path: str) -> bool:
    """Whether ``path`` is networks on disk: a saved ``.npz`` or a folder of them."""
    return Path(path).suffix.lower() == ".npz" or Path(path).is_dir()


def _is_network(path: str) -> bool:
    """Whether a first positional argument names networks (the older ``geobp invert NETWORK
    DATA_FILE``): networks on disk, or anything that is not a file (a registry id or name)."""
    if Path(path).suffix.lower() in DATA_SUFFIXES:
        return False  # a data file, even a missing one (its error names it as such)
    return _network_files(path) or not Path(path).is_file()


def _data_and_network(args: argparse.Namespace) -> tuple[list[str], str | None]:
    """``([DATA_FILE, …], NETWORK or None)`` from ``geobp invert DATA_FILE … [--network
    NETWORK]`` or the older ``geobp invert NETWORK DATA_FILE``."""
    paths = list(args.paths)
    if len(paths) == 2 and args.network is None and _is_network(paths[0]):
        return [paths[1]], paths[0]
    for path in paths:
        if _network_files(path):
            raise CliError(
                f"{path} is networks, not data: give the networks once, with --network "
                "(DATA_FILE … are field data files)",
                status=2,
            )
    return paths, args.network


def _read_all(paths: list[str], mode: str | None) -> dict[str, dict[str, Any]]:
    """Every sounding of every file, keyed by its id (``PATH:id``, the path as given, where two
    files share an id)."""
    per_file = []
    for data in paths:
        if not Path(data).is_file():
            raise CliError(f"data file {data} does not exist")
        per_file.append((data, formats.read_soundings(Path(data), mode=mode)))
    ids = [sid for _, soundings in per_file for sid in soundings]
    clash = {sid for sid in ids if ids.count(sid) > 1}
    return {
        (f"{data}:{sid}" if sid in clash else sid): obs
        for data, soundings in per_file
        for sid, obs in soundings.items()
    }


def invert_served(
    soundings: dict[str, dict[str, Any]], args: argparse.Namespace
) -> list[tuple[str, dict[str, Any]]]:
    """Invert each sounding with the served networks (every layer count, automatic choice)."""
    served = load_served(args.max_layers)
    out = []
    for sid, obs in soundings.items():
        try:
            result = served.invert(
                obs,
                noise_floor=args.noise_floor,
                start=args.start,
                max_layers=args.max_layers,
                segment_shifts=args.segment_shifts,
            )[0]
        except ValueError as exc:
            raise CliError(_with_sounding_id(exc, [sid])) from None
        out.append((sid, result))
    return out


def run(args: argparse.Namespace) -> int:
    """Run ``geobp invert`` with parsed arguments; returns the exit status."""
    data, network = _data_and_network(args)
    fixed = parse_fixes(args.fix)
    if args.figure:
        _figure_paths(args.figure, ["check"])  # a bad suffix fails before any work
    soundings = _read_all(data, args.mode)
    if args.window is not None:
        soundings = {sid: _windowed(sid, obs, args.window) for sid, obs in soundings.items()}
    if network is None:
        if fixed or args.no_refine or args.layers is not None or args.smooth:
            raise CliError(
                "--fix, --no-refine, --layers and --smooth need --network (the served networks "
                "always refine, choose the layer count and add the smooth model; use "
                "--max-layers)",
                status=2,
            )
        results = invert_served(soundings, args)
    else:
        candidates = load_candidates(network)
        layers = (
            args.layers if args.layers is not None else ("auto" if len(candidates) > 1 else None)
        )
        results = invert_soundings(
            candidates,
            soundings,
            layers=layers,
            refine=not args.no_refine,
            fixed=fixed,
            noise_floor=args.noise_floor,
            smooth=args.smooth,
        )
    _write_text(render(results, args.format), args.output)
    if args.figure:
        paths = _figure_paths(args.figure, [sid for sid, _ in results])
        for (sid, result), path in zip(results, paths, strict=True):
            formats.write_figure(soundings[sid], result, path, title=f"sounding {sid}")
            log.info("figure written to %s", path)
    return 0
