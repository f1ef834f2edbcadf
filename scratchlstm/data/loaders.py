"""Price files in the formats people actually download, recognised by their content.

=====================  ==============================================================================
format                 what identifies it
=====================  ==============================================================================
``yahoo``              header ``Date,Open,High,Low,Close,Adj Close,Volume`` (open, high, low and close
                       at least; also Stooq, Investing-style exports)
``date-price``         any other CSV with a date column and a price column (``Date,Close``, ...)
``yfinance``           three header lines: ``Price,...`` / ``Ticker,...`` / ``Date,,,``
``cryptodatadownload`` a banner line (``https://www.CryptoDataDownload.com``) before the header, newest
                       row first, ``unix`` in seconds or milliseconds, ``Volume BTC``/``Volume USD``
``kaggle-minute``      ``Timestamp,Open,High,Low,Close,...`` with unix seconds at minute spacing and
                       NaN rows for minutes without trades: resampled to daily bars
``coingecko``          JSON of ``/coins/{id}/market_chart``: ``prices: [[ms, price], ...]``
=====================  ==============================================================================

Whatever the format, the result is sorted by time, duplicated stamps are dropped (with a warning),
missing prices are reported and handled only as ``missing=`` says, and long gaps are reported.
"""

from __future__ import annotations

import io
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError

MISSING_POLICIES = ("error", "drop", "ffill")
DATE_COLUMNS = ("date", "datetime", "timestamp", "time", "unix", "snapped_at")
PRICE_COLUMNS = ("adj close", "adj_close", "close", "price", "last")


class DataWarning(UserWarning):
    """Something in a price file was fixed or is worth knowing (duplicates dropped, gaps)."""


@dataclass
class PriceSeries:
    """A loaded price series: one row per time stamp, oldest first."""

    frame: pd.DataFrame  # index: DatetimeIndex "date"; columns lower-case (open, high, low, close, volume, ...)
    price_column: str  # the column used as "the price" (adjusted close when there is one)
    source: str  # file name or description
    format: str  # which layout was recognised
    notes: list[str] = field(default_factory=list)  # what was fixed or found, in words

    @property
    def prices(self) -> pd.Series:
        return self.frame[self.price_column]

    def summary(self) -> dict:
        idx = self.frame.index
        return {
            "source": self.source,
            "format": self.format,
            "price_column": self.price_column,
            "rows": int(len(self.frame)),
            "first_date": idx[0].strftime("%Y-%m-%d") if len(idx) else None,
            "last_date": idx[-1].strftime("%Y-%m-%d") if len(idx) else None,
            "notes": list(self.notes),
        }


def _fail(path, problem: str, fix: str) -> DataError:
    return DataError(f"{path}: {problem}. {fix}")


def _read_text(path: Path) -> str:
    if not path.is_file():
        raise _fail(path, "no such file", "Check the path, or run without --csv to use the embedded MSFT series")
    raw = path.read_bytes()
    if b"\x00" in raw[:4096]:
        raise _fail(path, "this is a binary file, not a CSV or JSON price file", "Export the prices as CSV (Date and Close columns)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    if not text.strip():
        raise _fail(path, "the file is empty", "Download the prices again; a price file needs a header and rows")
    return text


def load_prices(path: str | Path, *, price_column: str | None = None, missing: str = "error") -> PriceSeries:
    """Load a price file of any supported format (see the module docstring).

    Parameters
    ----------
    path : CSV or JSON file
    price_column : which column is the price (default: ``Adj Close`` when present, else ``Close``)
    missing : what to do with rows whose price is missing: ``"error"`` (default: say how many and
        stop), ``"drop"`` them, or ``"ffill"`` (carry the last price forward)

    Raises
    ------
    scratchlstm.errors.DataError
        naming the file, the problem and the fix.
    """
    if missing not in MISSING_POLICIES:
        raise DataError(f"unknown missing-value policy {missing!r}; choose one of {', '.join(MISSING_POLICIES)}")
    path = Path(path)
    text = _read_text(path)
    stripped = text.lstrip()
    if stripped.startswith("{") or stripped.startswith("["):
        frame, fmt = _parse_coingecko(path, text), "coingecko"
    else:
        frame, fmt = _parse_csv(path, text)
    return _finish(path, frame, fmt, price_column, missing)


# ----------------------------------------------------------------------------------------------
# formats


def _parse_coingecko(path: Path, text: str) -> pd.DataFrame:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail(path, f"this JSON cannot be parsed ({exc.msg} at line {exc.lineno})", "Save the API response again") from None
    if not isinstance(doc, dict) or "prices" not in doc:
        raise _fail(path, "JSON without a 'prices' list; only CoinGecko /coins/{id}/market_chart responses are understood",
                    "Export the prices as CSV with Date and Close columns")
    return coingecko_frame(doc, path)


def coingecko_frame(doc: dict, source="CoinGecko response") -> pd.DataFrame:
    """Frame from a CoinGecko ``market_chart`` document (``prices``, ``total_volumes``, ``market_caps``)."""
    try:
        prices = np.asarray(doc["prices"], dtype=float).reshape(-1, 2)
    except (TypeError, ValueError) as exc:
        raise _fail(source, f"'prices' is not a list of [milliseconds, price] pairs ({exc})", "Save the API response again") from None
    frame = pd.DataFrame({"date": pd.to_datetime(prices[:, 0], unit="ms"), "close": prices[:, 1]})
    for key, column in (("total_volumes", "volume"), ("market_caps", "market_cap")):
        values = doc.get(key)
        if values is not None and len(values) == len(prices):
            frame[column] = np.asarray(values, dtype=float).reshape(-1, 2)[:, 1]
    return frame


def _parse_csv(path: Path, text: str) -> tuple[pd.DataFrame, str]:
    lines = text.splitlines()
    first = lines[0].strip().lower()
    fmt = "yahoo"
    skip: list[int] = []
    if first.startswith("price,") and len(lines) > 2 and lines[1].lower().startswith("ticker,"):
        fmt, skip = "yfinance", [1, 2]  # yfinance >= 0.2.51: Price / Ticker / Date header lines
    elif "cryptodatadownload" in first or ("," not in first and len(lines) > 1 and "," in lines[1]):
        fmt, skip = "cryptodatadownload", [0]
    try:
        frame = pd.read_csv(io.StringIO(text), skiprows=skip, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise _fail(path, f"this is not a readable CSV ({str(exc).splitlines()[0]})", "Export the prices as a comma-separated file") from None
    if not isinstance(frame.index, pd.RangeIndex):  # pandas made the first column the index: rows are too long
        raise _fail(path, "some rows have more fields than the header", "Check the delimiters; every row needs one value per column")
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    if fmt == "yfinance":
        frame = frame.rename(columns={"price": "date"})
    if len(frame) == 0:
        raise _fail(path, "the file has a header but no rows", "Download a longer history")
    date_col = next((c for c in DATE_COLUMNS if c in frame.columns), None)
    if date_col is None:
        raise _fail(path, f"no date column (looked for {', '.join(DATE_COLUMNS)}; found {', '.join(frame.columns[:8])})",
                    "Rename the date column to Date")
    frame["date"] = _parse_dates(path, frame[date_col], date_col)
    if date_col != "date":
        frame = frame.drop(columns=[date_col])
    if fmt == "yahoo" and not {"open", "high", "low", "close"} <= set(frame.columns):
        fmt = "date-price"  # only a date and a price: nothing says where it came from
    if date_col in ("timestamp", "unix") and len(frame) > 2:
        spacing = frame["date"].sort_values().diff().median()
        if spacing <= pd.Timedelta(minutes=1):
            return _daily_from_minutes(frame), "kaggle-minute"
    return frame, fmt


def _parse_dates(path: Path, column: pd.Series, name: str) -> pd.Series:
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        values = column.astype(float)
        unit = "ms" if values.abs().max() > 1e11 else "s"  # unix milliseconds vs seconds
        seconds = values / (1000.0 if unit == "ms" else 1.0)
        plausible = (seconds >= 0) & (seconds < 7.3e9)  # 1970 to 2200
        if not plausible.all():
            example = column[~plausible].iloc[0]
            raise _fail(path, f"{int((~plausible).sum())} value(s) in column {name!r} are not unix times between 1970 and 2200 "
                              f"(first: {example!r})", "Use dates such as 2020-01-31, or unix seconds or milliseconds")
        return pd.to_datetime(values, unit=unit)
    text = column.astype(object).where(column.notna(), "").astype(str).str.strip()
    shapes = text.str.split(r"[ T]", n=1, regex=True).str[0].str.replace(r"\d+", "n", regex=True)
    kinds = shapes[shapes.str.contains("n", na=False)].unique()  # words like "yesterday" are reported as not dates below
    if len(kinds) > 1:
        first = {k: text[shapes == k].iloc[0] for k in kinds[:2]}
        examples = " and ".join(repr(v) for v in first.values())
        raise _fail(path, f"column {name!r} mixes date formats (e.g. {examples}), which makes dates like 01/02 ambiguous",
                    "Use one date format, preferably YYYY-MM-DD")
    try:
        parsed = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
        if parsed.isna().any():
            parsed = pd.to_datetime(text, format="mixed", errors="coerce", utc=True)
    except (ValueError, OverflowError, pd.errors.OutOfBoundsDatetime) as exc:
        raise _fail(path, f"column {name!r} has values that are not dates ({exc})", "Use one date format, preferably YYYY-MM-DD") from None
    bad = int(parsed.isna().sum())
    if bad:
        example = text[parsed.isna()].iloc[0]
        raise _fail(path, f"{bad} value(s) in column {name!r} are not dates (first: {example!r})",
                    "Use one date format, preferably YYYY-MM-DD")
    return parsed.dt.tz_localize(None)


def _daily_from_minutes(frame: pd.DataFrame) -> pd.DataFrame:
    """Daily bars from minute bars: open first, high max, low min, the price (close) last, volumes
    summed. Without a price column the rows are returned as they are, for the caller to refuse."""
    frame = frame.set_index("date").sort_index()
    price = next((c for c in PRICE_COLUMNS if c in frame.columns), None)
    if price is None:
        return frame.reset_index()
    rules = {"open": "first", "high": "max", "low": "min", **{c: "last" for c in PRICE_COLUMNS}}
    rules.update({c: "sum" for c in frame.columns if c.startswith("volume")})
    rules = {c: r for c, r in rules.items() if c in frame.columns}
    daily = frame.resample("1D").agg(rules)
    return daily[daily[price].notna()].reset_index()


# ----------------------------------------------------------------------------------------------
# checks common to every format


def _finish(path: Path, frame: pd.DataFrame, fmt: str, price_column: str | None, missing: str) -> PriceSeries:
    notes: list[str] = []
    if price_column is not None:
        column = price_column.strip().lower()
        if column not in frame.columns:
            raise _fail(path, f"no column {price_column!r} (columns: {', '.join(c for c in frame.columns if c != 'date')})",
                        "Pass one of those to --price-column")
    else:
        column = next((c for c in PRICE_COLUMNS if c in frame.columns), None)
        if column is None:
            raise _fail(path, f"no price column (looked for Close, Adj Close, Price; found {', '.join(c for c in frame.columns if c != 'date')})",
                        "Rename the closing-price column to Close, or pass --price-column")
    raw = frame[column].astype(object).where(frame[column].notna(), "").astype(str).str.strip()
    values = pd.to_numeric(raw.str.replace(",", ""), errors="coerce")
    blank = raw.isin(["", "nan", "NaN", "null", "None"])
    non_numeric = values.isna() & ~blank
    if non_numeric.any():
        example = frame.loc[non_numeric, column].iloc[0]
        raise _fail(path, f"{int(non_numeric.sum())} value(s) in column {column!r} are not numbers (first: {example!r})",
                    "Fix or delete those rows")
    frame = frame.assign(**{column: values})
    if not frame["date"].is_monotonic_increasing and fmt != "cryptodatadownload":  # newest first is CDD's normal
        notes.append("rows were not in time order; sorted")
    frame = frame.set_index("date").sort_index(kind="stable")
    dup = frame.index.duplicated(keep="first")
    if dup.any():
        message = f"{int(dup.sum())} duplicated time stamp(s) dropped (kept the first of each), e.g. {frame.index[dup][0]:%Y-%m-%d}"
        notes.append(message)
        warnings.warn(f"{path}: {message}", DataWarning, stacklevel=3)
        frame = frame[~dup]
    n_missing = int(frame[column].isna().sum())
    if n_missing:
        if missing == "error":
            raise _fail(path, f"{n_missing} row(s) have no {column} price", "Pass --missing drop to drop them or --missing ffill to carry the last price forward")
        if missing == "drop":
            frame = frame[frame[column].notna()]
        else:
            frame = frame.assign(**{column: frame[column].ffill()}).dropna(subset=[column])
        notes.append(f"{n_missing} row(s) without a price: {'dropped' if missing == 'drop' else 'filled with the last price'}")
    if len(frame) == 0:
        raise _fail(path, "no rows with a price remain", "Download the prices again")
    bad = frame[column] <= 0
    if bad.any():
        raise _fail(path, f"{int(bad.sum())} price(s) are zero or negative (first on {frame.index[bad][0]:%Y-%m-%d})",
                    "Prices must be positive for log-returns; fix or delete those rows")
    if not np.all(np.isfinite(frame[column].to_numpy(dtype=float))):
        raise _fail(path, "some prices are infinite", "Fix or delete those rows")
    gaps = _gaps(frame.index)
    if gaps:
        notes.append(gaps)
    return PriceSeries(frame=frame, price_column=column, source=str(path), format=fmt, notes=notes)


def _gaps(index: pd.DatetimeIndex) -> str:
    if len(index) < 3:
        return ""
    spacing = index.to_series().diff().dropna()
    median = spacing.median()
    long = spacing[spacing > 5 * median]
    if long.empty:
        return ""
    worst = long.idxmax()
    days = long.max() / pd.Timedelta(days=1)
    return (f"{len(long)} gap(s) longer than 5x the usual spacing of {median / pd.Timedelta(days=1):g} day(s); "
            f"the longest, {days:g} days, ends {worst:%Y-%m-%d}")
