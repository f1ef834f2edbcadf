"""Reading a panel's files: the ids of a long-format table kept apart as written, a folder's series named by
their whole file name, and a long-format file given where one price file is expected."""

import gzip

import numpy as np
import pandas as pd
import pytest

from scratchlstm.data import load_prices
from scratchlstm.data.options import LoadOptions
from scratchlstm.data.panel import load_panel
from scratchlstm.errors import DataError
from tests.forecast.test_panel import ar_returns_series, dated_rows_of, write_long


def _long_rows(name, series):
    return pd.DataFrame({"unique_id": name, "ds": series.frame.index.strftime("%Y-%m-%d"), "y": series.prices.to_numpy()})


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_ids_that_differ_only_by_spaces_around_them_are_refused_naming_them(tmp_path, suffix):
    """'store_1' and 'store_1 ' were read as one series of both series' rows, without a word."""
    first, second = ar_returns_series(1, 40), ar_returns_series(2, 40, start="2001-01-01")
    table = pd.concat([_long_rows("store_1", first), _long_rows("store_1 ", second), _long_rows(" other", first)])
    path = tmp_path / f"ids{suffix}"
    table.to_parquet(path, index=False) if suffix == ".parquet" else table.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"1 unique_id value\(s\) differ only by spaces around them \('store_1' and 'store_1 '\)"):
        load_panel(path)
    alone = tmp_path / f"alone{suffix}"  # an id with spaces and no twin is read without them, as before
    table = table[table["unique_id"] != "store_1 "]
    table.to_parquet(alone, index=False) if suffix == ".parquet" else table.to_csv(alone, index=False)
    assert list(load_panel(alone)) == ["store_1", "other"]


@pytest.mark.parametrize("null", [None, np.nan])
def test_parquet_rows_without_an_id_are_refused_as_the_csv_ones_are(tmp_path, null):
    """A null id became a series 'None' (or 'nan') of every id-less row."""
    table = pd.concat([_long_rows(null, ar_returns_series(1, 40)), _long_rows("b", ar_returns_series(2, 40))])
    path = tmp_path / "ids.parquet"
    table.to_parquet(path, index=False)
    with pytest.raises(DataError, match="ids.parquet: 40 rows have no unique_id; name the series of every row"):
        load_panel(path)


def test_a_folder_names_each_series_by_its_file_name_without_the_known_suffixes(tmp_path):
    """BRK.A.csv and BRK.B.csv were both the series 'BRK', refused as '(BRK.B.csv and another)'."""
    rows = dated_rows_of(ar_returns_series(1, 40))
    for name in ("BRK.A.csv", "BRK.B.csv", "prices v1.5.csv", "air.csv.gz"):
        (tmp_path / name).write_bytes(gzip.compress(rows.encode()) if name.endswith(".gz") else rows.encode())
    assert list(load_panel(tmp_path)) == ["BRK.A", "BRK.B", "air", "prices v1.5"]
    (tmp_path / "air.txt").write_text(rows)
    with pytest.raises(DataError, match=r"two files name the series 'air' \(air.csv.gz and air.txt\); rename one"):
        load_panel(tmp_path)


def test_a_folder_says_which_of_its_files_and_folders_it_did_not_read(tmp_path):
    """air.parquet and the subfolder sub/ were skipped without a word."""
    (tmp_path / "air.csv").write_text(dated_rows_of(ar_returns_series(1, 40)))
    (tmp_path / "air2.parquet").write_bytes(b"PAR1")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "nottem.csv").write_text(dated_rows_of(ar_returns_series(2, 40)))
    panel = load_panel(tmp_path)
    assert list(panel) == ["air"]
    assert len(panel.notes) == 1 and "not read: air2.parquet, sub/" in panel.notes[0]
    assert "a Parquet table is read as a long-format file (unique_id, ds, y): pass the file itself" in panel.notes[0]


def test_a_long_format_file_given_as_one_price_file_points_to_the_panel(tmp_path):
    """forecast said 'no date column ... Rename the date column to Date' of a unique_id, ds, y file."""
    path = tmp_path / "one.csv"
    write_long(path, {"air": ar_returns_series(1, 40)})
    with pytest.raises(DataError, match=r"one.csv: a long-format file \(unique_id, ds, y\) of 1 series, not a price file\. "
                                        r"Run 'scratchlstm panel one.csv' on it; 'scratchlstm predict --series NAME'"):
        load_prices(path)


def test_a_ds_y_file_is_read_as_a_price_file_and_a_panel_names_the_ds_column(tmp_path):
    """A file with the panel's own column names (ds, y) was refused as having no date column, and a panel's bad
    date was reported in "column 'date'", a column the file does not have."""
    series = ar_returns_series(1, 40)
    path = tmp_path / "nottem.csv"
    path.write_text("ds,y\n" + "".join(f"{d:%Y-%m-%d},{v!r}\n" for d, v in zip(series.frame.index, series.prices)))
    loaded = load_prices(path)
    assert loaded.price_column == "y" and loaded.prices.tolist() == series.prices.tolist() and not loaded.notes
    long = tmp_path / "long.csv"
    write_long(long, {"a": series, "b": ar_returns_series(2, 40)})
    table = pd.read_csv(long, dtype=str)
    table.loc[3, "ds"] = "garbage"
    table.to_csv(long, index=False)
    assert "in column 'ds' are not dates (first: 'garbage')" in load_panel(long).refused["a"]


def test_a_parquet_file_is_told_long_or_not_from_its_columns_alone(tmp_path, monkeypatch):
    """``is_long_file`` read the whole table to see its header (every CLI call on a Parquet file does it first)."""
    pytest.importorskip("pyarrow")
    from scratchlstm.data import panel

    long_path, prices_path = tmp_path / "long.parquet", tmp_path / "prices.parquet"
    pd.DataFrame({"unique_id": ["a", "a"], "ds": ["2020-01-01", "2020-01-02"], "y": [1.0, 2.0]}).to_parquet(long_path)
    pd.DataFrame({"ds": ["2020-01-01"], "price": [1.0]}).to_parquet(prices_path)

    def read_whole_table(*args, **kwargs):
        raise AssertionError("the whole table was read")

    monkeypatch.setattr(panel.pd, "read_parquet", read_whole_table)
    assert panel.is_long_file(long_path) and not panel.is_long_file(prices_path)


@pytest.mark.parametrize("stored", ["index unique_id", "index unique_id, ds", "names with spaces"])
def test_a_parquet_panel_reads_the_columns_its_footer_names(tmp_path, stored):
    """A Parquet file saved with unique_id (and ds) as pandas' index, or with spaces around the column names, passed
    ``is_long_file`` (the footer names them) and then lacked unique_id, or crashed with KeyError 'ds' (exit 3)."""
    from scratchlstm.data.panel import is_long_file

    table = pd.concat([_long_rows("a", ar_returns_series(1, 40)), _long_rows("b", ar_returns_series(2, 40))])
    path = tmp_path / "long.parquet"
    if stored == "names with spaces":
        table.rename(columns={"unique_id": " unique_id ", "ds": "ds ", "y": " y"}).to_parquet(path, index=False)
    else:
        table.set_index(["unique_id"] if stored == "index unique_id" else ["unique_id", "ds"]).to_parquet(path)
    assert is_long_file(path)
    panel = load_panel(path)
    assert list(panel) == ["a", "b"] and len(panel["a"].prices) == 40


def test_a_parquet_panel_without_ds_is_refused_not_a_crash(tmp_path):
    path = tmp_path / "long.parquet"
    pd.DataFrame({"unique_id": ["a"] * 3, "y": [1.0, 2.0, 3.0]}).to_parquet(path, index=False)
    # not "run forecast on it saved as a CSV": forecast refuses a file with a unique_id column, sending it here
    with pytest.raises(DataError, match=r"it lacks ds \(it has unique_id, y\)\. Rename the time stamp column to ds$"):
        load_panel(path)


def test_a_csv_saved_under_a_parquet_name_is_named_as_text(tmp_path):
    """forecast read it as text and sent it to panel, which called it an unreadable Parquet file: advice in a circle."""
    path = tmp_path / "long.parquet"
    path.write_text("unique_id,ds,y\na,2020-01-01,1\n")
    with pytest.raises(DataError, match=r"long.parquet holds text, not Parquet \(no PAR1 mark at its start\): rename it to long.csv$"):
        load_panel(path)
    path.write_bytes(b"\x00\xff" * 20)  # neither Parquet nor text: the reader's own reason
    with pytest.raises(DataError, match="cannot be read as a table"):
        load_panel(path)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_two_columns_that_are_one_name_without_spaces_are_refused(tmp_path, suffix):
    """'y' and ' y' were both table['y'], a DataFrame: AttributeError, exit 3."""
    table = _long_rows("a", ar_returns_series(1, 40))
    table[" y"] = table["y"]
    path = tmp_path / f"long{suffix}"
    table.to_parquet(path, index=False) if suffix == ".parquet" else table.to_csv(path, index=False)
    # a CSV's header is read as the price loader reads it (delimited.sniff_layout), which refuses the pair itself
    twice = (r"1 column name\(s\) appear twice once the spaces around them are dropped and case is ignored \('y'\)"
             if suffix == ".parquet" else r"columns 'y' and 'y' have the same name\. Rename one of them")
    with pytest.raises(DataError, match=twice) as info:
        load_panel(path)
    assert "cannot be read as a table" not in str(info.value)  # the table's refusal, not wrapped as a reading error


@pytest.mark.parametrize("encoding", ["latin-1", "utf-16"])
def test_a_csv_in_another_encoding_under_a_parquet_name_is_named_as_text(tmp_path, encoding):
    path = tmp_path / "long.parquet"
    path.write_bytes("unique_id,ds,y\ncafé,2020-01-01,1\n".encode(encoding))
    with pytest.raises(DataError, match="holds text, not Parquet"):
        load_panel(path)


def test_an_empty_parquet_file_is_called_empty_not_text(tmp_path):
    path = tmp_path / "long.parquet"
    path.write_bytes(b"")
    with pytest.raises(DataError, match="long.parquet: the file is empty"):
        load_panel(path)


def test_a_parquet_file_given_as_a_price_file_points_to_the_panel(tmp_path):
    """It was called 'a binary file (or UTF-16 without a byte-order mark)', with the advice to export CSV."""
    path = tmp_path / "long.parquet"
    pd.concat([_long_rows("a", ar_returns_series(1, 40)), _long_rows("b", ar_returns_series(2, 40))]).to_parquet(path, index=False)
    with pytest.raises(DataError, match=r"this is a Parquet file; a price file is CSV or JSON text\. A long-format table .* "
                                        r"'scratchlstm panel long.parquet'"):
        load_prices(path)


def test_a_null_stamp_in_a_parquet_panel_reads_as_the_empty_csv_cell(tmp_path):
    """A Parquet null became the text 'NaT' (or 'None') in the refusal, where a CSV shows the empty cell."""
    table = pd.concat([_long_rows("a", ar_returns_series(1, 40)), _long_rows("b", ar_returns_series(2, 40))], ignore_index=True)
    table.loc[3, "ds"] = None
    table.to_parquet(tmp_path / "long.parquet", index=False)
    table.to_csv(tmp_path / "long.csv", index=False)
    from_parquet, from_csv = load_panel(tmp_path / "long.parquet"), load_panel(tmp_path / "long.csv")
    assert list(from_parquet) == list(from_csv) == ["b"]
    assert from_parquet.refused["a"].split(": ", 1)[1] == from_csv.refused["a"].split(": ", 1)[1]
    assert "(first: '')" in from_parquet.refused["a"]


def test_a_series_refused_for_repeated_stamps_names_the_columns_the_long_format_does_not_read(tmp_path):
    hours = pd.date_range("2023-03-01", periods=48, freq="h")
    prices = 100 * np.exp(np.cumsum(np.random.default_rng(1).normal(0, 0.01, 48)))
    rows = [f"{s},{h:%Y-%m-%d},{h.hour},{p:.2f}" for s in ("A", "B") for h, p in zip(hours, prices)]
    path = tmp_path / "hourly.csv"
    path.write_text("unique_id,ds,hour,y\n" + "\n".join(rows) + "\n")
    with pytest.raises(DataError) as info:  # every series refused: the panel is
        load_panel(path)
    message = str(info.value)
    assert message.startswith("none of the 2 series of hourly.csv can be run: hourly.csv[A]: ") and "; hourly.csv[B]: " in message
    assert "duplicated time stamp(s) hold different prices" in message
    assert message.endswith("(the file's other columns, 'hour', are not read: in the long format each ds holds the whole "
                            "time stamp, 2023-03-01 09:00)"), message


@pytest.mark.parametrize("name", ["A/B", "../up", "plain"])
def test_a_series_named_with_a_slash_is_described_by_its_whole_name(tmp_path, name):
    """Its one-line description took the series' source for a path and kept what followed the last '/' ("B]: ...")."""
    days = pd.date_range("2020-01-01", periods=40)
    prices = 100 * np.exp(np.cumsum(np.random.default_rng(2).normal(0, 0.01, 40)))
    path = tmp_path / "ids.csv"
    path.write_text("unique_id,ds,y\n" + "".join(f"{name},{d:%Y-%m-%d},{p:.2f}\n" for d, p in zip(days, prices)))
    series = load_panel(path)[name]
    assert series.describe().startswith(f"ids.csv[{name}]: rows of a long-format table"), series.describe()


def test_a_series_whose_dates_read_both_ways_is_told_the_order_the_files_other_series_showed(tmp_path):
    """The refusal offered both orders; the one that matched the other series was left for the user to find."""
    daily = pd.date_range("2022-01-03", periods=40)
    monthly = pd.date_range("2010-01-01", periods=40, freq="MS")
    prices = 100 * np.exp(np.cumsum(np.random.default_rng(4).normal(0, 0.01, 40)))
    rows = [f"A,{d:%d/%m/%Y},{p:.2f}" for d, p in zip(daily, prices)] + [f"B,{d:%d/%m/%Y},{p:.2f}" for d, p in zip(monthly, prices)]
    path = tmp_path / "orders.csv"
    path.write_text("unique_id,ds,y\n" + "\n".join(rows) + "\n")
    panel = load_panel(path)
    assert list(panel) == ["A"] and panel["A"].detected.date_order == "day-first"
    assert panel.refused["B"].endswith("could be day-first or month-first. Pass date_format (--date-format) '%d/%m/%Y' or "
                                       "'%m/%d/%Y' (the file's other series read as day-first: --date-format '%d/%m/%Y' reads "
                                       "every series so, if this one is written the same way)"), panel.refused["B"]
    fixed = load_panel(path, LoadOptions(date_format="%d/%m/%Y"))
    assert list(fixed) == ["A", "B"] and fixed["B"].frequency.word == "monthly"
