"""The ``geobp`` argument parser: every command and option, with units in the help."""

from __future__ import annotations

import argparse
import math
from typing import NoReturn

from service.cli.errors import CliError

DESCRIPTION = """\
geobp: invert geophysical soundings (VES Schlumberger/Wenner, MT 1D) with trained
back-propagation networks. Units everywhere: metres (m), ohm-metres (ohm.m), seconds (s),
degrees (deg). Exit status 0 on success, 1 when the work failed, 2 for a usage error; a failure
prints one line 'geobp: error: ...' on standard error."""

INVERT_EPILOG = """\
data files: CSV/TSV/whitespace tables with a header row (AB/2, MN/2, rho_a, error (%), or the
raw AB/2, MN/2, I (mA), V (mV) form; a, rho_a for Wenner; period (s), rho_a, phase (deg) for MT;
an optional 'sounding' column for a profile), SEG EDI files (.edi), or JSON (.json) in the
API's layout ({"ab2_m": [...], "rho_a_ohmm": [...]}, {"data": {...}} or {"soundings": [...]}).
See docs/usage.md.

Without --network the served networks invert any sounding in their range (VES AB/2 or a
0.5 m - 30 km, MT periods 1e-5 - 1e5 s, rho 0.1 - 1e5 ohm.m) with 1 to 6 layers and choose the
layer count; they live in GEOBP_ARTIFACT_DIR/served and are trained by 'geobp serve'.

examples:
  geobp invert field/ves12.csv
  geobp invert site7.edi --noise-floor 0.05,1.5 --figure site7.svg
  geobp invert ves12.csv --start 100,10,1000:5,20 --max-layers 4
  geobp invert field/line1.csv --network nets/ves3.npz --format csv -o line1_models.csv
  geobp invert site7.edi --network mt-2l@production --mode tm
  geobp invert ves12.csv --network nets/ves2.npz,nets/ves3.npz,nets/ves4.npz --layers auto
  geobp invert ves12.csv --network schlumberger-3l --fix h1=3.5 --no-refine --format json"""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors become one-line :class:`CliError` (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        """Raise instead of printing the usage block."""
        raise CliError(message, status=2)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def _port(text: str) -> int:
    value = _positive_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a TCP port (1-65535)")
    return value


def _numbers(text: str, what: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: {what} must be numbers") from None
    if not values or not all(math.isfinite(v) and v > 0 for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: {what} must be positive numbers")
    return values


def _noise_floor(text: str) -> dict[str, float]:
    values = _numbers(text, "the noise floor")
    if len(values) > 2:
        raise argparse.ArgumentTypeError(f"{text!r}: give REL or REL,DEG")
    floor = {"rho_a_rel": values[0]}
    if len(values) == 2:
        floor["phase_deg"] = values[1]
    return floor


def _window(text: str) -> tuple[float | None, float | None]:
    """``MIN,MAX`` with either side left empty (open)."""
    parts = text.split(",")
    if len(parts) != 2 or not any(p.strip() for p in parts):
        raise argparse.ArgumentTypeError(
            f"{text!r}: give MIN,MAX — or 'MIN,' for no upper bound, ',MAX' for no lower one"
        )
    lower, upper = (_numbers(p, "window bounds")[0] if p.strip() else None for p in parts)
    if lower is not None and upper is not None and not lower < upper:
        raise argparse.ArgumentTypeError(f"{text!r}: MIN must be below MAX")
    return lower, upper


def _start(text: str) -> dict[str, list[float]]:
    rho_text, _, thk_text = text.partition(":")
    rho = _numbers(rho_text, "resistivities")
    thickness = _numbers(thk_text, "thicknesses") if thk_text.strip() else []
    if len(thickness) != len(rho) - 1:
        raise argparse.ArgumentTypeError(
            f"{text!r}: {len(rho)} resistivities need {len(rho) - 1} thicknesses after ':'"
        )
    return {"rho_ohmm": rho, "thickness_m": thickness}


def _layers(text: str) -> str | int:
    if text.strip().lower() == "auto":
        return "auto"
    return _positive_int(text)


def _add_serve(commands: argparse._SubParsersAction) -> None:
    serve = commands.add_parser(
        "serve",
        help="run the REST API and dashboard (and an embedded worker on the default broker)",
        description="Run the REST API (/api/v1) and the dashboard. With the default embedded "
        "broker a Celery worker runs beside it, a default 3-layer Schlumberger network is "
        "trained when the registry is empty, and the served networks (every method, 2 to 6 "
        "layers; POST /api/v1/invert and 'geobp invert FILE') are trained into "
        "GEOBP_ARTIFACT_DIR/served when missing. Configuration from GEOBP_DATABASE_URL, "
        "GEOBP_BROKER_URL, GEOBP_ARTIFACT_DIR, GEOBP_API_TOKEN, GEOBP_VAR_DIR.",
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default %(default)s)"
    )
    serve.add_argument("--port", type=_port, default=8000, help="TCP port (default %(default)s)")
    serve.add_argument(
        "--workers",
        type=_positive_int,
        default=2,
        help="HTTP worker processes (default %(default)s)",
    )
    serve.add_argument(
        "--threads",
        type=_positive_int,
        default=8,
        help="threads per HTTP worker (default %(default)s)",
    )


def _add_worker(commands: argparse._SubParsersAction) -> None:
    worker = commands.add_parser(
        "worker",
        help="run a Celery worker for the configured broker (GEOBP_BROKER_URL)",
        description="Run a Celery worker that generates datasets and trains networks for the "
        "service's training jobs, on the broker of GEOBP_BROKER_URL.",
    )
    worker.add_argument(
        "-B",
        "--beat",
        action="store_true",
        help="also run the scheduler (beat) for scheduled retraining",
    )
    worker.add_argument(
        "-Q",
        "--queues",
        help="comma-separated queues (default: geobp,train, plus gpu when a GPU is seen)",
    )
    worker.add_argument(
        "-c",
        "--concurrency",
        type=_positive_int,
        help="worker processes (default: Celery's, the CPU count)",
    )
    worker.add_argument("--loglevel", default="INFO", help="Celery log level (default %(default)s)")
    worker.add_argument(
        "celery_args", nargs=argparse.REMAINDER, help="further celery worker options, after --"
    )


def _add_train(commands: argparse._SubParsersAction) -> None:
    train = commands.add_parser(
        "train",
        help="train a network from a JSON spec in this process, with progress bars",
        description="Train a network in this process from SPEC.json, the same JSON body as "
        "POST /api/v1/training-jobs: name, forward_model {name, n_layers, geometry}, bounds "
        "{rho_ohmm [lo, hi] (ohm.m), thickness_m [lo, hi] (m)}, n_samples, sampler, noise "
        "{rho_a_rel (fraction), phase_deg (deg)}, seed, "
        "network {hidden, max_epochs, n_members, ...}. "
        "Generates the dataset, trains, evaluates on a held-out set and writes DIR/NAME.npz "
        "(the saved inverter, usable by 'geobp invert') and DIR/NAME.json (spec and metrics).",
    )
    train.add_argument("spec", metavar="SPEC.json", help="training spec (JSON file)")
    train.add_argument(
        "--out", metavar="DIR", default=".", help="output folder (default: the current folder)"
    )
    train.add_argument("--quiet", action="store_true", help="no progress bars")


def _add_invert(commands: argparse._SubParsersAction) -> None:
    invert = commands.add_parser(
        "invert",
        help="invert field data with the served networks (or a named network)",
        description="Invert every sounding of DATA_FILE and print or write the layered models.",
        epilog=INVERT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    invert.add_argument(
        "paths",
        nargs="+",
        metavar="DATA_FILE",
        help="field data: .csv, .tsv, .txt/.dat, .edi, .json or a TEM export; several files "
        "are inverted one sounding after the other (the older form "
        "'geobp invert NETWORK DATA_FILE' is still read)",
    )
    invert.add_argument(
        "--network",
        metavar="NETWORK",
        help="invert with these networks instead of the served ones: a saved network file (.npz "
        "from 'geobp train'), a folder of them, a registry id or name (name@production, "
        "name@latest, name@3 for version 3), or several of these separated by commas "
        "(candidates for --layers)",
    )
    invert.add_argument(
        "--noise-floor",
        type=_noise_floor,
        default=None,
        metavar="REL[,DEG]",
        help="smallest standard errors used: relative for rho_a (0.05 = 5 %%) and, for MT, "
        "degrees for phase, e.g. --noise-floor 0.05,1.5 (default 0.03,1.0; the data's own "
        "errors are used where larger)",
    )
    invert.add_argument(
        "--window",
        type=_window,
        default=None,
        metavar="MIN,MAX",
        help="use only the data whose AB/2 or a (m), period (s) or gate time (s) lies in "
        "[MIN, MAX]; either side may be left empty, e.g. --window 2e-4, drops TEM gates "
        "before 0.2 ms (saturated or ramp-affected) and --window ,1000 MT periods above "
        "1000 s; the result warns how many were dropped",
    )
    invert.add_argument(
        "--start",
        type=_start,
        default=None,
        metavar="RHO1,RHO2,...[:H1,...]",
        help="a starting model for the served search, resistivities in ohm.m then thicknesses "
        "in m, e.g. --start 100,10,1000:5,20 (refined with the other starts)",
    )
    invert.add_argument(
        "--max-layers",
        type=_positive_int,
        default=None,
        metavar="N",
        help="largest layer count the served networks try (1 to 6, default 6)",
    )
    invert.add_argument(
        "--smooth",
        action="store_true",
        help="with --network: add the smooth (Occam) model and the depths of investigation, as "
        "the served networks always do",
    )
    invert.add_argument(
        "--segment-shifts",
        choices=("auto", "always", "never"),
        default="auto",
        help="Schlumberger soundings with overlapping MN/2 segments: fit one level factor per "
        "segment joined by overlaps to the one with the most data, when BIC prefers it (auto), "
        "always, or never (default %(default)s)",
    )
    invert.add_argument(
        "--format",
        choices=("table", "json", "csv", "smooth-csv"),
        default="table",
        help="table: readable layer table; json: the API's result objects; csv: layer table "
        "(top_m, bottom_m, thickness_m, rho_ohmm, p10, p90; a 'sounding' column for profiles); "
        "smooth-csv: the smooth model (top_m, bottom_m, rho_ohmm, p10, p90, below-DOI flags) "
        "(default %(default)s)",
    )
    invert.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write the results to FILE instead of standard output",
    )
    invert.add_argument(
        "--fix",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="hold a parameter fixed: rhoK in ohm.m or hK in m (layer K from the top), e.g. "
        "--fix h1=3.5; repeat or separate with commas",
    )
    invert.add_argument(
        "--layers",
        type=_layers,
        default=None,
        metavar="N|auto",
        help="number of layers: N picks the candidate network with N layers; auto inverts with "
        "every candidate and keeps the model with the lowest BIC, n*chi^2 + k*ln(n) "
        "(default: auto when NETWORK names several networks)",
    )
    invert.add_argument(
        "--no-refine",
        action="store_true",
        help="report the network's model without the Gauss-Newton refinement against the physics",
    )
    invert.add_argument(
        "--mode",
        default="det",
        choices=("det", "te", "tm", "xy", "yx"),
        help="MT mode for EDI files: det (rotation-invariant determinant), te/xy or tm/yx "
        "(default %(default)s)",
    )
    invert.add_argument(
        "--figure",
        metavar="FILE.png|FILE.svg",
        help="write the data fit and model figure; with several soundings one file per "
        "sounding, named FILE_<sounding>.png",
    )


def _add_demo(commands: argparse._SubParsersAction) -> None:
    demo = commands.add_parser(
        "demo",
        help="generate, train and invert end to end (about a minute on 2 cores)",
        description="Generate synthetic 3-layer Schlumberger soundings (AB/2 from 1 to 300 m), "
        "train a network ensemble, write a noisy 'field' sounding of a known model to CSV, read "
        "it back, invert it and write the figure, printing each step.",
    )
    demo.add_argument(
        "--out", metavar="DIR", default="geobp-demo", help="output folder (default %(default)s)"
    )
    demo.add_argument(
        "--samples",
        type=_positive_int,
        default=20_000,
        help="synthetic training models (default %(default)s)",
    )
    demo.add_argument(
        "--epochs",
        type=_positive_int,
        default=100,
        help="maximum training epochs per member (default %(default)s)",
    )
    demo.add_argument(
        "--members",
        type=_positive_int,
        default=3,
        help="networks in the ensemble (default %(default)s)",
    )
    demo.add_argument(
        "--hidden", type=_positive_int, default=64, help="hidden neurons (default %(default)s)"
    )
    demo.add_argument("--seed", type=int, default=1, help="random seed (default %(default)s)")
    demo.add_argument("--quiet", action="store_true", help="no progress bars")


def _add_networks(commands: argparse._SubParsersAction) -> None:
    networks = commands.add_parser(
        "networks",
        help="list the registry's networks",
        description="List the registered networks (from GEOBP_DATABASE_URL, default "
        "var/geobp.sqlite): id, name, version, aliases, forward model, layers and held-out loss.",
    )
    networks.add_argument(
        "--format",
        choices=("table", "json"),
        default="table",
        help="output format (default %(default)s)",
    )


def build_parser() -> Parser:
    """The full ``geobp`` parser."""
    parser = Parser(
        prog="geobp", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--log-level",
        default="WARNING",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        help="messages shown on standard error (default %(default)s)",
    )
    parser.add_argument(
        "--debug", action="store_true", help="show a traceback for unexpected errors"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    _add_serve(commands)
    _add_worker(commands)
    _add_train(commands)
    _add_invert(commands)
    _add_demo(commands)
    _add_networks(commands)
    return parser
