"""Files that are right, and that the refusals of misread files must let through (found by a review of those
refusals): a download saved in chunks out of order, a shuffled export with a real gap, a nameless volume column
beside prices with decimals, a saved DataFrame's numbered columns, a time-zone column."""

import numpy as np
import pandas as pd
import pytest

from scratchlstm.data import load_prices
from scratchlstm.data.panel import load_panel
from scratchlstm.errors import DataError


def _prices(n, seed=0):
    return np.round(100 * np.exp(np.cumsum(np.random.default_rng(seed).normal(0, 0.01, n))), 2)


def test_a_download_saved_in_chunks_out_of_order_is_sorted_not_refused(tmp_path):
    """Five hourly sessions saved as two pages, the later page first, its last session a single 09:30 bar: that bar,
    sorted last across the night, is no typo (its neighbours in the file are days apart)."""
    sessions = [pd.date_range(f"2024-01-0{d} 09:30", periods=7, freq="h") for d in (2, 3, 4, 5)]
    stamps = sessions + [pd.DatetimeIndex(["2024-01-08 09:30"])]
    later, earlier = stamps[2:], stamps[:2]
    index = pd.DatetimeIndex(np.concatenate([s.values for s in later + earlier]))
    path = tmp_path / "chunks.csv"
    pd.DataFrame({"Datetime": index.strftime("%Y-%m-%d %H:%M:%S"), "Close": _prices(len(index))}).to_csv(path, index=False)
    series = load_prices(path)
    assert series.frame.index.is_monotonic_increasing and len(series.frame) == 29
    assert "rows were not in time order; sorted" in series.notes


def test_a_shuffled_export_with_a_real_gap_at_its_start_is_sorted_not_refused(tmp_path):
    days = pd.bdate_range("2022-01-03", periods=200)
    days = days.insert(0, pd.Timestamp("2021-11-01"))  # a real halt of two months after the first day
    order = np.random.default_rng(1).permutation(len(days))
    path = tmp_path / "shuffled.csv"
    pd.DataFrame({"Date": days[order].strftime("%Y-%m-%d"), "Close": _prices(len(days))[order]}).to_csv(path, index=False)
    series = load_prices(path, missing="drop")
    assert series.frame.index[0] == pd.Timestamp("2021-11-01") and series.frame.index.is_monotonic_increasing


def test_a_nameless_volume_column_beside_prices_with_decimals_is_read(tmp_path):
    """A decimal comma split into two fields leaves whole numbers on both sides; 100.13 beside 1000 is no such split."""
    days = pd.bdate_range("2022-01-03", periods=60)
    prices = _prices(60)
    path = tmp_path / "volume.csv"
    path.write_text("Date,Close,\n" + "".join(f"{d:%Y-%m-%d},{p:.2f},{1000 + k}\n" for k, (d, p) in enumerate(zip(days, prices))))
    assert np.allclose(load_prices(path).prices.to_numpy(), prices)


def test_a_saved_dataframes_numbered_columns_are_not_called_a_file_without_a_header(tmp_path):
    """``pd.DataFrame(array).to_csv()`` writes ``,0,1``: a header, whose advice must be to name the columns."""
    path = tmp_path / "numbered.csv"
    path.write_text(",0,1\n" + "".join(f"{k},2022-01-{k + 3:02d},{100 + k}.5\n" for k in range(20)))
    with pytest.raises(DataError, match=r"no date column .*Rename the date column to Date"):
        load_prices(path)


def test_a_time_zone_column_is_not_taken_for_an_unread_time_of_day(tmp_path):
    """Told to rename 'Time Zone' to Time, and then 'Time' to Time: advice in a circle."""
    stamps = pd.date_range("2024-01-01", periods=48, freq="h")
    rows = [f"{t:%Y-%m-%d %H:%M},UTC,{p:.2f}" for t, p in zip(stamps, _prices(48))]
    rows += [f"{t:%Y-%m-%d %H:%M},UTC,{p * 1.05:.2f}" for t, p in zip(stamps[:5], _prices(5))]  # a second download
    path = tmp_path / "tz.csv"
    path.write_text("Datetime,Time Zone,Close\n" + "\n".join(rows) + "\n")
    with pytest.raises(DataError) as info:
        load_prices(path)
    assert "seem to come from two downloads that disagree" in str(info.value) and "Time" not in str(info.value).split(";")[-1]


def test_a_panel_with_a_split_decimal_comma_is_refused_as_a_price_file_is(tmp_path):
    """The panel read its text another way, and a y of 100,12 under a header ending in a comma was read as 100."""
    path = tmp_path / "long.csv"
    path.write_text("unique_id,ds,y,\n" + "".join(f"A,2022-01-{d:02d},{100 + d},{d * 7 % 100}\n" for d in range(3, 28)))
    with pytest.raises(DataError, match=r"column 4 has no name in the header but holds whole numbers .* right after 'y'"):
        load_panel(path)


def test_a_shuffled_file_of_hourly_rows_is_sorted_not_taken_for_a_12_hour_clock(tmp_path):
    """The refusal of 12-hour times without AM or PM looks for a step from 12:xx back to 1:xx-11:xx within a day; a
    shuffled file takes such steps too, among steps back and forth of every other kind."""
    hours = pd.date_range("2024-01-02 00:00", periods=24 * 5, freq="h")
    order = list(np.random.default_rng(2).permutation(len(hours)))
    noon, five = 24 * 2 + 12, 24 * 2 + 5  # 2024-01-04 12:00, then its 05:00 next in the file
    order.remove(five)
    order.insert(order.index(noon) + 1, five)
    path = tmp_path / "shuffled-hours.csv"
    pd.DataFrame({"Date": hours[order].strftime("%Y-%m-%d %H:%M"), "Close": _prices(len(hours))[order]}).to_csv(path, index=False)
    shuffled = hours[order]
    same_day = shuffled[1:].normalize() == shuffled[:-1].normalize()
    assert np.any(same_day & (shuffled[:-1].hour == 12) & (shuffled[1:].hour >= 1) & (shuffled[1:].hour < 12))  # the sign is there
    series = load_prices(path)
    assert series.frame.index.equals(pd.DatetimeIndex(hours, name=series.frame.index.name))
    assert "rows were not in time order; sorted" in series.notes
