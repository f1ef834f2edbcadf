"""Many series at once: a long-format table (``unique_id, ds, y``) or a folder of price files.

The long format is the statsforecast / neuralforecast convention: one row per series and time
stamp, the series' name in ``unique_id``, the stamp in ``ds``, the value in ``y``::

    unique_id,ds,y
    beer,1992-01-01,443
    beer,1992-04-01,410
    gas,1992-01-01,5.1
    ...

Each series then gets every check a single price file gets (``as_price_series``): its dates are
read from their text (day- or month-first refused when they cannot tell), it is sorted, duplicated
stamps are dropped with a note, missing values are handled as ``missing=`` says. A text file is read as
the price loader reads one: gzip and the encoding by ``decoding`` (UTF-8 with or without a byte-order mark,
UTF-16, Windows-1252, Latin-1), the delimiter and the header line by ``delimited``, whose names are cleaned
alike (marks and spaces around them dropped, lower case), so that a file ``forecast`` calls long is one
``panel`` reads. A row with more fields than the header (a decimal comma in a comma-separated file) is
refused, never read shifted by a column. A folder is read
file by file with ``load_prices``, each file one series named by its file name. A series that fails
those checks (a zero price, dates it cannot read) is kept aside in ``Panel.refused`` with its reason,
to be reported as not run, and the others are read; the file is refused only when none passes, or
when the problem is the file's own (no such columns, no rows).
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from pathlib import Path

import pandas as pd

from ..errors import DataError
from .decoding import PARQUET_MAGIC, read_text
from .delimited import (clean_name, more_fields_than_header, refuse_a_split_decimal_comma, skipped_lines, sniff_layout,
                        underscored, without_unfinished_last_line)
from .loaders import as_price_series, load_prices
from .options import LoadOptions
from .numbers import read_numbers
from .series import DataWarning, PriceSeries

LONG_COLUMNS = ("unique_id", "ds", "y")
LONG_ROLES = {"unique_id": "series name", "ds": "time stamp", "y": "value"}  # what each column holds, for messages
PRICE_FILE_SUFFIXES = (".csv", ".txt", ".tsv", ".json", ".gz")  # of a folder's files: the series' name is the rest of the file name
TABLE_SUFFIXES = (".csv", ".txt", ".tsv", ".gz", ".parquet")
NOT_PRICES = ("README", "LICENSE", "LICENCE", "NOTES", "CHANGELOG", "COPYING")  # file names in a folder of price files
NOT_UTF8 = ("Latin-1", "Windows-1252")  # encodings assumed, not marked: said in a note, as the price loader says it
_TOO_MANY_FIELDS = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")  # pandas' C parser


class Panel(dict):
    """The series that passed the checks, by name, in file order (a dict of str to ``PriceSeries``),
    and in ``refused`` each series that did not, by name, with the reason (a one-line ``DataError``)."""

    def __init__(self, series=(), refused: dict[str, str] | None = None):
        super().__init__(series)
        self.refused: dict[str, str] = dict(refused or {})
        self.order: list[str] = [*self, *self.refused]  # every name, passed or refused, in file order
        self.notes: list[str] = []  # what was assumed or left out while reading (a folder's files that are no price files)

    def add(self, name: str, series: PriceSeries | None = None, refused: str | None = None) -> None:
        """Keep ``series`` under ``name``, or the reason it was ``refused``."""
        if series is not None:
            self[name] = series
        else:
            self.refused[name] = refused
        self.order.append(name)


def _checked(path: Path, panel: Panel) -> Panel:
    """``panel``, unless no series passed: then the refusals, each series' reason (the first ``REASONS_SHOWN``; a
    panel of two series refused for two reasons named only the first)."""
    if not panel and panel.refused:
        reasons = list(panel.refused.values())
        if len(reasons) == 1:
            raise DataError(reasons[0])
        more = f"; and {len(reasons) - REASONS_SHOWN} more" if len(reasons) > REASONS_SHOWN else ""
        raise DataError(f"none of the {len(reasons)} series of {path.name} can be run: " + "; ".join(reasons[:REASONS_SHOWN]) + more)
    return panel


REASONS_SHOWN = 3  # series whose refusal a panel that cannot run at all names


def load_panel(path: str | Path, options: LoadOptions = LoadOptions()) -> Panel:
    """Every series of a long-format file or of a folder of price files, by name, in file order.

    Parameters
    ----------
    path : str or pathlib.Path
        A CSV (or Parquet) file with the columns ``unique_id, ds, y``, or a folder whose files
        (``.csv``, ``.txt``, ``.tsv``, ``.json``, ``.gz``) are price files of any supported format.
    options : LoadOptions
        How to read what the content cannot tell (the decimal mark, the date format, missing
        values); for a folder also the price column.

    Returns
    -------
    panel : Panel
        A dict of str to PriceSeries; its ``refused`` names each series that failed the checks of
        a single price file, with the reason.

    Raises
    ------
    scratchlstm.errors.DataError
        naming the file, the problem and the fix (a missing column, an empty folder, no series
        that passes the checks of a single price file).
    """
    path = Path(path)
    if path.is_dir():
        return _load_folder(path, options)
    if not path.exists():
        raise DataError(f"{path} does not exist; give a long-format file (columns unique_id, ds, y) or a folder of price files")
    return _load_long(path, options)


def series_name(file: Path) -> str:
    """The series a folder's price file holds: its name without the known suffixes (``BRK.B.csv``: ``BRK.B``;
    ``air.csv.gz``: ``air``), so that a dot inside the name stays."""
    name = file.name
    for suffixes in ((".gz",), PRICE_FILE_SUFFIXES):
        name = next((name[: -len(s)] for s in suffixes if name.lower().endswith(s) and len(name) > len(s)), name)
    return name


def _load_folder(folder: Path, options: LoadOptions) -> Panel:
    entries = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    files = [p for p in entries if p.is_file() and p.suffix.lower() in PRICE_FILE_SUFFIXES]
    if not files:
        raise DataError(f"{folder} holds no price files ({', '.join(PRICE_FILE_SUFFIXES)}); put one file per series in it, "
                        "or give a long-format file with the columns unique_id, ds, y")
    panel = Panel()
    skipped = [p.name + ("/" if p.is_dir() else "") for p in entries if p not in files]
    if skipped:
        shown = ", ".join(skipped[:5]) + (f" and {len(skipped) - 5} more" if len(skipped) > 5 else "")
        parquet = any(name.lower().endswith(".parquet") for name in skipped)
        panel.notes.append(f"{folder.name}: not read: {shown}, as a folder panel reads only the price files "
                           f"({', '.join(PRICE_FILE_SUFFIXES)}) directly in it"
                           + ("; a Parquet table is read as a long-format file (unique_id, ds, y): pass the file itself" if parquet else ""))
    read_from: dict[str, str] = {}  # series name: the file it came from
    for file in files:
        name = series_name(file)
        if name in read_from:
            raise DataError(f"{folder}: two files name the series {name!r} ({read_from[name]} and {file.name}); rename one")
        read_from[name] = file.name
        if name.upper() in NOT_PRICES:  # a README.txt was read as prices, and refused with advice on the history's length
            panel.add(name, refused=f"{file.name}: not read, as its name says it describes the folder rather than holds prices")
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)  # kept in the series' notes
            try:
                panel.add(name, load_prices(file, **options.as_kwargs()))
            except DataError as exc:
                panel.add(name, refused=str(exc))
    return _checked(folder, panel)


def _read_table(path: Path, notes: list[str]) -> pd.DataFrame:
    """The long-format table of ``path`` with its column names cleaned (``_clean_names``); for a text file, the
    encoding when it was assumed is added to ``notes``."""
    if path.suffix.lower() not in TABLE_SUFFIXES:
        raise DataError(f"{path}: a panel file is a CSV or Parquet file with the columns unique_id, ds, y; "
                        f"for one price file use 'scratchlstm forecast --csv {path.name}'")
    if not _is_parquet(path):
        return _text_table(path, notes)
    try:
        table = pd.read_parquet(path)
    except ImportError as exc:
        raise DataError(f"{path}: reading Parquet needs pyarrow ({exc}); pip install pyarrow, or save the table as CSV") from None
    except (ValueError, OSError) as exc:
        if path.stat().st_size == 0:
            raise DataError(f"{path}: the file is empty; a panel file needs a header and rows (unique_id, ds, y)") from None
        if _holds_text(path):  # forecast reads it as text and sends it here
            raise DataError(f"{path} holds text, not Parquet (no PAR1 mark at its start): rename it to "
                            f"{path.with_suffix('.csv').name}") from None
        raise DataError(f"{path} cannot be read as a table ({str(exc).splitlines()[0]}); save it as a CSV with the columns "
                        "unique_id, ds, y") from None
    # after the reading, not inside it: a refusal here is the table's, not "cannot be read as a table"
    return _parquet_table(table, path)


def _is_parquet(path: Path) -> bool:
    """Whether ``path`` is read as Parquet: its name says so, or its first bytes do (a Parquet table saved as
    ``.csv``, which the price loader refuses as Parquet and sends here)."""
    if path.suffix.lower() == ".parquet":
        return True
    with open(path, "rb") as f:
        return f.read(len(PARQUET_MAGIC)) == PARQUET_MAGIC


def _text_table(path: Path, notes: list[str]) -> pd.DataFrame:
    """A delimited text file's table, every cell as text, read as the price loader reads the file (decoded by
    ``read_text``, its delimiter and header found by ``sniff_layout``, names cleaned by ``clean_name``). Cells
    are kept as written: no value means missing here (``NA`` is Namibia's id), the series' checks say which do."""
    text = read_text(path)
    if text.encoding in NOT_UTF8:
        notes.append(f"{path.name}: the file is not UTF-8; it was read as {text.encoding}")
    layout = sniff_layout(text.text, path)
    body = without_unfinished_last_line(text.text, layout, notes, f"{path.name}: ")  # as the price loader drops it
    skip = skipped_lines(layout)
    try:
        # bytes, not io.StringIO: pandas reads a StringIO through a buffer of 4 bytes per character
        table = pd.read_csv(io.BytesIO(body.encode("utf-8")), encoding="utf-8", sep=layout.delimiter, skiprows=skip,
                            header=0, dtype=str, keep_default_na=False)
    except (ValueError, IndexError, csv.Error, pd.errors.EmptyDataError) as exc:  # ParserError is a ValueError
        found = _TOO_MANY_FIELDS.search(str(exc))
        if found:
            raise more_fields_than_header(path, f" (line {found[2]} has {found[3]}, the header {found[1]})") from None
        raise DataError(f"{path} cannot be read as a table ({str(exc).splitlines()[0]}); save it as a CSV with the columns "
                        "unique_id, ds, y") from None
    if not table.index.equals(pd.RangeIndex(len(table))):  # pandas made the first column the index: every row is too long
        raise more_fields_than_header(path)
    if len(table.columns) != len(layout.columns):
        raise DataError(f"{path}: the header has {len(layout.columns)} fields but pandas read {len(table.columns)} columns; "
                        "check the quotes in the header line")
    table.columns = list(layout.columns)
    refuse_a_split_decimal_comma(table, list(layout.columns), path)  # as the price loader does (a y of 100,12 read 100)
    return table


def _holds_text(path: Path) -> bool:
    """Whether a file that should be Parquet is text as the price loader reads text (a CSV saved under a .parquet
    name, in any encoding it decodes)."""
    try:
        read_text(path)
    except DataError:
        return False
    return True


def _clean_names(table: pd.DataFrame, path: Path) -> pd.DataFrame:
    """``table`` with its column names as the price loader compares them (``clean_name``: byte-order marks and spaces
    around them dropped, lower case); two that become one name are refused (``table["y"]`` would be both)."""
    names = pd.Index([clean_name(str(c)) for c in table.columns])
    twice = names[names.duplicated()].unique()
    if len(twice):
        raise DataError(f"{path}: {len(twice)} column name(s) appear twice once the spaces around them are dropped and case "
                        f"is ignored ({', '.join(map(repr, twice))}); rename or drop one of each")
    table.columns = names
    return table


def _parquet_table(table: pd.DataFrame, path: Path) -> pd.DataFrame:
    """A Parquet table with the columns its footer names (``is_long_file`` reads them there): index columns pandas
    stored (``set_index("unique_id")`` before saving) become columns again, names are cleaned, and ``ds`` is text
    for the date reader."""
    if table.index.name is not None or isinstance(table.index, pd.MultiIndex):
        table = table.reset_index()
    table = _clean_names(table, path)
    if "ds" in table.columns:  # text, and a null as the empty cell a CSV has there (reported as a missing stamp)
        table["ds"] = table["ds"].astype(str).where(table["ds"].notna(), "")
    return table


def _load_long(path: Path, options: LoadOptions) -> Panel:
    notes: list[str] = []
    table = _long_names_spelled_apart(_read_table(path, notes))  # its column names cleaned
    _refuse_missing_columns(table, path)
    if options.price_column is not None:
        raise DataError(f"{path}: --price-column does not apply to a long-format file, whose values are its y column; leave it out")
    if len(table) == 0:
        raise DataError(f"{path} has no rows; it needs one row per series and time stamp (unique_id, ds, y)")
    absent = table["unique_id"].isna()  # a Parquet null: astype(str) would make it a series "None" or "nan"
    ids = table["unique_id"].astype(str).str.strip()
    if (absent | (ids == "")).any():
        raise DataError(f"{path}: {int((absent | (ids == '')).sum())} rows have no unique_id; name the series of every row")
    _refuse_ids_apart_by_spaces(table["unique_id"].astype(str), path)
    decimal = options.decimal or _decimal_of_file(table, path)
    panel = Panel()
    panel.notes.extend(notes)
    other_columns = [c for c in table.columns if c not in LONG_COLUMNS]
    for name, rows in table.groupby(ids, sort=False):
        frame = pd.DataFrame({"ds": rows["ds"].to_numpy(), "y": rows["y"].to_numpy()})  # messages name the file's columns
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)  # kept in the series' notes
            try:
                series = as_price_series(frame, price_column="y", missing=options.missing, decimal=decimal,
                                         date_format=options.date_format)
            except DataError as exc:  # name the file and the series, not the frame made from them
                message = str(exc).removeprefix("DataFrame: ").removeprefix("DataFrame ")
                if "duplicated time stamp(s)" in message and other_columns:
                    message += (f" (the file's other columns, {', '.join(map(repr, other_columns))}, are not read: in the long "
                                "format each ds holds the whole time stamp, 2023-03-01 09:00)")
                panel.add(str(name), refused=f"{path.name}[{name}]: {message}")
                continue
        series.source = f"{path.name}[{name}]"
        series.format = "long"  # read from the table's rows, not from a DataFrame the user gave
        panel.add(str(name), series)
    _name_the_files_date_order(panel)
    return _checked(path, panel)


def _name_the_files_date_order(panel: Panel) -> None:
    """To a series refused because its dates read both day-first and month-first, add the order the file's other
    series showed (one file is usually written in one convention), and the format that reads it, as a hint: the
    choice stays the user's, as a series of month starts (01/02/2010) is daily read one way and monthly the other."""
    orders = {(s.detected.date_order, s.detected.date_format) for s in panel.values()
              if s.detected.date_order in ("day-first", "month-first") and s.detected.date_format}
    if len(orders) != 1:
        return
    (order, fmt), = orders
    for name, reason in panel.refused.items():
        if "could be day-first or month-first" in reason:
            panel.refused[name] = (f"{reason} (the file's other series read as {order}: --date-format '{fmt}' reads every "
                                   "series so, if this one is written the same way)")


def _long_names_spelled_apart(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with a column named as the long format's with a space or a hyphen for its underscore ("Unique ID",
    "unique-id") renamed to it, where no column has that name already: the names are compared without case and
    spaces around them, and "unique id" was refused as lacking unique_id."""
    names = list(table.columns)
    renamed = [alias if alias in LONG_COLUMNS and alias not in names else name
               for name in names for alias in [underscored(str(name))]]
    return table.set_axis(renamed, axis=1) if renamed != names else table


def _refuse_missing_columns(table: pd.DataFrame, path: Path) -> None:
    """Refuse a table without the long format's columns, with a fix that works: ``forecast`` refuses every file with
    a ``unique_id`` column as long, so it is offered only for a table without one."""
    missing = [c for c in LONG_COLUMNS if c not in table.columns]
    if not missing:
        return
    fix = "Rename " + ", ".join(f"the {LONG_ROLES[c]} column to {c}" for c in missing)
    if "unique_id" in missing:
        fix += "; or put one price file per series in a folder and pass the folder; if the file holds one series, run " + (
            "'scratchlstm forecast' on it saved as a CSV (forecast reads text files)" if _is_parquet(path)
            else f"'scratchlstm forecast {path.name}'")
    raise DataError(f"{path}: a panel file needs the columns unique_id, ds, y (the long format of statsforecast and "
                    f"neuralforecast); it lacks {', '.join(missing)} (it has {', '.join(map(str, table.columns[:8]))}). {fix}")


def _refuse_ids_apart_by_spaces(ids: pd.Series, path: Path) -> None:
    """Refuse ids that differ only by spaces around them (``store_1`` and ``store_1 ``): read apart they look like
    one series twice, read as one they merge two series without a word. An id with spaces around it and no such
    twin is read without them (``" air"`` is ``air``)."""
    raw = pd.Series(ids.unique())
    twins = raw.groupby(raw.str.strip(), sort=False).agg(list)
    twins = twins[twins.map(len) > 1]
    if len(twins):
        shown = "; ".join(" and ".join(map(repr, group)) for group in twins.iloc[:3])
        raise DataError(f"{path}: {len(twins)} unique_id value(s) differ only by spaces around them ({shown}), so which "
                        "series each row belongs to is unclear; remove the spaces, or rename one")


def _decimal_of_file(table: pd.DataFrame, path: Path) -> str | None:
    """The decimal mark of the whole y column, as one file is written in one convention: a series of one row
    (``104.118``) was refused as reading two ways though the other series settle it. None when the column
    cannot tell either (each series is then read, or refused, on its own)."""
    if table["y"].dtype != object:  # Parquet numbers: no marks to read
        return None
    try:
        _, found = read_numbers(pd.DataFrame({"y": table["y"]}), ["y"], price_column="y", decimal=None, source=path)
    except DataError:
        return None
    return found.decimal


def is_long_file(path: str | Path) -> bool:
    """Whether ``path`` is a long-format table: its header, read as ``load_panel`` reads it (any encoding the price
    loader decodes, names cleaned alike), names ``unique_id``, the column by which the price loader refuses a file
    as long and sends it to ``panel``."""
    path = Path(path)
    if not path.is_file() or path.suffix.lower() not in TABLE_SUFFIXES:
        return False
    try:
        if _is_parquet(path):
            columns = _parquet_columns(path)
        else:
            text = read_text(path)
            columns = sniff_layout(text.text, path).columns
    except Exception:  # not a table: the price loader says why
        return False
    return "unique_id" in {underscored(clean_name(str(c))) for c in columns}  # ("Unique ID" too)


def _parquet_columns(path: Path) -> list[str]:
    """A Parquet file's column names, from its footer alone where pyarrow reads it (not the whole table)."""
    try:
        import pyarrow.parquet as pq
    except ImportError:  # pandas reads Parquet with fastparquet then
        return list(pd.read_parquet(path).columns)
    return list(pq.read_schema(path).names)


def series_of_long_file(path: str | Path, name: str, options: LoadOptions = LoadOptions()) -> PriceSeries:
    """The series ``name`` of a long-format file, read as ``load_panel`` reads it; ``DataError`` naming the
    series there when it is not among them, or why it was refused."""
    panel = load_panel(path, options)
    if name in panel:
        return panel[name]
    if name in panel.refused:
        raise DataError(panel.refused[name])
    shown = ", ".join(map(repr, panel.order[:5])) + (" ..." if len(panel.order) > 5 else "")
    raise DataError(f"{Path(path).name} has no series {name!r} (its unique_id values: {shown}); pass one of them with --series")


def long_frame(panel: dict[str, PriceSeries]) -> pd.DataFrame:
    """The panel as one long-format table ``unique_id, ds, y`` (what ``load_panel`` reads)."""
    parts = [pd.DataFrame({"unique_id": name, "ds": s.frame.index, "y": s.prices.to_numpy()}) for name, s in panel.items()]
    return pd.concat(parts, ignore_index=True)
