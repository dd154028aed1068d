"""``geobp invert NAME@V`` checks the registry's SHA-256 of the artifact before using it."""

from __future__ import annotations

import json
import shutil

from cli_helpers import one_line_error


def test_invert_refuses_an_artifact_swapped_after_registration(
    geobp_main, networks, registry, ves_csv
) -> None:
    [artifact] = (registry["var"] / "artifacts").rglob("*.npz")

    good = geobp_main("invert", "ves-3l@1", str(ves_csv), "--format", "json")
    assert good.returncode == 0 and json.loads(good.stdout)["network"]["version"] == 1

    shutil.copy(networks["ves2"], artifact)  # a valid network, but not the registered one
    swapped = geobp_main("invert", "ves-3l@1", str(ves_csv))
    assert swapped.returncode == 1
    assert "does not match the registry's SHA-256" in one_line_error(swapped)
