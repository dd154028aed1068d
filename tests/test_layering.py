"""DESIGN.md §1: which package imports which, checked on the import graph (imports inside functions
count too) by the import-linter contracts in pyproject.toml, plus what importing a package loads."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("forward_models", "bpnet", "inversion", "worker", "service")


def _lint(*contract_ids: str) -> str:
    """Python code that runs ``lint-imports`` (only ``contract_ids`` if given) and exits with its
    status."""
    return (
        "import sys; from importlinter.cli import lint_imports; "
        f"sys.exit(lint_imports(limit_to_contracts={contract_ids!r}, no_cache=True, no_logo=True))"
    )


def _run(code: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_contracts_are_kept() -> None:
    result = _run(_lint(), ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module_file", "statement", "contract", "chain"),
    [
        # a root importing the top layer
        ("bpnet/network.py", "import service", "layers", "bpnet.network -> service"),
        # the two roots are independent siblings
        ("forward_models/base.py", "import bpnet", "layers", "forward_models.base -> bpnet"),
        # the worker never imports the service
        ("worker/submit.py", "import service.app", "layers", "worker.submit -> service.app"),
        # bpnet sees arrays only
        ("bpnet/losses.py", "import scipy.special", "bpnet-no-scipy", "bpnet.losses -> scipy"),
        # the CLI imports no Flask itself
        ("service/cli/parser.py", "import flask", "no-flask-in-cli", "service.cli.parser -> flask"),
    ],
)
def test_an_upward_import_inside_a_function_breaks_a_contract(
    tmp_path: Path, module_file: str, statement: str, contract: str, chain: str
) -> None:
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    with open(tmp_path / module_file, "a") as handle:  # hidden in a function body
        handle.write(f"\n\ndef _sneaky():\n    {statement}\n")
    assert _run(_lint(contract), ROOT).returncode == 0  # kept on the real tree
    result = _run(_lint(contract), tmp_path)
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    assert "0 kept, 1 broken" in out, out
    assert chain in out, out


def test_no_import_cycles_between_modules() -> None:
    """No module reaches itself again through imports (a cycle hidden by an import inside a
    function is still a cycle)."""
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    cycles = set()
    for importer in graph.modules:
        for imported in graph.find_modules_directly_imported_by(importer):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back is not None:
                ring = (importer, *back[:-1])  # each cycle once, from its smallest module
                start = ring.index(min(ring))
                cycles.add(" -> ".join((*ring[start:], *ring[:start], ring[start])))
    assert not cycles, "import cycles:\n" + "\n".join(sorted(cycles))


def _loaded_after(imports: str, names: tuple[str, ...]) -> list[str]:
    code = f"import sys; {imports}; print(' '.join(n for n in {names!r} if n in sys.modules))"
    result = _run(code, ROOT)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_bpnet_loads_nothing_geophysical_and_no_scipy() -> None:
    assert _loaded_after("import bpnet", ("scipy", "forward_models", "inversion")) == []


def test_cli_worker_and_celery_entry_do_not_load_flask() -> None:
    imports = (
        "import service.cli, service.cli.parser, worker.celery_app, worker.tasks, "
        "worker.submit, worker.main, service.celery_entry, service.jobstore"
    )
    assert _loaded_after(imports, ("flask", "werkzeug")) == []
