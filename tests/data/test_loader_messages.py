"""What a new user's first files met: each is read when the data allows, else refused with the fix that applies.

Every file is written here, with its expected values or message next to it.
"""

import io
import zipfile

import numpy as np
import pandas as pd
import pytest

from scratchlstm.data import DataWarning, as_price_series, load_prices
from scratchlstm.errors import DataError

DATES = pd.bdate_range("2020-01-01", periods=40)


def closes(tmp_path, values, dates=DATES, name="p.csv"):
    path = tmp_path / name
    pd.DataFrame({"Date": dates.strftime("%Y-%m-%d"), "Close": values}).to_csv(path, index=False)
    return path


# ----------------------------------------------------------------------------------------------
# a whole part of 0 settles the decimal mark: no number groups its thousands after a first group of 0

SMALL = [f"{0.85 + 0.02 * np.sin(k / 5):.3f}" for k in range(40)]  # 0.850, 0.854, ...: three decimals, all below 1


@pytest.mark.parametrize("text, decimal", [
    (SMALL, "."),
    ([v.replace(".", ",") for v in SMALL], ","),  # 0,850: a decimal comma
    ([v[1:] for v in SMALL], "."),  # .850
])
def test_prices_below_one_with_three_decimals_read_as_decimals(tmp_path, text, decimal):
    expected = [float(v) for v in SMALL]
    from_file = load_prices(closes(tmp_path, text))
    in_memory = as_price_series(pd.DataFrame({"Close": text}, index=DATES))  # text numbers: read_numbers alone decides
    for s in (from_file, in_memory):
        assert list(s.prices) == expected and s.detected.decimal == decimal and s.detected.thousands is None


def test_one_value_below_one_settles_the_column(tmp_path):
    text = ["0,850"] + ["1,234"] * 39  # 1,234 alone is 1234 or 1.234; beside 0,850 the ',' is a decimal comma
    s = load_prices(closes(tmp_path, text))
    assert s.prices.iloc[0] == 0.85 and s.prices.iloc[1] == 1.234 and s.detected.decimal == ","


@pytest.mark.parametrize("text", [["1.234"] * 40, ["1,234"] * 40, ["10.500"] * 40])
def test_three_decimals_above_one_are_still_ambiguous(tmp_path, text):
    with pytest.raises(DataError, match="reads two ways.*Pass decimal='.' or decimal=','"):
        load_prices(closes(tmp_path, text))
    with pytest.raises(DataError, match="reads two ways"):
        as_price_series(pd.DataFrame({"Close": text}, index=DATES))


# ----------------------------------------------------------------------------------------------
# Windows-1252: the euro sign and its neighbours are C1 control characters in Latin-1

def test_a_windows_1252_file_with_euro_signs_is_read_as_windows_1252(tmp_path):
    values = [4160.62 + k for k in range(40)]
    text = "Datum;Kurs\n" + "".join(f"{d:%Y-%m-%d};{f'{v:.2f}'.replace('.', ',')} €\n" for d, v in zip(DATES, values))
    path = tmp_path / "kurs.csv"
    path.write_bytes(text.encode("cp1252"))  # € is the byte 0x80
    s = load_prices(path)
    assert list(s.prices) == pytest.approx(values) and s.detected.unit == "€"
    assert s.detected.encoding == "Windows-1252" and "read as Windows-1252" in " ".join(s.notes)


def test_a_latin_1_file_without_c1_bytes_is_read_as_latin_1(tmp_path):
    path = tmp_path / "kurs.csv"
    path.write_bytes("Datum;Schlusskurs (£)\n2020-01-01;1,5\n2020-01-02;1,6\n".encode("latin-1"))
    s = load_prices(path)
    assert s.detected.encoding == "Latin-1" and "schlusskurs (£)" == s.price_column and list(s.prices) == [1.5, 1.6]


def test_c1_bytes_that_windows_1252_does_not_define_are_read_as_latin_1(tmp_path):
    path = tmp_path / "kurs.csv"  # 0x81 means nothing in Windows-1252: nothing to prefer over Latin-1
    path.write_bytes(b"Date,Close,Note\n2020-01-01,1.5,a\x81\n2020-01-02,1.6,b\n")
    assert load_prices(path).detected.encoding == "Latin-1"


# ----------------------------------------------------------------------------------------------
# a note below the prices

YAHOO = "Date,Close\n" + "".join(f"{d:%Y-%m-%d},{100 + k}\n" for k, d in enumerate(DATES))


@pytest.mark.parametrize("note, message", [
    ("\nSource: Yahoo Finance. Data as of 2022-08-18\n",
     r"the last line \(line 43: 'Source: Yahoo Finance. Data as of 2022-08-18'\) is not a row of prices but text \(a note\?\)\. "
     "Delete that line$"),
    ("Source: Yahoo Finance\nCopyright 2022 Yahoo Inc.\n",
     r"the last 2 lines \(from line 42: 'Source: Yahoo Finance'\) are not rows of prices but text \(a note\?\)\. Delete those lines$"),
])
def test_a_note_below_the_prices_is_named_as_one(tmp_path, note, message):
    path = tmp_path / "p.csv"
    path.write_text(YAHOO + note)
    with pytest.raises(DataError, match=message):
        load_prices(path)


def test_a_note_below_an_in_memory_table_is_named_by_its_row():
    frame = pd.DataFrame({"Date": [*DATES.strftime("%Y-%m-%d"), "Data provided by Yahoo"], "Close": [*range(40), None]})
    with pytest.raises(DataError, match=r"the last row \(row 41: 'Data provided by Yahoo'\) .*Delete that row$"):
        as_price_series(frame)


@pytest.mark.parametrize("dates, example", [
    ([*DATES.strftime("%Y-%m-%d")[:-1], "yesterday"], "yesterday"),  # one word: a bad date as much as a note
    ([*DATES.strftime("%Y-%m-%d")[:-2], "Source: Yahoo", "2020-02-25"], "Source: Yahoo"),  # not the last line
    (["Source: Yahoo", *DATES.strftime("%Y-%m-%d")[1:]], "Source: Yahoo"),  # the first line
    ([*DATES.strftime("%Y-%m-%d")[:-1], "Janury 31st, 2020"], "Janury 31st, 2020"),  # a misspelt date
])
def test_text_that_is_not_a_note_below_the_prices_keeps_the_general_refusal(tmp_path, dates, example):
    path = tmp_path / "p.csv"
    path.write_text("Date,Close\n" + "".join(f'"{d}",{k + 1}\n' for k, d in enumerate(dates)))
    with pytest.raises(DataError, match=rf"are not dates \(first: '{example}'\)\. Use one date format"):
        load_prices(path)


# ----------------------------------------------------------------------------------------------
# an Excel workbook

def zipped(names) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<x/>")
    return buffer.getvalue()


def test_an_excel_workbook_is_named_with_the_ways_to_read_it(tmp_path):
    path = tmp_path / "prices.xlsx"
    path.write_bytes(zipped(["[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/worksheets/sheet1.xml"]))
    with pytest.raises(DataError, match=r"this is an Excel workbook, not a CSV or JSON price file\. Save the sheet as CSV .*"
                                        r"pandas\.read_excel and pass the DataFrame to as_price_series or run_forecast$"):
        load_prices(path)


@pytest.mark.parametrize("names", [["prices.csv"], ["[Content_Types].xml", "word/document.xml"]])
def test_another_zip_archive_is_refused_as_one(tmp_path, names):
    path = tmp_path / "prices.zip"
    path.write_bytes(zipped(names))
    with pytest.raises(DataError, match="this is a zip archive, not a price file. Extract the CSV from it and pass that$"):
        load_prices(path)


# ----------------------------------------------------------------------------------------------
# dates written year/day/month

YEAR_DAY_MONTH = pd.date_range("2017-08-18", periods=40)


@pytest.mark.parametrize("sep, time", [("/", ""), ("-", ""), (".", " 14:30")])
def test_year_day_month_dates_name_the_format_that_reads_them(tmp_path, sep, time):
    written = [f"{d:%Y}{sep}{d:%d}{sep}{d:%m}{time}" for d in YEAR_DAY_MONTH]
    path = tmp_path / "p.csv"
    path.write_text("Date,Close\n" + "".join(f"{d},{k + 1}\n" for k, d in enumerate(written)))
    fmt = f"%Y{sep}%d{sep}%m" + (" %H:%M" if time else "")  # quoted in the flag: a shell splits it at the space
    message = (rf"not real dates or times \(first: '{written[0]}'\), but every value is a real date with its last two fields read "
               rf"as day then month\. Pass date_format='{fmt}' \(--date-format '{fmt}'\) if the dates are written that way$")
    with pytest.raises(DataError, match=message):
        load_prices(path)
    s = load_prices(path, date_format=fmt)
    assert s.frame.index[0] == YEAR_DAY_MONTH[0] + (pd.Timedelta(hours=14, minutes=30) if time else pd.Timedelta(0))


@pytest.mark.parametrize("dates", [
    ["2019-02-30", "2019-03-01"],  # a real typo: swapped, 2019-30-02 is no date either
    ["2019/13/01", "2019/01/02", "2019/02/03", "2019/03/04"],  # all read swapped, but one bad value of four is not most
])
def test_other_impossible_dates_are_refused_as_before(tmp_path, dates):
    path = tmp_path / "p.csv"
    path.write_text("Date,Close\n" + "".join(f"{d},{k + 1}\n" for k, d in enumerate(dates)))
    with pytest.raises(DataError, match=r"are not real dates or times \(first: '[^']*'\)\. Fix or delete those rows$"):
        load_prices(path)


# ----------------------------------------------------------------------------------------------
# two columns that each name a price: the one taken is said, except Close beside Adj Close (Yahoo's pair)

@pytest.mark.parametrize("columns, taken, noted", [
    (["Price", "Close"], "close", True),
    (["Last", "Price"], "price", True),
    (["Close", "Last", "Adj Close"], "adj close", True),
    (["Adj Close", "Close"], "adj close", False),
    (["Close"], "close", False),
])
def test_a_second_price_column_is_named_in_a_note(tmp_path, columns, taken, noted):
    frame = pd.DataFrame({"Date": DATES.strftime("%Y-%m-%d")})
    for k, name in enumerate(columns):
        frame[name] = 100.0 + k + np.arange(40)  # each column its own prices, so the one taken shows in the values
    path = tmp_path / "two.csv"
    frame.to_csv(path, index=False)
    s = load_prices(path)
    assert s.price_column == taken
    assert s.prices.iloc[0] == 100.0 + [c.lower() for c in columns].index(taken)
    said = [n for n in s.notes if "columns name a price" in n]
    assert bool(said) == noted
    if noted:
        assert f"{taken!r} is taken" in said[0] and "--price-column" in said[0]
        assert all(repr(c.lower()) in said[0] for c in columns if c.lower() != "close" or taken != "adj close")
    assert load_prices(path, price_column=columns[-1]).prices.iloc[0] == 100.0 + len(columns) - 1  # the way out works


def test_a_repeated_header_is_named_as_one(tmp_path):
    """Two downloads joined: the second header got advice on date formats, and --date-format then failed on 'Date'."""
    first = pd.DataFrame({"Date": DATES[:30].strftime("%Y-%m-%d"), "Close": np.arange(30) + 100.0})
    second = pd.DataFrame({"Date": DATES[25:].strftime("%Y-%m-%d"), "Close": np.arange(25, 40) + 100.0})
    path = tmp_path / "joined.csv"
    path.write_text(first.to_csv(index=False) + second.to_csv(index=False))
    with pytest.raises(DataError, match=r"1 line\(s\) repeat the header \(first line 32: 'Date'\), as two files joined into "
                                        r"one do\. Delete the repeated header line\(s\)"):
        load_prices(path)
    path.write_text(first.to_csv(index=False) + second.to_csv(index=False, header=False))  # the fix: the overlap agrees
    with pytest.warns(DataWarning, match="5 duplicated time stamp"):
        assert len(load_prices(path).prices) == 40


@pytest.mark.parametrize("above", [True, False])
def test_a_dividend_line_without_a_price_on_a_priced_date_gives_way_to_the_price(tmp_path, above):
    """Yahoo's web table lists a dividend line ("Feb 19, 2013  0.23 Dividend") beside the price line of that date:
    keeping the first row of the stamp kept the empty one, then the price was refused as missing, or filled with
    the day before's, under a note that said the prices "agree"."""
    rows = [f"{d:%Y-%m-%d},{100 + k}.25" for k, d in enumerate(DATES)]
    rows.insert(20 if above else 21, f"{DATES[20]:%Y-%m-%d},")
    path = tmp_path / "div.csv"
    path.write_text("Date,Close\n" + "\n".join(rows) + "\n")
    with pytest.warns(DataWarning):
        s = load_prices(path)
    assert len(s.prices) == 40 and s.prices.iloc[20] == 120.25
    said = [n for n in s.notes if "duplicated time stamp" in n]
    assert said and "a row had no price (a dividend or split line?) and the row with the price was kept" in said[0]
    assert "agree" not in said[0]


# ----------------------------------------------------------------------------------------------
# exports of real sites: Nasdaq.com's Close/Last, Yahoo's web table's footnote marks, Excel's empty rows

def test_nasdaq_close_last_and_yahoo_footnote_marks_are_price_columns(tmp_path):
    nasdaq = tmp_path / "nasdaq.csv"  # newest first, month/day/year, dollar signs
    nasdaq.write_text("Date,Close/Last,Volume,Open,High,Low\n" + "".join(
        f"{d:%m/%d/%Y},${100 + k}.25,1000,$1.00,$1.00,$1.00\n" for k, d in enumerate(DATES[::-1])))
    s = load_prices(nasdaq)
    assert s.price_column == "close/last" and s.prices.iloc[-1] == 100.25
    yahoo = tmp_path / "yahoo-web.csv"
    yahoo.write_text("Date,Open,High,Low,Close*,Adj Close**,Volume\n" + "".join(
        f"{d:%Y-%m-%d},1,1,1,{100 + k}.5,{90 + k}.5,10\n" for k, d in enumerate(DATES)))
    assert load_prices(yahoo).price_column == "adj close" and load_prices(yahoo).prices.iloc[0] == 90.5
    assert load_prices(yahoo, price_column="Close*").prices.iloc[0] == 100.5  # as the header writes it


def test_rows_of_empty_fields_under_the_table_are_left_out_with_a_note(tmp_path):
    """Excel saves ',,,' rows under a table: they were read as dates '' and refused, with no line number."""
    path = tmp_path / "excel.csv"
    path.write_text("Date,Open,Close,Volume\n" + "".join(f"{d:%Y-%m-%d},1,{100 + k}.5,10\n" for k, d in enumerate(DATES))
                    + ",,,\n,,,\n")
    s = load_prices(path)
    assert len(s.prices) == 40
    assert "2 row(s) hold only empty fields (first line 42: ,,,...), as a spreadsheet saves the rows under a table: left out" in s.notes


def test_empty_rows_inside_priced_months_are_sent_to_drop_only(tmp_path):
    """A Yahoo monthly download lists dividend dates as rows without a price: the advice named ffill too, which then
    gave those months a second row and was refused."""
    months = pd.date_range("2010-01-01", periods=36, freq="MS")
    rows = [f"{m:%Y-%m-%d},{100 + k}.5" for k, m in enumerate(months)]
    rows += [f"{m + pd.Timedelta(days=9):%Y-%m-%d}," for m in months[2::6]]  # dividend rows on the 10th
    path = tmp_path / "monthly.csv"
    path.write_text("Date,Close\n" + "\n".join(sorted(rows)) + "\n")
    with pytest.raises(DataError, match=r"6 row\(s\) have no close price, each in a month that has a row with one \(dividend "
                                        r"or split lines\?\)\. Pass missing='drop' \(--missing drop\) to drop them$"):
        load_prices(path)
    assert len(load_prices(path, missing="drop").prices) == 36


def test_the_repeated_hour_of_a_clock_going_back_is_named_as_one(tmp_path):
    """Hourly weather in New York local time repeats 01:00 on 2013-11-03: it was refused as two downloads that
    disagree, and the fix it named (delete one download's rows) did not apply."""
    hours = pd.date_range("2013-11-02 00:00", "2013-11-04 00:00", freq="h")
    stamps = list(hours[:26]) + [hours[25]] + list(hours[26:])  # 01:00 on Sunday twice
    path = tmp_path / "local.csv"
    path.write_text("Date,Close\n" + "".join(f"{t:%Y-%m-%d %H:%M},{50 + k * 0.37:.2f}\n" for k, t in enumerate(stamps)))
    with pytest.raises(DataError, match=r"each is an early hour of a Sunday in spring or autumn, as when a clock goes back.*"
                                        r"Save the stamps in UTC, or with their offsets"):
        load_prices(path)


def test_r_style_year_month_stamps_and_a_year_column_are_dates(tmp_path):
    """R's tsibble writes months as '1960 Jan', and R's data sets name a yearly stamp 'year': both were refused."""
    months = pd.date_range("1960-01-01", periods=48, freq="MS")
    path = tmp_path / "ym.csv"
    path.write_text("Month,Close\n" + "".join(f"{m:%Y %b},{100 + k}\n" for k, m in enumerate(months)))
    s = load_prices(path)
    assert s.frequency.kind == "M" and s.frame.index[0] == pd.Timestamp("1960-01-01") and "(%Y %b)" in s.describe()
    years = tmp_path / "nile.csv"
    years.write_text("year,flow\n" + "".join(f"{1871 + k},{1000 + 3 * k}\n" for k in range(100)))
    s = load_prices(years)
    assert s.frequency.kind == "Y" and len(s.prices) == 100 and s.frame.index[0] == pd.Timestamp("1871-01-01")
