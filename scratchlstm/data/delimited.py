"""Delimited text: which character separates the columns, which line is the header, what is above it.

The delimiter is the one of ``DELIMITERS`` that splits the header into two or more fields and every
sampled row into as many; quoted fields (``"4160,62"``) count as one. When two fit equally, the one
whose header names a date column wins; when that does not decide either, the file is refused.
Lines above the header that do not split like it (a banner such as CryptoDataDownload's URL) are
skipped, up to ``BANNER_LINES``; so are any number of comment lines (starting with ``#``) and blank
lines at the top, and Excel's ``sep=;`` line, whose delimiter is then the one used. Header names
lose the invisible characters that editors leave in them (a second byte-order mark, zero-width
spaces; a no-break space counts as a space), and nameless columns that hold nothing (what Excel
writes for empty trailing cells: ``Date,Close,,``) are dropped.

A file cut short while it was written or copied ends inside its last row, without a final line
break. ``unfinished_last_line`` applies one rule: when the file does not end with a line break, its
last row is unfinished if it has fewer fields than the header, an open quote, or a last field
shorter than that field in every one of the rows before it (``12`` below ``1240.12``), or with fewer
digits after its last mark than the same number of digits every row before it has (``1240.1`` or
``1240`` below rows of two decimals). Such a row is dropped with a note; a file whose short last row
is real gets it back by ending with a line break. A cut that none of these shows (whole numbers of
differing lengths, ``1240`` cut to ``124`` beside ``999``) cannot be told from a real price.

Every value is read as pandas reads it, except that only ``MISSING_TOKENS`` mean missing, numbers
with marks stay text for ``numbers.read_numbers``, and numbers are parsed exactly (pandas's default
parser can miss the nearest float by one unit in the last place: ``1.0074168508447439e-06``).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

import pandas as pd

from .numbers import MISSING_TOKENS
from .refusal import refuse

DELIMITERS = (",", ";", "\t", "|")
BANNER_LINES = 3
SNIFF_LINES = 50
DATE_COLUMNS = ("date", "datetime", "timestamp", "time", "unix", "snapped_at", "observation_date",  # FRED's current name
                "datum", "fecha", "data",  # the date column of localised exports: de/nl/sv, es, it/pt/pl
                "year", "month",  # a yearly or monthly table's one stamp column (R's data sets: year, volume)
                "quarter", "week", "yearmonth", "yearquarter", "yearweek",  # R tsibble's index columns (fpp3: Quarter, Week)
                "ds")  # the long format's stamp column (statsforecast's ds, y), in a file of one series
INVISIBLE = re.compile("[\ufeff\u200b\u200c\u200d\u2060\u00ad]")  # byte-order marks, zero-width characters, soft hyphen
_SEP_LINE = re.compile(r'\s*"?sep=(.)"?\s*', re.IGNORECASE)  # Excel's first line naming the delimiter
_LINE_BREAKS = re.compile(r"\r\n|\r|\n")
_AFTER_MARK = re.compile(r"\d[.,](\d*)$")
UNNAMED = "unnamed column "  # the name given to a column whose header field is empty


@dataclass(frozen=True)
class Layout:
    """Where the table is in the text and how its fields are separated."""

    delimiter: str
    header_line: int  # lines above it are a banner, skipped
    skip_after_header: int  # yfinance's Ticker and Date lines
    format: str  # "yahoo", "yfinance" or "cryptodatadownload"
    columns: tuple[str, ...]  # lower-case header names


def sniff_layout(text: str, source) -> Layout:
    """Find the delimiter, the header line and the layout of a delimited price file."""
    end = text.find("\n", 2**16)  # whole lines only, however long the first ones are
    head = text if end == -1 else text[:end]
    lines = _LINE_BREAKS.split(head)
    visible = [INVISIBLE.sub("", line) for line in lines[:2**10]]
    start = next((k for k, line in enumerate(visible) if line.strip() and not line.lstrip().startswith("#")), len(lines))
    lines = lines[: start + BANNER_LINES + SNIFF_LINES + 1]
    sep = _SEP_LINE.fullmatch(visible[start]) if start < len(visible) else None
    if sep:
        header = next((k for k in range(start + 1, len(lines)) if lines[k].strip()), None)
        if header is None:
            raise refuse(source, "the file has a 'sep=' line but no header below it", "Download the prices again")
        return _layout(lines, header, sep.group(1), source)
    for banner in range(min(BANNER_LINES, len(lines) - start) + 1):
        rows = [line for line in lines[start + banner:] if line.strip()]
        if not rows:
            break
        skipped = [line for line in lines[start:start + banner] if line.strip()]
        # a banner (CryptoDataDownload's URL line) is not a row: it does not split into fields
        fitting = [d for d in DELIMITERS if _splits_evenly(rows, d) and all(len(_fields(line, d)) < 2 for line in skipped)]
        if fitting:
            header = start + banner + next(k for k, line in enumerate(lines[start + banner:]) if line.strip())
            return _layout(lines, header, _choose(fitting, rows[0], source), source)
    header = start if start < len(lines) else 0
    delimiter = max(DELIMITERS, key=lambda d: len(_fields(lines[header], d)))  # ragged rows: pandas says where
    return _layout(lines, header, delimiter, source)


def read_table(text: str, layout: Layout, source, *, as_text: list[str] | None = None,
               only: list[str] | None = None) -> pd.DataFrame:
    """The table below the header; columns lower-cased; those in ``as_text`` kept as text, or only those in ``only``."""
    skip = skipped_lines(layout)
    chosen = as_text or only
    positions = sorted(layout.columns.index(c) for c in chosen) if chosen else None
    try:
        # bytes, not io.StringIO: pandas reads a StringIO through a buffer of 4 bytes per character
        frame = pd.read_csv(io.BytesIO(text.encode("utf-8")), encoding="utf-8", sep=layout.delimiter, skiprows=skip, header=0, skipinitialspace=True,
                            na_values=list(MISSING_TOKENS), keep_default_na=False, usecols=positions,
                            dtype=str if as_text else None, float_precision="round_trip")  # the float each text names
    except (ValueError, IndexError, csv.Error, pd.errors.EmptyDataError) as exc:  # ParserError is a ValueError
        longer = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if longer:  # a row longer than the rows before it (the first long row comes after some short ones)
            raise more_fields_than_header(source, f" (the first at line {longer.group(2)}: {longer.group(3)} fields, where "
                                                  f"{longer.group(1)} were expected)") from None
        raise refuse(source, f"this is not a readable CSV ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})",
                     "Export the prices as a delimited text file (comma, semicolon or tab)") from None
    if not frame.index.equals(pd.RangeIndex(len(frame))):  # pandas made the first column the index: rows are too long
        raise more_fields_than_header(source)
    names = [layout.columns[p] for p in positions] if positions is not None else list(layout.columns)
    if len(names) != len(frame.columns):
        raise refuse(source, f"the header has {len(names)} fields but pandas read {len(frame.columns)} columns",
                     "Check the quotes in the header line")
    frame.columns = names
    empty = [c for c in names if c.startswith(UNNAMED) and frame[c].isna().all()]  # Excel's empty trailing cells
    refuse_a_split_decimal_comma(frame, names, source)
    return frame.drop(columns=empty)


def skipped_lines(layout: Layout) -> list[int]:
    """The line numbers pandas skips to read the table: those above the header, and the header lines below it that
    hold no data (yfinance's Ticker and Date lines)."""
    return list(range(layout.header_line)) + [layout.header_line + 1 + k for k in range(layout.skip_after_header)]


def more_fields_than_header(source, where: str = ""):
    """The refusal of rows longer than the header (``where`` names a line), which pandas would read shifted by a
    column, the first made the index."""
    return refuse(source, f"some rows have more fields than the header{where}",
                  "Check the delimiters; every row needs one value per column (in a comma-separated file, quote a value "
                  "with a decimal comma or a thousands comma: \"98,58\", \"1,001.62\")")


def refuse_a_split_decimal_comma(frame: pd.DataFrame, names: list[str], source) -> None:
    """Refuse a column after the first with no name that holds whole numbers after a column of whole numbers: a header
    ending in a delimiter over rows such as 03.01.2022,8,30 read every price as its whole part, the decimals in this
    column. (The first column may be pandas' saved index, which has no name; a nameless column of notes, or one after
    a column with decimals, is read as before.)"""
    unread = [c for c in names[1:] if c.startswith(UNNAMED) and not _empty(frame[c]) and _whole_numbers(frame[c])
              and _whole_numbers(frame[names[names.index(c) - 1]])]
    if unread:
        column = unread[0]
        first = frame[column].dropna().iloc[0]
        beside = names[names.index(column) - 1]
        raise refuse(source, f"column {names.index(column) + 1} has no name in the header but holds whole numbers (the first "
                             f"read as {first}), right after {beside!r}; if the numbers have a decimal comma in a "
                             "comma-separated file, each was read as two fields ('8,30' as 8 and 30)",
                     "Quote such numbers (\"8,30\") or export with ';' as the delimiter; if the column is data, give it a name in the header")


def _empty(column: pd.Series) -> bool:
    """Whether ``column`` holds no value (missing, or empty text)."""
    return bool(column.isna().all() or (column.astype(str).str.strip() == "").all())


def _whole_numbers(column: pd.Series) -> bool:
    """Whether every value of ``column`` present reads as a whole number (the two halves of a split decimal comma)."""
    values = pd.to_numeric(column.dropna(), errors="coerce")
    return bool(values.notna().all() and (values == values.round()).all())


def unfinished_last_line(text: str, layout: Layout) -> str | None:
    """The last row of a file cut short inside it (see the module docstring), or None."""
    if text.endswith(("\n", "\r")):
        return None
    whole = len(text) <= 2**16
    tail = _LINE_BREAKS.split(text if whole else text[-2**16:])
    if not tail[-1].strip():
        return None
    first_row = layout.header_line + 1 + layout.skip_after_header if whole else 1  # a partial first line when cut
    rows = [line for line in tail[first_row:] if line.strip()]
    if len(rows) < 2:
        return None  # nothing to compare the last row with
    last, before = rows[-1], rows[-1 - SNIFF_LINES:-1]
    if last.count('"') % 2:
        return last
    fields = _fields(last, layout.delimiter)
    if len(fields) < len(layout.columns):
        return last
    previous = [(_fields(line, layout.delimiter) or [""])[-1].strip() for line in before]
    value = fields[-1].strip()
    if len(value) < min(map(len, previous)):
        return last
    decimals = {_digits_after_mark(v) for v in previous}
    if len(decimals) == 1 and None not in decimals:  # every row before has k digits after its mark
        own = _digits_after_mark(value)
        if own is None or own < next(iter(decimals)):
            return last
    return None


def without_unfinished_last_line(text: str, layout: Layout, notes: list[str], prefix: str = "") -> str:
    """``text`` without the last row of a file cut short inside it (``unfinished_last_line``), with a note (after
    ``prefix``, a file's name where several are read) saying so and how to keep the row; else ``text``."""
    cut = unfinished_last_line(text, layout)
    if cut is None:
        return text
    notes.append(f"{prefix}the file ends inside its last row ({cut.strip()!r}: no line break after it, and fewer fields, "
                 "characters or decimals than the rows before): dropped as cut short; end the file with a line break if "
                 "that row is complete")
    return text[: len(text) - len(cut)]


def _digits_after_mark(value: str) -> int | None:
    found = _AFTER_MARK.search(value)
    return len(found.group(1)) if found else None


def row_places(text: str, layout: Layout):
    """``where(k)``: the line number of the table's row ``k`` (``"line 7"``), counted when a message needs it."""
    def where(k: int) -> str:
        lines = _LINE_BREAKS.split(text)
        first = layout.header_line + 1 + layout.skip_after_header
        numbers = [n + 1 for n in range(first, len(lines)) if lines[n].strip()]
        return f"line {numbers[k]}" if k < len(numbers) else f"row {k + 1}"
    return where


def clean_name(field: str) -> str:
    """A header name as the loaders compare it: invisible characters removed, no-break spaces as spaces, lower case,
    without the footnote marks of Yahoo's web table (``Close*``, ``Adj Close**``)."""
    return INVISIBLE.sub("", field).replace("\u00a0", " ").strip().rstrip("*").strip().lower()


def underscored(name: str) -> str:
    """A cleaned name with each run of spaces or hyphens as one underscore: "unique id" and "unique-id" are the long
    format's "unique_id" (the price loader's own names keep their spaces: "adj close")."""
    return re.sub(r"[\s-]+", "_", name)


def _fields(line: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=delimiter, skipinitialspace=True), [])
    except csv.Error:  # a field longer than the csv module's limit (128 KiB) is no price file's
        return [line]


def _splits_evenly(rows: list[str], delimiter: str) -> bool:
    width = len(_fields(rows[0], delimiter))
    return width >= 2 and all(len(_fields(row, delimiter)) == width for row in rows[1:])


def _choose(fitting: list[str], header: str, source) -> str:
    widest = max(len(_fields(header, d)) for d in fitting)
    best = [d for d in fitting if len(_fields(header, d)) == widest]
    if len(best) > 1:
        named = [d for d in best if any(f.strip().lower() in DATE_COLUMNS for f in _fields(header, d))]
        best = named if len(named) == 1 else best
    if len(best) > 1:
        shown = " or ".join(repr(d) for d in best)
        raise refuse(source, f"the columns could be separated by {shown}: both split every line alike",
                     "Save the file again with a single delimiter, preferably a comma")
    return best[0]


def _layout(lines: list[str], header_line: int, delimiter: str, source) -> Layout:
    raw = _fields(lines[header_line], delimiter)  # the fields the column names come from
    columns = [clean_name(f) or f"{UNNAMED}{k + 1}" for k, f in enumerate(raw)]
    below = _fields(lines[header_line + 1], delimiter) if header_line + 1 < len(lines) else []
    fmt, skip_after = "yahoo", 0
    _refuse_a_header_of_numbers(raw, source)
    first_below = [f.strip().lower() for f in below[:1]]
    if columns[:1] == ["price"] and first_below == ["ticker"]:
        _refuse_several_tickers(below[1:], source)
        fmt, skip_after = "yfinance", 2  # yfinance >= 0.2.51: Price / Ticker / Date header lines
        columns[0] = "date"
    elif columns[:1] == ["ticker"] and first_below == ["price"]:
        _refuse_several_tickers(raw[1:], source)
        fmt, skip_after = "yfinance", 2  # the same with group_by='ticker': Ticker / Price / Date, the names on the second
        raw = below
        columns = ["date"] + [clean_name(f) or f"{UNNAMED}{k + 2}" for k, f in enumerate(below[1:])]
    elif header_line > 0 and any("cryptodatadownload" in line.lower() for line in lines[:header_line]):
        fmt = "cryptodatadownload"
    seen: dict[str, str] = {}
    for field, name in zip(raw, columns):
        if name in seen:
            raise same_name(source, seen[name], field)
        seen[name] = field
    return Layout(delimiter, header_line, skip_after, fmt, tuple(columns))


def _refuse_a_header_of_numbers(fields: list[str], source) -> None:
    """Refuse a first line of numbers only: a file without a header (Binance's klines, a bare ``ms,price`` export),
    whose first row became the column names and was refused as two columns of one name or no date column."""
    present = [f.strip() for f in fields if f.strip()]
    if fields and not fields[0].strip():  # ",0,1": a saved DataFrame's index column and its numbered columns
        return
    if len(present) >= 2 and all(_NUMBER.fullmatch(f) for f in present):
        shown = ", ".join(present[:3]) + (", ..." if len(present) > 3 else "")
        raise refuse(source, f"its first line ({shown}) holds numbers, not column names: the file has no header line",
                     "Add one above the data, naming the date and the price columns (Date,Close; for Binance's klines: "
                     "Date,Open,High,Low,Close,Volume and six more names, the date as unix milliseconds)")


_NUMBER = re.compile(r"[-+]?(\d+([.,]\d*)?|[.,]\d+)([eE][-+]?\d+)?")


def _refuse_several_tickers(tickers: list[str], source) -> None:
    """Refuse a yfinance download of several tickers saved as CSV (``tickers``: the fields of its Ticker line): every
    column name repeats once per ticker, which was refused as two columns of one name, "rename one of them"."""
    distinct = list(dict.fromkeys(t.strip() for t in tickers if t.strip()))
    if len(distinct) > 1:
        shown = ", ".join(distinct[:5]) + (", ..." if len(distinct) > 5 else "")
        raise refuse(source, f"a yfinance download of {len(distinct)} tickers ({shown}): its columns repeat once per ticker",
                     f"Save one ticker's prices: data.xs('{distinct[0]}', axis=1, level='Ticker').to_csv(...), or download it alone")


def same_name(source, first: str, second: str):
    """The refusal for two columns one name would mean (``Close`` and ``close``, ``y`` and `` y``): which one is the price?"""
    how = ("the same name" if first == second else "the same name once the spaces around them are dropped"
           if first.strip() == second.strip() else "the same name once case is ignored")
    first, second = first.strip(), second.strip()
    return refuse(source, f"columns {first!r} and {second!r} have {how}", "Rename one of them")
