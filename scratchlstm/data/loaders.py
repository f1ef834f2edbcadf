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
(``as_price_series``), is sorted by time, its duplicated stamps dropped (with a warning), its
missing prices handled only as ``missing=`` says, and its long gaps reported.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from ..errors import DataError
from ..settings import check_fields, setting
from .coingecko import coingecko_frame
from .dates import DateReading, parse_dates
from .decoding import Text, read_text
from .delimited import DATE_COLUMNS, read_table, same_name, sniff_layout
from .frequency import detect_frequency, gap_note
from .numbers import DECIMAL_MARKS, could_be_dot_grouped, read_numbers
from .refusal import refuse
from .series import DataWarning, Detected, PriceSeries

MISSING_POLICIES = ("error", "drop", "ffill")


@dataclass(frozen=True)
class LoadOptions:
    """How to read a price file where its content cannot tell; each field is also a command-line flag."""

    price_column: str | None = setting(None, "column to use as the price (default Adj Close when present, else Close)",
                                       group="data")
    missing: str = setting("error", "rows without a price: stop and say how many (error), drop them, or carry the last "
                           "price forward (ffill)", choices=MISSING_POLICIES, group="data")
    decimal: str | None = setting(None, "the decimal mark, for a file whose numbers cannot tell (every value like 1,234); "
                                  "detected by default", choices=DECIMAL_MARKS, group="data")
    date_format: str | None = setting(None, "a strftime pattern such as %d/%m/%Y, for dates whose order the data cannot "
                                      "tell; detected by default", group="data")

    def __post_init__(self):
        check_fields(self)

    def as_kwargs(self) -> dict:
        """The options as keyword arguments of ``load_prices`` and ``as_price_series``."""
        return asdict(self)
PRICE_COLUMNS = ("adj close", "adj_close", "close", "price", "last")
SYMBOL_COLUMNS = ("symbol", "ticker")
_TIME_OF_DAY = re.compile(r"\d{1,2}:\d{2}(:\d{2})?")

__all__ = ["DataWarning", "Detected", "MISSING_POLICIES", "PriceSeries", "as_price_series", "load_prices"]


def load_prices(path: str | Path, *, price_column: str | None = None, missing: str = "error", decimal: str | None = None,
                date_format: str | None = None) -> PriceSeries:
    """Load a price file of any supported format and convention (see the module docstring).

    Parameters
    ----------
    path : str or pathlib.Path
        A CSV (comma, semicolon, tab or pipe separated) or CoinGecko JSON file, possibly gzipped.
    price_column : str, optional
        Which column is the price (default: ``Adj Close`` when present, else ``Close``).
    missing : str
        What to do with rows whose price is missing: ``"error"`` (default: say how many and stop),
        ``"drop"`` them, or ``"ffill"`` (carry the last price forward).
    decimal : str, optional
        The decimal mark, ``"."`` or ``","``, for a file whose numbers cannot tell (every value
        like ``1,234``); by default it is detected.
    date_format : str, optional
        A strftime pattern for the dates (e.g. ``"%d/%m/%Y"``) when their order cannot be told;
        by default it is detected.

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
    notes = ["the file is not UTF-8; it was read as Latin-1"] if text.encoding == "Latin-1" else []
    if text.text.lstrip().startswith(("{", "[")):
        return _load_coingecko(path, text, price_column, missing, notes)
    layout = sniff_layout(text.text, path)
    table = read_table(text.text, layout, path)
    if len(table) == 0:
        raise refuse(path, "the file has a header but no rows", "Download a longer history")
    _one_symbol(table, path)
    date_column = _date_column(table.columns, path)
    price = _price_column(table.columns, date_column, price_column, path)
    floats = [c for c in table.columns if c != date_column and pd.api.types.is_float_dtype(table[c])]
    recheck = [c for c in floats if decimal == "," or could_be_dot_grouped(table[c])]  # see could_be_dot_grouped
    if recheck:
        table[recheck] = read_table(text.text, layout, path, as_text=recheck)
    table, reading = _dates_out(table, date_column, date_format, path)
    text_columns = [c for c in table.columns if not pd.api.types.is_numeric_dtype(table[c])]
    table, numbers = read_numbers(table, text_columns, price_column=price, decimal=decimal, source=path)
    point = any(c not in recheck for c in floats)  # pandas read a fraction with '.' that no grouping explains
    frame, fmt = table.set_index(reading.stamps.rename("date")), layout.format
    if fmt == "yahoo" and not {"open", "high", "low", "close"} <= set(frame.columns):
        fmt = "date-price"  # only a date and a price: nothing says where it came from
    if date_column in ("timestamp", "unix") and reading.kind.startswith("unix") and _spacing(frame.index) <= pd.Timedelta(minutes=1):
        frame, fmt = _daily_from_minutes(frame, price), "kaggle-minute"
        notes.append("minute bars resampled to daily bars (UTC days: first open, highest high, lowest low, last close)")
    detected = Detected(encoding=text.encoding, compression=text.compression, delimiter=layout.delimiter,
                        decimal=numbers.decimal or ("." if point else None), thousands=numbers.thousands,
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
        return _from_frame(obj, source="DataFrame", fmt="dataframe", **options)
    raise DataError(f"cannot make a price series from a {type(obj).__name__}; pass a file path, a PriceSeries, "
                    "a pandas Series with a DatetimeIndex, or a DataFrame with a DatetimeIndex or a date column")


# ----------------------------------------------------------------------------------------------
# pieces of the two paths above


def _check_options(missing: str, decimal: str | None, date_format: str | None) -> None:
    if missing not in MISSING_POLICIES:
        raise DataError(f"unknown missing-value policy {missing!r}; choose one of {', '.join(MISSING_POLICIES)}")
    if decimal is not None and decimal not in DECIMAL_MARKS:
        raise DataError(f"decimal must be '.' or ',', not {decimal!r}")
    if date_format is not None and (not isinstance(date_format, str) or "%" not in date_format):
        raise DataError(f"date_format must be a strftime pattern such as '%d/%m/%Y', not {date_format!r}")


def _load_coingecko(path: Path, text: Text, price_column, missing, notes) -> PriceSeries:
    import json

    try:
        doc = json.loads(text.text)
    except json.JSONDecodeError as exc:
        raise refuse(path, f"this JSON cannot be parsed ({exc.msg} at line {exc.lineno})", "Save the API response again") from None
    except RecursionError:
        raise refuse(path, "this JSON is nested too deeply to be a price file", "Save the API response again") from None
    frame = coingecko_frame(doc, path).set_index("date")
    price = _price_column(frame.columns, None, price_column, path)
    detected = Detected(encoding=text.encoding, compression=text.compression, dates="unix milliseconds")
    return _finish(frame, price, source=path, fmt="coingecko", missing=missing, detected=detected, notes=notes)


def _from_frame(frame: pd.DataFrame, *, source: str, fmt: str, price_column, missing, decimal, date_format,
                detected: Detected | None = None, notes: list[str] | None = None) -> PriceSeries:
    columns = [str(c).strip().lower() for c in frame.columns]
    for k, name in enumerate(columns):
        if name in columns[:k]:
            raise same_name(source, str(frame.columns[columns.index(name)]).strip(), str(frame.columns[k]).strip())
    frame = frame.set_axis(columns, axis=1)
    _one_symbol(frame, source)
    if isinstance(frame.index, pd.PeriodIndex):
        frame = frame.set_axis(frame.index.to_timestamp(), axis=0)
    if isinstance(frame.index, pd.DatetimeIndex):
        reading = parse_dates(frame.index.to_series(), name="index", source=source)
    else:
        date_column = _date_column(frame.columns, source, in_memory=True)
        frame, reading = _dates_out(frame.reset_index(drop=True), date_column, date_format, source)
    price = _price_column(frame.columns, None, price_column, source)
    text_columns = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    frame, numbers = read_numbers(frame, text_columns, price_column=price, decimal=decimal, source=source)
    if detected is None:
        detected = Detected(decimal=numbers.decimal, thousands=numbers.thousands, offsets=reading.offsets_text() or None,
                            dates=None if reading.kind == "datetimes" else reading.describe(),
                            date_format=reading.format, date_order=reading.order)
    return _finish(frame.set_axis(reading.stamps.rename("date"), axis=0), price, source=source, fmt=fmt, missing=missing,
                   detected=detected, notes=notes or [])


def _one_symbol(table: pd.DataFrame, source) -> None:
    """Refuse a long table of several instruments: its rows would merge into one series of duplicated dates."""
    for column in SYMBOL_COLUMNS:
        if column in table.columns:
            symbols = table[column].dropna().unique()
            if len(symbols) > 1:
                shown = ", ".join(map(str, symbols[:4])) + (", ..." if len(symbols) > 4 else "")
                raise refuse(source, f"column {column!r} holds {len(symbols)} instruments ({shown}), one series is needed",
                             f"Keep the rows of one {column} (e.g. frame[frame[{column!r}] == {str(symbols[0])!r}])")


def _date_column(columns, source, in_memory: bool = False) -> str:
    found = next((c for c in DATE_COLUMNS if c in columns), None)
    if found is None:
        fix = "Give it a DatetimeIndex or a column named Date" if in_memory else "Rename the date column to Date"
        raise refuse(source, f"no date column (looked for {', '.join(DATE_COLUMNS)}; found {', '.join(map(str, list(columns)[:8]))})", fix)
    return found


def _dates_out(table: pd.DataFrame, date_column: str, date_format, source) -> tuple[pd.DataFrame, DateReading]:
    """The table without its date column(s), and the stamps read from them.

    A ``time`` column of times of day beside ``date`` (``2019-01-31`` and ``14:30``) is joined to it:
    reading the date alone would give every bar of a day the same stamp.
    """
    values, used = table[date_column], [date_column]
    if date_column == "date" and "time" in table.columns:
        times = table["time"].astype(object).map(lambda t: str(t).strip())
        if table["time"].notna().all() and times.map(lambda t: bool(_TIME_OF_DAY.fullmatch(t))).all():
            values, used = table["date"].astype(object).map(lambda d: str(d).strip()) + " " + times, ["date", "time"]
    reading = parse_dates(values, name=date_column, source=source, date_format=date_format)
    return table.drop(columns=used), reading


def _price_column(columns, date_column, price_column: str | None, source) -> str:
    names = [c for c in columns if c != date_column]
    if price_column is not None:
        column = price_column.strip().lower()
        if column not in names:
            raise refuse(source, f"no column {price_column!r} (columns: {', '.join(names)})", "Pass one of those to --price-column")
        return column
    column = next((c for c in PRICE_COLUMNS if c in names), None)
    if column is None:
        raise refuse(source, f"no price column (looked for Close, Adj Close, Price; found {', '.join(names)})",
                     "Rename the closing-price column to Close, or pass --price-column")
    return column


def _spacing(index: pd.DatetimeIndex) -> pd.Timedelta:
    if len(index) < 3:
        return pd.Timedelta.max
    return index.sort_values().to_series().diff().median()


def _daily_from_minutes(frame: pd.DataFrame, price: str) -> pd.DataFrame:
    """Daily bars from minute bars: open first, high max, low min, the price column last, volumes summed."""
    frame = frame.sort_index()
    rules = {"open": "first", "high": "max", "low": "min", "close": "last", price: "last"}
    rules.update({c: "sum" for c in frame.columns if c.startswith("volume")})
    rules = {c: r for c, r in rules.items() if c in frame.columns and pd.api.types.is_numeric_dtype(frame[c])}
    daily = frame.resample("1D").agg(rules)
    return daily[daily[price].notna()] if price in daily else daily


def _finish(frame: pd.DataFrame, price: str, *, source, fmt: str, missing: str, detected: Detected, notes: list[str]) -> PriceSeries:
    """The checks every series goes through, from a file or from memory."""
    idx = frame.index
    if not idx.is_monotonic_increasing:
        newest_first = idx.is_monotonic_decreasing
        if not (newest_first and fmt == "cryptodatadownload"):  # newest first is CryptoDataDownload's normal
            notes.append("rows were newest first; reversed" if newest_first else "rows were not in time order; sorted")
        frame = frame.sort_index(kind="stable")
    dup = frame.index.duplicated(keep="first")
    if dup.any():
        first = frame.index[dup][0]
        shown = f"{first:%Y-%m-%d}" if first == first.normalize() else str(first)
        message = f"{int(dup.sum())} duplicated time stamp(s) dropped (kept the first of each), e.g. {shown}"
        notes.append(message)
        warnings.warn(f"{source}: {message}", DataWarning, stacklevel=3)
        frame = frame[~dup]
    n_missing = int(frame[price].isna().sum())
    if n_missing:
        if missing == "error":
            what = price if price.endswith("price") else f"{price} price"
            raise refuse(source, f"{n_missing} row(s) have no {what}", "Pass --missing drop to drop them or --missing ffill to carry the last price forward")
        if missing == "drop":
            frame = frame[frame[price].notna()]
        else:
            frame = frame.assign(**{price: frame[price].ffill()}).dropna(subset=[price])
        notes.append(f"{n_missing} row(s) without a price: {'dropped' if missing == 'drop' else 'filled with the last price'}")
    if len(frame) == 0:
        raise refuse(source, "no rows with a price remain", "Download the prices again")
    frequency = detect_frequency(frame.index)
    gaps = gap_note(frame.index, frequency)
    if gaps:
        notes.append(gaps)
    return PriceSeries(frame=frame, price_column=price, source=str(source), format=fmt, notes=notes, detected=detected,
                       frequency=frequency)
