"""Malformed EDI files: each case raises FormatError naming the line and the block."""

from __future__ import annotations

import numpy as np
import pytest

from inversion.formats import FormatError, format_edi_impedance, parse_edi, read_edi
from inversion.formats.edi import read_edi_file
from inversion.formats.mt_modes import edi_observation

FREQ = np.array([100.0, 10.0, 1.0])


def good_text(**kwargs) -> str:
    z = np.zeros((3, 2, 2), complex)
    z[:, 0, 1], z[:, 1, 0] = 1 + 1j, -1 - 1j
    return format_edi_impedance(FREQ, z, **kwargs)


def replace_line(text: str, startswith: str, offset: int, new: str) -> str:
    lines = text.splitlines()
    i = next(i for i, line in enumerate(lines) if line.startswith(startswith))
    lines[i + offset] = new
    return "\n".join(lines) + "\n"


def error_of(text: str, mode: str = "det") -> FormatError:
    with pytest.raises(FormatError) as info:
        edi_observation(parse_edi(text, "bad.edi"), mode)
    return info.value


def test_good_text_reads() -> None:
    assert len(edi_observation(parse_edi(good_text()), "te")["periods_s"]) == 3


def test_empty_file() -> None:
    assert "empty" in str(error_of(""))


def test_not_an_edi_file() -> None:
    err = error_of("AB/2,rhoa\n1,2\n")
    assert "no >HEAD" in str(err) and err.line == 1


def test_truncated_file_without_end() -> None:
    text = good_text().replace(">END", "")
    err = error_of(text)
    assert err.field == "END" and "truncated" in str(err)


def test_non_numeric_value_names_line_and_block() -> None:
    text = replace_line(good_text(), ">ZXYI", 1, "  1.0 abc 1.0")
    err = error_of(text)
    assert err.field == "ZXYI" and err.line == text.splitlines().index("  1.0 abc 1.0") + 1
    assert "'abc' is not a number" in str(err)


def test_nan_value() -> None:
    err = error_of(replace_line(good_text(), ">ZXYR", 1, "  1.0 nan 1.0"))
    assert err.field == "ZXYR" and "not a finite number" in str(err)


def test_block_count_mismatch() -> None:
    err = error_of(replace_line(good_text(), ">ZYXR", 1, "  1.0 1.0"))
    assert err.field == "ZYXR" and "declares 3 values but holds 2" in str(err)


def test_block_length_differs_from_frequencies() -> None:
    text = replace_line(good_text(), ">ZYXR", 0, ">ZYXR ROT=ZROT")
    text = replace_line(text, ">ZYXR", 1, "  1.0 1.0")
    err = error_of(text)
    assert err.field == "ZYXR" and "2 values for 3 frequencies" in str(err)


def test_nfreq_mismatch() -> None:
    err = error_of(good_text().replace("NFREQ=3", "NFREQ=4"))
    assert err.field == "NFREQ"


def test_missing_frequency_block() -> None:
    text = replace_line(good_text(), ">FREQ", 0, ">!FREQ removed!")
    assert error_of(text).field == "FREQ"


def test_negative_frequency() -> None:
    err = error_of(good_text().replace("1.0000000000000000E+02", "-1.0000000000000000E+02", 1))
    assert err.field == "FREQ" and "must be positive" in str(err)


def test_repeated_frequency() -> None:
    text = good_text().replace("1.0000000000000000E+01", "1.0000000000000000E+02", 1)
    assert "repeated" in str(error_of(text))


def test_missing_components_for_the_determinant() -> None:
    text = replace_line(good_text(), ">ZXXR", 0, ">!ZXXR removed!")
    err = error_of(text, "det")
    assert err.field == "ZXXR" and "choose mode te or tm" in str(err)


def test_missing_component_for_tm() -> None:
    text = replace_line(good_text(), ">ZYXI", 0, ">!ZYXI removed!")
    assert error_of(text, "tm").field == "ZYXR"


def test_negative_variance() -> None:
    variance = np.full((3, 2, 2), 0.01)
    text = replace_line(good_text(z_variance=variance), ">ZXY.VAR", 1, "  0.01 -0.01 0.01")
    err = error_of(text, "te")
    assert err.field == "ZXY.VAR" and "negative" in str(err)


def test_spectra_section_is_refused() -> None:
    text = good_text().replace(">=MTSECT", ">=SPECTRASECT\n>SPECTRA FREQ=1 // 2\n 1 2\n>=MTSECT")
    assert "spectra" in str(error_of(text))


def test_duplicate_block() -> None:
    text = good_text().replace(">END", ">ZROT // 3\n 0 0 0\n>END")
    assert error_of(text).field == "ZROT"


def test_bad_count_declaration() -> None:
    err = error_of(good_text().replace(">ZROT // 3", ">ZROT // three"))
    assert err.field == "ZROT" and "not an integer" in str(err)


def test_unknown_mode(tmp_path) -> None:
    path = tmp_path / "x.edi"
    path.write_text(good_text())
    with pytest.raises(ValueError, match="mode must be one of det, te"):
        read_edi(path, "rotated")


def test_every_value_empty() -> None:
    text = replace_line(good_text(), ">ZXYR", 1, "  1.0E32 1.0E32 1.0E32")
    assert "every value of mode te is EMPTY" in str(error_of(text, "te"))


def test_empty_frequency() -> None:
    text = good_text().replace("1.0000000000000000E+00", "1.0E32", 1)
    err = error_of(text)
    assert err.field == "FREQ" and "EMPTY" in str(err)


def test_error_message_names_the_file(tmp_path) -> None:
    path = tmp_path / "site7.edi"
    path.write_text(replace_line(good_text(), ">ZXYI", 1, "  1.0 x 1.0"))
    with pytest.raises(FormatError, match=r"^site7\.edi, line \d+, field 'ZXYI': 'x'"):
        read_edi_file(path)
