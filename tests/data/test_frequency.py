"""Frequencies named from the stamps, and gaps counted in the series' own periods (hand-counted)."""

import pandas as pd
import pytest

from scratchlstm.data.frequency import Frequency, absent_stamps, detect_frequency, gap_note, missing_periods, stamp_after


@pytest.mark.parametrize(
    "index, alias, word",
    [
        (pd.date_range("2024-01-01", periods=50, freq="min"), "min", "minute"),
        (pd.date_range("2024-01-01", periods=50, freq="5min"), "5min", "5-minute"),
        (pd.date_range("2024-01-01", periods=50, freq="h"), "h", "hourly"),
        (pd.date_range("2024-01-01", periods=50, freq="4h"), "4h", "4-hour"),
        (pd.date_range("2024-01-01", periods=50, freq="D"), "D", "daily"),
        (pd.bdate_range("2024-01-01", periods=50), "B", "business daily"),
        (pd.date_range("2024-01-05", periods=50, freq="W-FRI"), "W-FRI", "weekly"),
        (pd.date_range("2024-01-01", periods=50, freq="MS"), "MS", "monthly"),
        (pd.date_range("2024-01-31", periods=50, freq="ME"), "ME", "monthly"),
        (pd.date_range("2024-01-01", periods=20, freq="QS"), "QS", "quarterly"),
        (pd.date_range("2000-12-31", periods=20, freq="YE"), "YE", "yearly"),
    ],
)
def test_frequency_of_regular_stamps(index, alias, word):
    f = detect_frequency(index)
    assert (f.alias, f.word) == (alias, word)


def test_first_trading_days_are_month_starts():
    index = pd.DatetimeIndex(["2019-01-02", "2019-02-01", "2019-03-01", "2019-04-01", "2019-05-01", "2019-06-03"])
    assert detect_frequency(index).alias == "MS"


def test_irregular_and_single_stamps():
    assert detect_frequency(pd.DatetimeIndex(["2024-01-01"])).alias is None
    f = detect_frequency(pd.DatetimeIndex(["2024-01-01", "2024-01-14", "2024-01-27"]))
    assert f.alias is None and f.word == "irregular (median spacing 13 days)"  # pandas wrote "13 days 00:00:00"
    # trades at 10, 35, 60, 90, 100, 130 s: the median spacing is 25 s, but only 2 of 5 spacings are 25 s
    trades = pd.Timestamp("2024-01-01") + pd.to_timedelta([10, 35, 60, 90, 100, 130], unit="s")
    assert detect_frequency(trades).alias is None
    assert detect_frequency(trades).word == "irregular (median spacing 25 seconds)"


def test_business_days_count_weekends_as_nothing_missing():
    # Fri 2001-09-07, Mon 09-10, then the exchange closed until Mon 09-17: 11, 12, 13, 14 are missing
    index = pd.DatetimeIndex(["2001-09-06", "2001-09-07", "2001-09-10", "2001-09-17", "2001-09-18"])
    assert list(missing_periods(index, Frequency("B", "business daily", "business day"))) == [0, 0, 4, 0]
    note = gap_note(index, Frequency("B", "business daily", "business day"))
    assert note == "1 gap(s) of 3 or more missing business days; the longest, 4 business days, ends 2001-09-17"


def test_months_count_calendar_months():
    index = pd.DatetimeIndex(["2019-01-01", "2019-02-01", "2019-06-01", "2019-07-01"])
    assert list(missing_periods(index, detect_frequency(index))) == [0, 3, 0]
    assert "3 months, ends 2019-06-01" in gap_note(index, detect_frequency(index))


def test_intraday_gaps_name_the_time_of_day():
    index = pd.DatetimeIndex(["2024-01-01 09:00", "2024-01-01 10:00", "2024-01-01 11:00", "2024-01-01 16:00", "2024-01-01 17:00"])
    f = detect_frequency(index)
    assert f.alias == "h"
    assert gap_note(index, f) == "1 gap(s) of 3 or more missing hours; the longest, 4 hours, ends 2024-01-01 16:00"


def test_no_gap_no_note():
    index = pd.date_range("2024-01-01", periods=10, freq="D")
    assert gap_note(index, detect_frequency(index)) == ""


@pytest.mark.parametrize(
    "stamps, absent",
    [
        (pd.date_range("2000-01-01", periods=24, freq="MS").delete([5, 6]), ["2000-06-01", "2000-07-01"]),
        # month ends stamped on the last trading day: the missing month is named by its calendar end
        (pd.DatetimeIndex(["2020-01-31", "2020-02-28", "2020-03-31", "2020-05-29", "2020-06-30", "2020-07-31"]), ["2020-04-30"]),
        (pd.date_range("2000-01-01", periods=20, freq="QS").delete([3]), ["2000-10-01"]),
        (pd.date_range("2000-01-01", periods=20, freq="YS").delete([3]), ["2003-01-01"]),
        (pd.date_range("2020-01-01", periods=30, freq="D").delete([3, 10, 11]), ["2020-01-04", "2020-01-11", "2020-01-12"]),
        (pd.date_range("2020-01-03", periods=30, freq="W-FRI").delete([4]), ["2020-01-31"]),
        (pd.bdate_range("2020-01-01", periods=30).delete([4]), []),  # a holiday of business-daily prices is normal
        (pd.date_range("2024-01-01", periods=50, freq="h").delete([7]), []),  # so is a missing hour of intraday prices
        (pd.date_range("2024-01-01", periods=30, freq="MS"), []),
    ],
)
def test_absent_stamps_are_the_periods_without_a_row(stamps, absent):
    assert list(absent_stamps(stamps, detect_frequency(stamps)).strftime("%Y-%m-%d")) == absent


def test_absent_stamps_keep_the_time_zone():
    stamps = pd.date_range("2000-01-01", periods=24, freq="MS", tz="Europe/Berlin").delete([5])
    absent = absent_stamps(stamps, detect_frequency(stamps))
    assert list(absent) == [pd.Timestamp("2000-06-01", tz="Europe/Berlin")]


@pytest.mark.parametrize("stamps, steps, expected", [
    (pd.date_range("2024-01-01", periods=30, freq="D"), 1, "2024-01-31"),
    (pd.date_range("2024-01-01", periods=30, freq="B"), 1, "2024-02-12 (counting business days, holidays aside)"),  # Fri -> Mon
    (pd.date_range("2024-01-05", periods=20, freq="W-FRI"), 3, "2024-06-07 (that week)"),
    (pd.date_range("1949-01-01", periods=144, freq="MS"), 1, "1961-01"),
    (pd.DatetimeIndex(["2024-01-31", "2024-02-29", "2024-03-28", "2024-04-30"]), 2, "2024-06"),  # the last trading days
    (pd.date_range("2000-01-01", periods=12, freq="QS"), 1, "2003Q1"),
    (pd.date_range("2000-12-31", periods=5, freq="YE"), 2, "2006"),
    (pd.date_range("2024-01-01", periods=48, freq="h"), 3, "2024-01-03 02:00 (if there is no gap before it)"),
    (pd.date_range("2024-01-01 09:30", periods=10, freq="5min", tz="UTC"), 1, "2024-01-01 10:20 (if there is no gap before it)"),
    (pd.date_range("1990-01-01", periods=24, freq="MS", tz="Europe/Berlin"), 12, "1992-12"),
    (pd.date_range("2024-01-01", periods=10, freq="3D"), 1, None),  # every three days: irregular
])
def test_the_stamp_a_forecast_is_for(stamps, steps, expected):
    assert stamp_after(stamps[-1], steps, detect_frequency(stamps)) == expected
