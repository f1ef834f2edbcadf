"""Every date_format a refusal suggests reads the file when passed back, the time of day included: the advice was
'%d/%m/%Y' or '%m/%d/%Y' for dates such as '01/03/2022 09:00 AM', which then "do not match date_format"."""

import re

import numpy as np
import pandas as pd
import pytest

from scratchlstm.data import load_prices
from scratchlstm.errors import DataError

HOURS = pd.date_range("2022-01-03 09:00", periods=200, freq="h")  # every day and month at 12 or below
DAYS = pd.date_range("2017-08-18", periods=40)


def _prices(tmp_path, stamps, quote=False):
    prices = 99.61 * np.exp(np.cumsum(np.random.default_rng(0).normal(0, 0.01, len(stamps))))
    path = tmp_path / "p.csv"
    path.write_text("Date,Close\n" + "".join((f'"{s}"' if quote else s) + f",{p:.2f}\n" for s, p in zip(stamps, prices)))
    return path


def _suggested(message: str) -> list[str]:
    """The patterns a refusal's fix (after its first '. ') quotes."""
    return re.findall(r"'(%[^']*)'", message.split(". ", 1)[1])


def _read_back(path, message):
    patterns = _suggested(message)
    assert patterns, message
    return {pattern: load_prices(path, date_format=pattern).frame.index for pattern in patterns}


@pytest.mark.parametrize("written, time", [
    ("%m/%d/%Y %I:%M %p", " %I:%M %p"),  # the red team's file
    ("%m/%d/%Y %I:%M%p", " %I:%M%p"),
    ("%m/%d/%Y %H:%M", " %H:%M"),
    ("%m-%d-%Y %H:%M:%S", " %H:%M:%S"),
    ("%m.%d.%YT%H:%M:%S", "T%H:%M:%S"),
    ("%m/%d/%Y %H:%M:%S.250", " %H:%M:%S.%f"),
])
def test_the_day_or_month_first_advice_names_the_time_of_day(tmp_path, written, time):
    path = _prices(tmp_path, [f"{h:{written}}" for h in HOURS])
    with pytest.raises(DataError, match="could be day-first or month-first") as info:
        load_prices(path)
    sep = written[2]
    assert _suggested(str(info.value)) == [f"%d{sep}%m{sep}%Y{time}", f"%m{sep}%d{sep}%Y{time}"]
    read = _read_back(path, str(info.value))
    fraction = pd.Timedelta(milliseconds=250) if "%f" in time else pd.Timedelta(0)
    assert list(read[f"%m{sep}%d{sep}%Y{time}"]) == list(HOURS + fraction)


def test_a_decimal_comma_in_the_seconds_is_named_as_written(tmp_path):
    path = _prices(tmp_path, [f"{h:%d.%m.%Y %H:%M:%S},5" for h in HOURS], quote=True)
    with pytest.raises(DataError) as info:
        load_prices(path)
    assert _suggested(str(info.value))[0] == "%d.%m.%Y %H:%M:%S,%f"
    assert list(_read_back(path, str(info.value))["%d.%m.%Y %H:%M:%S,%f"]) == list(HOURS + pd.Timedelta(milliseconds=500))


def test_times_written_two_ways_get_no_date_format_that_cannot_read_them(tmp_path):
    """With seconds in some values and not in others, no one pattern reads the column: the fix says to export it."""
    stamps = [f"{h:%m/%d/%Y %H:%M}" for h in HOURS[:100]] + [f"{h:%m/%d/%Y %H:%M:%S}" for h in HOURS[100:]]
    with pytest.raises(DataError, match=r"could be day-first or month-first\. Export the dates in one format, preferably "
                                        r"YYYY-MM-DD \(their times of day are written in several ways, which no one "
                                        r"date_format reads\)$"):
        load_prices(_prices(tmp_path, stamps))


@pytest.mark.parametrize("time", ["", " 9:30 PM", "T14:30:00"])
def test_the_year_day_month_advice_names_the_time_of_day_and_is_quoted_for_the_shell(tmp_path, time):
    path = _prices(tmp_path, [f"{d:%Y/%d/%m}{time}" for d in DAYS])
    with pytest.raises(DataError, match="last two fields read as day then month") as info:
        load_prices(path)
    pattern = {"": "%Y/%d/%m", " 9:30 PM": "%Y/%d/%m %I:%M %p", "T14:30:00": "%Y/%d/%mT%H:%M:%S"}[time]
    assert f"(--date-format '{pattern}')" in str(info.value)
    offset = {"": pd.Timedelta(0), " 9:30 PM": pd.Timedelta(hours=21, minutes=30), "T14:30:00": pd.Timedelta(hours=14, minutes=30)}
    assert list(_read_back(path, str(info.value))[pattern]) == list(DAYS + offset[time])


@pytest.mark.parametrize("written, patterns", [
    ("%d/%m/%y %H:%M", ["%d/%m/%y %H:%M"]),  # a day above 12: day-first
    ("%d-%b-%y", ["%d-%b-%y"]),
    ("%d %B %y %I:%M %p", ["%d %B %y %I:%M %p"]),
])
def test_the_two_digit_year_advice_reads_the_file(tmp_path, written, patterns):
    """It said "e.g. %d/%m/%y" whatever the values were (a month name, a time of day)."""
    path = _prices(tmp_path, [f"{d:{written}}" for d in DAYS])
    with pytest.raises(DataError, match="two-digit years") as info:
        load_prices(path)
    assert _suggested(str(info.value)) == patterns
    assert list(_read_back(path, str(info.value))[patterns[0]].normalize()) == list(DAYS)


def test_two_digit_years_that_cannot_tell_day_from_month_get_both_orders(tmp_path):
    months = pd.date_range("2017-01-01", periods=12, freq="MS")
    path = _prices(tmp_path, [f"{m:%m/%d/%y} 09:00" for m in months])
    with pytest.raises(DataError) as info:
        load_prices(path)
    assert _suggested(str(info.value)) == ["%d/%m/%y %H:%M", "%m/%d/%y %H:%M"]
    assert list(_read_back(path, str(info.value))["%m/%d/%y %H:%M"].normalize()) == list(months)


def test_a_date_format_without_the_time_of_day_says_which_time_to_add(tmp_path):
    path = _prices(tmp_path, [f"{h:%m/%d/%Y %I:%M %p}" for h in HOURS])
    with pytest.raises(DataError, match=r"do not match date_format '%m/%d/%Y' \(first: '01/03/2022 09:00 AM'\)\. Check the "
                                        r"pattern .*; the values carry a time of day: end the pattern with ' %I:%M %p'$"):
        load_prices(path, date_format="%m/%d/%Y")
    assert list(load_prices(path, date_format="%m/%d/%Y %I:%M %p").frame.index) == list(HOURS)


def test_the_advice_works_on_the_command_line(tmp_path, capsys):
    """The suggested flag, passed as the shell passes it, reads the file (a forecast then runs)."""
    import shlex

    from scratchlstm.cli import main

    path = _prices(tmp_path, [f"{h:%m/%d/%Y %I:%M %p}" for h in HOURS])
    assert main(["forecast", str(path), "--out", str(tmp_path / "out1"), "--quiet"]) == 2
    err = capsys.readouterr().err
    flag = _suggested(err)[1]
    assert flag == "%m/%d/%Y %I:%M %p"
    fast = "--epochs 1 --window 5 --hidden 4 --test-size 10 --refit-every none --season 1"
    args = shlex.split(f"forecast {shlex.quote(str(path))} --out {tmp_path / 'out2'} --quiet --date-format {shlex.quote(flag)} {fast}")
    assert main(args) == 0, capsys.readouterr().err
