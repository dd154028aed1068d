"""The further real soundings in tests/data/field_more (README there: sources and caveats) read
as they are and are accepted by the served path: no real file is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

import inversion
from inversion.served.parse import parse_served

FIELD_MORE = Path(__file__).resolve().parents[2] / "data" / "field_more"
FILES = sorted(p for p in FIELD_MORE.iterdir() if p.suffix in (".csv", ".edi"))
FLOOR = {"rho_a_rel": 0.05, "phase_deg": 1.5}


def test_the_folder_holds_the_soundings_its_readme_lists():
    readme = (FIELD_MORE / "README.md").read_text()
    assert len(FILES) == 19
    for path in FILES:
        assert f"`{path.name}`" in readme or path.stem in readme, path.name


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_each_file_reads_and_is_accepted_by_the_served_path(path):
    soundings = inversion.read_soundings(str(path))
    assert len(soundings) == 1
    (obs,) = soundings.values()
    served = parse_served(obs, FLOOR)
    assert served.obs.data.size >= 10 and served.spec.name.split("-")[0] in path.name
