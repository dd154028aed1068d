"""``geobp invert``: formats, figures, --fix, --layers, profiles and EDI files."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from cli_helpers import AB2_M, PERIODS_S, ves_data

from inversion.formats import impedance_1d_field_units, write_edi_impedance

# Through the console script in a subprocess.


def test_table_output_and_png_figure(geobp, networks, ves_csv, tmp_path) -> None:
    figure = tmp_path / "fit.png"
    run = geobp("invert", str(networks["ves3"]), str(ves_csv), "--figure", str(figure))
    assert run.returncode == 0, run.stderr
    assert "sounding ves12: network ves3, 3 layers" in run.stdout
    assert "rho (ohm.m)" in run.stdout and "misfit:" in run.stdout
    assert figure.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") and figure.stat().st_size > 5000


def test_smooth_model_with_a_registry_network(geobp, networks, ves_csv) -> None:
    run = geobp("invert", str(networks["ves3"]), str(ves_csv), "--smooth", "--format", "json")
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert len(result["smooth"]["rho_ohmm"]) >= 20 and result["smooth"]["misfit"]["chi"] < 1.5
    assert result["doi_m"]["conservative"] <= result["doi_m"]["standard"]
    table = geobp("invert", str(networks["ves3"]), str(ves_csv), "--smooth").stdout
    assert "depth of investigation (smooth model):" in table and "smooth model:" in table
    plain = json.loads(
        geobp("invert", str(networks["ves3"]), str(ves_csv), "--format", "json").stdout
    )
    assert "smooth" not in plain


def test_json_output_has_the_api_shape(geobp, networks, ves_csv) -> None:
    run = geobp("invert", str(networks["ves3"]), str(ves_csv), "--format", "json")
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert len(result["model"]["rho_ohmm"]) == 3 and len(result["model"]["thickness_m"]) == 2
    assert set(result["uncertainty"]["rho_ohmm"]) >= {"p10", "p90"}
    assert result["predicted"]["ab2_m"] == pytest.approx(AB2_M.tolist())
    assert result["misfit"]["rms_percent"] < 10.0  # 2 % noise, refined
    assert result["network"]["name"] == "ves3" and result["sounding"] == "ves12"
    assert result["refined"] is True


def test_csv_output_to_a_file(geobp, networks, ves_csv, tmp_path) -> None:
    out = tmp_path / "layers.csv"
    run = geobp("invert", str(networks["ves3"]), str(ves_csv), "--format", "csv", "-o", str(out))
    assert run.returncode == 0, run.stderr
    assert run.stdout == ""
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [r["layer"] for r in rows] == ["1", "2", "3"]
    assert float(rows[1]["top_m"]) == pytest.approx(float(rows[0]["bottom_m"]))
    assert rows[2]["bottom_m"] == "" and float(rows[0]["rho_p10_ohmm"]) > 0


def test_layers_auto_prefers_the_three_layer_network(geobp, networks, ves_csv) -> None:
    both = f"{networks['ves2']},{networks['ves3']}"
    run = geobp("invert", both, str(ves_csv), "--layers", "auto", "--format", "json")
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    selection = {entry["n_layers"]: entry for entry in result["model_selection"]}
    assert set(selection) == {2, 3}
    assert selection[3]["selected"] and selection[3]["bic"] < selection[2]["bic"]
    assert len(result["model"]["rho_ohmm"]) == 3


def test_profile_gives_a_profile_csv_and_one_figure_per_sounding(geobp, networks, tmp_path) -> None:
    lines = ["sounding,AB/2 (m),rho_a (ohm.m)"]
    models = {"P1": [50.0, 5.0, 300.0, 3.0, 10.0], "P2": [200.0, 20.0, 100.0, 8.0, 20.0]}
    for sid, model in models.items():
        rho = ves_data(model, 3).tolist()
        lines += [f"{sid},{a},{r}" for a, r in zip(AB2_M.tolist(), rho, strict=True)]
    data = tmp_path / "line1.csv"
    data.write_text("\n".join(lines) + "\n")
    figure = tmp_path / "line1.svg"
    run = geobp(
        "invert", str(networks["ves3"]), str(data), "--format", "csv", "--figure", str(figure)
    )
    assert run.returncode == 0, run.stderr
    rows = list(csv.DictReader(io.StringIO(run.stdout)))
    assert [r["sounding"] for r in rows] == ["P1"] * 3 + ["P2"] * 3
    for sid in models:
        svg = (tmp_path / f"line1_{sid}.svg").read_bytes()
        assert b"<svg" in svg[:2000] and svg.rstrip().endswith(b"</svg>")


def mt_edi(tmp_path):
    import forward_models

    fm = forward_models.create("mt-1d", n_layers=2, periods_s=PERIODS_S.tolist())
    data = np.asarray(fm.forward(np.array([30.0, 300.0, 800.0])), dtype=float).reshape(-1)
    k = PERIODS_S.size
    z = impedance_1d_field_units(data[:k], data[k:], 1.0 / PERIODS_S)
    return write_edi_impedance(tmp_path / "site7.edi", 1.0 / PERIODS_S, z, station="SITE7")


def test_edi_file_with_an_mt_network(geobp, networks, tmp_path) -> None:
    edi = mt_edi(tmp_path)
    run = geobp("invert", str(networks["mt2"]), str(edi), "--format", "json")
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["sounding"] == "SITE7"
    assert result["predicted"]["periods_s"] == pytest.approx(PERIODS_S.tolist(), rel=1e-12)
    assert result["misfit"]["rms_percent"] < 15.0


# The same entry point in this process (faster).


def test_tm_mode_of_an_edi_file(geobp_main, networks, tmp_path) -> None:
    run = geobp_main("invert", str(networks["mt2"]), str(mt_edi(tmp_path)), "--mode", "tm")
    assert run.returncode == 0, run.stderr
    assert "sounding SITE7: network mt2, 2 layers" in run.stdout


def test_fix_and_no_refine(geobp_main, networks, ves_csv) -> None:
    run = geobp_main(
        "invert", str(networks["ves3"]), str(ves_csv), "--fix", "h1=6", "--no-refine",
        "--format", "json",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["model"]["thickness_m"][0] == 6.0
    assert result["refined"] is False and result["fixed"] == {"h1": 6.0}


def test_layers_number_picks_that_network(geobp_main, networks, ves_csv) -> None:
    folder = str(networks["folder"])  # a folder of .npz files: ves2, ves3 and mt2
    run = geobp_main("invert", folder, str(ves_csv), "--layers", "2", "--format", "json")
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert len(result["model"]["rho_ohmm"]) == 2 and "model_selection" not in result
    missing = geobp_main("invert", folder, str(ves_csv), "--layers", "5")
    assert missing.returncode == 1 and "no network with 5 layers" in missing.stderr


def test_overlapping_mn2_segments_invert_as_measured(geobp_main, networks, tmp_path) -> None:
    """A field file with two MN/2 segments overlapping at one AB/2 inverts; both readings kept."""
    import forward_models

    ab2 = np.concatenate([AB2_M[:5], AB2_M[4:]])
    mn2 = np.array([0.2] * 5 + [2.0] * (AB2_M.size - 4))
    model = [100.0, 10.0, 1000.0, 5.0, 20.0]
    fm = forward_models.create("ves-schlumberger", n_layers=3, ab2_m=ab2, mn2_m=mn2)
    rho = fm.forward(model)[0]
    lines = ["AB/2 (m),MN/2 (m),rho_a (ohm.m)"]
    lines += [
        f"{a},{m},{r}" for a, m, r in zip(ab2.tolist(), mn2.tolist(), rho.tolist(), strict=True)
    ]
    data = tmp_path / "segments.csv"
    data.write_text("\n".join(lines) + "\n")
    run = geobp_main("invert", str(networks["ves3"]), str(data), "--format", "json")
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert len(result["predicted"]["ab2_m"]) == ab2.size
    assert any("overlapping MN/2 segments" in w for w in result["warnings"])
    assert result["misfit"]["rms_percent"] < 5.0
