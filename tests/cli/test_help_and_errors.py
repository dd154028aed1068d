"""``geobp --help`` for every command, and one-line errors with the right exit status."""

from __future__ import annotations

import json

import pytest
from cli_helpers import AB2_M, one_line_error

COMMANDS = ["serve", "worker", "train", "invert", "demo", "networks"]


def test_top_level_help_lists_every_command(geobp) -> None:
    run = geobp("--help")
    assert run.returncode == 0
    for command in COMMANDS:
        assert command in run.stdout


@pytest.mark.parametrize(
    ("command", "words"),
    [
        ("serve", ["--host", "--port", "TCP port"]),
        ("worker", ["--beat", "--queues", "--concurrency"]),
        ("train", ["SPEC.json", "--out", "ohm.m", "(m)", "(deg)"]),
        ("invert", ["--format", "--fix", "ohm.m", "in m", "--layers", "--no-refine", "--figure"]),
        ("demo", ["--samples", "--epochs", "1 to 300 m"]),
        ("networks", ["--format"]),
    ],
)
def test_command_help_explains_options_with_units(geobp, command: str, words: list[str]) -> None:
    run = geobp(command, "--help")
    assert run.returncode == 0, run.stderr
    text = " ".join(run.stdout.split())
    for word in words:
        assert word in text, (command, word)


def test_no_command_is_a_usage_error(geobp) -> None:
    run = geobp()
    assert run.returncode == 2
    assert "a command is required" in one_line_error(run)


def test_malformed_data_names_line_and_field(geobp, networks, tmp_path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("AB/2 (m),rho_a (ohm.m)\n1,10\n2,-5\n")
    run = geobp("invert", str(networks["ves3"]), str(bad))
    assert run.returncode == 1
    assert "bad.csv, line 3, field 'rho_a (ohm.m)'" in one_line_error(run)


# The same entry point in this process (faster): usage and input errors.


def test_unknown_option_is_a_usage_error(geobp_main) -> None:
    run = geobp_main("invert", "--colour", "x", "y")
    assert run.returncode == 2
    assert "unrecognized arguments: --colour" in one_line_error(run)


def test_missing_arguments(geobp_main) -> None:
    run = geobp_main("invert")
    assert run.returncode == 2 and "DATA_FILE" in one_line_error(run)


def test_too_many_paths(geobp_main) -> None:
    run = geobp_main("invert", "a.npz", "b.csv", "--network", "c.npz")
    assert run.returncode == 2 and "give the networks once" in one_line_error(run)


def test_invalid_choice(geobp_main) -> None:
    run = geobp_main("invert", "a.npz", "b.csv", "--format", "xml")
    assert run.returncode == 2 and "invalid choice: 'xml'" in one_line_error(run)


def test_bad_fix_syntax(geobp_main, ves_csv, networks) -> None:
    run = geobp_main("invert", str(networks["ves3"]), str(ves_csv), "--fix", "h1:3")
    assert run.returncode == 2 and "expected NAME=VALUE" in one_line_error(run)


def test_bad_figure_suffix(geobp_main, ves_csv, networks) -> None:
    run = geobp_main("invert", str(networks["ves3"]), str(ves_csv), "--figure", "fit.jpg")
    assert run.returncode == 2 and "use a .png or .svg" in one_line_error(run)


def test_missing_data_file(geobp_main, networks, tmp_path) -> None:
    run = geobp_main("invert", str(networks["ves3"]), str(tmp_path / "nope.csv"))
    assert run.returncode == 1 and "does not exist" in one_line_error(run)


def test_missing_network_file(geobp_main, ves_csv, tmp_path) -> None:
    run = geobp_main("invert", str(tmp_path / "nope.npz"), str(ves_csv))
    assert run.returncode == 1 and "nope.npz does not exist" in one_line_error(run)


def test_not_a_network_file(geobp_main, ves_csv, tmp_path) -> None:
    fake = tmp_path / "fake.npz"
    fake.write_bytes(b"not a zip file")
    run = geobp_main("invert", str(fake), str(ves_csv))
    assert run.returncode == 1
    one_line_error(run)


def test_fix_unknown_parameter(geobp_main, networks, ves_csv) -> None:
    run = geobp_main("invert", str(networks["ves3"]), str(ves_csv), "--fix", "h7=3")
    assert run.returncode == 1 and "h7" in one_line_error(run)


def test_wrong_kind_of_data(geobp_main, networks, ves_csv) -> None:
    run = geobp_main("invert", str(networks["mt2"]), str(ves_csv))
    assert run.returncode == 1 and "different kind of sounding" in one_line_error(run)


def test_registry_missing(geobp_main, ves_csv, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("GEOBP_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("GEOBP_DATABASE_URL", raising=False)
    run = geobp_main("invert", "no-such-network", str(ves_csv))
    assert run.returncode == 1 and "no registry database" in one_line_error(run)
    listing = geobp_main("networks")
    assert listing.returncode == 1 and "no registry database" in one_line_error(listing)


def test_inversion_errors_name_the_sounding_id(geobp_main, networks, tmp_path) -> None:
    data = tmp_path / "line.json"
    rho = [10.0 + i for i in range(AB2_M.size)]
    good = {"ab2_m": AB2_M.tolist(), "rho_a_ohmm": rho}
    bad = {**good, "id": "V2", "rho_a_ohmm": rho[:3] + [-1.0] + rho[4:]}
    data.write_text(json.dumps({"soundings": [{**good, "id": "V1"}, bad]}))
    run = geobp_main("invert", str(networks["ves3"]), str(data))
    assert run.returncode == 1
    assert "sounding V2: rho_a_ohmm[3] must be positive" in one_line_error(run)
