"""Number conventions, delimiters, encodings and compression: read right, or refused with the option that settles it.

Every expected value is the number a person reads in the text the test writes.
"""

import codecs
import gzip

import pytest

from scratchlstm.data import decoding, load_prices
from scratchlstm.errors import DataError

DATES = ("2019-01-31", "2019-02-01", "2019-02-02")


def table(tmp_path, header, values, sep=",", name="p.csv", encoding="utf-8"):
    """A file with one row per date: ``Date{sep}{header}`` then the given value strings."""
    rows = [f"Date{sep}{header}"] + [f"{d}{sep}{v}" for d, v in zip(DATES, values)]
    path = tmp_path / name
    path.write_text("\n".join(rows) + "\n", encoding=encoding)
    return path


@pytest.mark.parametrize(
    "sep, values, expected, decimal, thousands",
    [
        (";", ["4160,620117", "4193,700195", "4087,659912"], [4160.620117, 4193.700195, 4087.659912], ",", None),
        (",", ['"4160,620117"', '"4193,700195"', '"4087,659912"'], [4160.620117, 4193.700195, 4087.659912], ",", None),
        (";", ["4.160,62", "4.193,70", "987,5"], [4160.62, 4193.70, 987.5], ",", "."),
        (",", ['"4,160.62"', '"4,193.70"', "987.5"], [4160.62, 4193.70, 987.5], ".", ","),
        ("\t", ["4,160.62", "14,193.70", "1,000,000.5"], [4160.62, 14193.70, 1000000.5], ".", ","),
        ("|", ["4160.62", "4193.7", "4087.66"], [4160.62, 4193.7, 4087.66], ".", None),
        (";", ["1 234,50", "1 235,50", "999,25"], [1234.5, 1235.5, 999.25], ",", " "),
        (";", ["1\u202f234,50", "1\u202f235,50", "999,25"], [1234.5, 1235.5, 999.25], ",", "\u202f"),
        (",", ["1'234.50", "1'235.50", "999.25"], [1234.5, 1235.5, 999.25], ".", "'"),
        (",", ["1.5e3", "2E-2", "-0"], [1500.0, 0.02, 0.0], ".", None),
    ],
    ids=["semicolon-decimal-comma", "quoted-decimal-comma", "german", "quoted-thousands", "tab", "pipe", "french-space",
         "narrow-no-break-space", "swiss", "exponents"],
)
def test_number_conventions_are_read_as_written(tmp_path, sep, values, expected, decimal, thousands):
    if expected[-1] == 0.0:  # a zero price is refused later; read the column as a non-price one
        path = table(tmp_path, "Volume,Close", [f"{v},1" for v in values], sep=sep)
        s = load_prices(path)
        assert list(s.frame["volume"]) == expected
    else:
        s = load_prices(table(tmp_path, "Close", values, sep=sep))
        assert list(s.prices) == expected
    assert (s.detected.delimiter, s.detected.decimal, s.detected.thousands) == (sep, decimal, thousands)


def test_issue_example_decimal_comma_is_not_a_thousands_comma(tmp_path):
    s = load_prices(table(tmp_path, "Close", ["4160,620117", "4193,700195", "4087,659912"], sep=";"))
    assert s.prices.iloc[0] == 4160.620117  # the old loader stripped the comma: 4160620117


def test_ambiguous_marks_are_refused_with_the_option_that_settles_them(tmp_path):
    path = table(tmp_path, "Close", ["1,234", "1,235", "1,236"], sep=";")
    with pytest.raises(DataError, match=r"'1,234' is 1.234 with a decimal ',' or 1234 with ',' separating thousands.*decimal=") as info:
        load_prices(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    assert list(load_prices(path, decimal=",").prices) == [1.234, 1.235, 1.236]
    assert list(load_prices(path, decimal=".").prices) == [1234.0, 1235.0, 1236.0]


def test_another_column_settles_the_marks_of_the_price_column(tmp_path):
    # Volume has two commas in a number: commas separate thousands in this file, so Close is 1234
    path = table(tmp_path, "Close;Volume", ["1,234;1,234,567", "1,235;2,345,678", "1,236;3,456,789"], sep=";")
    s = load_prices(path)
    assert list(s.prices) == [1234.0, 1235.0, 1236.0] and s.frame["volume"].iloc[0] == 1234567.0
    assert s.detected.thousands == "," and s.detected.decimal is None


def test_dot_grouped_integers_are_not_taken_for_decimals(tmp_path):
    # pandas reads "1.234" as 1.234; a German file means 1234, and only the text tells (see could_be_dot_grouped)
    path = table(tmp_path, "Close;Volume", ["1.234;2.941.710", "1.235;2.975.820", "1.236;2.109.769"], sep=";")
    s = load_prices(path)
    assert list(s.prices) == [1234.0, 1235.0, 1236.0] and s.detected.thousands == "."
    ambiguous = table(tmp_path, "Close", ["1.234", "1.235", "1.236"], sep=";", name="a.csv")
    with pytest.raises(DataError, match="reads two ways"):
        load_prices(ambiguous)
    assert list(load_prices(ambiguous, decimal=".").prices) == [1.234, 1.235, 1.236]


def test_huge_whole_prices_do_not_overflow_the_grouping_check(tmp_path):
    # 1E306 has no fraction; rounding it to 3 decimals multiplied it by 1000 and overflowed (a
    # warning, an error under -W error); a case the property test found. Whole numbers need no mark.
    s = load_prices(table(tmp_path, "Close", ["1E306", "2E306", "3E306"]))
    assert list(s.prices) == [1e306, 2e306, 3e306]


def test_grouping_in_some_values_only_is_read_when_no_other_reading_fits(tmp_path):
    # the ',' of 1,234.5 cannot be a decimal mark (the '.' is): it separates thousands, here only
    s = load_prices(table(tmp_path, "Close", ['"1,234.5"', "12345.6", "2.5"]))
    assert list(s.prices) == [1234.5, 12345.6, 2.5]
    assert "thousands ',' (in some values only)" in s.describe()


@pytest.mark.parametrize(
    "sep, values, mark, lines",
    [(",", ['"45,653"', "45279", "45300"], ",", (2, 3)),  # a spreadsheet's cells formatted differently
     (";", ["1.539", "1534", "1.540"], ".", (2, 3)),  # German thousands dots in some cells
     (";", ["1534", "1535", "1.539"], ".", (4, 2))],
    ids=["comma-in-some", "german-dot-in-some", "dot-last"])
def test_a_mark_that_is_a_decimal_or_a_partial_thousands_separator_is_refused_with_lines(tmp_path, sep, values, mark, lines):
    path = table(tmp_path, "Close", values, sep=sep)
    with pytest.raises(DataError, match=rf"mixes two number formats: .*\(line {lines[0]}\).*\(line {lines[1]}\).*--decimal") as info:
        load_prices(path)
    assert "\n" not in str(info.value)
    other = "." if mark == "," else ","
    grouped = [float(v.strip('"').replace(mark, "")) for v in values]  # the mark separates thousands
    assert list(load_prices(path, decimal=other).prices) == grouped
    assert load_prices(path, decimal=other).detected.thousands_partly
    as_decimal = [float(v.strip('"').replace(mark, ".")) for v in values]
    assert list(load_prices(path, decimal=mark).prices) == as_decimal


@pytest.mark.parametrize(
    "values, unit, expected",
    [(['"$1,238.83"', '"$1,240.00"', "$999.50"], "$", [1238.83, 1240.0, 999.5]),
     (["1234.56 USD", "1240.00 USD", "1250 USD"], "USD", [1234.56, 1240.0, 1250.0]),
     (["0.00000123 BTC", "0.00000124 BTC", "0.0000013 BTC"], "BTC", [0.00000123, 0.00000124, 0.0000013]),
     (["€ 12,5", "€ 13,25", "€ 14"], "€", [12.5, 13.25, 14.0]),
     (["£12.50", "£13.25", "£14"], "£", [12.5, 13.25, 14.0])],
    ids=["dollar-thousands", "usd-suffix", "btc-tiny", "euro-prefix-decimal-comma", "pound"])
def test_one_currency_sign_or_unit_in_every_price_is_removed_and_said(tmp_path, values, unit, expected):
    sep = ";" if "," in "".join(values) and '"' not in "".join(values) else ","
    s = load_prices(table(tmp_path, "Close", values, sep=sep))
    assert list(s.prices) == expected and s.detected.unit == unit
    assert f"unit {unit!r} removed from every price" in s.describe()


@pytest.mark.parametrize("values", [["$12.5", "€13.5", "$14"], ["$12.5", "13.5", "$14"], ["12.5 USD", "13.5 EUR", "14 USD"]],
                         ids=["dollar-euro", "dollar-in-some", "usd-eur"])
def test_different_units_in_one_price_column_are_refused(tmp_path, values):
    with pytest.raises(DataError, match=r"mixes units: .*\(line 2\).*\(line 3\)\. Export the prices in one currency"):
        load_prices(table(tmp_path, "Close", values))


def test_decimal_option_that_the_file_contradicts_is_refused(tmp_path):
    path = table(tmp_path, "Close", ["4160.62", "4193.70", "4087.66"])
    with pytest.raises(DataError, match=r"cannot be read with decimal ','.*'4160.62'"):
        load_prices(path, decimal=",")
    with pytest.raises(DataError, match="decimal must be"):
        load_prices(path, decimal=";")


def test_whole_numbers_need_no_decimal_mark(tmp_path):
    s = load_prices(table(tmp_path, "Close", ["100", "101", "102"]))
    assert list(s.prices) == [100, 101, 102] and s.detected.decimal is None


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_other_delimiters_are_not_told_to_rename_the_date_column(tmp_path, sep):
    s = load_prices(table(tmp_path, "Open" + sep + "Close", [f"1{sep}2", f"3{sep}4", f"5{sep}6"], sep=sep))
    assert list(s.prices) == [2, 4, 6] and s.detected.delimiter == sep


def test_two_delimiters_that_split_alike_are_refused(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("Open;High,Close\n1;2,3\n5;6,7\n")
    with pytest.raises(DataError, match="could be separated by ',' or ';'"):
        load_prices(path)


def test_a_date_column_decides_between_two_delimiters(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("Date;Close (EUR, last)\n2019-01-31;4160,62\n2019-02-01;4193,70\n")
    s = load_prices(path, price_column="close (eur, last)")
    assert s.detected.delimiter == ";" and list(s.prices) == [4160.62, 4193.70]


def test_columns_that_collide_once_lower_cased_are_refused(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("Date,Close,close\n2019-01-31,1,2\n")
    with pytest.raises(DataError, match="'Close' and 'close' have the same name"):
        load_prices(path)


# ----------------------------------------------------------------------------------------------
# encodings and compression

TEXT = "Date;Schlusskurs (€)\n31.01.2019;4160,62\n01.02.2019;4193,70\n"


@pytest.mark.parametrize(
    "data, encoding",
    [
        (TEXT.encode("utf-8"), "UTF-8"),
        (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "UTF-8 with BOM"),
        (TEXT.encode("utf-16"), "UTF-16"),
        (codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), "UTF-16"),
        (TEXT.replace("€", "é").encode("latin-1"), "Latin-1"),
    ],
    ids=["utf8", "utf8-bom", "utf16-native", "utf16-be", "latin1"],
)
def test_encodings(tmp_path, data, encoding):
    path = tmp_path / "x.csv"
    path.write_bytes(data)
    column = "schlusskurs (é)" if encoding == "Latin-1" else "schlusskurs (€)"
    s = load_prices(path, price_column=column)
    assert list(s.prices) == [4160.62, 4193.70] and s.detected.encoding == encoding
    assert ("not UTF-8" in " ".join(s.notes)) == (encoding == "Latin-1")


def test_utf8_is_not_read_as_latin1(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(TEXT.encode("utf-8"))
    assert "schlusskurs (€)" in load_prices(path, price_column="Schlusskurs (€)").frame.columns


def test_gzip_is_recognised_by_its_magic_bytes(tmp_path):
    path = tmp_path / "prices.csv"  # no .gz: the content decides
    path.write_bytes(gzip.compress(TEXT.encode("utf-16")))
    s = load_prices(path, price_column="schlusskurs (€)")
    assert list(s.prices) == [4160.62, 4193.70]
    assert (s.detected.compression, s.detected.encoding) == ("gzip", "UTF-16")
    assert "(gzip, UTF-16)" in s.describe()


def test_multi_member_gzip(tmp_path):
    path = tmp_path / "x.csv.gz"
    half = TEXT.index("31.01")
    path.write_bytes(gzip.compress(TEXT[:half].encode()) + gzip.compress(TEXT[half:].encode()))
    assert len(load_prices(path, price_column="schlusskurs (€)").frame) == 2


def test_gzip_bomb_is_refused_before_it_fills_memory(tmp_path, monkeypatch):
    monkeypatch.setattr(decoding, "MAX_DECOMPRESSED_BYTES", 2**20)
    path = tmp_path / "bomb.csv.gz"
    path.write_bytes(gzip.compress(b"0" * (50 * 2**20)))  # 50 MiB of zeros in ~50 kB
    assert path.stat().st_size < 100_000
    with pytest.raises(DataError, match="decompresses to more than 1 MiB"):
        load_prices(path)


@pytest.mark.parametrize("data, message", [
    (gzip.compress(TEXT.encode(), mtime=0)[:40], "cut short"),  # mtime: the same bytes (and test id) in every process
    (b"\x1f\x8b" + b"\x00" * 40, "corrupt"),
    (b"PK\x03\x04" + b"\x00" * 40, "zip archive"),
    (TEXT.encode("utf-16-le"), "UTF-16 without a byte-order mark"),
], ids=["gzip-cut-short", "gzip-corrupt", "zip", "utf-16-no-bom"])
def test_broken_or_foreign_bytes_are_refused(tmp_path, data, message):
    path = tmp_path / "x.csv"
    path.write_bytes(data)
    with pytest.raises(DataError, match=message):
        load_prices(path)


def test_a_long_table_of_several_symbols_is_refused(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("symbol,date,price\nMSFT,Jan 1 2000,39.81\nAMZN,Jan 1 2000,64.56\nMSFT,Feb 1 2000,36.35\n")
    with pytest.raises(DataError, match=r"column 'symbol' holds 2 instruments \(MSFT, AMZN\).*frame\['symbol'\] == 'MSFT'.*'scratchlstm panel' after renaming the columns symbol to unique_id"):
        load_prices(path)


def test_two_columns_that_differ_by_spaces_alone_are_named_as_such():
    """They were quoted as "columns 'y' and 'y' have the same name", two names that look alike with no why."""
    import pandas as pd

    from scratchlstm.data import as_price_series
    frame = pd.DataFrame({"y": [1.0, 2.0, 3.0], " y": [1.0, 2.0, 3.0]}, index=pd.date_range("2022-01-03", periods=3))
    with pytest.raises(DataError, match=r"columns 'y' and 'y' have the same name once the spaces around them are dropped"):
        as_price_series(frame)
