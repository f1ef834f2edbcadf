"""Numbers written in any locale's convention, read only the way the data allows.

A file has one decimal mark ``D`` (``.`` or ``,``) and at most one thousands separator ``T`` (``,``,
``.``, a space, a no-break space or ``'``). Under a convention ``(D, T)`` a column reads as numbers
when every value is

    [+-] whole [D digits] [e[+-]digits]      whole: digits, or, when T occurs in the column,
                                             1-3 digits then groups of T and exactly 3 digits

Indian digit grouping (lakh and crore: ``1,23,45,678.90``, groups of 2 digits before the last 3) is one
more convention, ``(".", LAKH)``. A value of a lakh or more has two ',' or more, which no decimal mark
has, so the number it gives is the only one; a value below 1,00,000 is grouped as in thousands and reads
as it does there (ambiguous or not). A column that groups some values in lakhs and others in thousands
(``1,23,456`` beside ``123,456``) follows neither, and is refused naming the two. ``NumberFormat.grouping``
says when a column was read in lakhs.

A column may also group some values and not others (``"45,653"`` beside ``45279``, as a spreadsheet
writes cells formatted differently). Read strictly, the mark in ``45,653`` is then a decimal comma
and the value 1000 times smaller than its neighbours; read loosely, it separates thousands. When both
readings fit and give different numbers, the column is refused with the line numbers of the two
values and the ``decimal=`` that settles it; when only the loose reading fits (``1,234.5`` beside
``12345.6``: the ',' cannot be a decimal mark there), it is read that way and ``NumberFormat.partly``
says so. Never a silent factor of 1000.

The conventions under which every number column reads are kept. When they give the price column
the same numbers, the file is read; when they differ (every value ``1,234``: 1234 with a thousands
comma, or 1.234 with a decimal comma, and no other column tells which), the file is refused and the
``decimal=`` argument settles it. A value whose whole part is 0 or empty (``0.850``, ``0,850``,
``.850``) settles it too: no number has a thousands separator after a first group of 0. Nothing is
ever stripped on a guess.

A currency sign or unit written in every value of a column (``$1,238.83``, ``1234.56 USD``,
``1.234,56 €``, ``0.0021 BTC``) is recognised and removed when it is the same in every value, and
``NumberFormat.unit`` names it; a price column whose values carry different units, or a unit in some
values only, is refused with the line numbers of two that differ.

Speed: the checks run on each column's distinct *shapes* (the text with every digit written as
``0``), of which a column has a few dozen however long it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain

import numpy as np
import pandas as pd

from .options import DECIMAL_MARKS
from .refusal import refuse

THOUSANDS_SEPARATORS = (",", ".", " ", "\u00a0", "\u202f", "'")
MARKS = frozenset(DECIMAL_MARKS + THOUSANDS_SEPARATORS)
LAKH = "lakh"  # the thousands "separator" of Indian grouping: ',' before the last 3 digits, then every 2 (1,23,45,678)
# (decimal, thousands); Indian grouping last, so that a column both read alike (12,345.6) is said to group thousands
CONVENTIONS = tuple((d, t) for d in DECIMAL_MARKS for t in (None,) + THOUSANDS_SEPARATORS if t != d) + ((".", LAKH),)
MISSING_TOKENS = ("", "nan", "NaN", "NAN", "null", "NULL", "None", "NA", "N/A", "n/a", "#N/A", "-",
                  ".")  # FRED's missing value
_UNGROUPED = re.compile(r"[+-]?0{4}")  # on shapes: 4+ whole digits without a separator
DIGITS_AS_ZERO = str.maketrans("0123456789", "0000000000")  # a value's shape: its text with every digit as 0
CURRENCY_SIGNS = "$€£¥₿₹₽₩"
_UNIT = re.compile(rf"(?P<pre>US\$|[A-Z]{{3,5}}(?=[\s\d+-])|[{CURRENCY_SIGNS}])?\s*"
                   rf"(?P<number>[-+]?[\d.,'\s\u00a0\u202f]*\d(?:[eE][-+]?\d+)?)\s*(?P<post>[{CURRENCY_SIGNS}]|[A-Z]{{3,5}})?")
_UNIT_HINT = re.compile(rf"[A-Z{CURRENCY_SIGNS}]")
_NUMBER_LIKE = re.compile(r"[+-]?[0.,' \u00a0\u202f]*0[0.,' \u00a0\u202f]*(?:[eE][+-]?0+)?")  # on shapes


@dataclass(frozen=True)
class NumberFormat:
    """The marks a file's numbers use: each is None when no number in the file has one."""

    decimal: str | None = None
    thousands: str | None = None
    unit: str | None = None  # the currency sign or unit removed from every price ("$", "USD")
    partly: bool = False  # the thousands separator is written in some values only (1,234 beside 5678)
    grouping: str | None = None  # "lakh" when the separator groups digits the Indian way (1,23,456.78)


@dataclass(frozen=True)
class _Column:
    """One text column prepared for the checks."""

    name: str
    text: pd.Series  # stripped text, NaN where missing
    shapes: pd.Series  # the text with every digit as "0"
    marks: frozenset  # the mark characters that occur in it
    unit: str | None = None  # the currency sign or unit removed from every value


def could_be_dot_grouped(values: pd.Series) -> bool:
    """Whether a column that pandas read as floats (with a '.' decimal point) could be grouped integers.

    ``1.234`` might have been one thousand two hundred and thirty-four, written with a '.' between
    thousands; its float no longer shows whether the text was ``1.234`` or ``1.23``. A column is
    beyond doubt once one value has a fraction that no group of three digits could make (``4160.62``
    or ``0.12345``); otherwise its text must be read again and checked like any other.
    """
    v = values.to_numpy(dtype=float)
    v = v[~np.isnan(v)]
    if not np.isfinite(v).all():
        return True
    with_fraction = v[v != np.floor(v)]  # all below 2**52 (larger floats are whole), so rounding cannot overflow
    settles = (np.abs(with_fraction) >= 1000) | (np.round(with_fraction, 3) != with_fraction)
    return not settles.any()


def read_numbers(frame: pd.DataFrame, columns: list[str], *, price_column: str, decimal: str | None,
                 source, where=None) -> tuple[pd.DataFrame, NumberFormat]:
    """Convert the text ``columns`` of ``frame`` that read as numbers; the others stay text.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table; ``columns`` hold text (NaN where missing).
    columns : list of str
        The text columns to try. ``price_column`` must read as numbers if it is among them.
    price_column : str
        The column that must be numbers; any doubt about it is an error.
    decimal : str or None
        The decimal mark, when the caller knows it (``"."`` or ``","``).
    source : str or path
        Named in error messages.
    where : callable, optional
        ``where(i)`` names the place of the row at position ``i`` in error messages (``"line 7"``);
        by default ``"row {i + 1}"``.

    Returns
    -------
    frame : pandas.DataFrame
        A copy with the converted columns as float64.
    found : NumberFormat
        The marks seen in the converted columns.
    """
    prepared = [_prepare(frame[name], name, name == price_column, where, source) for name in columns]
    prepared.sort(key=lambda c: c.name != price_column)  # the price column narrows the conventions first
    if prepared and prepared[0].name == price_column:
        _check_number_like(prepared[0], source)
    converted, fitting = [], [conv for conv in CONVENTIONS if decimal is None or conv[0] == decimal]
    partly = False
    for column in prepared:
        fits = [conv for conv in fitting if _reads(column, conv)]
        if column.name == price_column:
            loose = [conv for conv in fitting if conv not in fits and _reads(column, conv, loose=True)]
            if loose:
                fits, partly = _settle_mixed(column, fits, loose, where, source)
        if column.name == price_column and not fits:
            raise _no_convention(column, decimal, source)
        if fits:
            converted.append(column)
            fitting = fits
    out = frame.copy()
    for column in converted:
        readings = sorted({_reading(column.marks, conv) for conv in fitting}, key=str)
        values = [_convert(column, reading) for reading in readings]
        if any(not np.array_equal(values[0], other, equal_nan=True) for other in values[1:]):
            if column.name == price_column:
                raise _ambiguous(column, readings, values, source)
            continue  # a secondary column that reads two ways stays text
        out[column.name] = values[0]
    used = [_reading(c.marks, fitting[0]) for c in converted]
    thousands = next((t for _, t in used if t), None)
    unit = next((c.unit for c in converted if c.name == price_column), None)
    return out, NumberFormat(decimal=next((d for d, _ in used if d), None), thousands=_separator(thousands), unit=unit,
                             partly=partly and thousands is not None, grouping=LAKH if thousands == LAKH else None)


def _settle_mixed(column: _Column, fits: list, loose: list, where, source) -> tuple[list, bool]:
    """The conventions for a column whose separator is written in some values only (see the module docstring).

    Returns the conventions to keep and whether they are the loose ones; raises when a strict reading
    (the mark as a decimal one) and a loose one (the mark separating thousands) both fit and differ.
    """
    if not fits:
        return loose, True
    strict, looser = _reading(column.marks, fits[0]), _reading(column.marks, loose[0])
    a, b = _convert(column, strict), _convert(column, looser)
    if np.array_equal(a, b, equal_nan=True):
        return fits, False
    mark = _separator(looser[1])
    k = int(np.flatnonzero((a != b) & ~np.isnan(a))[0])
    grouped = column.text.index[k]
    plain = next((i for i, s in column.shapes.items() if mark not in s and _UNGROUPED.match(s)), grouped)

    def line(i):
        k = column.text.index.get_loc(i)
        return where(k) if where is not None else f"row {k + 1}"

    other = "." if mark == "," else ","
    raise refuse(source, f"column {column.name!r} mixes two number formats: {column.text[grouped]!r} ({line(grouped)}) is "
                         f"{a[k]:g} if {mark!r} is the decimal mark, but {column.text[plain]!r} ({line(plain)}) has 4 or more digits "
                         f"and no separator, as if {mark!r} separated thousands in some values only ({b[k]:g})",
                 f"Pass decimal={other!r} (--decimal {other}) if {mark!r} separates thousands, or decimal={mark!r} "
                 f"(--decimal {mark}) if it is the decimal mark")


def _prepare(values: pd.Series, name: str, is_price: bool, where, source) -> _Column:
    text = values.astype(object).where(values.notna(), None)
    text = pd.Series([None if v is None else str(v).strip() for v in text], index=values.index, dtype=object)
    text = text.where(~text.isin(MISSING_TOKENS), None)
    text, unit = _without_unit(text, name, is_price, where, source)
    shapes = text.dropna().map(lambda s: s.translate(DIGITS_AS_ZERO))
    return _Column(name, text, shapes, _marks("".join(shapes.unique())), unit)


def _without_unit(text: pd.Series, name: str, is_price: bool, where, source) -> tuple[pd.Series, str | None]:
    """The text without a currency sign or unit that every value carries alike (see the module docstring)."""
    present = text.dropna()
    if present.empty or not present.str.contains(_UNIT_HINT).any():
        return text, None
    parts = present.str.extract(_UNIT.pattern)
    read = parts["number"].notna() & present.str.fullmatch(_UNIT.pattern)
    if not read.any():
        return text, None
    units = (parts["pre"].fillna("") + " " + parts["post"].fillna("")).str.strip()
    kinds = units[read].unique()
    if read.all() and len(kinds) == 1 and kinds[0]:
        return text.where(text.isna(), parts["number"].str.strip()), kinds[0].replace(" ", " and ")
    if not is_price or not (read & (units != "")).any():
        return text, None  # no value of this column has a unit it could lose: left to the number checks
    first = units.index[read & (units != "")][0]
    other = next((i for i in units.index if not read[i] or units[i] != units[first]), None)
    if other is None:
        return text, None

    def line(i):
        k = text.index.get_loc(i)
        return where(k) if where is not None else f"row {k + 1}"

    raise refuse(source, f"column {name!r} mixes units: {present[first]!r} ({line(first)}) and {present[other]!r} ({line(other)})",
                 "Export the prices in one currency, with the same sign or unit in every value or in none")


def _check_number_like(column: _Column, source) -> None:
    bad = column.shapes[~column.shapes.map(lambda s: bool(_NUMBER_LIKE.fullmatch(s)))]
    if len(bad):
        example = column.text[bad.index[0]]
        raise refuse(source, f"{len(bad)} value(s) in column {column.name!r} are not numbers (first: {example!r})",
                     "Fix or delete those rows")


def _marks(text: str) -> frozenset:
    return frozenset(m for m in MARKS if m in text)


def _separator(thousands: str | None) -> str | None:
    """The character a convention's thousands separator is written with (``LAKH``'s is ',')."""
    return "," if thousands == LAKH else thousands


def _reading(marks: frozenset, convention) -> tuple[str | None, str | None] | None:
    """The marks a convention gives text with ``marks``: (decimal, thousands), each None when absent;
    None when a mark is foreign to the convention."""
    d, t = convention
    if not marks <= {d, _separator(t)}:
        return None
    return (d if d in marks else None, t if _separator(t) in marks else None)


def _fits(shape: str, convention) -> bool:
    """Whether one value reads under ``convention``."""
    reading = _reading(_marks(shape), convention)
    return reading is not None and _pattern(*reading).fullmatch(shape) is not None


def _reads(column: _Column, convention, loose: bool = False) -> bool:
    """Whether every value of the column reads under ``convention``, grouped alike unless ``loose``
    (see the module docstring)."""
    reading = _reading(column.marks, convention)
    return (reading is not None and all(_pattern(*reading, loose=loose).fullmatch(s) for s in column.shapes.unique())
            and not (reading[1] and _zero_before(column, reading[1])))


def _zero_before(column: _Column, thousands: str) -> bool:
    """Whether a value has a whole part of 0 before ``thousands`` (``0.850``): no thousands separator can follow
    a first group of 0, so the mark is a decimal one (its shape ``0.000`` cannot tell this from ``1.234``)."""
    return bool(column.text.dropna().str.match(rf"[+-]?0+{re.escape(_separator(thousands))}").any())


@lru_cache(maxsize=None)
def _pattern(d: str | None, t: str | None, loose: bool = False) -> re.Pattern:
    if t == LAKH:  # 1 or 2 digits, then groups of 2, then one of 3 (1,23,45,678); or at most 3 digits
        whole = r"(?:\d{1,2}(?:,\d{2})*,\d{3}|\d{1,3})"
    else:
        whole = rf"\d{{1,3}}(?:{re.escape(t)}\d{{3}})*" if t else r"\d+"
    if t and loose:
        whole = rf"(?:{whole}|\d+)"
    if d is None:
        number = whole
    else:
        number = rf"(?:{whole}(?:{re.escape(d)}\d*)?|{re.escape(d)}\d+)"
    exponent = "" if t else r"(?:[eE][+-]?\d+)?"  # 1,234e5 is nobody's convention
    return re.compile(rf"[+-]?{number}{exponent}")


def _convert(column: _Column, reading: tuple[str | None, str | None]) -> np.ndarray:
    d, t = reading
    text = column.text.dropna()
    if t:
        text = text.str.replace(_separator(t), "", regex=False)
    if d == ",":
        text = text.str.replace(",", ".", regex=False)
    values = np.full(len(column.text), np.nan)
    values[column.text.notna().to_numpy()] = np.asarray(text.to_numpy(dtype=object), dtype=float)
    return values


def _first(column: _Column, shapes_ok) -> str | None:
    for index, shape in column.shapes.items():
        if not shapes_ok(shape):
            return column.text[index]
    return None


def _no_convention(column: _Column, decimal: str | None, source):
    if decimal is not None:
        misfit = _first(column, lambda s: any(_fits(s, conv) for conv in CONVENTIONS if conv[0] == decimal))
        return refuse(source, f"column {column.name!r} cannot be read with decimal {decimal!r} (first misfit: {misfit!r})",
                      "Check the decimal= option (--decimal), or leave it out to let the data decide")
    marked = column.shapes[column.shapes.map(lambda s: bool(_marks(s)))]
    first = column.text[marked.index[0]]
    own = [conv for conv in CONVENTIONS if _fits(marked.iloc[0], conv)]
    if not own:  # quoted alone: "follow no single convention (e.g. '1,2,3' and '1,2,3')" named one value as two
        return refuse(source, f"{first!r} in column {column.name!r} is a number in no convention for decimal and thousands "
                              "marks (1,234.5; 1.234,5; 1 234,5; the Indian 1,23,456.5)",
                      "Fix that value, or export the column again without thousands separators (1234.5)")
    candidates = chain([_first(column, lambda s: any(_fits(s, conv) for conv in own)),  # a value no reading of the first fits
                        _first(column, lambda s: not _UNGROUPED.match(s))],  # or one that breaks the first's grouping
                       column.text[marked.index[1:]])
    other = next((c for c in candidates if c is not None and c != first), None)
    shown = f"e.g. {first!r} and {other!r}" if other is not None else f"e.g. {first!r}"
    return refuse(source, f"the numbers in column {column.name!r} follow no single convention for decimal and thousands marks "
                          f"({shown})", "Export the column again with one number format, without thousands separators (1234.5)")


def _ambiguous(column: _Column, readings, values, source):
    k = next(k for k in range(1, len(values)) if not np.array_equal(values[0], values[k], equal_nan=True))
    differs = np.flatnonzero((values[0] != values[k]) & ~np.isnan(values[0]))[0]  # missing rows are NaN in both
    example = column.text.iloc[differs]

    def word(reading, value):
        d, t = reading
        how = f"{t!r} separating thousands" if t else f"a decimal {d!r}" if d else "no marks"
        return f"{value:g} with {how}"

    return refuse(source, f"column {column.name!r} reads two ways: {example!r} is {word(readings[0], values[0][differs])} "
                          f"or {word(readings[k], values[k][differs])}, and no other value tells which",
                  "Pass decimal='.' or decimal=',' (--decimal) to say which mark is the decimal one")
