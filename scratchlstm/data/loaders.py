"""Price files in the formats people actually download, recognised by their content.

| format | what identifies it |
|---|---|
| ``yahoo`` | a header with a date and a close column, e.g. ``Date,Open,High,Low,Close,Adj Close,Volume`` (also Stooq, Investing-style and spreadsheet exports) |
| ``yfinance`` | three header lines: ``Price,...`` / ``Ticker,...`` / ``Date,,,`` |
| ``cryptodatadownload`` | a banner line (``https://www.CryptoDataDownload.com``) before the header, newest row first, ``unix`` in seconds or milliseconds, ``Volume BTC``/``Volume USD`` |
| ``kaggle-minute`` | ``Timestamp,Open,High,Low,Close,...`` with unix seconds at minute spacing and NaN rows for minutes without trades: resampled to daily bars |
| ``coingecko`` | JSON of ``/coins/{id}/market_chart``: ``prices: [[ms, price], ...]`` |
| ``date-price`` | a header with a date column and price columns but no open/high/low/close set (a spreadsheet's two columns, FRED-style exports); ``price_column=`` picks one |

Whatever the layout, the file's conventions are read from its content: gzip and the encoding
(``decoding``), the delimiter and the header (``delimited``), the decimal mark and thousands
separator (``numbers``), the date format and order and any UTC offsets (``dates``), and the
frequency (``frequency``). Where the content cannot decide, the file is refused with the option
that settles it (``decimal=``, ``date_format=``). Then every series, from a file or from memory
(``as_price_series``), is sorted by time, its duplicated stamps dropped (with a warning) when their
prices agree within rounding and refused when they do not (two downloads that disagree), its missing
prices handled only as ``missing=`` says, and its long gaps reported. An ``Adj Close`` column that is
empty in every row gives way to ``Close`` (with a note); of two columns that each name a price
(``Price`` and ``Close``), the first in ``PRICE_COLUMNS`` is taken and a note names the other; a ``Time``
column is joined to ``Date``.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError
from .coingecko import coingecko_frame, ends_with_running_price
from .dates import DateReading, parse_dates
from .decoding import Text, read_text
from .delimited import (DATE_COLUMNS, clean_name, read_table, row_places, same_name, sniff_layout, underscored,
                        without_unfinished_last_line)
from .frequency import absent_stamps, crowded_periods, detect_frequency, gap_note, period_numbers, spacing_words
from .jumps import jump_note, split_note
from .numbers import could_be_dot_grouped, read_numbers
from .options import DECIMAL_MARKS, MISSING_POLICIES, LoadOptions  # LoadOptions: importable from here as before
from .refusal import refuse
from .series import DataWarning, Detected, PriceSeries

# adjusted closes first, as Yahoo (Adj Close), Nasdaq Data Link / Quandl (Adj. Close), Alpha Vantage (adjusted_close)
# and Tiingo (adjClose) name them: a split in an unadjusted Close dominates every error
ADJUSTED = ("adj close", "adj_close", "adj. close", "adjusted_close", "adjusted close", "adjclose")
PRICE_COLUMNS = (*ADJUSTED, "close", "close/last", "price", "last",  # close/last: Nasdaq.com's
                 # the closing price in the exports of localised sites (Investing.com and others): de, fr, es, it, pt
                 "schlusskurs", "schluss", "zuletzt", "clôture", "dernier", "cierre", "último", "chiusura", "ultimo", "fechamento",
                 "y")  # the long format's value column (statsforecast's ds, y), in a file of one series
# words of a column name that say it is not a closing price, even when it is the only column beside the dates:
# sizes (and every word that starts with "vol": volume, Volumen, Vol., volume_usd), the day's other prices
# (English, de, fr, es, it, pt), changes, and row numbers
NOT_A_CLOSE = frozenset(
    "open opening high low market cap capitalisation capitalization shares trades "
    "count turnover change variation var pct percent % id index idx no n row rank "
    "eröffn eröffnung hoch tief ouv ouverture haut bas apertura abertura máx máximo máxima mín mínimo mínima massimo "
    "minimo max min".split())
_NAME_WORDS = re.compile(r"[^\w%]+")


def _says_no_close(name: str) -> bool:
    """Whether a column name holds one of the ``NOT_A_CLOSE`` words (``Volume BTC``, ``Market Cap``, ``Eröffn.``)."""
    words = {w for w in _NAME_WORDS.split(name.lower()) if w}
    return bool(words & NOT_A_CLOSE) or any(w.startswith("vol") for w in words)


SYMBOL_COLUMNS = ("symbol", "ticker")
# words of a column name that say it holds each row's hour, and the date columns beside which it is joined (en, de, fr, es/pt)
HOUR_WORDS = frozenset("hour hours hr h hh stunde heure hora".split())
HOUR_BESIDE = ("date", "datum", "fecha", "data")
MINUTE_WORDS = frozenset("minute minutes minuten minuto minutos".split())  # ("min" is a low price in some exports)
_AT_MIDNIGHT = re.compile(r"(.*?\d)[ T]0?0:00(?::00(?:\.0+)?)?(?:\s?[Aa][Mm])?")  # a date with 00:00 (Excel's, a spreadsheet's)
_TIME_OF_DAY = re.compile(r"\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?:\s?[AaPp][Mm])?")
# Above this many characters a file is read with only the columns the series needs (dates, times,
# prices, symbols): a 190 MB file of minute bars with eight columns needed 1.8 GB read whole.
LARGE_FILE_CHARS = 32 * 2**20
ROUNDING_SHARE = 1e-3  # duplicated stamps agree when their prices differ by rounding and by at most this share

__all__ = ["DataWarning", "Detected", "LoadOptions", "MISSING_POLICIES", "PriceSeries", "as_price_series", "load_prices"]


def load_prices(path: str | Path, *, price_column: str | None = None, missing: str = "error", decimal: str | None = None,
                date_format: str | None = None, large_file_chars: int = LARGE_FILE_CHARS) -> PriceSeries:
    """Load a price file of any supported format and convention (see the module docstring).

    Parameters
    ----------
    path : str or pathlib.Path
        A CSV (comma, semicolon, tab or pipe separated) or CoinGecko JSON file, possibly gzipped.
    price_column : str, optional
        Which column is the price (default: ``Adj Close`` when present, else ``Close``).
    missing : str
        What to do with rows whose price is missing, and with the periods of a daily, weekly, monthly,
        quarterly or yearly series that have no row: ``"error"`` (default: say how many and stop),
        ``"drop"`` them, or ``"ffill"`` (carry the last price forward).
    decimal : str, optional
        The decimal mark, ``"."`` or ``","``, for a file whose numbers cannot tell (every value
        like ``1,234``); by default it is detected.
    date_format : str, optional
        A strftime pattern for the dates (e.g. ``"%d/%m/%Y"``) when their order cannot be told;
        by default it is detected.
    large_file_chars : int
        Above this many characters of text, only the columns the series needs are read (the date
        and time, the price columns, a symbol column), to bound the memory a large file takes;
        the others are left out of the series and of the detection of the number format (a note
        says so).

    Returns
    -------
    series : PriceSeries
        With what was detected in ``series.detected`` and ``series.describe()``.

    Raises
    ------
    scratchlstm.errors.DataError
        naming the file, the problem and the fix.
    """
    _check_options(missing, decimal, date_format)
    path = Path(path)
    text = read_text(path)
    notes = [f"the file is not UTF-8; it was read as {text.encoding}"] if text.encoding in ("Latin-1", "Windows-1252") else []
    if text.text.lstrip().startswith(("{", "[")):
        return _load_coingecko(path, text, price_column, missing, notes)
    layout = sniff_layout(text.text, path)
    body = without_unfinished_last_line(text.text, layout, notes)
    body = _blank_empty_rows(body, layout, notes)
    only = _needed_columns(layout.columns, price_column) if len(body) > large_file_chars else None
    if only is not None:
        dropped = [c for c in layout.columns if c not in only]
        if dropped:
            notes.append(f"a large file ({len(body) / 2**20:.0f} MB of text): read only its columns {', '.join(map(repr, only))}; "
                         "the others' numbers did not take part in telling the decimal mark")
    table = read_table(body, layout, path, only=only)
    if len(table) == 0:
        raise refuse(path, "the file has a header but no rows", "Download a longer history")
    _one_symbol(table, path)
    _not_long(table, path)
    date_column = _date_column(table.columns, path)
    price = _price_column(table.columns, date_column, price_column, path, notes)
    if price_column is None and price in ADJUSTED and table[price].isna().all() and "close" in table.columns:
        notes.append(f"column {price!r} is empty in every row; the price is column 'close'")
        price = "close"
    floats = [c for c in table.columns if c != date_column and pd.api.types.is_float_dtype(table[c])]
    recheck = [c for c in floats if decimal == "," or could_be_dot_grouped(table[c])]  # see could_be_dot_grouped
    if recheck:
        table[recheck] = read_table(body, layout, path, as_text=recheck)
    if date_column == "date" and "time" in table.columns and pd.api.types.is_numeric_dtype(table["time"]):
        table["time"] = read_table(body, layout, path, as_text=["time"])["time"]  # as written: a refusal quotes 0930, not 930
    where = row_places(body, layout)
    table, reading = _dates_out(table, date_column, date_format, path, where, notes)
    text_columns = [c for c in table.columns if not pd.api.types.is_numeric_dtype(table[c])]
    table, numbers = read_numbers(table, text_columns, price_column=price, decimal=decimal, source=path, where=where)
    point = any(c not in recheck for c in floats)  # pandas read a fraction with '.' that no grouping explains
    frame, fmt = table.set_index(reading.stamps.rename("date")), layout.format
    if fmt == "yahoo" and not {"open", "high", "low", "close"} <= set(frame.columns):
        fmt = "date-price"  # only a date and a price: nothing says where it came from
    if date_column in ("timestamp", "unix") and reading.kind.startswith("unix") and _spacing(frame.index) <= pd.Timedelta(minutes=1):
        frame, fmt = _daily_from_minutes(frame, price, notes), "kaggle-minute"
    detected = Detected(encoding=text.encoding, compression=text.compression, delimiter=layout.delimiter,
                        decimal=numbers.decimal or ("." if point else None), thousands=numbers.thousands,
                        thousands_partly=numbers.partly, grouping=numbers.grouping, unit=numbers.unit,
                        dates=reading.describe(), date_format=reading.format, date_order=reading.order,
                        offsets=reading.offsets_text() or None)
    return _finish(frame, price, source=path, fmt=fmt, missing=missing, detected=detected, notes=notes)


def as_price_series(obj, price_column: str | None = None, missing: str = "error", *, decimal: str | None = None,
                    date_format: str | None = None) -> PriceSeries:
    """A checked ``PriceSeries`` from a file path, a ``PriceSeries``, a pandas Series or a DataFrame.

    In-memory data gets every check a file gets: sorted by time (with a note), duplicated stamps
    dropped (with a warning), missing prices handled as ``missing=`` says, prices positive and
    finite, frequency detected.

    Parameters
    ----------
    obj : str, pathlib.Path, PriceSeries, pandas.Series or pandas.DataFrame
        A Series needs a DatetimeIndex (or PeriodIndex); a DataFrame needs one, or a date column
        (``Date``, ``Timestamp``, ... as in files), whose text is read like a file's.
    price_column : str, optional
        For a DataFrame or a file, which column is the price (default as in ``load_prices``).
    missing : str
        ``"error"``, ``"drop"`` or ``"ffill"``, as in ``load_prices``.
    decimal : str, optional
        As in ``load_prices``, for text numbers.
    date_format : str, optional
        As in ``load_prices``, for text dates.

    Returns
    -------
    series : PriceSeries
        ``obj`` itself when it already is one with that price column.

    Raises
    ------
    scratchlstm.errors.DataError
        naming the input, the problem and the fix.
    """
    _check_options(missing, decimal, date_format)
    options = dict(price_column=price_column, missing=missing, decimal=decimal, date_format=date_format)
    if isinstance(obj, (str, Path)):
        return load_prices(obj, **options)
    if isinstance(obj, PriceSeries):
        if price_column is None or price_column.strip().lower() == obj.price_column:
            return obj
        return _from_frame(obj.frame, source=obj.source, fmt=obj.format, detected=obj.detected, notes=list(obj.notes), **options)
    if isinstance(obj, pd.Series):
        name = "price" if obj.name is None else str(obj.name)
        return _from_frame(obj.to_frame(name=name), source=f"Series {name!r}", fmt="series", **{**options, "price_column": name})
    if isinstance(obj, pd.DataFrame):
        if isinstance(obj.columns, pd.MultiIndex):  # yfinance's download: columns (Price, Ticker)
            obj, notes = _one_ticker(obj)
            return _from_frame(obj, source="DataFrame", fmt="dataframe", notes=notes, **options)
        return _from_frame(obj, source="DataFrame", fmt="dataframe", **options)
    raise DataError(f"cannot make a price series from a {type(obj).__name__}; pass a file path, a PriceSeries, "
                    "a pandas Series with a DatetimeIndex, or a DataFrame with a DatetimeIndex or a date column")


def _one_ticker(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """A frame with two levels of columns (``yf.download``'s Price and Ticker) as one level of prices, when it
    holds one ticker; several are refused, naming the selection to make."""
    if frame.columns.nlevels != 2:
        raise DataError(f"DataFrame: its columns have {frame.columns.nlevels} levels; give one level of column names "
                        "(Date, Close, ...)")
    tickers = list(dict.fromkeys(frame.columns.get_level_values(1)))
    if len(tickers) != 1:
        level = frame.columns.names[1] or 1
        raise DataError(f"DataFrame: its columns hold {len(tickers)} tickers ({', '.join(map(str, tickers[:5]))}); forecast one: "
                        f"frame.xs({tickers[0]!r}, axis=1, level={level!r})")
    return frame.droplevel(1, axis=1), [f"columns of the one ticker {tickers[0]!r} (two levels of column names made one)"]


# ----------------------------------------------------------------------------------------------
# pieces of the two paths above


def _check_options(missing: str, decimal: str | None, date_format: str | None) -> None:
    if missing not in MISSING_POLICIES:
        raise DataError(f"unknown missing-value policy {missing!r}; choose one of {', '.join(MISSING_POLICIES)}")
    if decimal is not None and decimal not in DECIMAL_MARKS:
        raise DataError(f"decimal must be '.' or ',', not {decimal!r}")
    if date_format is not None and (not isinstance(date_format, str) or "%" not in date_format):
        raise DataError(f"date_format must be a strftime pattern such as '%d/%m/%Y', not {date_format!r}")


def _blank_empty_rows(body: str, layout, notes: list[str]) -> str:
    """``body`` with the rows below the header that hold only delimiters (``,,,,,,``, as Excel saves the rows under a
    table) made blank lines, which the reader skips, so line numbers in messages stay the file's; a note counts them.
    They were read as rows whose date is '' and refused as "not dates", with no line number."""
    if layout.delimiter * 2 not in body:
        return body
    lines = body.split("\n")
    empty = [k for k in range(layout.header_line + 1, len(lines))
             if lines[k].strip() and not lines[k].replace(layout.delimiter, "").replace('"', "").strip()]
    if not empty:
        return body
    for k in empty:
        lines[k] = ""
    notes.append(f"{len(empty)} row(s) hold only empty fields (first line {empty[0] + 1}: {layout.delimiter * 3}...), as a "
                 "spreadsheet saves the rows under a table: left out")
    return "\n".join(lines)


def _load_coingecko(path: Path, text: Text, price_column, missing, notes) -> PriceSeries:
    import json

    try:
        doc = json.loads(text.text)
    except json.JSONDecodeError as exc:
        raise refuse(path, f"this JSON cannot be parsed ({exc.msg} at line {exc.lineno})", "Save the API response again") from None
    except RecursionError:
        raise refuse(path, "this JSON is nested too deeply to be a price file", "Save the API response again") from None
    frame = coingecko_frame(doc, path).set_index("date")
    if ends_with_running_price(frame.index.sort_values()):
        last = frame.index.max()
        notes.append(f"the last point ({last:%Y-%m-%d %H:%M} UTC) is off the grid of the others: CoinGecko's running "
                     "price of an unfinished period, not a close; dropped, as fetch does")
        frame = frame[frame.index != last]
    price = _price_column(frame.columns, None, price_column, path)
    detected = Detected(encoding=text.encoding, compression=text.compression, dates="unix milliseconds")
    return _finish(frame, price, source=path, fmt="coingecko", missing=missing, detected=detected, notes=notes)


def _from_frame(frame: pd.DataFrame, *, source: str, fmt: str, price_column, missing, decimal, date_format,
                detected: Detected | None = None, notes: list[str] | None = None) -> PriceSeries:
    notes = list(notes or [])
    columns = [clean_name(str(c)) for c in frame.columns]
    for k, name in enumerate(columns):
        if name in columns[:k]:
            raise same_name(source, str(frame.columns[columns.index(name)]), str(frame.columns[k]))
    frame = frame.set_axis(columns, axis=1)
    _one_symbol(frame, source)
    if isinstance(frame.index, pd.PeriodIndex):
        frame = frame.set_axis(frame.index.to_timestamp(), axis=0)
    if isinstance(frame.index, pd.DatetimeIndex):
        reading = parse_dates(frame.index.to_series(), name="index", source=source)
    else:
        date_column = _date_column(frame.columns, source, in_memory=True)
        frame, reading = _dates_out(frame.reset_index(drop=True), date_column, date_format, source, notes=notes)
    price = _price_column(frame.columns, None, price_column, source, notes)
    text_columns = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    frame, numbers = read_numbers(frame, text_columns, price_column=price, decimal=decimal, source=source)
    if detected is None:
        detected = Detected(decimal=numbers.decimal, thousands=numbers.thousands, offsets=reading.offsets_text() or None,
                            dates=None if reading.kind == "datetimes" else reading.describe(),
                            date_format=reading.format, date_order=reading.order)
    return _finish(frame.set_axis(reading.stamps.rename("date"), axis=0), price, source=source, fmt=fmt, missing=missing,
                   detected=detected, notes=notes)


def _needed_columns(columns: tuple[str, ...], price_column: str | None) -> list[str]:
    """The columns a price series is made of: its date (and time), its price, a symbol to check."""
    date = next((c for c in DATE_COLUMNS if c in columns), None)
    wanted = [date, "time" if date == "date" else None, *SYMBOL_COLUMNS]
    wanted += [c for c in columns if _says_hour(c)] if date in HOUR_BESIDE else []
    wanted += [clean_name(price_column)] if price_column else list(PRICE_COLUMNS)
    return [c for c in columns if c in wanted]


def _one_symbol(table: pd.DataFrame, source) -> None:
    """Refuse a long table of several instruments: its rows would merge into one series of duplicated dates."""
    for column in SYMBOL_COLUMNS:
        if column in table.columns:
            symbols = table[column].dropna().unique()
            if len(symbols) > 1:
                shown = ", ".join(map(str, symbols[:4])) + (", ..." if len(symbols) > 4 else "")
                raise refuse(source, f"column {column!r} holds {len(symbols)} instruments ({shown}), one series is needed",
                             f"Keep the rows of one {column} (in pandas: frame[frame[{column!r}] == {str(symbols[0])!r}]), or run "
                             f"them all with 'scratchlstm panel' after renaming the columns {column} to unique_id, the dates to "
                             "ds and the price to y")


def _not_long(table: pd.DataFrame, source) -> None:
    """Refuse a long-format table (unique_id, ds, y): its series are the panel's to read, one by one."""
    column = next((c for c in table.columns if underscored(str(c)) == "unique_id"), None)  # "Unique ID" too
    if column is not None:
        ids = table[column].dropna().unique()
        name = Path(str(source)).name
        raise refuse(source, f"a long-format file (unique_id, ds, y) of {len(ids)} series, not a price file",
                     f"Run 'scratchlstm panel {name}' on it; 'scratchlstm predict --series NAME' forecasts from one of its series")


def _date_column(columns, source, in_memory: bool = False) -> str:
    found = next((c for c in DATE_COLUMNS if c in columns), None)
    if found is None:
        fix = "Give it a DatetimeIndex or a column named Date" if in_memory else "Rename the date column to Date"
        raise refuse(source, f"no date column (looked for {', '.join(DATE_COLUMNS)}; found {', '.join(map(repr, list(columns)[:8]))})", fix)
    return found


def _dates_out(table: pd.DataFrame, date_column: str, date_format, source, where=None,
               notes: list[str] | None = None) -> tuple[pd.DataFrame, DateReading]:
    """The table without its date column(s), and the stamps read from them.

    A ``time`` column beside ``date`` (``2019-01-31`` and ``14:30``, ``9:30 AM`` or ``09:30:00.000``)
    is joined to it: reading the date alone would give every bar of a day the same stamp. A time
    column that holds anything but times of day (or whole hours, 0 to 23) is refused, never ignored;
    an empty one is dropped. A column whose name says hour (``Hour``, ``H``, ``Stunde``) is joined the
    same way where the dates repeat and it holds times of day or whole hours, with a note; elsewhere
    it is left alone (an ``H`` of daily highs is no hour).
    """
    values, used = table[date_column], [date_column]
    column = "time" if date_column == "date" and "time" in table.columns else _hour_column(table, date_column)
    if column is not None and table[column].notna().any():
        times = _times_of(table[column])
        if column != "time" and times is None:
            column = None  # not an hour after all: the duplicated stamps' refusal names it if it holds times
        elif times is None:
            raise _unjoinable_time(table["time"], source, where)
        else:
            dates = table[date_column].astype(object).map(lambda d: str(d).strip())
            midnight = dates.str.fullmatch(_AT_MIDNIGHT)
            if midnight.all():  # Excel's "2023-03-01 00:00:00" beside the hour: the date part, then the hour
                dates = dates.str.replace(_AT_MIDNIGHT, r"\1", regex=True)
                if notes is not None:
                    notes.append(f"column {date_column!r} carries a time of 00:00 on every row, beside column {column!r}: "
                                 f"the dates' midnight left out, the time taken from {column!r}")
            values = dates + " " + times
            if notes is not None and (column != "time" or times.name == "hours"):
                what = "whole hours (0 to 23), read as HH:00" if times.name == "hours" else "times of day"
                notes.append(f"column {column!r} holds {what}: joined to column {date_column!r} as the time of each row")
    if column is not None:
        used.append(column)
    reading = parse_dates(values, name=date_column, source=source, date_format=date_format, where=where)
    _refuse_twelve_hour_clock(pd.DatetimeIndex(reading.stamps), source, where)
    return table.drop(columns=used), reading


def _whole_numbers(values: pd.Series, high: int | None) -> pd.Series | None:
    """``values`` (texts or numbers) as numbers where every one is a whole number (``high`` given: from 0 to ``high``);
    else None."""
    numbers = pd.to_numeric(values, errors="coerce")
    if not (numbers.notna().all() and (numbers == numbers.round()).all()):
        return None
    return numbers if high is None or numbers.between(0, high).all() else None


def _unjoinable_time(column: pd.Series, source, where=None) -> DataError:
    """The refusal of a Time column beside Date that holds something other than times of day or whole hours 0 to 23,
    naming its first such value as the file has it: an empty cell, a word, or whole numbers out of 0 to 23 (an
    hour-ending 24, HHMM's 930)."""
    text = column.astype(object).map(lambda t: str(t).strip())
    numbers = _whole_numbers(text, None)
    bad = column.isna() | (~numbers.between(0, 23) if numbers is not None else ~text.str.fullmatch(_TIME_OF_DAY))
    k = int(np.flatnonzero(bad.to_numpy())[0])
    place = where(k) if where is not None else f"row {k + 1}"
    if numbers is not None:
        return refuse(source, f"column 'time' beside 'date' holds {text.iloc[k]!r} ({place}) among whole numbers from "
                              f"{int(numbers.min())} to {int(numbers.max())}: not hours 0 to 23, so the two cannot be joined "
                              "into time stamps",
                      "Write every time as HH:MM (13:00; an hour-ending 24 is the next day's 00:00) or as a whole hour 0 to "
                      "23, or join Date and Time into one Date column")
    shown = "an empty value" if pd.isna(column.iloc[k]) else repr(text.iloc[k])
    return refuse(source, f"column 'time' beside 'date' holds {shown} ({place}), not a time of day like 09:30 or 9:30 AM, "
                          "so the two cannot be joined into time stamps",
                  "Write every time as HH:MM[:SS] (or join Date and Time into one Date column), or delete the Time column "
                  "if each date has one row")


def _refuse_twelve_hour_clock(stamps: pd.DatetimeIndex, source, where=None) -> None:
    """Refuse times of day written on a 12-hour clock without AM or PM (``9:30 ... 12:30, 1:00 ... 4:00``): read on
    a 24-hour clock, the afternoon's rows become the small hours of the same day, and sorting them would hide it.
    The sign, in rows of one date in file order: a step from a 12 o'clock time back to one of 1 to 11 o'clock (the
    other way round in a file written newest first), and no other step against the file's order within a day (a
    shuffled file steps back and forth anywhere, and is sorted)."""
    hours = stamps.hour.to_numpy()
    if len(stamps) < 3 or stamps.hasnans or not (hours == 12).any():  # (daily files: every stamp at 0)
        return
    days = stamps.normalize().asi8
    same_day = days[1:] == days[:-1]
    steps = np.diff(stamps.asi8)
    newest_first = np.sum(steps < 0) > np.sum(steps > 0)  # most steps back in time (one day of rows has no dates to tell)
    before, after = (hours[1:], hours[:-1]) if newest_first else (hours[:-1], hours[1:])
    suspect = same_day & (before == 12) & (after >= 1) & (after < 12)
    against = same_day & ((steps > 0) if newest_first else (steps < 0))  # every step back in time within a day
    if not suspect.any() or np.sum(against) > np.sum(suspect):
        return
    k = int(np.flatnonzero(suspect)[0])
    places = f"{where(k)} and {where(k + 1)}" if where is not None else f"rows {k + 1} and {k + 2}"
    raise refuse(source, f"within {stamps[k]:%Y-%m-%d} the time goes from {stamps[k]:%H:%M} to {stamps[k + 1]:%H:%M} ({places}), "
                         "as times on a 12-hour clock without AM or PM do: read as written, the afternoon's rows would be "
                         "the small hours",
                 "Write the times with AM or PM (1:00 PM) or on a 24-hour clock (13:00)")


def _says_hour(name: str) -> bool:
    """Whether a column name's words say it holds the hour of the row (``Hour``, ``H``, ``HH``, ``Stunde``, ``heure``,
    ``HourEnding``)."""
    words = set(_NAME_WORDS.split(str(name).lower()))
    return bool(words & HOUR_WORDS) or any(w.startswith(("hour", "stunde", "heure")) for w in words)


def _separates(dates, values: pd.Series) -> bool:
    """Whether ``values`` tell apart the rows that share a date: at most a tenth of the rows share both (a clock
    change repeats an hour; a file of 15-minute rows with an hour column shares four rows per hour)."""
    pairs = pd.DataFrame({"date": np.asarray(dates).astype(str), "value": values.astype(str).to_numpy()})
    return bool(pairs.duplicated(keep=False).mean() <= 0.1)


def _hour_column(table: pd.DataFrame, date_column: str) -> str | None:
    """The column named as an hour beside a date column, where most dates repeat (rows of one date need their hour);
    None where there is none, or where most dates have one row (a daily file with a duplicated row and an ``H`` of
    highs: its whole-number highs are no hours)."""
    named = [c for c in table.columns if c != date_column and _says_hour(c)] if date_column in HOUR_BESIDE else []
    if not named or not (table[date_column].value_counts() > 1).mean() > 0.5:  # (the names first: counting costs)
        return None
    return next((c for c in named if _separates(table[date_column], table[c])), None)


def _times_of(column: pd.Series) -> pd.Series | None:
    """A time column's values as text to join to the dates: times of day as written (named ``times``), whole hours
    0 to 23 as ``HH:00`` (named ``hours``); None where any value is neither (or empty)."""
    if column.isna().any():
        return None
    text = column.astype(object).map(lambda t: str(t).strip())
    if text.str.fullmatch(_TIME_OF_DAY).all():
        return text.rename("times")
    hours = _whole_numbers(text, 23)
    if hours is not None:
        return hours.astype(int).map(lambda h: f"{h:02d}:00").rename("hours")
    return None


def _price_column(columns, date_column, price_column: str | None, source, notes: list[str] | None = None) -> str:
    """The column that holds the price: ``price_column`` when given; else the first of ``PRICE_COLUMNS`` (a note names
    the others found, except Close beside Adj Close, the usual pair); else the only column beside the dates, unless
    its name says it is no close (the choice is then added to ``notes``)."""
    names = [c for c in columns if c != date_column]
    if price_column is not None:
        column = clean_name(price_column)
        if column not in names:
            raise refuse(source, f"no column {price_column!r} (columns: {', '.join(map(repr, names))})",
                         "Pass one of those as price_column= (--price-column)")
        return column
    candidates = [c for c in PRICE_COLUMNS if c in names]
    column = candidates[0] if candidates else None
    others = [c for c in candidates[1:] if not (column in ADJUSTED and c == "close")]
    if others and notes is not None:
        notes.append(f"{len(others) + 1} columns name a price ({', '.join(map(repr, [column, *others]))}); {column!r} is "
                     "taken as the price (price_column= or --price-column to use another)")
    if column is None and len(names) == 1 and not _says_no_close(names[0]):
        column = names[0]
        if notes is not None:
            notes.append(f"no column is named as a price (Close, Adj Close, Price, Last); {column!r}, the only column beside the "
                         "dates, is taken as the price (price_column= or --price-column to say so)")
    if column is None:
        found = f"found {', '.join(map(repr, names))}" if names else f"the only column is the dates' ({date_column!r})"
        fix = "Rename the closing-price column to Close, or pass price_column= (--price-column)" if names else \
            "Export the prices beside the dates (a Date and a Close column)"
        raise refuse(source, f"no price column (looked for Close, Adj Close, Price, Last; {found})", fix)
    return column


def _spacing(index: pd.DatetimeIndex) -> pd.Timedelta:
    if len(index) < 3:
        return pd.Timedelta.max
    return index.sort_values().to_series().diff().median()


def _daily_from_minutes(frame: pd.DataFrame, price: str, notes: list[str]) -> pd.DataFrame:
    """Daily bars from minute bars: open first, high max, low min, the price column last, volumes summed.

    A last day whose bars stop before its final minute (a download made during the day) has no
    close yet: it is dropped, with a note.
    """
    frame = frame.sort_index()
    rules = {"open": "first", "high": "max", "low": "min", "close": "last", price: "last"}
    rules.update({c: "sum" for c in frame.columns if c.startswith("volume")})
    rules = {c: r for c, r in rules.items() if c in frame.columns and pd.api.types.is_numeric_dtype(frame[c])}
    daily = frame.resample("1D").agg(rules)
    daily = daily[daily[price].notna()] if price in daily else daily
    if {"open", "high", "low"} <= set(rules):
        notes.append("minute bars resampled to daily bars (UTC days: first open, highest high, lowest low, last close)")
    else:
        notes.append("minute bars resampled to daily bars (UTC days: the last price of each)")
    end, step = frame.index[-1], frame.index.to_series().diff().min()
    if len(daily) and daily.index[-1] == end.normalize() and end + step < end.normalize() + pd.Timedelta(days=1):
        notes.append(f"the last day's bars stop at {end:%H:%M} UTC, before its last minute: {end:%Y-%m-%d} has no close yet; dropped")
        daily = daily.iloc[:-1]
    return daily


def _unread_time_column(frame: pd.DataFrame, price: str) -> str | None:
    """A column other than the price whose name says hour (in any notation: ``1`` to ``24``, ``00 - 01``, ``0h``; a bare
    ``H`` only with whole numbers 0 to 24, as it may be an OHLC file's high), or whose values are all times of day
    (``09:00``): the time of rows that share a date, which the loader did not join (Dukascopy's ``Gmt time``)."""
    for column in frame.columns:
        if column == price:
            continue
        values = frame[column].dropna().astype(str).str.strip()
        if not len(values):
            continue
        if values.str.fullmatch(_TIME_OF_DAY).all():  # 09:00, 9:30 AM
            return column
        if _says_hour(column) and (column != "h" or (_whole_numbers(values, 24) is not None
                                                      and _separates(frame.index.normalize(), frame[column]))):
            return column  # Hour 1 to 24, "00 - 01", "0h" (an H of highs that repeat within a date is no hour)
        if set(_NAME_WORDS.split(str(column).lower())) & MINUTE_WORDS:
            return column  # the minutes beside an hour column that was joined
    return None


def _duplicates(frame: pd.DataFrame, price: str, source, *, tolerate: bool) -> str:
    """The note on duplicated stamps, or a refusal when their prices disagree beyond rounding.

    Two prices of one stamp agree when they differ by at most half a unit in the last decimal of
    the coarser one (``1234.57`` and ``1234.5678``) and by at most ``ROUNDING_SHARE`` of the price.
    ``tolerate`` keeps disagreeing ones (the first of each) with a note instead: the repeated hour
    of an autumn clock change, whose offsets were dropped, holds two real bars.
    """
    dup = frame.index.duplicated(keep=False)
    groups = frame.loc[dup, price].dropna().groupby(level=0)
    low, high = groups.min(), groups.max()
    coarse = groups.agg(lambda v: min(_decimals(x) for x in v))
    spread = high - low
    beyond = (spread > 0.5 * 10.0 ** -coarse.astype(float) * (1 + 1e-9)) | (spread > ROUNDING_SHARE * high)
    n = int(frame.index.duplicated(keep="first").sum())
    first = frame.index[frame.index.duplicated(keep="first")][0]
    shown = f"{first:%Y-%m-%d}" if first == first.normalize() else str(first)
    if beyond.any():
        worst = (spread / high)[beyond].idxmax()
        when = f"{worst:%Y-%m-%d}" if worst == worst.normalize() else str(worst)
        repeated = int(len(low))  # stamps with two prices or more (n counts the extra rows: 24 hourly rows of one date are 23)
        count = f"{int(beyond.sum())} of the {repeated}" if beyond.sum() < repeated else f"{repeated}"
        how = f"{count} duplicated time stamp(s) hold different prices, by up to {spread[worst] / high[worst]:.3g} " \
              f"of the price ({when}: {low[worst]:.10g} and {high[worst]:.10g})"
        if not tolerate:
            stamps = spread[beyond].index
            if len(stamps) and bool(np.all((stamps.day_of_week == 6) & np.isin(stamps.month, (3, 4, 10, 11))
                                           & (stamps.hour <= 3) & (stamps != stamps.normalize()))):
                raise refuse(source, f"{how}; each is an early hour of a Sunday in spring or autumn, as when a clock goes "
                                     "back and local times without their offsets repeat an hour",
                             "Save the stamps in UTC, or with their offsets (2013-11-03 01:00-04:00), which are read")
            unread = _unread_time_column(frame, price)
            if unread is not None:
                shown = ", ".join(repr(f"{v:g}" if isinstance(v, float) else str(v).strip()) for v in frame[unread].dropna().unique()[:3])
                raise refuse(source, f"{how}; column {unread!r} ({shown}, ...) seems to hold the time of each row, which is "
                                     "not read as part of the stamp (a column named Time, or named as an hour, beside one "
                                     "named Date is joined to it when it holds times of day or whole hours 0 to 23)",
                             "Write that column as HH:MM or as whole hours 0 to 23 (an hour-ending 24 is the next day's 00:00) "
                             "and name it Time, or join date and time into one Date column (2022-01-03 09:00)")
            raise refuse(source, f"{how}; the rows seem to come from two downloads that disagree",
                         "Keep the rows of one download only (delete the other's), then run again")
        return f"{how}; kept the first of each (the repeated hour of a clock change)"
    rounding = " within rounding" if (spread > 0).any() else ""
    empty = int(frame.loc[dup, price].isna().groupby(level=0).any().sum())  # stamps with a row without a price
    priced = int((groups.size() > 1).sum())  # stamps with two prices or more, compared above
    if not empty:
        return f"{n} duplicated time stamp(s) dropped (kept the first of each; their prices agree{rounding}), e.g. {shown}"
    compared = f"; the prices of the other {priced} agree{rounding}" if priced else ""
    return (f"{n} duplicated time stamp(s) dropped, e.g. {shown}: at {empty} of them a row had no price (a dividend or "
            f"split line?) and the row with the price was kept{compared}")


def _decimals(x: float) -> int:
    """How many decimals the shortest text of ``x`` has (``1234.57``: 2)."""
    text = np.format_float_positional(float(x), trim="-")
    return len(text.partition(".")[2])


ABSENT_SHARE = 0.1  # more absent periods than this share of the rows: the spacing is not the frequency's, only noted


def _crowded_periods(frame: pd.DataFrame, frequency, *, source, notes: list[str]) -> pd.DataFrame:
    """Refuse a second row in one period of a daily, weekly, monthly, quarterly or yearly series (``crowded_periods``:
    a mid-month row, a stamp slipped into the next month, a second time on one date): seasons and steps are counted
    in rows, so each one shifts every later period by one, as a missing period does. Only a last row in the period
    of the row before is the running price of an unfinished period, as downloads add it: dropped, with a note."""
    crowded = crowded_periods(frame.index, frequency)
    if not len(crowded):
        return frame
    period, stamp = frequency.period, frequency.stamp
    if len(crowded) == 1 and crowded[0] == len(frame) - 1 and len(frame) > 2:
        notes.append(f"the last row ({stamp(frame.index[-1])}) is in the {period} of the row before it "
                     f"({stamp(frame.index[-2])}): the running price of an unfinished {period}, dropped")
        return frame.iloc[:-1]
    k = crowded[0]
    raise refuse(source, f"{len(crowded)} {period}(s) hold a second row (first {stamp(frame.index[k - 1])} and "
                         f"{stamp(frame.index[k])}); seasons and steps are counted in rows, so each one shifts every later "
                         f"{period} by one", f"Keep one row per {period}: delete or merge the extra rows")


CALENDAR_PERIOD_KINDS = ("W", "M", "Q", "Y")  # steps that are calendar periods longer than a day
# the most days before its period's end a stamp of a series stamped at period ends is (Friday for a calendar week
# ending Sunday, a Thursday before a holiday; the last trading day of a month, quarter or year)
END_STAMPED_WITHIN = {"W": 3, "M": 7, "Q": 7, "Y": 7}


def _periods_shared(frame: pd.DataFrame, price: str) -> str | None:
    """The period's name when the prices of ``frame`` are weekly, monthly, quarterly or yearly and every row without a
    price falls in a period that has a row with one (Yahoo's monthly downloads list dividends so); None otherwise."""
    empty = frame[price].isna().to_numpy()
    if empty.all() or len(frame) - int(empty.sum()) < 3:
        return None
    priced = frame.index[~empty]
    frequency = detect_frequency(priced)
    if frequency.kind not in CALENDAR_PERIOD_KINDS:
        return None
    numbers = period_numbers(frame.index, frequency)
    return frequency.period if set(numbers[empty]) <= set(numbers[~empty]) else None


def _unfinished_last_period(frame: pd.DataFrame, frequency, notes: list[str]) -> pd.DataFrame:
    """Drop, with a note, a last row stamped well before its period's end in a weekly, monthly, quarterly or yearly
    series whose every other row sits at its period's end (Stooq's shape: the running price of an unfinished month,
    stamped with the download's day, stood in for a whole month without a word). Series stamped at the start of
    their periods cannot show it."""
    if frequency.kind not in CALENDAR_PERIOD_KINDS or len(frame) < 4:
        return frame
    index = frame.index.tz_localize(None) if frame.index.tz is not None else frame.index
    ends = index.to_period({"W": "W-SUN", "M": "M", "Q": "Q", "Y": "Y"}[frequency.kind]).end_time.normalize()
    before_end = (ends - index.normalize()).days.to_numpy()  # (N,) days from each stamp to its period's end
    others = before_end[:-1]
    if others.max() > END_STAMPED_WITHIN[frequency.kind] or before_end[-1] <= others.max() + 1:
        return frame
    period = frequency.period
    notes.append(f"the last row ({frequency.stamp(frame.index[-1])}) is {before_end[-1]} days before its {period}'s end, "
                 f"while every other row is at most {others.max()}: the running price of an unfinished {period}, dropped")
    return frame.iloc[:-1]


BREAK_AT_LEAST = 14  # periods in one gap, beyond a market's longest closures (a week of holidays with its weekends)


def _absent_periods(frame: pd.DataFrame, price: str, frequency, *, source, missing: str, notes: list[str]) -> pd.DataFrame:
    """Periods with no row in a daily, weekly, monthly, quarterly or yearly series (``absent_stamps``), handled like
    rows without a price: refused (``missing="error"``), added with the last price (``"ffill"``), or left out with
    a note (``"drop"``). A few are a download's holes; more than ``ABSENT_SHARE`` of the rows, and the series is
    not as regular as its median spacing says: then they are only noted."""
    absent = absent_stamps(frame.index, frequency)
    if not len(absent):
        return frame
    period = frequency.period
    what = f"{len(absent)} {period}(s) have no row (first {frequency.stamp(absent[0])})"
    between = np.diff(np.searchsorted(absent, frame.index))  # (N-1,) absent periods between each row and the next
    k = int(np.argmax(between))
    if between[k] > 1:
        what += (f"; the longest gap is {between[k]} {period}(s), between the rows of {frequency.stamp(frame.index[k])} and "
                 f"{frequency.stamp(frame.index[k + 1])}")
    # many gaps: the series is less regular than its median spacing says; one gap of that size, and of more periods
    # than a market is ever closed for, is a break in it (or a mistyped date: a last row a year late was taken as it
    # stood, and its forecast was for a year later)
    broken = between[k] > max(ABSENT_SHARE * len(frame), BREAK_AT_LEAST)
    if len(absent) > ABSENT_SHARE * len(frame) and not broken:
        notes.append(f"{what}, more than a tenth of its rows: the series is taken as it stands, with no row added or "
                     f"refused; a season counted in rows is one {period} off after each")
        return frame
    if missing == "error":
        typo = "If a date is mistyped, fix it; otherwise pass" if broken else "Pass"
        raise refuse(source, f"{what}; seasons and steps are counted in rows, so each one missing shifts every later "
                             f"{period} by one",
                     f"{typo} missing='ffill' (--missing ffill) to add them with the last price, or missing='drop' "
                     "(--missing drop) to go on without them")
    if missing == "ffill":
        frame = frame.reindex(frame.index.union(absent.rename(frame.index.name)))  # the other columns' cells are missing
        frame[price] = frame[price].ffill()
        notes.append(f"{what}: added, each with the last price before it")
    else:
        notes.append(f"{what}: left out as missing='drop' says; seasonal positions after each are one {period} off")
    return frame


STRAY_GAP_STEPS = 10  # an out-of-order row that sorting makes the first or last, this many median steps from the rest
NEAR_STEPS = 5  # ... while the rows around it in the file are this close to each other: the file's order goes on past it


def _refuse_a_stray_end_row(idx: pd.DatetimeIndex, source) -> None:
    """Refuse a row out of the file's time order that sorting would make the series' last (or first) stamp, across a
    gap of more than ``STRAY_GAP_STEPS`` median steps, where the rows beside it in the file follow on from each other
    (within ``NEAR_STEPS`` steps) as if it were not there: a typo in its date, most often its year. Sorted, 01/03/2023
    in a 2022 file became the latest price, and every forecast started from it. Files written in chunks out of order
    (paginated downloads) or shuffled have no such neighbours, and are sorted with a note as before."""
    stamps = idx.asi8
    n = len(stamps)
    if n < 4 or idx.is_monotonic_decreasing:
        return
    steps = np.diff(stamps)
    ascending = (steps > 0).sum() >= (steps < 0).sum()
    order = np.argsort(stamps, kind="stable")
    ordered = stamps[order]
    step = float(np.median(np.diff(ordered)))
    if step <= 0:
        return
    for end, neighbour, name in ((-1, -2, "latest"), (0, 1, "earliest")):
        row = int(order[end])
        belongs = (n - 1 if ascending else 0) if end == -1 else (0 if ascending else n - 1)  # where the file's order puts it
        gap = abs(ordered[end] - ordered[neighbour])
        beside = [k for k in (row - 1, row + 1) if 0 <= k < n]  # in the file; at an end of it, the next two rows
        beside = beside if len(beside) == 2 else ([1, 2] if row == 0 else [n - 3, n - 2])
        follow_on = abs(stamps[beside[1]] - stamps[beside[0]]) <= NEAR_STEPS * step
        far = all(abs(stamps[row] - stamps[k]) > STRAY_GAP_STEPS * step for k in beside)
        if abs(row - belongs) > 1 and gap > STRAY_GAP_STEPS * step and follow_on and far:
            raise refuse(source, f"row {row + 1} of the data, dated {idx[row]:%Y-%m-%d %H:%M}".removesuffix(" 00:00")
                         + f", is out of the file's time order, and sorted it would be the {name} price, "
                           f"{spacing_words(gap / 1e9)} from the others (a typo in its date?)",
                         "Correct the date (its year, most often) or delete the row")


def _finish(frame: pd.DataFrame, price: str, *, source, fmt: str, missing: str, detected: Detected, notes: list[str]) -> PriceSeries:
    """The checks every series goes through, from a file or from memory."""
    idx = frame.index
    if not idx.is_monotonic_increasing:
        _refuse_a_stray_end_row(idx, source)
        newest_first = idx.is_monotonic_decreasing
        if not (newest_first and fmt == "cryptodatadownload"):  # newest first is CryptoDataDownload's normal
            notes.append("rows were newest first; reversed" if newest_first else "rows were not in time order; sorted")
        frame = frame.sort_index(kind="stable")
    dup = frame.index.duplicated(keep="first")
    if dup.any():
        # of the rows of one stamp, those with a price first: keeping the first kept a dividend line's empty price
        frame = frame.iloc[np.argsort(frame[price].isna().to_numpy(), kind="stable")].sort_index(kind="stable")
        tolerate = detected.offsets is not None and not (frame.index == frame.index.normalize()).all()
        message = _duplicates(frame, price, source, tolerate=tolerate)
        notes.append(message)
        warnings.warn(f"{source}: {message}", DataWarning, stacklevel=3)
        frame = frame[~dup]
    n_missing = int(frame[price].isna().sum())
    if n_missing:
        if missing == "error":
            what = price if price.endswith("price") else f"{price} price"
            empty = frame[price].isna()  # the Close column is offered only where it has the prices the price column lacks
            other = (", or price_column='close' (--price-column close) to use the Close column"
                     if price in ADJUSTED and "close" in frame.columns and frame.loc[empty, "close"].notna().all() else "")
            shared = _periods_shared(frame, price)
            if shared:  # filling them would give those periods a second row, which is then refused
                raise refuse(source, f"{n_missing} row(s) have no {what}, each in a {shared} that has a row with one (dividend "
                                     "or split lines?)", f"Pass missing='drop' (--missing drop) to drop them{other}")
            raise refuse(source, f"{n_missing} row(s) have no {what}",
                         f"Pass missing='drop' (--missing drop) to drop them or missing='ffill' (--missing ffill) to carry the last "
                         f"price forward{other}")
        if missing == "drop":
            frame = frame[frame[price].notna()]
        else:
            frame = frame.assign(**{price: frame[price].ffill()}).dropna(subset=[price])
        notes.append(f"{n_missing} row(s) without a price: {'dropped' if missing == 'drop' else 'filled with the last price'}")
    if len(frame) == 0:
        raise refuse(source, "no rows with a price remain", "Download the prices again")
    frequency = detect_frequency(frame.index)
    if frequency.alias == "B":
        weekend = frame.index[np.isin(frame.index.day_of_week, (5, 6))]
        if len(weekend):  # a few: business days all the same, with stamps that slipped (a source's dates shifted by a day)
            notes.append(f"{len(weekend)} row(s) of these business-day prices fall on a Saturday or Sunday (first "
                         f"{frequency.stamp(weekend[0])}): check their dates; each counts as a step, as every row does")
    frame = _crowded_periods(frame, frequency, source=source, notes=notes)
    frame = _unfinished_last_period(frame, frequency, notes)
    frame = _absent_periods(frame, price, frequency, source=source, missing=missing, notes=notes)
    gaps = gap_note(frame.index, frequency)
    if gaps:
        notes.append(gaps)
    prices = frame[price].to_numpy(dtype=float)
    for note in (jump_note(prices, frame.index, frequency.stamp), split_note(prices, frame.index, frequency.stamp)):
        if note:
            notes.append(note)
    return PriceSeries(frame=frame, price_column=price, source=str(source), format=fmt, notes=notes, detected=detected,
                       frequency=frequency)
