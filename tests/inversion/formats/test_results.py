"""Result writers: JSON in the API's shape, the layer table and the profile CSV."""

from __future__ import annotations

import csv
import io
import json
import math

import pytest

from inversion.formats import (
    LAYER_COLUMNS,
    format_layer_csv,
    format_layer_table,
    format_profile_csv,
    layer_rows,
    write_layer_csv,
    write_profile_csv,
    write_result_json,
)


def test_json_round_trip(tmp_path, ves_result) -> None:
    path = write_result_json(ves_result, tmp_path / "r.json")
    assert json.loads(path.read_text()) == ves_result
    batch = write_result_json([ves_result, ves_result], tmp_path / "b.json")
    assert json.loads(batch.read_text()) == [ves_result, ves_result]


def test_json_writes_non_finite_numbers_as_null(tmp_path, ves_result) -> None:
    ves_result["misfit"]["chi"] = math.nan
    ves_result["uncertainty"]["thickness_m"]["p90"] = [4.8, math.inf]
    back = json.loads(write_result_json(ves_result, tmp_path / "r.json").read_text())
    assert back["misfit"]["chi"] is None
    assert back["uncertainty"]["thickness_m"]["p90"] == [4.8, None]
    assert back["model"] == ves_result["model"]


def test_layer_rows_have_tops_bottoms_and_the_half_space(ves_result) -> None:
    rows = layer_rows(ves_result)
    assert [r["top_m"] for r in rows] == pytest.approx([0.0, 4.1, 27.1])
    assert [r["bottom_m"] for r in rows][:2] == pytest.approx([4.1, 27.1])
    assert rows[2]["bottom_m"] is None and rows[2]["thickness_m"] is None
    assert [r["rho_p90_ohmm"] for r in rows] == [140.0, 11.0, 1200.0]
    assert rows[1]["thickness_p10_m"] == 18.0 and rows[2]["thickness_p10_m"] is None


def test_layer_csv(tmp_path, ves_result) -> None:
    path = write_layer_csv(ves_result, tmp_path / "layers.csv")
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert tuple(rows[0]) == LAYER_COLUMNS
    assert LAYER_COLUMNS[:7] == (
        "layer", "top_m", "bottom_m", "thickness_m", "rho_ohmm", "rho_p10_ohmm", "rho_p90_ohmm"
    )  # fmt: skip
    assert [float(r["rho_ohmm"]) for r in rows] == [120.0, 8.5, 900.0]
    assert rows[1]["top_m"] == "4.1" and rows[2]["bottom_m"] == ""


def test_layer_csv_without_uncertainty(ves_result) -> None:
    del ves_result["uncertainty"]
    rows = list(csv.DictReader(io.StringIO(format_layer_csv(ves_result))))
    assert rows[0]["rho_p10_ohmm"] == "" and rows[0]["rho_ohmm"] == "120.0"


def test_malformed_model_is_refused(ves_result) -> None:
    ves_result["model"]["thickness_m"] = [1.0]
    with pytest.raises(ValueError, match="thickness_m has 1 values for 3 layers"):
        layer_rows(ves_result)
    with pytest.raises(ValueError, match="rho_ohmm is missing"):
        layer_rows({"model": {}})


def test_profile_csv_has_a_sounding_column(tmp_path, ves_result, mt_result) -> None:
    path = write_profile_csv([("VES-1", ves_result), ("VES-2", mt_result)], tmp_path / "p.csv")
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert [r["sounding"] for r in rows] == ["VES-1"] * 3 + ["VES-2"] * 2
    assert rows[0]["rms_percent"] == "2.4" and rows[0]["in_domain"] == "true"
    assert rows[3]["in_domain"] == "false" and rows[4]["rho_ohmm"] == "500.0"
    assert format_profile_csv([]).strip() == ",".join(("sounding",) + LAYER_COLUMNS) + (
        ",rms_percent,in_domain"
    )


def test_terminal_table(ves_result, mt_result) -> None:
    text = format_layer_table(ves_result)
    assert "rho (ohm.m)" in text and "rms_percent = 2.4" in text
    assert "warning: data were sorted" in text and "in training domain: yes" in text
    assert len(text.splitlines()[1].split()) == 10  # 7 columns, then S, T and which is resolved
    assert text.splitlines()[0].split()[-4:] == ["(S)", "T", "(ohm.m2)", "resolved"]
    assert "in training domain: NO" in format_layer_table(mt_result)
    assert "polarisable model" not in text


def test_terminal_table_gives_a_polarisable_model(ves_result) -> None:
    ip_model = {"rho_ohmm": [40.0, 200.0], "thickness_m": [8.0], "depth_m": [8.0]}
    ip_model |= {"chargeability": [0.3, 0.0], "tau_s": [2e-4, 0.0], "c": [0.6, 0.0]}
    ip = {"model": ip_model, "polarisable_layer": 1, "misfit": {"chi": 0.97}, "preferred": True}
    text = format_layer_table({**ves_result, "ip": ip})
    assert (
        "polarisable model (preferred by BIC, chi = 0.97): rho0 = 40, 200 ohm.m, thickness = "
        "8 m; layer 1: chargeability 0.3, tau 0.0002 s, c 0.6"
    ) in text
    ip["uncertainty"] = {"tau_s": {"p10": 1e-4, "p90": 5e-4}}
    text = format_layer_table({**ves_result, "ip": ip})
    assert "tau 0.0002 s (p10-p90 0.0001-0.0005 s), c 0.6" in text
    ip["reversed_gates"] = {"predicted": [-1e-8, -2e-9], "chi": 0.5}
    text = format_layer_table({**ves_result, "ip": ip})
    assert "(preferred by BIC, chi = 0.97; the 2 reversed gates: chi = 0.5)" in text


def test_conductance_and_transverse_resistance_of_each_layer(ves_result) -> None:
    ves_result["uncertainty"]["combinations"] = [
        {"layer": 1, "best_resolved": "individually"},
        {"layer": 2, "best_resolved": "conductance"},
    ]
    rows = layer_rows(ves_result)
    assert rows[0]["conductance_s"] == pytest.approx(4.1 / 120.0, rel=1e-14)
    assert rows[1]["transverse_resistance_ohmm2"] == pytest.approx(23.0 * 8.5, rel=1e-14)
    assert [r["resolved"] for r in rows] == ["individually", "conductance", None]
    assert rows[2]["conductance_s"] is None  # the half-space has neither
    csv_rows = list(csv.DictReader(io.StringIO(format_layer_csv(ves_result))))
    assert csv_rows[1]["resolved"] == "conductance" and csv_rows[2]["conductance_s"] == ""
    assert float(csv_rows[0]["conductance_s"]) == pytest.approx(4.1 / 120.0, rel=1e-14)
    body = format_layer_table(ves_result).splitlines()[2]
    assert body.split()[-1] == "S" and body.split()[-3] == f"{23.0 / 8.5:.4g}"
