"""Malformed sounding tables: each case raises FormatError naming the line and the field."""

from __future__ import annotations

import pytest

from inversion.formats import FormatError, parse_table, read_observation, read_table


def error_of(text: str) -> FormatError:
    with pytest.raises(FormatError) as info:
        parse_table(text, "ves.csv")
    assert isinstance(info.value, ValueError)
    return info.value


def test_non_numeric_value() -> None:
    err = error_of("AB/2,MN/2,rhoa\n1,0.5,100\n2,0.5,abc\n")
    assert (err.line, err.field) == (3, "rhoa")
    assert "'abc' is not a number" in str(err) and "line 3" in str(err)


def test_nan_value() -> None:
    err = error_of("AB/2,rhoa\n1,100\nnan,120\n")
    assert (err.line, err.field) == (3, "AB/2") and "not a finite number" in str(err)


def test_infinite_value() -> None:
    err = error_of("AB/2,rhoa\n1,inf\n")
    assert (err.line, err.field) == (2, "rhoa")


def test_negative_value() -> None:
    err = error_of("AB/2,MN/2,rhoa\n1,0.5,100\n2,0.5,-3\n")
    assert (err.line, err.field) == (3, "rhoa") and "negative" in str(err)


def test_zero_spacing() -> None:
    err = error_of("AB/2,rhoa\n0,100\n")
    assert (err.line, err.field) == (2, "AB/2") and "zero" in str(err)


def test_missing_value_in_a_row() -> None:
    err = error_of("AB/2,MN/2,rhoa\n1,0.5,100\n2,,120\n")
    assert (err.line, err.field) == (3, "MN/2") and "missing value" in str(err)


def test_short_row() -> None:
    err = error_of("AB/2,MN/2,rhoa\n1,0.5,100\n2,0.5\n")
    assert (err.line, err.field) == (3, "rhoa") and "2 values but the header has 3" in str(err)


def test_long_row() -> None:
    err = error_of("AB/2,rhoa\n1,100,7\n")
    assert err.line == 2 and "3 values but the header has 2" in str(err)


def test_missing_resistivity_column() -> None:
    err = error_of("AB/2,MN/2\n1,0.5\n")
    assert err.line == 1 and err.field == "rho_a" and "missing column" in str(err)


def test_missing_spacing_column() -> None:
    err = error_of("rhoa,err (%)\n100,3\n")
    assert err.line == 1 and "no spacing or period column" in str(err)


def test_raw_form_without_mn2() -> None:
    err = error_of("AB/2 (m),I (mA),V (mV)\n10,100,20\n")
    assert err.field == "mn2" and "geometric factor" in str(err)


def test_raw_form_with_only_current() -> None:
    err = error_of("AB/2 (m),MN/2 (m),I (mA)\n10,1,100\n")
    assert err.field == "rho_a" and "voltage" in str(err)


def test_mn2_not_smaller_than_ab2() -> None:
    err = error_of("AB/2,MN/2,rhoa\n1,0.5,100\n2,2,100\n")
    assert (err.line, err.field) == (3, "MN/2")


def test_unknown_resistivity_unit() -> None:
    err = error_of("AB/2 (m),rho_a (kohm)\n1,1\n")
    assert err.line == 1 and err.field == "rho_a (kohm)" and "unknown unit 'kohm'" in str(err)


def test_unknown_length_unit() -> None:
    err = error_of("AB/2 (furlong),rho_a\n1,1\n")
    assert err.field == "AB/2 (furlong)" and "unknown unit" in str(err)


def test_error_column_without_unit_is_not_guessed() -> None:
    err = error_of("AB/2,rhoa,error\n1,100,3\n")
    assert err.field == "error" and "needs a unit" in str(err)


def test_current_without_unit_is_not_guessed() -> None:
    err = error_of("AB/2,MN/2,I,V (mV)\n10,1,100,20\n")
    assert err.field == "I" and "needs a unit" in str(err)


def test_fraction_error_of_one_or_more() -> None:
    err = error_of("AB/2,rhoa,error (fraction)\n1,100,3\n")
    assert (err.line, err.field) == (2, "error (fraction)") and "below 1" in str(err)


def test_phase_outside_first_quadrant() -> None:
    err = error_of("period (s),rhoa,phase (deg)\n1,100,-135\n")
    assert (err.line, err.field) == (2, "phase (deg)")


def test_empty_file(tmp_path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(FormatError, match="empty.csv: the file is empty"):
        read_table(path)


def test_comments_only_file() -> None:
    assert "empty" in str(error_of("# nothing here\n\n"))


def test_header_only() -> None:
    err = error_of("AB/2,rhoa\n")
    assert err.line == 1 and "no data rows" in str(err)


def test_no_header_row() -> None:
    err = error_of("1,0.5,100\n2,0.5,120\n")
    assert err.line == 1 and "not column names" in str(err)


def test_duplicate_quantity_columns() -> None:
    err = error_of("AB/2,rhoa,app_res\n1,2,3\n")
    assert err.field == "app_res" and "two columns" in str(err)


def test_two_kinds_of_axis() -> None:
    assert "one kind of sounding" in str(error_of("AB/2,period,rhoa\n1,1,1\n"))


def test_not_utf8(tmp_path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("AB/2,rho (\xb5)\n".encode("latin-1"))
    with pytest.raises(FormatError, match="not UTF-8"):
        read_table(path)


def test_profile_file_given_where_one_sounding_is_expected(tmp_path) -> None:
    path = tmp_path / "profile.csv"
    path.write_text("sounding,AB/2,rhoa\nA,1,1\nB,1,1\n")
    with pytest.raises(FormatError, match="holds 2 soundings"):
        read_observation(path)


def test_missing_file_raises_oserror(tmp_path) -> None:
    with pytest.raises(OSError):
        read_table(tmp_path / "nope.csv")
