"""JSON input in the REST layout: single observation, request bodies, lists, and errors."""

from __future__ import annotations

import json

import pytest

from inversion.formats import FormatError, read_observation, read_soundings

OBS = {"ab2_m": [1.0, 2.0, 4.0], "rho_a_ohmm": [10.0, 12.0, 15.0]}


def write(tmp_path, document, name="ves.json"):
    path = tmp_path / name
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return path


def test_single_observation_and_data_body(tmp_path) -> None:
    assert read_soundings(write(tmp_path, OBS)) == {"ves": OBS}
    assert read_observation(write(tmp_path, {"data": OBS})) == OBS


def test_soundings_body_and_list_with_ids(tmp_path) -> None:
    body = {"soundings": [{**OBS, "id": "V1"}, OBS]}
    assert read_soundings(write(tmp_path, body)) == {"V1": OBS, "2": OBS}
    assert list(read_soundings(write(tmp_path, [OBS, OBS]))) == ["1", "2"]


def test_syntax_error_names_line_and_column(tmp_path) -> None:
    with pytest.raises(FormatError, match=r"ves.json, line 2: invalid JSON at column \d+"):
        read_soundings(write(tmp_path, '{"ab2_m": [1, 2],\n "rho_a_ohmm": [1, 2,]}'))


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("", "the file is empty"),
        ("3", "expected a JSON object or list"),
        ('{"soundings": {}}', "'soundings' must be a list"),
        ('{"soundings": []}', "no soundings"),
        ("[1]", "each sounding must be a JSON object"),
        ('{"rho_a_ohmm": [1]}', "not an observation"),
        ('[{"id": "a", "ab2_m": [1]}, {"id": "a", "ab2_m": [1]}]', "appears twice"),
    ],
)
def test_structure_errors(tmp_path, document: str, message: str) -> None:
    with pytest.raises(FormatError, match=message):
        read_soundings(write(tmp_path, document))
