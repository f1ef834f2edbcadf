"""The spacing of a series' time stamps, named as pandas names it, and the gaps measured in it.

| median spacing | alias | word |
|---|---|---|
| under a day | s, min, h | second, minute, hourly (or 5-minute, 4-hour, ...) |
| one day, no stamp on a weekend | B | business daily |
| one day | D | daily |
| a week | W-FRI, ... | weekly (the usual weekday) |
| 28-31 days | MS or ME | monthly (start or end of month) |
| 89-92 days | QS or QE | quarterly |
| 365-366 days | YS or YE | yearly |
| anything else | None | irregular |

A gap is ``GAP_PERIODS`` or more missing periods in a row, counted in the series' own frequency:
business days for business-daily prices (so weekends and one-day holidays are not gaps), months
for monthly data.

In daily (every day of the week), weekly, monthly, quarterly and yearly series a single missing period
is not normal trading: ``absent_stamps`` lists them, and the loader treats each like a row without a
price. The models count seasons and steps in rows, so a month left out would shift every seasonal
position after it by one, and make one "1-step" target two months ahead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

GAP_PERIODS = 3
_DAY = 86400.0
_UNITS = {"s": ("second", 1.0), "min": ("minute", 60.0), "h": ("hour", 3600.0)}
_INTRADAY = re.compile(r"(\d*)(s|min|h)")
_CALENDAR = {"M": ("monthly", "month", 1), "Q": ("quarterly", "quarter", 3), "Y": ("yearly", "year", 12)}


@dataclass(frozen=True)
class Frequency:
    """How often a series has a stamp: a pandas offset alias and a word for people."""

    alias: str | None  # "D", "B", "W-FRI", "MS", "h", "5min", ...; None when irregular
    word: str  # "daily", "business daily", "5-minute", "irregular (median spacing 3 days)", ...
    period: str = "period"  # the name of one step, for the gap report: "business day", "month", ...

    @property
    def kind(self) -> str | None:
        """The step without its anchoring: business days count as days, any weekday's weeks as weeks,
        month starts and ends as months. Two series of one kind can share a model."""
        alias = self.alias
        if alias is None:
            return None
        if alias in ("B", "D"):
            return "D"
        if alias.startswith("W-"):
            return "W"
        if alias[0] in _CALENDAR and alias[1:] in ("S", "E"):
            return alias[0]
        return alias

    @property
    def intraday(self) -> bool:
        return self.alias is not None and _INTRADAY.fullmatch(self.alias) is not None

    def stamp(self, ts: pd.Timestamp) -> str:
        """A stamp as text: the date, with the time of day for intraday series."""
        if not self.intraday:
            return f"{ts:%Y-%m-%d}"
        return f"{ts:%Y-%m-%d %H:%M:%S}" if ts.second or ts.microsecond else f"{ts:%Y-%m-%d %H:%M}"


def stamp_after(ts: pd.Timestamp, steps: int, frequency: Frequency) -> str | None:
    """The stamp, or calendar period, ``steps`` periods of ``frequency`` after ``ts``, in words: a date for days and
    weeks (business days with "holidays aside"), the month, quarter or year itself for those (a monthly series may
    be stamped on the last trading day, which no rule gives), the time for intraday rows ("if there is no gap
    before it": nights and weekends are not known); None for an irregular series."""
    kind = frequency.kind
    if kind is None:
        return None
    if frequency.alias == "B":
        return f"{ts + pd.offsets.BDay(steps):%Y-%m-%d} (counting business days, holidays aside)"
    if kind in ("D", "W"):
        return f"{ts + pd.Timedelta(days=steps * (1 if kind == 'D' else 7)):%Y-%m-%d}" + (" (that week)" if kind == "W" else "")
    if kind in _CALENDAR:
        month = ts.tz_localize(None).to_period("M") + _CALENDAR[kind][2] * steps  # (periods have no zone)
        return {"M": month.strftime("%Y-%m"), "Q": str(month.asfreq("Q")), "Y": str(month.year)}[kind]
    later = ts + pd.Timedelta(seconds=steps * _step_seconds(frequency.alias))
    return f"{frequency.stamp(later)} (if there is no gap before it)"


def median_spacing(index: pd.DatetimeIndex) -> float | None:
    """The median time between consecutive stamps, in seconds (None for fewer than two): what tells two irregular
    series apart, whose ``kind`` is None for both."""
    return float(np.median(np.diff(_seconds(index)))) if len(index) >= 2 else None


def detect_frequency(index: pd.DatetimeIndex) -> Frequency:
    """The frequency of sorted, unique stamps (see the module docstring)."""
    if len(index) < 2:
        return Frequency(None, "a single row")
    seconds = _seconds(index)
    spacing = np.diff(seconds)
    step = float(np.median(spacing))
    if step < _DAY * 0.99:
        if np.mean(np.isclose(spacing, step)) < 0.5:  # event stamps (trades, pitches) have a median but no step
            return Frequency(None, f"irregular (median spacing {spacing_words(step)})")
        return _intraday(step)
    days = step / _DAY
    if days <= 1.01:
        weekend = np.isin(index.day_of_week, (5, 6)).mean()
        if weekend <= STRAY_WEEKEND_SHARE and seconds[-1] - seconds[0] >= 7 * _DAY:  # (the loader names stray ones)
            return Frequency("B", "business daily", "business day")
        return Frequency("D", "daily", "day")
    if 6 <= days <= 8:
        weekday = pd.Series(index.day_of_week).mode()[0]
        return Frequency(f"W-{('MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT', 'SUN')[weekday]}", "weekly", "week")
    for letter, low, high in (("M", 27, 32), ("Q", 85, 95), ("Y", 360, 370)):
        if low <= days <= high:
            word, period, _ = _CALENDAR[letter]
            end = (index.day >= 24).mean() > 0.5  # stamped at the end of each period (the 31st, or the last trading day)
            return Frequency(letter + ("E" if end else "S"), word, period)
    return Frequency(None, f"irregular (median spacing {spacing_words(step)})")


def period_numbers(index: pd.DatetimeIndex, frequency: Frequency) -> np.ndarray | None:
    """The calendar period of each stamp as a count, for the kinds whose every period holds one row (and business
    days): the date for days, the calendar week (Monday to Sunday, whatever weekday a row is stamped on) for
    weeks, the month, quarter or year; None for other frequencies (intraday, irregular)."""
    kind = frequency.kind
    if kind not in REGULAR_KINDS:
        return None
    days = index.tz_localize(None).values.astype("datetime64[D]").astype(np.int64) if index.tz is not None \
        else index.values.astype("datetime64[D]").astype(np.int64)
    if kind == "D":
        return days
    if kind == "W":
        return (days + 3) // 7  # 1970-01-01 was a Thursday: weeks counted from a Monday
    months = (index.year * 12 + index.month - 1).to_numpy()
    return months // _CALENDAR[kind][2]


def crowded_periods(index: pd.DatetimeIndex, frequency: Frequency) -> np.ndarray:
    """Positions of the rows that share their calendar period with the row before (``period_numbers``): a second
    row in a month of a monthly series, a second stamp on one date of a daily one. Empty for other frequencies."""
    numbers = period_numbers(index, frequency)
    if numbers is None or len(index) < 2:
        return np.array([], dtype=int)
    return np.flatnonzero(np.diff(numbers) == 0) + 1


def missing_periods(index: pd.DatetimeIndex, frequency: Frequency) -> np.ndarray:
    """For each pair of neighbouring stamps, how many periods of ``frequency`` lie missing between them."""
    alias = frequency.alias
    if frequency.kind == "W":  # calendar weeks: a vendor that moved its stamps from Mondays to Fridays skipped none
        return np.diff(period_numbers(index, frequency)) - 1
    if alias is None:
        spacing = np.diff(_seconds(index))
        return np.round(spacing / np.median(spacing)) - 1
    if alias == "B":
        days = index.values.astype("datetime64[D]")
        return np.busday_count(days[:-1], days[1:]) - 1
    if alias[0] in _CALENDAR and alias[1:] in ("S", "E"):
        months = index.year * 12 + index.month
        return np.diff(months.to_numpy()) // _CALENDAR[alias[0]][2] - 1
    return np.round(np.diff(_seconds(index)) / _step_seconds(alias)) - 1


STRAY_WEEKEND_SHARE = 0.02  # business days with at most this share of Saturday or Sunday rows (a source's slipped stamps)
REGULAR_KINDS = ("D", "W", "M", "Q", "Y")  # kinds in which every period has a stamp (``absent_stamps``)


def absent_stamps(index: pd.DatetimeIndex, frequency: Frequency) -> pd.DatetimeIndex:
    """The stamps missing between the first and the last of a daily (seven days a week), weekly, monthly,
    quarterly or yearly series, stamped as its own are (the same weekday, the start or the end of the month);
    empty for other frequencies, where a missing row is normal (holidays of business-daily prices, nights of
    intraday ones)."""
    if frequency.kind not in REGULAR_KINDS or frequency.alias == "B" or len(index) < 2:
        return pd.DatetimeIndex([])
    missing = missing_periods(index, frequency).astype(int)
    stamps = []
    for k in np.flatnonzero(missing > 0):
        before = index[k]
        for j in range(1, missing[k] + 1):
            if frequency.kind in ("D", "W"):
                stamps.append(before + pd.Timedelta(days=j * (1 if frequency.kind == "D" else 7)))
            else:
                month = before.tz_localize(None).to_period("M") + _CALENDAR[frequency.kind][2] * j  # (periods have no zone)
                stamp = month.to_timestamp(how="end" if frequency.alias.endswith("E") else "start").normalize()
                stamps.append(stamp if index.tz is None else stamp.tz_localize(index.tz))
    return pd.DatetimeIndex(stamps)


def gap_note(index: pd.DatetimeIndex, frequency: Frequency) -> str:
    """One line on the gaps of ``GAP_PERIODS`` or more missing periods, or "" when there are none."""
    if len(index) < 3:
        return ""
    missing = missing_periods(index, frequency)
    gaps = np.flatnonzero(missing >= GAP_PERIODS)
    if not len(gaps):
        return ""
    worst = gaps[np.argmax(missing[gaps])]
    period = frequency.period
    return (f"{len(gaps)} gap(s) of {GAP_PERIODS} or more missing {period}s; the longest, {int(missing[worst])} {period}s, "
            f"ends {frequency.stamp(index[worst + 1])}")


def spacing_words(seconds: float) -> str:
    """A spacing as people write it: "3 days", "36 hours", "90 minutes" (pandas wrote "3 days 00:00:00")."""
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        count = seconds / size
        if count >= 1 and abs(count - round(count)) < 1e-9:
            n = int(round(count))
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{seconds:g} seconds"


def _intraday(step: float) -> Frequency:
    for unit in ("h", "min", "s"):
        name, size = _UNITS[unit]
        count = step / size
        if count >= 1 and abs(count - round(count)) < 1e-6:
            n = int(round(count))
            word = {"h": "hourly", "min": "minute", "s": "second"}[unit] if n == 1 else f"{n}-{name}"
            return Frequency(unit if n == 1 else f"{n}{unit}", word, name if n == 1 else f"{n}-{name} step")
    return Frequency(None, f"irregular (median spacing {spacing_words(step)})")


def _step_seconds(alias: str) -> float:
    if alias.startswith("W-"):
        return 7 * _DAY
    if alias == "D":
        return _DAY
    count, unit = _INTRADAY.fullmatch(alias).groups()
    return int(count or 1) * _UNITS[unit][1]


def _seconds(index: pd.DatetimeIndex) -> np.ndarray:
    return index.values.astype("datetime64[ns]").astype(np.int64) / 1e9
