"""A long-format file is read as the price loader reads a text file: every encoding it decodes (a spreadsheet's
"CSV UTF-8" with its byte-order mark, UTF-16, Windows-1252), its delimiter and header found alike, its names cleaned
alike; so a file ``forecast`` sends to ``panel`` as long is one ``panel`` reads, never advice in a circle. Rows with
more fields than the header (unquoted decimal commas) are refused, never read a column off."""

import codecs
import io

import pandas as pd
import pytest

from scratchlstm.data import load_prices
from scratchlstm.data.panel import is_long_file, load_panel
from scratchlstm.errors import DataError

DAYS = pd.date_range("2020-01-01", periods=120)


def _long_text(sep=",", decimal=".", newline="\n", header="unique_id,ds,y"):
    """Two series of 120 daily rows; A's values 100.00, 100.50, ..., B's 3 above them (``_expected_values``)."""
    rows = [f"{name}{sep}{day:%Y-%m-%d}{sep}{100 + shift + k / 2:.2f}".replace(".", decimal)
            for name, shift in (("A", 0), ("B", 3)) for k, day in enumerate(DAYS)]
    return newline.join([header.replace(",", sep), *rows]) + newline


def _expected_values(name):
    shift = 0 if name == "A" else 3
    return [100 + shift + k / 2 for k in range(len(DAYS))]


@pytest.mark.parametrize("raw", [
    codecs.BOM_UTF8 + _long_text().encode("utf-8"),  # Excel's "CSV UTF-8"
    codecs.BOM_UTF8 + _long_text(sep=";", decimal=",", newline="\r\n").encode("utf-8"),  # the same in a European locale
    _long_text().encode("utf-16"),  # "Unicode text"
    _long_text(sep="\t").encode("utf-16"),
    _long_text(header="Unique_ID,DS,Y").encode("utf-8"),  # forecast compares names in lower case too
], ids=["utf-8-bom", "utf-8-bom-semicolon-crlf", "utf-16", "utf-16-tab", "names-in-capitals"])
def test_a_long_file_that_forecast_sends_to_panel_is_read_by_panel(tmp_path, raw):
    """panel said "it lacks unique_id (it has \\ufeffunique_id, ds, y) ... run 'scratchlstm forecast'", or "cannot
    be read as a table ('utf-8' codec can't decode ...)", while forecast sent the file to panel."""
    path = tmp_path / "long.csv"
    path.write_bytes(raw)
    with pytest.raises(DataError, match=r"a long-format file \(unique_id, ds, y\) of 2 series, not a price file\. Run "
                                        r"'scratchlstm panel long.csv'"):
        load_prices(path)  # forecast's advice
    assert is_long_file(path)  # predict's test, which picks --series NAME of such a file
    panel = load_panel(path)
    assert list(panel) == ["A", "B"] and not panel.refused and not panel.notes
    for name, series in panel.items():
        assert list(series.frame.index) == list(DAYS)
        assert series.prices.tolist() == _expected_values(name)


def test_a_windows_1252_long_file_is_read_and_the_encoding_said(tmp_path):
    text = _long_text().replace("A,", "Café €,")
    path = tmp_path / "long.csv"
    path.write_bytes(text.encode("cp1252"))
    assert is_long_file(path)
    panel = load_panel(path)
    assert list(panel) == ["Café €", "B"] and panel["Café €"].prices.tolist() == _expected_values("A")
    assert panel.notes == ["long.csv: the file is not UTF-8; it was read as Windows-1252"]


def test_a_gzipped_long_file_with_a_byte_order_mark_is_read(tmp_path):
    import gzip

    path = tmp_path / "long.csv.gz"
    path.write_bytes(gzip.compress(codecs.BOM_UTF8 + _long_text().encode("utf-8")))
    assert is_long_file(path) and list(load_panel(path)) == ["A", "B"]


def test_ids_that_pandas_would_call_missing_stay_ids(tmp_path):
    """'NA' is Namibia's code, not a missing value: the table's cells are read as written."""
    path = tmp_path / "long.csv"
    path.write_text(_long_text().replace("A,", "NA,"))
    assert list(load_panel(path)) == ["NA", "B"]


def test_a_parquet_table_saved_under_a_csv_name_is_read_as_parquet(tmp_path):
    """forecast refused it as Parquet, "run 'scratchlstm panel long.csv'", and panel called it unreadable as a table."""
    pytest.importorskip("pyarrow")
    table = pd.read_csv(io.StringIO(_long_text()), dtype={"ds": str})
    path = tmp_path / "long.csv"
    table.to_parquet(path, index=False)
    with pytest.raises(DataError, match="'scratchlstm panel long.csv'"):
        load_prices(path)
    assert is_long_file(path)
    panel = load_panel(path)
    assert list(panel) == ["A", "B"] and panel["B"].prices.tolist() == _expected_values("B")


@pytest.mark.parametrize("every_row", [True, False])
def test_rows_with_more_fields_than_the_header_are_refused_as_the_price_loader_refuses_them(tmp_path, every_row):
    """Unquoted decimal commas in a comma-separated file: pandas made unique_id the index and read the dates as ids,
    "none of the 120 series ... 2 value(s) in 'ds' are not unix times (first: 98)"."""
    path = tmp_path / "panel_unquoted.csv"
    lines = _long_text().splitlines()
    if every_row:
        lines = [lines[0]] + [line.replace(".", ",") for line in lines[1:]]
    else:  # a whole number among them: that row has the header's width
        lines = [lines[0], "A,2019-12-31,98"] + [line.replace(".", ",") for line in lines[1:]]
    path.write_text("\n".join(lines) + "\n")
    where = "" if every_row else r" \(line 3 has 4, the header 3\)"
    with pytest.raises(DataError, match=rf"^{path}: some rows have more fields than the header{where}\. Check the delimiters; "
                                        r"every row needs one value per column"):
        load_panel(path)


def test_a_long_file_with_a_unique_id_is_not_sent_back_to_forecast(tmp_path):
    """panel's advice for a table lacking ds or y was "run 'scratchlstm forecast long.csv'", which refuses any file with
    a unique_id column and sends it back to panel."""
    path = tmp_path / "long.csv"
    path.write_text(_long_text(header="unique_id,date,close"))
    with pytest.raises(DataError, match=r"it lacks ds, y \(it has unique_id, date, close\)\. Rename the time stamp column "
                                        r"to ds, the value column to y$"):
        load_panel(path)
    assert is_long_file(path)  # as load_prices calls it long: predict picks its series through load_panel
    with pytest.raises(DataError, match="Run 'scratchlstm panel long.csv'"):
        load_prices(path)
    alone = tmp_path / "prices.csv"
    alone.write_text("Date,Close\n2020-01-01,1\n")
    with pytest.raises(DataError, match=r"lacks unique_id, ds, y .*; if the file holds one series, run 'scratchlstm forecast prices.csv'$"):
        load_panel(alone)


@pytest.mark.parametrize("cut", ["162.", "16", "", '"16'], ids=["fewer-decimals", "fewer-characters", "no-value", "open-quote"])
def test_a_long_file_cut_inside_its_last_row_drops_that_row_with_a_note_as_the_price_loader_does(tmp_path, cut):
    """B's last price, 162.50, was read as 162.0 or 16, and the panel scored its forecasts against it."""
    whole = _long_text()
    text = whole[: whole.rindex(",") + 1] + cut  # the last row, B's, ends inside its value: no line break after it
    path = tmp_path / "long.csv"
    path.write_text(text, encoding="utf-8")
    panel = load_panel(path)
    assert panel["A"].prices.tolist() == _expected_values("A")
    assert panel["B"].prices.tolist() == _expected_values("B")[:-1]  # the cut row is not read
    assert any("long.csv: the file ends inside its last row" in note and "dropped as cut short" in note for note in panel.notes)
    path.write_text(whole[: whole.rindex(",") + 1] + "162.5\n", encoding="utf-8")  # a short row that ends the file as rows end
    panel = load_panel(path)
    assert panel["B"].prices.tolist()[-1] == 162.5 and not panel.notes
