"""Awkward price files, each written from known values: what the loader must read, or the refusal it must give.

Every case is a file a person could download or save (mixed number formats in one column, currency
signs, a last row cut short, a separate time column, overlapping downloads, Excel's habits, invisible
characters) written here from a list of values, with what must come out: the values and stamps as
written (``Reads``), or a one-line refusal that names the fix (``Refused``). ``tests/data/
test_awkward_files.py`` runs them through the loader and the command line;
``scripts/bad_inputs_table.py`` tabulates what a user sees.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

N = 60  # rows of a file that the command line can also forecast from with the smallest settings


@dataclass(frozen=True)
class Reads:
    """The file must load to these prices (and stamps, when given), with ``says`` in its data line or notes."""

    prices: list[float]
    stamps: list[str] | None = None  # as "%Y-%m-%d %H:%M"; None: the N days from 2020-01-01
    says: tuple[str, ...] = ()


@dataclass(frozen=True)
class Refused:
    """The file must be refused with one line matching ``match`` (a regular expression)."""

    match: str


@dataclass(frozen=True)
class Case:
    name: str
    filename: str
    content: bytes
    expect: Reads | Refused
    flags: tuple[str, ...] = ()  # command-line flags, also passed to load_prices as options
    cli: bool = False  # also run a whole forecast through the command line (slower; a few cases per class)
    kind: str = field(default="")  # the class of awkwardness, for the table


def days(n: int = N) -> list[str]:
    return [f"{d:%Y-%m-%d}" for d in pd.date_range("2020-01-01", periods=n)]


def walk(n: int = N, level: float = 1000.0, seed: int = 0) -> np.ndarray:
    return level * np.exp(np.cumsum(0.01 * np.random.default_rng(seed).standard_normal(n)))


def csv(header: str, rows: list[str], end: str = "\n", newline: str = "\n") -> bytes:
    return (newline.join([header, *rows]) + end).encode("utf-8")


def priced(texts: list[str], sep: str = ",", header: str = "Date,Close", quote: bool = False) -> bytes:
    """A Date/Close file with the price texts given (quoted when ``quote`` or when they hold the delimiter)."""
    def cell(t):
        return f'"{t}"' if quote or sep in t else t
    return csv(header.replace(",", sep), [f"{d}{sep}{cell(t)}" for d, t in zip(days(len(texts)), texts)])


def two_decimals(values) -> list[str]:
    return [f"{v:.2f}" for v in values]


def as_read(texts: list[str], strip: str = "", thousands: str = "", decimal: str = ".") -> list[float]:
    """What a person reads in each text: Python's float() of it once the unit and separators are taken out."""
    out = []
    for t in texts:
        t = t.replace(strip, "").strip() if strip else t
        t = t.replace(thousands, "") if thousands else t
        out.append(float(t.replace(decimal, ".") if decimal != "." else t))
    return out


def cases() -> list[Case]:
    out: list[Case] = []

    def add(kind, name, filename, content, expect, *flags, cli=False):
        out.append(Case(name, filename, content, expect, tuple(flags), cli, kind))

    base = walk()
    plain = two_decimals(base)

    # -- 1. number formats mixed within one column; tiny and huge magnitudes
    whole = [f"{round(v * 45):d}" for v in base]  # 45279 ...
    grouped_some = [f"{int(t):,}" if k % 2 == 0 else t for k, t in enumerate(whole)]  # "45,653" beside 45279
    add("mixed", "thousands comma in some cells (\"45,653\" beside 45279)", "comma-some.csv", priced(grouped_some),
        Refused(r"mixes two number formats: '\d\d,\d{3}' \(line 2\).*'\d{5}' \(line 3\).*--decimal \."))
    add("mixed", "  ... with --decimal .", "comma-some-dot.csv", priced(grouped_some),
        Reads([float(t) for t in whole], says=("thousands ',' (in some values only)",)), "--decimal", ".", cli=True)
    add("mixed", "  ... with --decimal , (the user says the comma is decimal)", "comma-some-comma.csv", priced(grouped_some),
        Reads(as_read(grouped_some, decimal=",")), "--decimal", ",")
    german_some = [f"{int(t):,}".replace(",", ".") if k % 3 == 0 else t for k, t in enumerate(whole)]  # 45.653 beside 45279
    add("mixed", "German thousands dot in some cells (1.539 beside 1534)", "german-some.csv", priced(german_some, sep=";"),
        Refused(r"mixes two number formats: .*\(line 2\).*\(line 3\).*--decimal ,"))
    add("mixed", "  ... with --decimal ,", "german-some-comma.csv", priced(german_some, sep=";"),
        Reads([float(t) for t in whole], says=("thousands '.' (in some values only)",)), "--decimal", ",")
    late = whole[:44] + [f"{int(whole[44]):,}"] + whole[45:]
    add("mixed", "one grouped value on line 46 of 61", "late.csv", priced(late),
        Refused(r"'\d\d,\d{3}' \(line 46\).*'\d{5}' \(line 2\)"))
    point_some = [f"{v * 45:,.2f}" if k % 2 == 0 else f"{v * 45:.2f}" for k, v in enumerate(base)]  # 45,653.12 beside 45279.50
    add("mixed", "grouped with a decimal point in some cells (45,653.12 beside 45279.50)", "point-some.csv", priced(point_some),
        Reads(as_read(point_some, thousands=","), says=("thousands ',' (in some values only)",)), cli=True)
    comma_some = [t.replace(",", "#").replace(".", ",").replace("#", ".") for t in point_some]  # 45.653,12 beside 45279,50
    add("mixed", "German grouped in some cells (45.653,12 beside 45279,50)", "german-point-some.csv", priced(comma_some, sep=";"),
        Reads(as_read(comma_some, thousands=".", decimal=","), says=("decimal ','", "thousands '.' (in some values only)")))
    space_some = [t.replace(",", " ") for t in grouped_some]  # 45 653 beside 45279: a space is never a decimal mark
    add("mixed", "space as thousands in some cells", "space-some.csv", priced(space_some),
        Reads([float(t) for t in whole], says=("thousands ' ' (in some values only)",)))
    swiss = [f"{v * 45:,.2f}".replace(",", "'") if k % 2 else f"{v * 45:.2f}" for k, v in enumerate(base)]
    add("mixed", "Swiss apostrophes in some cells (45'653.12)", "swiss-some.csv", priced(swiss),
        Reads(as_read(swiss, thousands="'"), says=("thousands \"'\" (in some values only)",)))
    every = [f"1,{k % 900 + 100}" for k in range(N)]
    add("mixed", "every value like 1,234 (decimal or thousands?)", "ambiguous.csv", priced(every),
        Refused(r"reads two ways.*--decimal"))
    tiny = [f"{v * 1e-9:.12f}" for v in base]  # 0.000001234567
    add("mixed", "tiny prices (1e-6) written in full", "tiny.csv", priced(tiny), Reads([float(t) for t in tiny]), cli=True)
    tiny_e = [repr(float(v) * 1e-9) for v in base]
    add("mixed", "tiny prices in exponent form (1.2345e-06)", "tiny-e.csv", priced(tiny_e), Reads([float(t) for t in tiny_e]))
    tiny_comma = [t.replace(".", ",") for t in tiny]
    add("mixed", "tiny prices with a decimal comma (0,000001234)", "tiny-comma.csv", priced(tiny_comma, sep=";"),
        Reads(as_read(tiny_comma, decimal=","), says=("decimal ','",)))
    huge = [f"{v * 1e9:.2f}" for v in base]
    add("mixed", "huge prices (1e12) with decimals", "huge.csv", priced(huge), Reads([float(t) for t in huge]))
    huge_grouped = [f"{v * 1e9:,.2f}" for v in base]
    add("mixed", "huge prices grouped (1,000,000,000,000.25)", "huge-grouped.csv", priced(huge_grouped, quote=True),
        Reads(as_read(huge_grouped, thousands=","), says=("thousands ','",)))

    climb = 990.0 + np.arange(N) * 0.61  # passes 1000 at row 17
    crossing = [f"{v:.2f}" if v < 1000 else f"{v:,.2f}" for v in climb]  # 999.76, then 1,000.37 unquoted
    first_long = next(k for k, t in enumerate(crossing) if "," in t)
    add("mixed", "unquoted thousands commas once the price passes 1000, in a comma-separated file", "unquoted-some.csv",
        csv("Date,Close", [f"{d},{t}" for d, t in zip(days(), crossing)]),
        Refused(rf"some rows have more fields than the header \(the first at line {first_long + 2}: 3 fields, where 2 were "
                r"expected\).*quote a value with a decimal comma or a thousands comma"))
    # -- 2. currency signs and units
    dollars = [f"${v:,.2f}" for v in base]
    add("currency", "dollar sign and grouping in every price (\"$1,238.83\")", "dollar.csv", priced(dollars, quote=True),
        Reads(as_read(dollars, strip="$", thousands=","), says=("unit '$' removed",)), cli=True)
    usd = [f"{t} USD" for t in plain]
    add("currency", "a code after every price (1234.56 USD)", "usd.csv", priced(usd), Reads(as_read(usd, strip="USD"), says=("unit 'USD'",)))
    euro = [f"{v:,.2f} €".replace(",", "#").replace(".", ",").replace("#", ".") for v in base]
    add("currency", "euro sign after German numbers (1.234,56 €)", "euro.csv", priced(euro, sep=";"),
        Reads(as_read(euro, strip="€", thousands=".", decimal=","), says=("unit '€'", "decimal ','")))
    btc = [f"{v * 1e-9:.10f} BTC" for v in base]
    add("currency", "tiny prices in BTC (0.0000012346 BTC)", "btc.csv", priced(btc), Reads(as_read(btc, strip="BTC"), says=("unit 'BTC'",)))
    us = [f"US${v:,.2f}" for v in base]
    add("currency", "US$ before every price", "usdollar.csv", priced(us, quote=True), Reads(as_read(us, strip="US$", thousands=",")))
    chf = [f"CHF {v:,.2f}".replace(",", "'") for v in base]
    add("currency", "CHF 1'234.50", "chf.csv", priced(chf), Reads(as_read(chf, strip="CHF", thousands="'"), says=("unit 'CHF'",)))
    two = [f"${t}" if k % 2 else f"€{t}" for k, t in enumerate(plain)]
    add("currency", "dollars and euros in one column", "two-units.csv", priced(two),
        Refused(r"mixes units: '€[\d.]+' \(line 2\) and '\$[\d.]+' \(line 3\)\. Export the prices in one currency"))
    some = [f"${t}" if k % 2 == 0 else t for k, t in enumerate(plain)]
    add("currency", "a dollar sign in some prices only", "some-units.csv", priced(some), Refused(r"mixes units: .*\(line 2\).*\(line 3\)"))

    # -- 3. a last row that is not a finished close
    cut = csv("Date,Close", [f"{d},{t}" for d, t in zip(days(), plain[:-1])] + [f"{days()[-1]},{plain[-1][:2]}"], end="")
    add("last row", "CSV cut inside its last value (no final newline)", "cut.csv", cut,
        Reads([float(t) for t in plain[:-1]], days()[:-1], says=("ends inside its last row", "dropped")), cli=True)
    whole_last = csv("Date,Close", [f"{d},{t}" for d, t in zip(days(), plain)], end="")
    add("last row", "complete last row without a final newline", "no-newline.csv", whole_last, Reads([float(t) for t in plain]))
    after_comma = csv("Date,Close", [f"{d},{t}" for d, t in zip(days(), plain[:-1])] + [f"{days()[-1]},"], end="")
    add("last row", "CSV cut right after the last comma", "cut-comma.csv", after_comma, Reads([float(t) for t in plain[:-1]], days()[:-1]))
    in_date = csv("Date,Close", [f"{d},{t}" for d, t in zip(days(), plain[:-1])] + [days()[-1][:7]], end="")
    add("last row", "CSV cut inside the last date", "cut-date.csv", in_date, Reads([float(t) for t in plain[:-1]], days()[:-1]))
    yahoo = [f"{d},{t},{t},{t},{t},{t},{1000000 + k}" for k, (d, t) in enumerate(zip(days(), plain))]
    yahoo[-1] = yahoo[-1][:-4]
    add("last row", "Yahoo file cut inside the last Volume", "yahoo-cut.csv",
        csv("Date,Open,High,Low,Close,Adj Close,Volume", yahoo, end=""), Reads([float(t) for t in plain[:-1]], days()[:-1]))
    stamps = [int(pd.Timestamp(d).value // 10**6) for d in days()]
    live = {"prices": [[s, float(t)] for s, t in zip(stamps, plain)] + [[stamps[-1] + 86400000 + 52_025_123, 999.0]]}
    add("last row", "CoinGecko JSON saved by hand, last point the live price", "coingecko.json", json.dumps(live).encode(),
        Reads([float(t) for t in plain], days(), says=("running price", "dropped")))
    ranged = {"prices": [[s, float(t)] for s, t in zip(stamps, plain)]}
    add("last row", "CoinGecko JSON of closed days only (/range)", "coingecko-range.json", json.dumps(ranged).encode(),
        Reads([float(t) for t in plain], days()))
    start = 1577836800  # 2020-01-01 00:00 UTC
    minutes = [f"{start + 60 * k},{t},{t},{t},{t},1" for k, t in enumerate(two_decimals(walk(3 * 1440, seed=3)))]
    minute_closes = [float(minutes[k].split(",")[4]) for k in (1439, 2879)]
    minutes[-1439:] = []  # the third day is one minute long
    add("last row", "minute bars whose last day is one minute long", "minutes.csv",
        csv("Timestamp,Open,High,Low,Close,Volume", minutes), Reads(minute_closes, ["2020-01-01", "2020-01-02"], says=("has no close yet",)))

    # -- 4. a separate time column
    bars = pd.date_range("2020-01-02 09:30", periods=N, freq="min")
    am = [f"{b:%Y-%m-%d},{b.hour % 12 or 12}:{b:%M %p},{t}" for b, t in zip(bars, plain)]
    add("time column", "Date,Time,Close with 9:30 AM", "time-am.csv", csv("Date,Time,Close", am),
        Reads([float(t) for t in plain], [f"{b:%Y-%m-%d %H:%M}" for b in bars]), cli=True)
    ms = [f"{b:%Y-%m-%d},{b:%H:%M:%S}.000,{t}" for b, t in zip(bars, plain)]
    add("time column", "Date,Time,Close with 09:30:00.000", "time-ms.csv", csv("Date,Time,Close", ms),
        Reads([float(t) for t in plain], [f"{b:%Y-%m-%d %H:%M}" for b in bars]))
    afternoon = pd.date_range("2020-01-13 11:50", periods=N, freq="min")
    pm = [f"{b:%m/%d/%Y};{b.hour % 12 or 12}:{b:%M} {b:%p};{t.replace('.', ',')}" for b, t in zip(afternoon, plain)]
    add("time column", "month-first dates, 12-hour times across noon, semicolons", "time-pm.csv", csv("Date;Time;Close", pm),
        Reads(as_read([t.replace(".", ",") for t in plain], decimal=","), [f"{b:%Y-%m-%d %H:%M}" for b in afternoon]))
    words = [f"{d},{'morning' if k == 3 else '09:30'},{t}" for k, (d, t) in enumerate(zip(days(), plain))]
    add("time column", "a time column holding a word", "time-word.csv", csv("Date,Time,Close", words),
        Refused(r"column 'time' beside 'date' holds 'morning' \(line 5\), not a time of day.*delete the Time column"))
    blank = [f"{d},{'' if k == 7 else '16:00'},{t}" for k, (d, t) in enumerate(zip(days(), plain))]
    add("time column", "a time column with an empty cell", "time-blank.csv", csv("Date,Time,Close", blank),
        Refused(r"column 'time' beside 'date' holds an empty value \(line 9\)"))
    hourly = pd.date_range("2020-01-01", periods=N, freq="h")
    stamps = [f"{b:%Y-%m-%d %H:%M}" for b in hourly]
    hours = [f"{b:%Y-%m-%d},{b:%H}:00,{t}" for b, t in zip(hourly, plain)]
    add("time column", "the time of day under another name (Date,Hour,Close)", "time-hour.csv", csv("Date,Hour,Close", hours),
        Reads([float(t) for t in plain], stamps, says=("column 'hour' holds times of day: joined to column 'date'",)), cli=True)
    whole_hours = [f"{b:%Y-%m-%d},{b.hour},{t}" for b, t in zip(hourly, plain)]
    add("time column", "whole hours 0 to 23 in a column named H (Date,H,Close)", "time-h.csv", csv("Date,H,Close", whole_hours),
        Reads([float(t) for t in plain], stamps, says=("column 'h' holds whole hours (0 to 23), read as HH:00",)))
    add("time column", "whole hours 0 to 23 in the Time column", "time-whole.csv", csv("Date,Time,Close", whole_hours),
        Reads([float(t) for t in plain], stamps, says=("column 'time' holds whole hours (0 to 23), read as HH:00",)))
    german_hours = [f"{b:%d.%m.%Y};{b.hour};{t.replace('.', ',')}" for b, t in zip(hourly, plain)]
    add("time column", "a German export's Datum;Stunde;Schluss", "time-stunde.csv", csv("Datum;Stunde;Schluss", german_hours),
        Reads(as_read([t.replace(".", ",") for t in plain], decimal=","), stamps,
              says=("column 'stunde' holds whole hours (0 to 23)",)), "--price-column", "Schluss",
        "--date-format", "%d.%m.%Y %H:%M")
    half = [f"{b:%Y-%m-%d},{b.hour + (0.5 if k == 9 else 0)},{t}" for k, (b, t) in enumerate(zip(hourly, plain))]
    add("time column", "an hour column with a half hour in it (9.5)", "time-half.csv", csv("Date,Hour,Close", half),
        Refused(r"duplicated time stamp\(s\) hold different prices.*column 'hour' \('0', '1', '2', \.\.\.\) seems to hold the time "
                r"of each row.*Write that column as HH:MM or as whole hours 0 to 23"))
    highs = [f"{d},{float(t) * 1.01:.2f},{t}" for d, t in zip(days(), plain)]
    add("time column", "an H column of daily highs (Date,H,Close): no hour, left alone", "high-h.csv", csv("Date,H,Close", highs),
        Reads([float(t) for t in plain]))
    whole_highs = [f"{d},{t},{8 + k % 10},{t}" for k, (d, t) in enumerate(zip(days(), plain))]
    add("time column", "an H of whole-number highs (8 to 17) and one row twice: no hour, left alone", "high-h-twice.csv",
        csv("Date,Open,H,Close", whole_highs[:30] + whole_highs[29:]),
        Reads([float(t) for t in plain], [f"{d} 00:00" for d in days()], says=("1 duplicated time stamp(s) dropped",)))
    ending = [f"{b:%Y-%m-%d},{b.hour + 1},{t}" for b, t in zip(hourly, plain)]
    add("time column", "hour-ending 1 to 24 in an Hour column", "time-ending.csv", csv("Date,Hour,Close", ending),
        Refused(r"column 'hour' \('1', '2', '3', \.\.\.\) seems to hold the time of each row.*an hour-ending 24 is the next day's 00:00"))
    add("time column", "  ... in a column named HourEnding", "time-hourending.csv", csv("Date,HourEnding,Close", ending),
        Refused(r"column 'hourending' \('1', '2', '3', \.\.\.\) seems to hold the time of each row"))
    add("time column", "  ... in the Time column", "time-ending-time.csv", csv("Date,Time,Close", ending),
        Refused(r"column 'time' beside 'date' holds '24' \(line 25\) among whole numbers from 1 to 24: not hours 0 to 23"))
    hhmm = [f"{b:%Y-%m-%d},{b:%H%M},{t}" for b, t in zip(pd.date_range("2020-01-02 09:30", periods=N, freq="30min"), plain)]
    add("time column", "times as HHMM with a leading zero (0930): quoted as written", "time-hhmm.csv", csv("Date,Time,Close", hhmm),
        Refused(r"column 'time' beside 'date' holds '0930' \(line 2\) among whole numbers from 0 to 2330: not hours 0 to 23"))
    nordpool = [f"{b:%Y-%m-%d},{b:%H} - {b.hour + 1:02d},{t}" for b, t in zip(hourly, plain)]
    add("time column", "Nord Pool's hours (00 - 01)", "time-nordpool.csv", csv("Date,Hours,Close", nordpool),
        Refused(r"column 'hours' \('00 - 01', '01 - 02', '02 - 03', \.\.\.\) seems to hold the time of each row"))
    quarters = pd.date_range("2020-01-01", periods=N, freq="15min")
    minutes = [f"{b:%Y-%m-%d},{b.hour},{b.minute},{t}" for b, t in zip(quarters, plain)]
    add("time column", "15-minute rows with Hour and Minute columns", "time-hour-minute.csv", csv("Date,Hour,Minute,Close", minutes),
        Refused(r"column 'hour' \('0', '1', '2', \.\.\.\) seems to hold the time of each row"))
    midnight = [f"{b:%Y-%m-%d} 00:00:00,{b.hour},{t}" for b, t in zip(hourly, plain)]
    add("time column", "Excel's midnight on every date beside an Hour column", "time-midnight-hour.csv", csv("Date,Hour,Close", midnight),
        Reads([float(t) for t in plain], stamps, says=("column 'date' carries a time of 00:00 on every row, beside column 'hour'",)))
    midnight_time = [f"{b:%Y-%m-%d} 00:00:00,{b:%H:%M:%S},{t}" for b, t in zip(hourly, plain)]
    add("time column", "  ... beside a Time column", "time-midnight-time.csv", csv("Date,Time,Close", midnight_time),
        Reads([float(t) for t in plain], stamps, says=("the dates' midnight left out, the time taken from 'time'",)))
    session = pd.date_range("2020-01-02 09:30", periods=14, freq="30min")  # 9:30 to 16:00, as a 12-hour clock writes it
    clock = [f"{b:%Y-%m-%d},{(b.hour - 1) % 12 + 1}:{b:%M},{t}" for b, t in zip(session, plain)]
    add("time column", "12-hour times without AM or PM (12:30, then 1:00)", "time-twelve.csv", csv("Date,Time,Close", clock),
        Refused(r"within 2020-01-02 the time goes from 12:30 to 01:00 \(line 8 and line 9\), as times on a 12-hour clock "
                r"without AM or PM do.*on a 24-hour clock \(13:00\)"))
    add("time column", "  ... newest first", "time-twelve-newest.csv", csv("Date,Time,Close", clock[::-1]),
        Refused(r"within 2020-01-02 the time goes from 01:00 to 12:30 \(line 8 and line 9\)"))
    day_24h = [f"{b:%Y-%m-%d},{b:%H:%M},{t}" for b, t in zip(session, plain)]
    add("time column", "  ... on a 24-hour clock, one day newest first (12:00, then 11:30): read", "time-24h-newest.csv",
        csv("Date,Time,Close", day_24h[::-1]), Reads([float(t) for t in plain[:14]], [f"{b:%Y-%m-%d %H:%M}" for b in session],
                                                      says=("rows were newest first; reversed",)))
    add("time column", "a --date-format that names %d twice", "format-twice.csv", csv("Date,Close", [f"{d},{t}" for d, t in zip(days(), plain)]),
        Refused(r"date_format '%Y-%m-%d%d' names a field more than once \(%d twice\)\. Give each field once"), "--date-format",
        "%Y-%m-%d%d")
    add("time column", "a file of dates alone", "dates-alone.csv", csv("Date", days()),
        Refused(r"no price column \(looked for Close, Adj Close, Price, Last; the only column is the dates' \('date'\)\)\. Export the prices"))
    daily_time = [f"{d},16:00,{t}" for d, t in zip(days(), plain)]
    add("time column", "a time column that is the same every day (16:00)", "time-close.csv", csv("Date,Time,Close", daily_time),
        Reads([float(t) for t in plain], [f"{d} 16:00" for d in days()]))

    # -- 5. duplicated dates from overlapping downloads
    rows = [f"{d},{t}" for d, t in zip(days(), plain)]
    add("duplicates", "two overlapping downloads that agree", "overlap-same.csv", csv("Date,Close", rows[:40] + rows[30:]),
        Reads([float(t) for t in plain], says=("10 duplicated time stamp(s) dropped", "their prices agree")))
    finer = [f"{d},{v:.4f}" for d, v in zip(days(), base)]
    coarse_first = [float(t) for t in plain[:40]] + [float(f"{v:.4f}") for v in base[40:]]
    add("duplicates", "overlapping downloads, one rounded to cents", "overlap-rounding.csv", csv("Date,Close", rows[:40] + finer[30:]),
        Reads(coarse_first, says=("agree within rounding",)))
    shifted = [f"{d},{v * 1.02:.2f}" for d, v in zip(days(), base)]
    add("duplicates", "overlapping downloads 2% apart (adjusted later)", "overlap-differ.csv", csv("Date,Close", rows[:40] + shifted[30:]),
        Refused(r"10 duplicated time stamp\(s\) hold different prices, by up to 0\.0\d+ of the price.*Keep the rows of one download"))
    cent = [f"{d},{float(t) + 0.03:.2f}" for d, t in zip(days(), plain)]
    add("duplicates", "one overlapping day 3 cents apart", "overlap-cents.csv", csv("Date,Close", rows + cent[20:21]),
        Refused(r"1 duplicated time stamp\(s\) hold different prices.*2020-01-21"))

    typo = [("2021" + r[4:]) if k == 0 else r for k, r in enumerate(rows)]  # the first row's year one too many
    add("duplicates", "a year typo in the first row, which sorting would make the latest price", "year-typo.csv",
        csv("Date,Close", typo), Refused(r"row 1 of the data, dated 2021-01-01, is out of the file's time order, and sorted it "
                                         r"would be the latest price, \d+ days from the others \(a typo in its date\?\)"))
    swapped = rows[:5] + [rows[6], rows[5]] + rows[7:]  # two neighbours swapped: sorted, with a note
    add("duplicates", "two neighbouring rows swapped", "swapped.csv", csv("Date,Close", swapped),
        Reads([float(t) for t in plain], says=("rows were not in time order; sorted",)))

    # found by a review: two header shapes that were refused with the wrong fix ("rename one of them", "no date column")
    two = [f"{d},{t},{t},{t},{t}" for d, t in zip(days(), plain)]
    add("header", "a yfinance download of two tickers", "yf-two.csv",
        csv("Price,Adj Close,Adj Close,Close,Close\nTicker,AAPL,MSFT,AAPL,MSFT\nDate,,,,", two),
        Refused(r"a yfinance download of 2 tickers \(AAPL, MSFT\): its columns repeat once per ticker\. Save one ticker's prices"))
    add("header", "the same, grouped by ticker", "yf-two-grouped.csv",
        csv("Ticker,AAPL,AAPL,MSFT,MSFT\nPrice,Adj Close,Close,Adj Close,Close\nDate,,,,", two),
        Refused(r"a yfinance download of 2 tickers \(AAPL, MSFT\)"))
    one = [f"{d},{t},{float(t) + 1:.2f}" for d, t in zip(days(), plain)]
    add("header", "a yfinance download of one ticker, grouped by ticker", "yf-one-grouped.csv",
        csv("Ticker,AAPL,AAPL\nPrice,Close,High\nDate,,", one), Reads([float(t) for t in plain]))
    ms = [f"{int(pd.Timestamp(d).timestamp() * 1000)},{t},{t},{t},{t},100" for d, t in zip(days(), plain)]
    add("header", "no header line (Binance klines)", "klines.csv", csv(ms[0], ms[1:]),
        Refused(r"its first line \(\d{13}, [\d.]+, [\d.]+, \.\.\.\) holds numbers, not column names: the file has no header line"))

    # -- 6. what Excel writes
    add("excel", "two empty trailing columns (Date,Close,,)", "excel-2.csv", csv("Date,Close,,", [r + ",," for r in rows]),
        Reads([float(t) for t in plain]), cli=True)
    add("excel", "three empty trailing columns, CRLF", "excel-3.csv", csv("Date,Close,,,", [r + ",,," for r in rows], newline="\r\n"),
        Reads([float(t) for t in plain]))
    add("excel", "empty trailing columns, semicolons, decimal comma", "excel-eu.csv",
        csv("Date;Close;;", [f"{d};{t.replace('.', ',')};;" for d, t in zip(days(), plain)]), Reads([float(t) for t in plain]))
    # found by a review: the header's trailing delimiter gave the decimals a column, and every price lost its decimals
    add("excel", "a header ending in a delimiter over unquoted decimal commas", "excel-split-decimals.csv",
        csv("Date,Close,", [f"{d},{t.replace('.', ',')}" for d, t in zip(days(), plain)]),
        Refused(r"column 3 has no name in the header but holds whole numbers .* right after 'close'; .*decimal comma.*Quote such numbers"))
    add("excel", "a nameless column that holds notes", "excel-notes.csv", csv("Date,Close,", [r + (",checked" if k == 2 else ",") for k, r in enumerate(rows)]),
        Reads([float(t) for t in plain]))

    # -- 7. what is above the header, invisible characters, an empty Adj Close
    add("header", "two comment lines with commas above the header", "comments.csv",
        b"# exported from somewhere, daily\n# columns: date, close\n" + csv("Date,Close", rows), Reads([float(t) for t in plain]))
    add("header", "six comment lines and a blank line", "many-comments.csv",
        b"".join(f"# line {k}, of notes\n".encode() for k in range(6)) + b"\n" + csv("Date,Close", rows), Reads([float(t) for t in plain]))
    eu_rows = [f"{d};{t.replace('.', ',')}" for d, t in zip(days(), plain)]
    add("header", "Excel's sep=; line", "sep.csv", b"sep=;\n" + csv("Date;Close", eu_rows),
        Reads([float(t) for t in plain], says=("delimiter ';'", "decimal ','")), cli=True)
    add("header", "Excel's quoted \"sep=,\" line", "sep-quoted.csv", b'"sep=,"\n' + csv("Date,Close", rows), Reads([float(t) for t in plain]))
    add("header", "a byte-order mark twice", "bom2.csv", b"\xef\xbb\xbf" + "\ufeff".encode() + csv("Date,Close", rows),
        Reads([float(t) for t in plain]))
    add("header", "two byte-order marks, then Excel's sep=; line", "bom-sep.csv", "\ufeff\ufeffsep=;\n".encode() + csv("Date;Close", eu_rows),
        Reads([float(t) for t in plain], says=("delimiter ';'", "decimal ','")))
    add("header", "two byte-order marks, then a comment line", "bom-comment.csv", "\ufeff\ufeff# from a, b\n".encode() + csv("Date,Close", rows),
        Reads([float(t) for t in plain]))
    add("header", "a zero-width space in the header (Close\\u200b)", "zwsp.csv", csv("Date,Close\u200b", rows), Reads([float(t) for t in plain]))
    adj = [f"{d},{t},{float(t) * 0.9:.4f}" for d, t in zip(days(), plain)]
    add("header", "a no-break space in Adj\\u00a0Close", "nbsp.csv", csv("Date,Close,Adj\u00a0Close", adj),
        Reads([float(r.split(",")[2]) for r in adj], says=("price column 'adj close'",)))
    add("header", "an invisible character in an unknown date column", "zw-day.csv", csv("Day\u200b,Close", rows),
        Refused(r"no date column .*found 'day', 'close'\)\. Rename the date column to Date"))
    nulls = [f"{d},{t},{t},{t},{t},null,{k}" for k, (d, t) in enumerate(zip(days(), plain))]
    add("header", "an Adj Close column that is null in every row", "adj-null.csv", csv("Date,Open,High,Low,Close,Adj Close,Volume", nulls),
        Reads([float(t) for t in plain], says=("'adj close' is empty in every row", "price column 'close'")), cli=True)
    null_row = [f"{d},{t},{t},{t},{t},{t},{k}" if k != 5 else f"{d},null,null,null,null,null,null"
                for k, (d, t) in enumerate(zip(days(), plain))]
    add("header", "a Yahoo row of nulls: Close is empty there too, so it is not offered", "null-row.csv",
        csv("Date,Open,High,Low,Close,Adj Close,Volume", null_row),
        Refused(r"1 row\(s\) have no adj close price\. Pass missing='drop' .* to carry the last price forward$"))
    partly = [f"{d},{t},{'' if k == 5 else t}" for k, (d, t) in enumerate(zip(days(), plain))]
    add("header", "an Adj Close column with one empty cell", "adj-some.csv", csv("Date,Close,Adj Close", partly),
        Refused(r"1 row\(s\) have no adj close price.*--price-column close"))
    return out
