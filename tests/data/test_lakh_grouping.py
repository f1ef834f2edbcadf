"""Indian digit grouping (lakh, crore: 1,23,45,678.90) is read, as its ',' can only separate digits; a column that
groups in lakhs and in thousands, or a value that no convention reads, is refused naming what is wrong, never one
value quoted as two examples."""

import pandas as pd
import pytest

from scratchlstm.data import load_prices
from scratchlstm.data.numbers import read_numbers
from scratchlstm.errors import DataError

MONTHS = pd.date_range("2022-01-31", periods=40, freq="ME")


def _close(tmp_path, values):
    path = tmp_path / "p.csv"
    path.write_text("Date,Close\n" + "".join(f'{m:%Y-%m-%d},"{v}"\n' for m, v in zip(MONTHS, values)))
    return path


@pytest.mark.parametrize("written, number", [
    ("30,78,650.00", 3078650.0),  # the red team's file
    ("1,23,45,678.90", 12345678.9),  # a crore
    ("98,76,54,321", 987654321.0),
    ("12,345.50", 12345.5),  # below a lakh: grouped as in thousands
    ("999.25", 999.25),
])
def test_lakh_grouped_prices_are_read_as_written(tmp_path, written, number):
    """It was refused with "(e.g. '30,78,650.00' and '30,78,650.00'). Export the column again with one number format"."""
    values = ["30,78,650.00", "31,12,345.50", "1,23,456.00", written] * 10
    series = load_prices(_close(tmp_path, values))
    assert series.prices.iloc[:4].tolist() == [3078650.0, 3112345.5, 123456.0, number]
    assert series.detected.decimal == "." and series.detected.thousands == ","


def test_the_grouping_is_named_in_the_number_format():
    frame = pd.DataFrame({"close": ["30,78,650.00", "1,234.00"]})
    _, found = read_numbers(frame, ["close"], price_column="close", decimal=None, source="p.csv")
    assert (found.decimal, found.thousands, found.grouping) == (".", ",", "lakh")
    _, western = read_numbers(pd.DataFrame({"close": ["3,078,650.00", "1,234.00"]}), ["close"], price_column="close",
                              decimal=None, source="p.csv")
    assert (western.thousands, western.grouping) == (",", None)


def test_lakhs_beside_thousands_are_refused_naming_both(tmp_path):
    path = _close(tmp_path, ["1,23,456.00", "123,456.00"] * 20)
    with pytest.raises(DataError, match=r"follow no single convention for decimal and thousands marks \(e\.g\. '1,23,456\.00' "
                                        r"and '123,456\.00'\)\. Export the column again with one number format, without "
                                        r"thousands separators \(1234\.5\)$"):
        load_prices(path)


@pytest.mark.parametrize("value", ["1,2,3.00", "1,23,456,00"])
def test_a_value_no_convention_reads_is_named_once(tmp_path, value):
    """The refusal quoted the same value as both of its examples."""
    with pytest.raises(DataError, match=rf"'{value}' in column 'close' is a number in no convention for decimal and thousands "
                                        r"marks .*\. Fix that value, or export the column again without thousands separators"):
        load_prices(_close(tmp_path, [value] * 40))


def test_the_fix_the_refusal_names_reads_the_file(tmp_path):
    path = _close(tmp_path, ["1,23,456.00", "123,456.00"] * 20)
    with pytest.raises(DataError):
        load_prices(path)
    exported = _close(tmp_path, ["123456.00", "123456.00"] * 20)  # "without thousands separators"
    assert load_prices(exported).prices.iloc[0] == 123456.0


def test_a_decimal_comma_is_not_read_as_lakh_grouping(tmp_path):
    series = load_prices(_close(tmp_path, ["98,58", "12,34"] * 20))
    assert series.prices.iloc[:2].tolist() == [98.58, 12.34] and series.detected.decimal == ","


def test_the_data_line_says_the_digits_were_grouped_the_indian_way(tmp_path):
    series = load_prices(_close(tmp_path, ["30,78,650.00", "31,12,345.50"] * 20))
    assert "thousands ',' (Indian grouping: 1,23,45,678)" in series.describe()
    western = load_prices(_close(tmp_path, ["3,078,650.00", "3,112,345.50"] * 20))
    assert "thousands ','" in western.describe() and "Indian" not in western.describe()
