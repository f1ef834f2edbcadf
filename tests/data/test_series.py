"""PriceSeries checked on construction; as_price_series gives in-memory data every check a file gets."""

import json

import numpy as np
import pandas as pd
import pytest

from scratchlstm.data import DataWarning, PriceSeries, as_price_series, load_prices
from scratchlstm.errors import DataError

DAYS = pd.date_range("2020-01-01", periods=5, freq="D", name="date")


def hand_made(prices, index=DAYS[:3]):
    return PriceSeries(frame=pd.DataFrame({"close": prices}, index=index), price_column="close", source="hand-made", format="synthetic")


@pytest.mark.parametrize(
    "prices, index, message",
    [
        ([1.0, np.nan, 3.0], DAYS[:3], "1 price\\(s\\) missing.*as_price_series"),
        ([1.0, 0.0, 3.0], DAYS[:3], "zero or negative"),
        ([1.0, -2.0, 3.0], DAYS[:3], "zero or negative"),
        ([1.0, np.inf, 3.0], DAYS[:3], "infinite"),
        ([1.0, 2.0, 3.0], DAYS[:3][::-1], "not oldest first.*sort_index"),
        ([1.0, 2.0, 3.0], DAYS[[0, 1, 1]], "1 duplicated time stamp.*duplicated"),
        ([1.0, 2.0, 3.0], pd.RangeIndex(3), "RangeIndex, not time stamps"),
        (["1", "2", "3"], DAYS[:3], "not numbers"),
        ([], DAYS[:0], "no rows"),
    ],
)
def test_a_hand_made_series_is_checked_on_construction(prices, index, message):
    with pytest.raises(DataError, match=message) as info:
        hand_made(prices, index)
    assert str(info.value).startswith("hand-made: ")


def test_a_valid_hand_made_series_gets_its_frequency():
    s = hand_made([1.0, 2.0, 3.0])
    assert s.frequency.alias == "D" and s.describe() == "hand-made: synthetic, daily, 3 rows 2020-01-01 to 2020-01-03, price column 'close'"


def test_series_with_a_datetime_index():
    s = as_price_series(pd.Series([3.0, 1.0, 2.0], index=DAYS[[2, 0, 1]], name="Close"))
    assert list(s.prices) == [1.0, 2.0, 3.0] and s.price_column == "close"
    assert s.notes == ["rows were not in time order; sorted"] and s.format == "series"


def test_series_newest_first_is_reversed_and_said():
    s = as_price_series(pd.Series([3.0, 2.0, 1.0], index=DAYS[:3][::-1]))
    assert list(s.prices) == [1.0, 2.0, 3.0] and s.notes == ["rows were newest first; reversed"]


def test_series_duplicates_warn_and_missing_follows_the_policy():
    index = DAYS[[0, 1, 1, 2, 3]]
    with pytest.warns(DataWarning, match="1 duplicated time stamp"):
        with pytest.raises(DataError, match="1 row\\(s\\) have no price.*--missing"):
            as_price_series(pd.Series([1.0, 2.0, 2.0, np.nan, 4.0], index=index))
    with pytest.warns(DataWarning):
        s = as_price_series(pd.Series([1.0, 2.0, 2.0, np.nan, 4.0], index=index), missing="ffill")
    assert list(s.prices) == [1.0, 2.0, 2.0, 4.0]


def test_series_without_time_stamps_is_refused():
    with pytest.raises(DataError, match="no date column.*DatetimeIndex"):
        as_price_series(pd.Series([1.0, 2.0]))


def test_time_zone_aware_index_keeps_local_times():
    index = pd.DatetimeIndex(["2019-03-30 00:00", "2019-03-31 00:00", "2019-04-01 00:00"]).tz_localize("Europe/Paris")
    s = as_price_series(pd.Series([1.0, 2.0, 3.0], index=index))
    assert [f"{t:%Y-%m-%d %H:%M}" for t in s.frame.index] == ["2019-03-30 00:00", "2019-03-31 00:00", "2019-04-01 00:00"]
    assert s.detected.offsets == "+0100, +0200 dropped (local times kept)" and "offsets" in s.describe()


def test_dataframe_with_a_text_date_column_is_read_like_a_file():
    frame = pd.DataFrame({"Date": ["31/01/2019", "01/02/2019", "02/02/2019"], "Close": ["4.160,62", "4.193,70", "987,5"]})
    s = as_price_series(frame)
    assert list(s.prices) == [4160.62, 4193.70, 987.5] and s.detected.date_order == "day-first"
    assert s.describe().startswith("DataFrame: pandas DataFrame, decimal ',', thousands '.', dates day-first (%d/%m/%Y)")


def test_dataframe_with_a_period_index_and_a_chosen_column():
    frame = pd.DataFrame({"Open": [1.0, 2.0], "Close": [3.0, 4.0]}, index=pd.period_range("2019-01", periods=2, freq="M"))
    s = as_price_series(frame, price_column="Open")
    assert list(s.prices) == [1.0, 2.0] and f"{s.frame.index[1]:%Y-%m-%d}" == "2019-02-01"


def test_dataframe_columns_that_collide_are_refused():
    frame = pd.DataFrame([[1.0, 2.0]], columns=["Close", "close"], index=DAYS[:1])
    with pytest.raises(DataError, match="'Close' and 'close' have the same name"):
        as_price_series(frame)


def test_paths_and_price_series_pass_through(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("Date,Open,Close\n2020-01-01,1,2\n2020-01-02,3,4\n")
    s = as_price_series(str(path))
    assert as_price_series(s) is s
    other = as_price_series(s, price_column="Open")
    assert list(other.prices) == [1, 3] and other.detected == s.detected
    with pytest.raises(DataError, match="cannot make a price series from a list"):
        as_price_series([1.0, 2.0])


def test_describe_and_summary_name_what_was_detected(tmp_path):
    path = tmp_path / "prices.csv"
    rows = ["Date;Open;Adj Close"] + [f"{d:%d/%m/%Y};{k + 1},5;{k + 2},25" for k, d in enumerate(pd.date_range("2017-08-18", periods=20))]
    path.write_text("\n".join(rows) + "\n")
    s = load_prices(path)
    assert s.describe() == ("prices.csv: date-price CSV, delimiter ';', decimal ',', dates day-first (%d/%m/%Y), daily, "
                            "20 rows 2017-08-18 to 2017-09-06, price column 'adj close'")
    summary = json.loads(json.dumps(s.summary()))  # report.json must be able to hold it
    assert summary["detected"] == {"encoding": "UTF-8", "compression": None, "delimiter": ";", "decimal": ",", "thousands": None,
                                   "dates": "day-first (%d/%m/%Y)", "date_format": "%d/%m/%Y", "date_order": "day-first", "offsets": None,
                                   "thousands_partly": False, "grouping": None, "unit": None}
    assert summary["frequency"] == {"alias": "D", "word": "daily"} and summary["description"] == s.describe()
    assert (summary["rows"], summary["first_date"], summary["last_date"]) == (20, "2017-08-18", "2017-09-06")
