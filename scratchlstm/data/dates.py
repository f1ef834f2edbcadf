"""Dates and times, from text or numbers, read the way the data itself decides.

| written as | read as | decided by |
|---|---|---|
| 2019-01-31, 2019/01/31 | year-first (ISO 8601) | the shape; any time of day is kept |
| 2019-01-31T14:30:00+01:00 | local date and time | the offset is dropped, not applied (see below) |
| 31/01/2019, 31.01.2019, 31-01-2019, 01/31/2019 | day-first or month-first | a first field above 12 means day-first, a second field above 12 month-first; both, or neither, is refused unless ``date_format`` says |
| Jan 31, 2019; 31 Jan 2019; 31-Jan-2019 | month names (English) | the shape |
| 1949-01, Jan 1949 | year-month | stamped on the month's first day |
| 1990Q1, 1990-Q1, Q1 1990 | quarter | stamped on the quarter's first day |
| 2020-W01, 2020 W01 (R tsibble), 2020w01; 2020-W01-3, 2020W013 | ISO 8601 week; week date | stamped on the week's Monday (2020-W01 is 2019-12-30); a week date on its day (1 Monday to 7 Sunday); a week the year lacks is refused. Weeks numbered another way (``strftime``'s ``%W`` or ``%U``) are not ISO weeks and would read a week off: write those as dates |
| 20190131 (text or number) | YYYYMMDD | every value a valid date |
| 1704067200, 1704067200000 | unix seconds or ms | the size; 1973 to 2200 only |
| 1949, 1949.0833 | years (R's ts time) | every value in 1000-2200, on steps of 1/12, 1/4 or 1 (before 1678 refused: pandas cannot stamp it) |

Two-digit years (``31/01/19``), spreadsheet day numbers (``43466``) and mixtures of these shapes
are refused: each needs an assumption the data cannot confirm. ``date_format`` (a strftime
pattern, e.g. ``"%d/%m/%Y"``) overrides the detection.

Offsets: one rule, applied to every stamp. The local date and time written in the stamp are kept
and the offset (``+01:00``, ``Z``, ``UTC``) is dropped without converting. A daily bar stamped
``2019-01-31T00:00+01:00`` is the 31st where it was recorded; converted to UTC it would become the
30th, and a file whose offset changes at a daylight-saving switch would get one date twice and lose
the next. The cost falls on intraday stamps across an autumn switch, whose repeated hour shows up as
duplicated stamps (dropped, and reported).
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .numbers import DIGITS_AS_ZERO, MISSING_TOKENS
from .refusal import refuse

_MONTH_NAMES = [("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",), ("jun", "june"),
                ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
                ("dec", "december")]  # each month's names, the full one last
MONTHS = {name: k + 1 for k, names in enumerate(_MONTH_NAMES) for name in names}
UNIX_SECONDS = (1e8, 7.3e9)  # 1973-03-03 to 2201: smaller numbers are YYYYMMDD, years or day counts, never price stamps
_FULL_MONTH_NAMES = {names[-1] for names in _MONTH_NAMES}
_TIME = (r"(?:(?P<T>T|\s+)(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<F>\d{1,9}))?)?(?:\s?(?P<P>[AaPp][Mm]))?"
         r"(?:\s?(?P<Z>Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?))?)?")
_MONTH = r"(?P<mon>[A-Za-z]{3,9})\.?"
_SEVERAL_TIMES = "their times of day are written in several ways, which no one date_format reads"


@dataclass(frozen=True)
class _Shape:
    name: str  # how the dates are described
    pattern: re.Pattern  # named groups: y, m, d (or a, b for day/month), mon, q, time groups, sep
    strftime: str  # the strftime pattern of the date part ({sep} filled in), "" where there is none


SHAPES = [
    _Shape("year-first", re.compile(rf"(?P<y>\d{{4}})(?P<sep>[-/.])(?P<m>\d{{1,2}})(?P=sep)(?P<d>\d{{1,2}}){_TIME}"), "%Y{sep}%m{sep}%d"),
    _Shape("day/month", re.compile(rf"(?P<a>\d{{1,2}})(?P<sep>[-/.])(?P<b>\d{{1,2}})(?P=sep)(?P<y>\d{{4}}){_TIME}"), ""),
    _Shape("month names", re.compile(rf"{_MONTH}\s(?P<d>\d{{1,2}}),?\s(?P<y>\d{{4}}){_TIME}"), "%b %d{comma} %Y"),
    _Shape("month names", re.compile(rf"(?P<d>\d{{1,2}})(?P<sep>[\s-]){_MONTH}(?P=sep)(?P<y>\d{{4}}){_TIME}"), "%d{sep}%b{sep}%Y"),
    _Shape("year-month", re.compile(r"(?P<y>\d{4})(?P<sep>[-/.])(?P<m>\d{1,2})"), "%Y{sep}%m"),
    _Shape("year-month", re.compile(rf"{_MONTH}(?P<sep>[\s-])(?P<y>\d{{4}})"), "%b{sep}%Y"),
    _Shape("year-month", re.compile(rf"(?P<y>\d{{4}})(?P<sep>[\s-]){_MONTH}"), "%Y{sep}%b"),  # R tsibble's "1960 Jan"
    _Shape("quarters", re.compile(r"(?P<y>\d{4})(?P<sep>[-\s]?)[Qq](?P<q>\d)"), ""),
    _Shape("quarters", re.compile(r"[Qq](?P<q>\d)(?P<sep>[-\s]?)(?P<y>\d{4})"), ""),
    _Shape("ISO weeks", re.compile(r"(?P<y>\d{4})(?P<sep>[-\s]?)[Ww](?P<w>\d{2})"), ""),  # 2020-W01, R tsibble's "2020 W01"
    _Shape("ISO week dates", re.compile(r"(?P<y>\d{4})(?P<sep>-?)[Ww](?P<w>\d{2})(?P=sep)(?P<wd>\d)"), ""),  # 2020-W01-3, 2020W013
]
_TWO_DIGIT_YEAR = re.compile(r"\d{1,2}([-/.\s])(?:\d{1,2}|[A-Za-z]{3,9})\1\d{2}(?:\D.*)?")
_TWO_DIGIT_YEAR_PARTS = re.compile(rf"(?P<day>\d{{1,2}})(?P<sep>[-/.\s])(?P<mid>\d{{1,2}}|[A-Za-z]{{3,9}})(?P=sep)\d{{2}}{_TIME}")
_NUMERIC = re.compile(r"[+-]?\d+(?:\.\d*)?")
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?")  # on shapes
NOTE_LINES = 3  # at most this many lines of text below the prices are taken for a note
_WORD = re.compile(r"[^\W\d_]{2,}")  # two or more letters
_DATE_WORDS = {"am", "pm", "utc", "gmt", "st", "nd", "rd", "th"} | {  # words a date may hold besides month names
    w for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday") for w in (day, day[:3])}
_OFFSET_AT_END = re.compile(r"(?P<rest>.*\d:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:\s?[AaPp][Mm])?)\s?(?P<Z>Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)")


@dataclass(frozen=True)
class DateReading:
    """Time stamps read from a column, and how they were read."""

    stamps: pd.DatetimeIndex  # naive local times, in the column's row order
    kind: str  # "year-first", "day-first", "month-first", "month names", "YYYYMMDD", "unix seconds", ...
    format: str | None = None  # the strftime pattern that reads the text, where one does
    offsets: tuple[str, ...] = ()  # the distinct offsets dropped, as written

    @property
    def order(self) -> str | None:
        """``"day-first"``, ``"month-first"`` or ``"year-first"`` for numeric dates with all three fields."""
        return self.kind if self.kind in ("day-first", "month-first", "year-first") else None

    def describe(self) -> str:
        text = f"{self.kind} ({self.format})" if self.format and self.format != self.kind else self.kind
        return text + (f", offsets {self.offsets_text()}" if self.offsets else "")

    def offsets_text(self) -> str:
        shown = ", ".join(self.offsets[:3]) + (f" and {len(self.offsets) - 3} more" if len(self.offsets) > 3 else "")
        return f"{shown} dropped (local times kept)" if self.offsets else ""


def parse_dates(column: pd.Series, *, name: str, source, date_format: str | None = None, where=None) -> DateReading:
    """Read a date column (see the module docstring for what is understood).

    Parameters
    ----------
    column : pandas.Series
        Text, numbers or datetimes.
    name : str
        The column's name, for messages.
    source : str or path
        The file, for messages.
    date_format : str, optional
        A strftime pattern that every value must match; it replaces the detection.
    where : callable, optional
        ``where(i)`` names the place of the row at position ``i`` in error messages (``"line 7"``);
        by default ``"row {i + 1}"``.

    Raises
    ------
    scratchlstm.errors.DataError
        naming the file, the column, the problem and the fix.
    """
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        offsets = tuple(dict.fromkeys(t.strftime("%z") for t in column))
        return DateReading(pd.DatetimeIndex(column.dt.tz_localize(None)), "datetimes", offsets=offsets)
    if pd.api.types.is_datetime64_dtype(column.dtype):
        if column.isna().any():
            raise refuse(source, f"{int(column.isna().sum())} time stamp(s) in {name!r} are missing", "Fill or drop those rows")
        return DateReading(pd.DatetimeIndex(column), "datetimes")
    numeric = pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype)
    if numeric and date_format is None and column.notna().all():
        return _from_numbers(column.to_numpy(dtype=float), name, source)
    text = _text_of(column)
    missing = text.isna() | text.isin(MISSING_TOKENS)
    if missing.any():
        raise refuse(source, f"{int(missing.sum())} value(s) in column {name!r} are not dates (first: {text[missing].iloc[0] or ''!r})",
                     "Fill in or delete those rows")
    text, shapes, offsets = _split_offsets(text, _shapes(text))
    if date_format is not None:
        return _with_format(text, date_format, offsets, name, source)
    if all(_NUMERIC.fullmatch(s) for s in shapes.unique()):
        return _from_numbers(text.astype(float).to_numpy(), name, source)
    return _from_text(text, shapes, offsets, name, source, where)


UNIX_FIX = "Use dates such as 2020-01-31, or unix seconds or milliseconds"


def unix_stamps(values: np.ndarray, unit: str, *, name: str, source, fix: str = UNIX_FIX) -> pd.DatetimeIndex:
    """Unix seconds (``unit="s"``) or milliseconds (``"ms"``) as stamps, refusing times outside 1973-2200 with ``fix``."""
    seconds = values / (1000.0 if unit == "ms" else 1.0)
    plausible = (seconds >= UNIX_SECONDS[0]) & (seconds < UNIX_SECONDS[1])
    if not plausible.all():
        raise refuse(source, f"{int((~plausible).sum())} value(s) in {name!r} are not unix times between 1973 and 2200 "
                             f"(first: {values[~plausible][0]:g})", fix)
    return pd.DatetimeIndex(pd.to_datetime(values, unit=unit))


def _text_of(column: pd.Series) -> pd.Series:
    """Stripped text, None where missing; whole floats without their ".0" (20190131.0 from a column with blanks)."""
    def text(v):
        if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
            return None
        return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v).strip()

    return pd.Series([text(v) for v in column.astype(object)], index=column.index, dtype=object)


def _shapes(text: pd.Series) -> pd.Series:
    """Each value with its digits written as 0: a long column has few distinct shapes, and a format is a shape."""
    return pd.Series([s.translate(DIGITS_AS_ZERO) for s in text], index=text.index, dtype=object)


def _split_offsets(text: pd.Series, shapes: pd.Series) -> tuple[pd.Series, pd.Series, tuple[str, ...]]:
    """Text and shapes without trailing UTC offsets (only those after a time of day), and the offsets seen."""
    with_offset = [s for s in shapes.unique() if _OFFSET_AT_END.fullmatch(s)]
    if not with_offset:
        return text, shapes, ()
    rows = shapes.isin(with_offset)
    parts = text[rows].str.extract(_OFFSET_AT_END.pattern + "$")
    text = text.copy()
    text[rows] = parts["rest"]
    return text, _shapes(text), tuple(dict.fromkeys(parts["Z"]))


def _with_format(text: pd.Series, date_format: str, offsets, name, source) -> DateReading:
    if "%z" in date_format or "%Z" in date_format:
        raise refuse(source, f"date_format {date_format!r} has an offset field", "Leave %z and %Z out: offsets are recognised and dropped")
    try:
        stamps = pd.to_datetime(text, format=date_format, errors="coerce")
    except (ValueError, TypeError) as exc:
        raise refuse(source, f"date_format {date_format!r} is not a strftime pattern ({exc})", "Use one such as %d/%m/%Y") from None
    except re.error as exc:  # the pattern compiles to a regular expression: a field given twice ("%d ... %d") repeats a group
        twice = re.search(r"group name '(\w+)'", str(exc))
        field = f" (%{twice.group(1)} twice)" if twice else ""
        raise refuse(source, f"date_format {date_format!r} names a field more than once{field}",
                     "Give each field once, as in %d/%m/%Y %H:%M") from None
    bad = stamps.isna()
    if bad.any():
        first = text[bad].iloc[0]
        raise refuse(source, f"{int(bad.sum())} value(s) in column {name!r} do not match date_format {date_format!r} "
                             f"(first: {first!r})", "Check the pattern (e.g. %d/%m/%Y for 31/01/2019)" + _time_hint(first, date_format))
    return DateReading(pd.DatetimeIndex(stamps), "as given", date_format, offsets)


def _time_hint(value: str, date_format: str) -> str:
    """For a ``date_format`` without hours that a value with a time of day does not match, the pattern of that time
    (``"; the values carry a time of day: end the pattern with ' %I:%M %p'"``); "" otherwise."""
    matched = _match(value.translate(DIGITS_AS_ZERO))
    if matched is None or "%H" in date_format or "%I" in date_format:
        return ""
    time = _time_of(matched[0].pattern.fullmatch(value))
    return f"; the values carry a time of day: end the pattern with {time!r}" if time else ""


def _from_numbers(values: np.ndarray, name, source) -> DateReading:
    whole = values == np.floor(values)
    if whole.all() and ((values >= 1e7) & (values < 1e8)).all():
        stamps = pd.to_datetime(pd.Series(values.astype(np.int64).astype(str)), format="%Y%m%d", errors="coerce")
        if stamps.notna().all():
            return DateReading(pd.DatetimeIndex(stamps), "YYYYMMDD", "%Y%m%d")
    if ((values >= 1000) & (values <= 2200)).all():
        if values.min() < 1678:  # pandas stamps in nanoseconds, from 1677-09-21 on
            raise refuse(source, f"column {name!r} holds years such as {values.min():g}, before 1678, the first whole year "
                                 "a pandas time stamp can hold", "Drop the rows before 1678")
        return _decimal_years(values, name, source)
    if ((values >= 20000) & (values < 80000)).all():
        raise refuse(source, f"column {name!r} holds numbers such as {values[0]:g}, which look like spreadsheet day numbers, not dates",
                     "Format the column as dates (YYYY-MM-DD) in the spreadsheet before exporting")
    unit = "ms" if np.nanmax(np.abs(values)) >= 1e11 else "s"  # 1e11 ms is 1973; 1e11 s is the year 5138
    return DateReading(unix_stamps(values, unit, name=name, source=source), "unix milliseconds" if unit == "ms" else "unix seconds")


def _decimal_years(values: np.ndarray, name, source) -> DateReading:
    """R's time-series times: the year plus the elapsed fraction (1949.0833 is February 1949)."""
    year = np.floor(values + 1e-9)
    fraction = values - year
    for steps, kind in ((1, "years"), (4, "decimal years (quarters)"), (12, "decimal years (months)")):
        k = np.round(fraction * steps)
        if np.all(np.abs(fraction * steps - k) < 1e-4 * steps):
            months = ((k % steps) * (12 // steps)).astype(int) + 1  # k == steps: a fraction a hair below the next year
            stamps = pd.to_datetime(pd.DataFrame({"year": (year + k // steps).astype(int), "month": months, "day": 1}))
            return DateReading(pd.DatetimeIndex(stamps), kind)
    raise refuse(source, f"column {name!r} holds numbers such as {values[0]:g}: years with fractions that are not months or quarters",
                 "Use dates such as 2020-01-31")


def _from_text(text: pd.Series, shapes: pd.Series, offsets, name, source, where=None) -> DateReading:
    first = _match(shapes.iloc[0])
    if first is None:
        raise _not_dates(text, shapes, name, source, where)
    shape, sep = first
    unique = shapes.unique()
    misfit = next((s for s in unique if _match(s) != first), None)
    if misfit is not None:
        if _match(misfit) is None:
            raise _not_dates(text, shapes, name, source, where)
        ambiguous = "day/month" in (shape.name, _match(misfit)[0].name)
        raise refuse(source, f"column {name!r} mixes date formats (e.g. {text.iloc[0]!r} and {text[shapes == misfit].iloc[0]!r})"
                             + (", which can make a date like 01/02 mean two days" if ambiguous else ""),
                     "Use one date format, preferably YYYY-MM-DD")
    time = _time_format(shape, unique)
    if all(_ISO.fullmatch(s) for s in unique):  # the common case, parsed by pandas at C speed
        stamps, kind, fmt = pd.to_datetime(text, format="ISO8601", errors="coerce"), "year-first", "%Y-%m-%d"
    else:
        parts = text.str.extract(shape.pattern.pattern + "$")
        if shape.name == "day/month":
            day, month, kind = _order(parts, text, name, source, time)
            fmt = f"%d{sep}%m{sep}%Y" if kind == "day-first" else f"%m{sep}%d{sep}%Y"
        elif "w" in parts:
            kind, fmt, month, day = shape.name, None, None, None
        else:
            comma = "" if not text.str.contains(",").any() else ","  # Jan 03 2022 is described without the comma it lacks
            kind, fmt = shape.name, shape.strftime.format(sep=sep, comma=comma) or None
            day = parts["d"].astype(float) if "d" in parts else pd.Series(1.0, index=parts.index)
            if "q" in parts:
                month = (parts["q"].astype(float) - 1) * 3 + 1
            elif "mon" in parts:
                month = parts["mon"].str.lower().map(MONTHS)
                fmt = fmt.replace("%b", "%B") if parts["mon"].str.len().max() > 3 else fmt
            else:
                month = parts["m"].astype(float)
        stamps = _iso_week_days(parts) if "w" in parts else _assemble(parts["y"].astype(float), month, day, parts)
    bad = stamps.isna()
    if bad.any():
        problem = f"{int(bad.sum())} value(s) in column {name!r} are not real dates or times (first: {text[bad].iloc[0]!r})"
        years = text[bad].str.extract(r"(\d{4})", expand=False).astype(float)
        if ((years < 1678) | (years > 2261)).any():  # pandas' datetime64[ns] runs from 1677-09-21 to 2262-04-11
            problem += ", or are outside the years pandas can stamp (1678 to 2261)"
        if _day_month_swapped(text, shape, bad):
            problem += ", but every value is a real date with its last two fields read as day then month"
            if time is None:
                raise refuse(source, problem, f"Export the dates in one format, preferably YYYY-MM-DD ({_SEVERAL_TIMES})")
            swapped = f"%Y{sep}%d{sep}%m{time}"
            raise refuse(source, problem, f"Pass date_format={swapped!r} (--date-format {swapped!r}) if the dates are "
                                          "written that way")
        raise refuse(source, problem, "Fix or delete those rows")
    return DateReading(pd.DatetimeIndex(stamps), kind, fmt + time if fmt and time is not None else None, offsets)


def _day_month_swapped(text: pd.Series, shape: _Shape, bad: pd.Series) -> bool:
    """Whether ``text`` holds year-first dates of which more than half are no real date but all are one with day and
    month swapped (``2017/18/08``)."""
    if shape.name != "year-first" or bad.sum() * 2 <= len(bad):
        return False
    parts = text.str.extract(shape.pattern.pattern + "$")
    if not (parts["m"][bad].astype(float) > 12).all():  # a real calendar date pandas cannot stamp (2262-05-01) is no swap
        return False
    swapped = _assemble(parts["y"].astype(float), parts["d"].astype(float), parts["m"].astype(float), parts)
    return bool(swapped.notna().all())


def _time_format(shape: _Shape, unique) -> str | None:
    """The strftime pattern of the time of day that every one of the shapes ``unique`` carries alike (`` %I:%M %p``),
    to append to the date's pattern: "" when none carries one, None when they are written in several ways (with and
    without seconds, some without a time), which no single ``date_format`` reads."""
    found = {_time_of(m) for m in map(shape.pattern.fullmatch, unique) if m}
    return next(iter(found)) if len(found) == 1 else None


def _time_of(match: re.Match) -> str:
    """The strftime pattern of the time of day in one value matched by a shape's pattern, "" when it has none."""
    if not match.groupdict().get("H"):  # no time of day, or a shape that has none (1949-01, 1990Q1)
        return ""
    value, twelve = match.string, bool(match["P"])
    seconds = ":%S" + (value[match.start("F") - 1] + "%f" if match["F"] else "") if match["S"] else ""
    am_pm = (" " if value[match.start("P") - 1].isspace() else "") + "%p" if twelve else ""
    return ("T" if match["T"] == "T" else " ") + ("%I" if twelve else "%H") + ":%M" + seconds + am_pm


def _match(shape: str):
    """(the shape's entry in SHAPES, its separator) or None."""
    for entry in SHAPES:
        m = entry.pattern.fullmatch(shape)
        if m:
            return entry, m.groupdict().get("sep") or ""
    return None


def _not_dates(text, shapes, name, source, where=None):
    known = shapes.map(lambda s: _match(s) is not None)
    example = text[~known].iloc[0]
    if text[~known].map(lambda v: str(v).strip().lower() == str(name).strip().lower()).all():
        k = int(np.flatnonzero(~known.to_numpy())[0])
        place, line = (where(k), "line") if where is not None else (f"row {k + 1}", "row")
        count = int((~known).sum())
        return refuse(source, f"{count} {line}(s) repeat the header (first {place}: {example!r}), as two files joined into one do",
                      f"Delete the repeated header {line}(s); dates that both files hold are then checked as duplicates")
    if _is_note_below(text, known):
        k = int(np.flatnonzero(~known.to_numpy())[0])
        place = where(k) if where is not None else f"row {k + 1}"
        line = "line" if where is not None else "row"
        if known.size - k == 1:
            return refuse(source, f"the last {line} ({place}: {example!r}) is not a row of prices but text (a note?)",
                          f"Delete that {line}")
        return refuse(source, f"the last {known.size - k} {line}s (from {place}: {example!r}) are not rows of prices but text "
                              "(a note?)", f"Delete those {line}s")
    if _TWO_DIGIT_YEAR.fullmatch(example):
        patterns = _two_digit_year_patterns(text)
        return refuse(source, f"column {name!r} has two-digit years (e.g. {example!r}), which leave the century to a guess",
                      "Save the dates with four-digit years" + (f", or pass date_format (--date-format) {patterns}"
                                                                 if patterns else ""))
    return refuse(source, f"{int((~known).sum())} value(s) in column {name!r} are not dates (first: {example!r})",
                  "Use one date format, preferably YYYY-MM-DD, or pass date_format (--date-format)")


def _two_digit_year_patterns(text: pd.Series) -> str | None:
    """The strftime pattern(s) that read ``text``, dates with two-digit years and any time of day (``31-Jan-19 14:30``:
    ``'%d-%b-%y %H:%M'``; both orders, ``'%d/%m/%y' or '%m/%d/%y'``, when no field above 12 settles it); None when
    the values are not all written alike."""
    found = [_TWO_DIGIT_YEAR_PARTS.fullmatch(value) for value in text.unique()]
    if not all(found):
        return None
    shapes = {(m["sep"], m["mid"].isdigit(), _time_of(m)) for m in found}
    if len(shapes) != 1:
        return None
    sep, numeric, time = next(iter(shapes))
    if not numeric:
        names = {m["mid"].lower() for m in found}
        month = "%b" if all(len(n) == 3 for n in names) else "%B" if names <= _FULL_MONTH_NAMES else None
        return f"'%d{sep}{month}{sep}%y{time}'" if month else None
    day_first, month_first = f"'%d{sep}%m{sep}%y{time}'", f"'%m{sep}%d{sep}%y{time}'"
    if any(int(m["day"]) > 12 for m in found):
        return day_first
    return month_first if any(int(m["mid"]) > 12 for m in found) else f"{day_first} or {month_first}"


def _is_note_below(text: pd.Series, known: pd.Series) -> bool:
    """Whether the values that are no dates are the last few (at most ``NOTE_LINES``), after at least one date, and
    each is words (two or more that a date could not hold): a note such as "Source: Yahoo Finance"."""
    failing = int((~known).sum())
    if not 0 < failing <= NOTE_LINES or failing == known.size or known.iloc[-failing:].any():
        return False
    return all(len([w for w in _WORD.findall(value.lower()) if w not in MONTHS and w not in _DATE_WORDS]) >= 2
               for value in text.iloc[-failing:])


def _order(parts: pd.DataFrame, text, name, source, time: str | None):
    """Day and month from the first two fields, in the order the data proves; ``time`` is the pattern of the values'
    time of day (``_time_format``), for the ``date_format`` a refusal names."""
    a, b = parts["a"].astype(float), parts["b"].astype(float)
    impossible = ((a > 12) & (b > 12)) | (a < 1) | (b < 1) | (a > 31) | (b > 31)
    if impossible.any():
        raise refuse(source, f"{int(impossible.sum())} value(s) in column {name!r} are not real dates in either order "
                             f"(first: {text[impossible].iloc[0]!r})", "Fix or delete those rows")
    day_first, month_first = (a > 12).any(), (b > 12).any()
    if day_first and month_first:
        raise refuse(source, f"column {name!r} has dates with a first field above 12 (e.g. {text[a > 12].iloc[0]!r}) and dates "
                             f"with a second field above 12 (e.g. {text[b > 12].iloc[0]!r}): day-first and month-first mixed",
                     "Export the dates in one format, preferably YYYY-MM-DD")
    if not (day_first or month_first):
        sep = parts["sep"].iloc[0]
        problem = (f"every date in column {name!r} has both first fields at 12 or below (e.g. {text.iloc[0]!r}), so it could "
                   "be day-first or month-first")
        if time is None:
            raise refuse(source, problem, f"Export the dates in one format, preferably YYYY-MM-DD ({_SEVERAL_TIMES})")
        raise refuse(source, problem, f"Pass date_format (--date-format) '%d{sep}%m{sep}%Y{time}' or '%m{sep}%d{sep}%Y{time}'")
    return (a, b, "day-first") if day_first else (b, a, "month-first")


def _iso_week_days(parts: pd.DataFrame) -> pd.Series:
    """The day each ISO week (``2020-W01``: its Monday, 2019-12-30) or ISO week date (``2020-W01-3``: its Wednesday)
    names; NaT for a week the year lacks (W00, W53 of a 52-week year) or a weekday outside 1 to 7."""
    def day(year: str, week: str, weekday) -> pd.Timestamp:
        try:
            stamp = pd.Timestamp(datetime.date.fromisocalendar(int(year), int(week), int(weekday)))
        except ValueError:
            return pd.NaT
        return stamp if pd.Timestamp.min <= stamp <= pd.Timestamp.max else pd.NaT  # 3017-W20: refused as 3017-05-15 is

    weekdays = parts["wd"] if "wd" in parts else [1] * len(parts)
    return pd.Series([day(y, w, d) for y, w, d in zip(parts["y"], parts["w"], weekdays)], index=parts.index, dtype="datetime64[ns]")


def _assemble(year, month, day, parts: pd.DataFrame) -> pd.Series:
    """Stamps from numeric parts; NaT where a part is out of range (31 February, 25:00)."""
    stamps = pd.to_datetime(pd.DataFrame({"year": year, "month": month, "day": day}), errors="coerce")
    if "H" not in parts or parts["H"].isna().all():
        return stamps
    timed, am_pm = parts["H"].notna(), parts["P"].notna()
    hour, minute = parts["H"].astype(float).fillna(0), parts["M"].astype(float).fillna(0)
    second = parts["S"].astype(float).fillna(0)
    fraction = ("0." + parts["F"].fillna("0")).astype(float)
    valid = ~timed | (np.where(am_pm, (hour >= 1) & (hour <= 12), hour <= 23) & (minute <= 59) & (second <= 59))
    hour = np.where(am_pm, hour % 12 + 12 * (parts["P"].str.lower() == "pm"), hour)  # 12 AM is midnight, 12 PM noon
    seconds = hour * 3600 + minute * 60 + second + fraction
    return (stamps + pd.to_timedelta(seconds, unit="s")).where(valid)
