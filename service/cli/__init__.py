"""The ``geobp`` command line (console script ``service.cli:main``).

Commands: ``serve``, ``worker``, ``train``, ``invert``, ``demo``, ``networks``; ``geobp COMMAND
--help`` explains every option with its unit. Exit status: 0 success, 1 failure, 2 usage error,
130 interrupted; failures print one line ``geobp: error: …`` on standard error.
"""

from __future__ import annotations

import csv
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

from service.cli.console import fail, say
from service.cli.errors import CliError
from service.cli.parser import build_parser

__all__ = ["CliError", "build_parser", "main"]


def _serve(args: Any) -> int:
    from service.serve import serve

    serve(args.host, args.port, args.workers, args.threads)
    return 0


def _worker(args: Any) -> int:
    from worker.main import run_worker

    argv: list[str] = []
    if args.beat:
        argv.append("--beat")
    if args.queues:
        argv += ["--queues", args.queues]
    if args.concurrency:
        argv += ["--concurrency", str(args.concurrency)]
    argv += ["--loglevel", args.loglevel]
    rest = list(args.celery_args)
    if rest[:1] == ["--"]:
        rest = rest[1:]
    return run_worker(argv + rest)


def _train(args: Any) -> int:
    from service.cli import training

    return training.run(args)


def _invert(args: Any) -> int:
    from service.cli import invert

    return invert.run(args)


def _demo(args: Any) -> int:
    from service.cli import demo

    return demo.run(args)


def _networks(args: Any) -> int:
    from service.cli.networks import list_networks

    items = list_networks()
    if args.format == "json":
        say(json.dumps({"items": items}, indent=2))
        return 0
    if not items:
        say("no networks registered")
        return 0
    headers = ["id", "name", "version", "aliases", "forward model", "layers", "held-out loss"]
    rows = []
    for item in items:
        fm = item.get("forward_model") or {}
        loss = (item.get("metrics") or {}).get("held_out_loss")
        rows.append(
            [
                item["id"],
                item["name"],
                str(item["version"]),
                ",".join(item.get("aliases") or []) or "-",
                str(fm.get("name", "?")),
                str(fm.get("n_layers", "?")),
                f"{loss:.4g}" if isinstance(loss, int | float) else "-",
            ]
        )
    widths = [max(len(r[i]) for r in [headers] + rows) for i in range(len(headers))]
    for row in [headers] + rows:
        say("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0


_COMMANDS = {
    "serve": _serve,
    "worker": _worker,
    "train": _train,
    "invert": _invert,
    "demo": _demo,
    "networks": _networks,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``geobp`` with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    parser = build_parser()
    debug = "--debug" in (sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(argv)
        logging.basicConfig(
            level=getattr(logging, args.log_level),
            format="geobp: %(levelname)s: %(message)s",
            stream=sys.stderr,
        )
        if args.command is None:
            raise CliError(
                "a command is required: serve, worker, train, invert, demo or networks "
                "(geobp --help)",
                status=2,
            )
        return _COMMANDS[args.command](args)
    except CliError as exc:
        fail(str(exc))
        return exc.status
    except KeyboardInterrupt:
        fail("interrupted")
        return 130
    except (ValueError, OSError, csv.Error) as exc:  # bad input: malformed or missing files
        if debug:
            raise
        message = str(exc) or type(exc).__name__
        fail(f"not a readable table: {message}" if isinstance(exc, csv.Error) else message)
        return 1
    except Exception as exc:  # noqa: BLE001 - a bug: still one line, traceback with --debug
        if debug:
            raise
        fail(f"unexpected {type(exc).__name__}: {exc} (run with --debug for the traceback)")
        return 1


if __name__ == "__main__":
    sys.exit(main())
