"""A price series, checked when it is made, that says where its numbers came from.

Every ``PriceSeries`` holds one row per time stamp, oldest first, with a positive, finite price in
every row; one that does not is refused on construction, whoever builds it. ``describe()`` is the
one line a person reads before trusting a verdict on the data:

    prices.csv: yahoo CSV, delimiter ';', decimal ',', dates day-first (%d/%m/%Y), daily, 1826 rows
    2017-08-18 to 2022-08-18, price column 'adj close'
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..io import display_name
from .frequency import Frequency, detect_frequency
from .refusal import refuse

CSV_FORMATS = ("yahoo", "date-price", "yfinance", "cryptodatadownload", "kaggle-minute")
NAMES = {"coingecko": "coingecko JSON", "dataframe": "pandas DataFrame", "series": "pandas Series",
         "long": "rows of a long-format table (unique_id, ds, y)"}


class DataWarning(UserWarning):
    """Something in a price file was fixed or is worth knowing (duplicates dropped, gaps)."""


@dataclass(frozen=True)
class Detected:
    """What a loader found in a file: each choice it made on the file's behalf (None: not applicable)."""

    encoding: str | None = None  # "UTF-8", "UTF-8 with BOM", "UTF-16", "Latin-1"
    compression: str | None = None  # "gzip"
    delimiter: str | None = None
    decimal: str | None = None  # the decimal mark seen; None when every number is whole
    thousands: str | None = None  # the thousands separator seen and removed
    thousands_partly: bool = False  # written in some values only ("45,653" beside 45279)
    grouping: str | None = None  # "lakh": digits grouped the Indian way (1,23,45,678.90)
    unit: str | None = None  # the currency sign or unit removed from every price ("$", "USD")
    dates: str | None = None  # how the dates were read, e.g. "day-first (%d/%m/%Y)" or "unix seconds"
    date_format: str | None = None  # the strftime pattern that reads them, where one does
    date_order: str | None = None  # "day-first", "month-first" or "year-first"
    offsets: str | None = None  # e.g. "+01:00, +02:00 dropped (local times kept)"


@dataclass
class PriceSeries:
    """A price series: one row per time stamp, oldest first, a positive finite price in every row.

    Building one checks all of that and raises ``DataError`` with the fix when it does not hold;
    ``as_price_series`` builds one from a file, a pandas Series or a DataFrame and repairs what it
    can (sorting, duplicates, missing values) saying so in ``notes``.
    """

    frame: pd.DataFrame  # index: DatetimeIndex "date"; columns lower-case (open, high, low, close, volume, ...)
    price_column: str  # the column used as "the price" (adjusted close when there is one)
    source: str  # file name or description
    format: str  # which layout was recognised ("yahoo", "coingecko", "dataframe", ...)
    notes: list[str] = field(default_factory=list)  # what was fixed or found, in words
    detected: Detected = field(default_factory=Detected)
    frequency: Frequency | None = None  # detected from the stamps when not given

    def __post_init__(self):
        self.source = display_name(self.source)  # a file name need not be UTF-8; every output must be
        check_frame(self.frame, self.price_column, self.source)
        if self.frequency is None:
            self.frequency = detect_frequency(self.frame.index)

    @property
    def prices(self) -> pd.Series:
        return self.frame[self.price_column]

    def describe(self) -> str:
        """One line: the file, what was detected in it, its frequency, rows, dates and price column."""
        d, idx = self.detected, self.frame.index
        stored = ", ".join(x for x in (d.compression, d.encoding if d.encoding not in (None, "UTF-8") else None) if x)
        name = f"{self.format} CSV" if self.format in CSV_FORMATS else NAMES.get(self.format, self.format)
        parts = [name + (f" ({stored})" if stored else "")]
        for label, value in (("delimiter", d.delimiter), ("decimal", d.decimal), ("thousands", d.thousands)):
            if value is not None:
                parts.append(f"{label} {value!r}" + (" (in some values only)" if label == "thousands" and d.thousands_partly else "")
                             + (" (Indian grouping: 1,23,45,678)" if label == "thousands" and d.grouping == "lakh" else ""))
        if d.unit:
            parts.append(f"unit {d.unit!r} removed from every price")
        if d.dates:
            parts.append(f"dates {d.dates}")  # with the offsets, if any
        elif d.offsets:
            parts.append(f"offsets {d.offsets}")
        parts.append(self.frequency.word)
        parts.append(f"{len(idx)} rows {self.frequency.stamp(idx[0])} to {self.frequency.stamp(idx[-1])}")
        parts.append(f"price column {self.price_column!r}")
        shown = self.source if self.format == "long" else Path(self.source).name  # file.csv[A/B]: a series' name, not a path
        return f"{shown}: " + ", ".join(parts)

    def summary(self) -> dict:
        """The facts of ``describe()`` as a dictionary (for report.json), with the notes."""
        idx = self.frame.index
        return {
            "source": self.source,
            "format": self.format,
            "price_column": self.price_column,
            "rows": int(len(self.frame)),
            "first_date": self.frequency.stamp(idx[0]),
            "last_date": self.frequency.stamp(idx[-1]),
            "frequency": {"alias": self.frequency.alias, "word": self.frequency.word},
            "detected": asdict(self.detected),
            "description": self.describe(),
            "notes": list(self.notes),
        }


def check_frame(frame, price_column: str, source) -> None:
    """Raise ``DataError`` unless ``frame`` is a valid price table (see ``PriceSeries``)."""
    via = "or build it with as_price_series, which"
    if not isinstance(frame, pd.DataFrame):
        raise refuse(source, f"a PriceSeries needs a pandas DataFrame, not {type(frame).__name__}", "Use as_price_series, which takes Series too")
    if not isinstance(frame.index, pd.DatetimeIndex):
        raise refuse(source, f"the frame's index is a {type(frame.index).__name__}, not time stamps",
                     f"Set a DatetimeIndex (frame.set_index(pd.to_datetime(frame['date']))), {via} reads a date column")
    if price_column not in frame.columns:
        raise refuse(source, f"no column {price_column!r} (columns: {', '.join(map(str, frame.columns))})", "Name one of those as the price column")
    if len(frame) == 0:
        raise refuse(source, "the series has no rows", "Give it at least one price")
    prices = frame[price_column]
    if not pd.api.types.is_numeric_dtype(prices) or pd.api.types.is_bool_dtype(prices):
        raise refuse(source, f"column {price_column!r} holds {prices.dtype}, not numbers", f"Convert it with pd.to_numeric, {via} reads text")
    values = prices.to_numpy(dtype=float)
    idx = frame.index
    if np.isnan(values).any() or idx.hasnans:
        what = "price(s)" if np.isnan(values).any() else "time stamp(s)"
        count = int(np.isnan(values).sum()) if what == "price(s)" else int(idx.isna().sum())
        raise refuse(source, f"{count} {what} missing", f"Drop or fill those rows, {via} does it as missing= says")
    if not idx.is_unique:
        dup = idx[idx.duplicated()][0]
        raise refuse(source, f"{int(idx.duplicated().sum())} duplicated time stamp(s), e.g. {dup}",
                     f"Keep one row per stamp (frame[~frame.index.duplicated()]), {via} drops them with a warning")
    if not idx.is_monotonic_increasing:
        k = int(np.flatnonzero(np.diff(idx.values.astype("datetime64[ns]").astype(np.int64)) < 0)[0])
        raise refuse(source, f"the time stamps are not oldest first ({idx[k]} comes before {idx[k + 1]})",
                     f"Sort them with frame.sort_index(), {via} sorts and says so")
    if not np.isfinite(values).all():
        raise refuse(source, "some prices are infinite", "Fix or delete those rows")
    bad = values <= 0
    if bad.any():
        raise refuse(source, f"{int(bad.sum())} price(s) are zero or negative (first on {idx[bad][0]:%Y-%m-%d})",
                     "Prices must be positive (the forecaster takes their logarithm, whatever its target); fix or delete those rows")
