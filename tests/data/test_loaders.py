"""Every loader on files the tests write, including the awkward variants."""

import io
import json

import numpy as np
import pandas as pd
import pytest

from scratchlstm.data import DataWarning, as_price_series, load_embedded, load_prices
from scratchlstm.data.coingecko import daily_closes, fetch_to_csv
from scratchlstm.errors import DataError
from tests.helpers import RecordedResponse

YAHOO = """Date,Open,High,Low,Close,Adj Close,Volume
2020-01-02,10,11,9,10.5,5.25,100
2020-01-03,10.5,12,10,11.5,5.75,200
2020-01-06,11.5,12,11,12.0,6.0,300
"""

YFINANCE = """Price,Close,High,Low,Open,Volume
Ticker,BTC-USD,BTC-USD,BTC-USD,BTC-USD,BTC-USD
Date,,,,,
2024-01-01,44167.33,44175.43,42214.97,42280.23,18426978443
2024-01-02,44957.97,45899.71,44176.95,44187.14,39335274536
2024-01-03,42848.17,45503.24,40813.53,44961.60,46342323118
"""


def _cdd(unit_ms: bool) -> str:
    scale = 1000 if unit_ms else 1
    rows = [(1704240000 - 86400 * k, 42848.17 + k, 1.5 + k) for k in range(3)]  # newest first
    body = "\n".join(f"{u * scale},{pd.Timestamp(u, unit='s'):%Y-%m-%d},BTC/USD,1,2,0.5,{c},{v},{v * c}" for u, c, v in rows)
    return "https://www.CryptoDataDownload.com\nunix,date,symbol,open,high,low,close,Volume BTC,Volume USD\n" + body + "\n"


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_yahoo_uses_adjusted_close(tmp_path):
    s = load_prices(write(tmp_path, "a.csv", YAHOO))
    assert s.format == "yahoo" and s.price_column == "adj close"
    assert list(s.prices) == [5.25, 5.75, 6.0]
    assert load_prices(write(tmp_path, "b.csv", YAHOO), price_column="Close").prices.iloc[-1] == 12.0


def test_yfinance_three_header_lines(tmp_path):
    s = load_prices(write(tmp_path, "y.csv", YFINANCE))
    assert s.format == "yfinance" and s.price_column == "close"
    assert s.prices.iloc[0] == pytest.approx(44167.33)
    assert str(s.frame.index[0].date()) == "2024-01-01" and len(s.frame) == 3


@pytest.mark.parametrize("unit_ms", [False, True])
def test_cryptodatadownload_banner_newest_first_and_unix_units(tmp_path, unit_ms):
    s = load_prices(write(tmp_path, "c.csv", _cdd(unit_ms)))
    assert s.format == "cryptodatadownload"
    assert s.frame.index.is_monotonic_increasing
    assert [d.strftime("%Y-%m-%d") for d in s.frame.index] == ["2024-01-01", "2024-01-02", "2024-01-03"]
    assert list(s.prices) == [42850.17, 42849.17, 42848.17]
    assert "volume btc" in s.frame.columns and not any("not in time order" in n for n in s.notes)


def test_kaggle_minute_bars_resampled_to_daily(tmp_path):
    start = 1325376000  # 2012-01-01 00:00 UTC
    lines = ["Timestamp,Open,High,Low,Close,Volume_(BTC),Volume_(Currency),Weighted_Price"]
    rng = np.random.default_rng(0)
    expected = {}
    for day in range(3):
        closes = []
        for minute in range(0, 1440, 60):  # hourly trades, NaN minutes between
            ts = start + day * 86400 + minute * 60
            price = 4 + day + rng.random()
            lines.append(f"{ts},{price},{price + 0.1},{price - 0.1},{price},1.0,{price},{price}")
            lines.append(f"{ts + 60},NaN,NaN,NaN,NaN,NaN,NaN,NaN")
            closes.append(price)
        expected[day] = (closes[0], max(closes) + 0.1, min(closes) - 0.1, closes[-1])
    # the file goes on to the last day's last minute (without trades), so that day is complete
    lines += [f"{start + 3 * 86400 - 60 * k},NaN,NaN,NaN,NaN,NaN,NaN,NaN" for k in range(58, 0, -1)]
    s = load_prices(write(tmp_path, "k.csv", "\n".join(lines) + "\n"))
    assert s.format == "kaggle-minute" and len(s.frame) == 3
    for day, (o, h, lo, c) in expected.items():
        row = s.frame.iloc[day]
        assert (row["open"], row["high"], row["low"], row["close"]) == pytest.approx((o, h, lo, c))
    assert s.frame["volume_(btc)"].iloc[0] == pytest.approx(24.0)


def test_minute_bars_whose_last_day_stops_early_lose_that_day_with_a_note(tmp_path):
    start = 1325376000  # 2012-01-01 00:00 UTC
    lines = ["Timestamp,Open,High,Low,Close,Volume_(BTC)"]
    lines += [f"{start + 60 * k},{1 + k},{1 + k},{1 + k},{1 + k},1" for k in range(2 * 1440)]  # two whole days
    lines.append(f"{start + 2 * 86400},7,7,7,7,1")  # one minute of the third day: its close is not a close
    s = load_prices(write(tmp_path, "k.csv", "\n".join(lines) + "\n"))
    assert list(s.frame.index.strftime("%Y-%m-%d")) == ["2012-01-01", "2012-01-02"]
    assert list(s.prices) == [1440.0, 2880.0]  # each day's last minute, as written
    assert any("2012-01-03 has no close yet; dropped" in n for n in s.notes)


def _market_chart(days=4):
    t0 = 1704067200000  # 2024-01-01 UTC in ms
    prices = [[t0 + k * 86400000, 100.0 + k] for k in range(days)] + [[t0 + (days - 1) * 86400000 + 3600000 * 5, 200.0]]
    return {"prices": prices, "market_caps": [[t, p * 10] for t, p in prices], "total_volumes": [[t, p * 2] for t, p in prices]}


def test_coingecko_json_file(tmp_path):
    s = load_prices(write(tmp_path, "cg.json", json.dumps(_market_chart())))
    assert s.format == "coingecko" and "market_cap" in s.frame.columns and s.frame["volume"].iloc[0] == 200.0


def test_fetch_drops_unfinished_day_and_writes_csv(tmp_path):
    doc = _market_chart()

    seen = {}

    def opener(request, timeout):
        seen["url"] = request.full_url
        return RecordedResponse(json.dumps(doc).encode())

    out = tmp_path / "bitcoin.csv"
    frame = fetch_to_csv("bitcoin", 4, out, opener=opener)
    assert "coins/bitcoin/market_chart" in seen["url"] and "days=4" in seen["url"]
    assert len(frame) == 4 and frame["close"].iloc[-1] == 103.0  # the running price, 200.0, is gone; its day's 00:00 kept
    reloaded = load_prices(out)
    assert list(reloaded.prices) == [100.0, 101.0, 102.0, 103.0]
    assert len(daily_closes(doc)) == 4


def test_fetch_offline_says_so(tmp_path):
    import urllib.error

    def offline(request, timeout):
        raise urllib.error.URLError("Name or service not known")

    with pytest.raises(DataError, match="offline"):
        fetch_to_csv("bitcoin", 30, tmp_path / "x.csv", opener=offline)
    assert not (tmp_path / "x.csv").exists()


def test_duplicates_dropped_with_warning_unsorted_sorted_gaps_reported(tmp_path):
    text = "Date,Close\n2020-01-05,5\n2020-01-01,1\n2020-01-02,2\n2020-01-02,2.0\n2020-01-03,3\n2020-03-01,4\n"
    with pytest.warns(DataWarning, match="1 duplicated time stamp.*their prices agree"):
        s = load_prices(write(tmp_path, "d.csv", text))
    assert list(s.prices) == [1, 2, 3, 5, 4]
    assert any("not in time order" in n for n in s.notes)
    assert any("gap" in n for n in s.notes)


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "the file is empty"),
        ("Date,Close\n", "header but no rows"),
        ("When,Close\n1,2\n", "no date column"),
        ("Date,Volume\n2020-01-01,5\n", "no price column"),
        ("Date,Close\n2020-01-01,abc\n2020-01-02,3\n", "not numbers"),
        ("Date,Close\n2020-01-01,-3\n2020-01-02,3\n", "zero or negative"),
        ("Date,Close\n2020-01-01,3\nyesterday,4\n", "not dates"),
        ('{"foo": 1}', "only CoinGecko"),
    ],
)
def test_bad_files_name_the_problem(tmp_path, text, message):
    path = write(tmp_path, "bad.csv", text)
    with pytest.raises(DataError, match=message) as info:
        load_prices(path)
    assert str(path) in str(info.value)


def test_missing_prices_need_an_explicit_policy(tmp_path):
    path = write(tmp_path, "m.csv", "Date,Close\n2020-01-01,1\n2020-01-02,\n2020-01-03,3\n")
    with pytest.raises(DataError, match="1 row\\(s\\) have no close price.*--missing drop"):
        load_prices(path)
    assert list(load_prices(path, missing="drop").prices) == [1, 3]
    assert list(load_prices(path, missing="ffill").prices) == [1, 1, 3]


def test_binary_file_is_refused(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(DataError, match="binary"):
        load_prices(path)


def test_embedded_dataset_is_real_and_complete():
    s = load_embedded()
    summary = s.summary()
    assert summary["rows"] == 3270 and summary["first_date"] == "2000-03-01" and summary["last_date"] == "2013-03-01"
    assert s.price_column == "adj close" and (s.prices > 0).all()


def test_rows_longer_than_their_header_are_named_as_such(tmp_path):
    """The header is not mistaken for a banner line just because the rows below it split evenly."""
    path = write(tmp_path, "ragged.csv", "Date,Close\n2020-01-01,1,2\n2020-01-02,3,4\n")
    with pytest.raises(DataError, match="some rows have more fields than the header"):
        load_prices(path)


def test_a_plain_date_close_file_is_not_called_yahoo(tmp_path):
    s = load_prices(write(tmp_path, "plain.csv", "Date,Close\n2024-01-01,10\n2024-01-02,11\n2024-01-03,12\n"))
    assert s.format == "date-price" and s.price_column == "close" and s.describe().startswith("plain.csv: date-price CSV")


def test_minute_bars_are_resampled_by_their_price_column(tmp_path):
    start = 1325376000  # 2012-01-01 00:00 UTC
    rows = "".join(f"{start + 60 * k},{100 + k}\n" for k in range(3 * 1440))  # three days of minutes, a price but no close
    s = load_prices(write(tmp_path, "m.csv", "timestamp,price\n" + rows))
    assert s.format == "kaggle-minute" and list(s.prices) == [100 + 1439, 100 + 2879, 100 + 4319]


def test_a_large_file_is_read_with_only_the_columns_the_series_needs(tmp_path):
    # the rule on a small limit: the same file read whole and read as a large one give the same prices
    rows = [f"2020-01-{d:02d},{d}.5,{d + 1}.5,{d - 1}.5,{d}.25,{d}.125,{1000 * d}" for d in range(1, 29)]
    path = write(tmp_path, "y.csv", "Date,Open,High,Low,Close,Adj Close,Volume\n" + "\n".join(rows) + "\n")
    whole, large = load_prices(path), load_prices(path, large_file_chars=100)
    assert list(large.prices) == list(whole.prices) == [d + 0.125 for d in range(1, 29)]
    assert list(large.frame.columns) == ["close", "adj close"] and "volume" in whole.frame.columns
    assert any("a large file" in n and "'date', 'close', 'adj close'" in n for n in large.notes)
    assert not any("a large file" in n for n in whole.notes)


def test_the_repeated_hour_of_a_clock_change_is_kept_once_with_a_note_not_refused(tmp_path):
    # 02:00+02:00 and 02:00+01:00 are two real bars an hour apart; with offsets dropped they share a stamp
    stamps = ["2019-10-27T00:00:00+02:00", "2019-10-27T01:00:00+02:00", "2019-10-27T02:00:00+02:00",
              "2019-10-27T02:00:00+01:00", "2019-10-27T03:00:00+01:00", "2019-10-27T04:00:00+01:00"]
    prices = [10.0, 11.0, 12.0, 13.0, 14.0, 15.0]
    text = "Date,Close\n" + "".join(f"{d},{p}\n" for d, p in zip(stamps, prices))
    with pytest.warns(DataWarning, match="hold different prices.*kept the first of each"):
        s = load_prices(write(tmp_path, "dst.csv", text))
    assert list(s.prices) == [10.0, 11.0, 12.0, 14.0, 15.0]


def test_a_dataframe_with_date_and_time_columns_gets_both(tmp_path):
    frame = pd.DataFrame({"Date": ["2020-01-02"] * 3, "Time": ["9:30 AM", "9:31 AM", "9:32 AM"], "Close": [1.0, 2.0, 3.0]})
    s = as_price_series(frame)
    assert list(s.frame.index.strftime("%H:%M")) == ["09:30", "09:31", "09:32"] and list(s.prices) == [1.0, 2.0, 3.0]


def test_a_folder_is_refused_as_a_folder_not_as_a_missing_file(tmp_path):
    """A folder passed as the price file was called "no such file", though it exists."""
    with pytest.raises(DataError, match="this is a folder, not a price file.*scratchlstm panel"):
        load_prices(tmp_path)


def test_a_bad_tick_is_named_in_a_note_and_its_rows_are_kept(tmp_path):
    """A price of 1e-6 among prices near 20,000 went through unremarked, and made the MAPE about 1e12 %."""
    prices = [20000.0, 20100.0, 1e-6, 20200.0, 20150.0, 20300.0]
    path = tmp_path / "tick.csv"
    path.write_text("Date,Close\n" + "".join(f"2022-01-0{k + 1},{p!r}\n" for k, p in enumerate(prices)))
    series = load_prices(path)
    assert series.prices.tolist() == prices
    jumps = [n for n in series.notes if "10-fold" in n]
    assert len(jumps) == 1 and jumps[0].startswith("2 step(s) move the price more than 10-fold"), series.notes
    assert "20100 on 2022-01-02 to 1e-06 on 2022-01-03" in jumps[0] or "1e-06 on 2022-01-03 to 20200 on 2022-01-04" in jumps[0]
    ninefold = tmp_path / "nine.csv"
    ninefold.write_text("Date,Close\n2022-01-01,100\n2022-01-02,900\n2022-01-03,100\n")
    assert not [n for n in load_prices(ninefold).notes if "fold" in n]


def test_a_yfinance_download_frame_with_ticker_columns_is_read(tmp_path):
    """``yf.download`` gives columns (Price, Ticker); the frame was refused as having no price column,
    with a command-line flag as the fix."""
    frame = pd.read_csv(io.StringIO(YAHOO), index_col="Date", parse_dates=True)[["Close", "Open"]]
    frame.columns = pd.MultiIndex.from_product([["Close", "Open"], ["BTC-USD"]], names=["Price", "Ticker"])
    series = as_price_series(frame)
    assert series.price_column == "close" and series.prices.tolist() == [10.5, 11.5, 12.0]
    assert any("'BTC-USD'" in note for note in series.notes)
    two = pd.concat([frame, frame.rename(columns={"BTC-USD": "ETH-USD"}, level=1)], axis=1)
    with pytest.raises(DataError, match=r"2 tickers \(BTC-USD, ETH-USD\).*frame.xs\('BTC-USD', axis=1, level='Ticker'\)"):
        as_price_series(two)


# ----------------------------------------------------------------------------------------------
# files whose price column has another name: FRED's series code, the closing price of localised sites


def _hand_read(text, sep, decimal=".", thousands=None):
    """The file's columns as Python reads them, without the loader: the reference the loader is checked against."""
    import csv

    rows = list(csv.reader(io.StringIO(text), delimiter=sep))

    def number(v):
        v = v.replace(thousands, "") if thousands else v
        return float(v.replace(decimal, "."))

    return rows[0], [r[0] for r in rows[1:]], [number(r[1]) for r in rows[1:]]


def test_a_fred_file_takes_its_only_column_as_the_price_and_says_so(tmp_path):
    text = "observation_date,GDPC1\n2000-01-01,13878.147\n2000-04-01,14130.908\n2000-07-01,14145.312\n2000-10-01,14229.765\n"
    series = load_prices(write(tmp_path, "GDPC1.csv", text))
    header, dates, values = _hand_read(text, ",")
    assert series.prices.tolist() == values
    assert [f"{d:%Y-%m-%d}" for d in series.frame.index] == dates
    assert "price column 'gdpc1'" in series.describe()
    assert any("'gdpc1', the only column beside the dates, is taken as the price" in n for n in series.notes)
    old_header = load_prices(write(tmp_path, "SP500.csv", text.replace("observation_date,GDPC1", "DATE,SP500")))
    assert old_header.prices.tolist() == values  # FRED's older download, DATE and the series code


@pytest.mark.parametrize("column", ["Volume", "Open", "Vol.", "Volume BTC", "Volume_USD", "Volumen", "Market Cap", "Shares",
                                    "Eröffn.", "Hoch", "Apertura", "Abertura", "Ouv.", "Open Price", "Index", "id", "n"])
def test_the_only_column_is_refused_when_its_name_says_it_is_no_close(tmp_path, column):
    with pytest.raises(DataError, match="no price column"):
        load_prices(write(tmp_path, "v.csv", f"Date,{column}\n2020-01-01,5\n2020-01-02,6\n"))


def test_freds_dot_is_a_missing_value(tmp_path):
    """FRED writes '.' where a day has no value (a holiday): a missing price, refused by default with the policy to pass."""
    path = write(tmp_path, "SP500.csv", "DATE,SP500\n2020-01-02,3257.85\n2020-01-03,.\n2020-01-06,3246.28\n2020-01-07,3237.18\n")
    with pytest.raises(DataError, match=r"1 row\(s\) have no sp500 price.*missing='drop' \(--missing drop\)"):
        load_prices(path)
    assert load_prices(path, missing="drop").prices.tolist() == [3257.85, 3246.28, 3237.18]


def test_a_frame_with_another_column_name_gets_the_same_note():
    frame = pd.DataFrame({"GDP": [1.0, 2.0, 3.0, 4.0]}, index=pd.date_range("2020-01-01", periods=4, freq="D"))
    series = as_price_series(frame)
    assert series.prices.tolist() == [1.0, 2.0, 3.0, 4.0]
    assert any("the only column beside the dates" in n for n in series.notes)


# Investing.com's export in German and in French: day-first dates, comma decimals, point or space grouping
LOCALISED = {
    "de": ('"Datum";"Zuletzt";"Eröffn.";"Hoch";"Tief";"Vol.";"+/- %"\n'
           '"15.11.2024";"1.234,50";"1.230,00";"1.240,00";"1.220,00";"1,20M";"0,52%"\n'
           '"14.11.2024";"1.228,10";"1.230,00";"1.241,00";"1.221,00";"1,30M";"-0,10%"\n'
           '"13.11.2024";"1.229,35";"1.231,00";"1.242,00";"1.222,00";"1,10M";"0,20%"\n', ";", ",", ".", "zuletzt"),
    "fr": ('"Date";"Dernier";"Ouv.";" Plus Haut";"Plus Bas";"Vol.";"Variation %"\n'
           '"15/11/2024";"1234,50";"1230,00";"1240,00";"1220,00";"1,20M";"0,52%"\n'
           '"14/11/2024";"1228,10";"1230,00";"1241,00";"1221,00";"1,30M";"-0,10%"\n'
           '"13/11/2024";"1229,35";"1231,00";"1242,00";"1222,00";"1,10M";"0,20%"\n', ";", ",", None, "dernier"),
}


@pytest.mark.parametrize("locale", sorted(LOCALISED))
def test_localised_exports_are_read_with_their_closing_price(tmp_path, locale):
    text, sep, decimal, thousands, column = LOCALISED[locale]
    series = load_prices(write(tmp_path, f"{locale}.csv", text))
    _, dates, values = _hand_read(text, sep, decimal, thousands)
    assert series.prices.tolist() == values[::-1]  # newest first in the file, oldest first in the series
    assert [f"{d:%d.%m.%Y}" for d in series.frame.index] == [d.replace("/", ".") for d in dates[::-1]]
    assert f"price column {column!r}" in series.describe()


def test_loader_refusals_name_the_keyword_as_well_as_the_flag(tmp_path):
    """The same message reaches the command line and the Python API: each names both ways to pass the fix."""
    path = write(tmp_path, "p.csv", YAHOO)
    with pytest.raises(DataError, match=r"price_column= \(--price-column\)"):
        load_prices(path, price_column="settle")
    gap = write(tmp_path, "m.csv", "Date,Close\n2020-01-01,1\n2020-01-02,\n2020-01-03,3\n")
    with pytest.raises(DataError, match=r"missing='drop' \(--missing drop\)"):
        load_prices(gap)
    with pytest.raises(DataError, match=r"price_column= \(--price-column\)"):
        load_prices(write(tmp_path, "n.csv", "Date,Open,Volume\n2020-01-01,1,2\n2020-01-02,1,2\n"))


def _monthly_without_june(tmp_path, extra=""):
    months = pd.date_range("2000-01-01", periods=36, freq="MS")
    rows = [f"{m:%Y-%m-%d},{100 + k}{extra}" for k, m in enumerate(months) if m != pd.Timestamp("2001-06-01")]
    return write(tmp_path, "m.csv", "Date,Close" + (",Volume" if extra else "") + "\n" + "\n".join(rows) + "\n")


def test_a_month_without_a_row_is_refused_by_default_naming_both_policies(tmp_path):
    """Seasons are counted in rows: a month left out silently shifted every seasonal position after it."""
    with pytest.raises(DataError, match=r"1 month\(s\) have no row \(first 2001-06-01\).*missing='ffill' \(--missing ffill\).*"
                                        r"missing='drop' \(--missing drop\)"):
        load_prices(_monthly_without_june(tmp_path))


def test_ffill_adds_the_absent_month_with_the_last_price_and_says_so(tmp_path):
    s = load_prices(_monthly_without_june(tmp_path, extra=",7"), missing="ffill")  # an integer column beside the price
    assert len(s.prices) == 36 and s.frequency.alias == "MS"
    assert s.prices["2001-05-01":"2001-07-01"].tolist() == [116.0, 116.0, 118.0]
    assert any("1 month(s) have no row (first 2001-06-01): added" in n for n in s.notes)


def test_drop_goes_on_without_the_absent_month_and_says_what_it_shifts(tmp_path):
    s = load_prices(_monthly_without_june(tmp_path), missing="drop")
    assert len(s.prices) == 35
    assert any("seasonal positions after each are one month off" in n for n in s.notes)


def test_the_same_holds_for_a_frame_a_day_of_crypto_prices_and_a_sparse_series(tmp_path):
    days = pd.date_range("2021-01-01", periods=100, freq="D")
    frame = pd.DataFrame({"close": np.arange(100.0) + 1}, index=days).drop(days[[40, 41]])
    with pytest.raises(DataError, match=r"2 day\(s\) have no row \(first 2021-02-10\)"):
        as_price_series(frame)
    assert len(as_price_series(frame, missing="ffill").prices) == 100
    business = pd.DataFrame({"close": np.arange(59.0) + 1}, index=pd.bdate_range("2021-01-01", periods=60).delete([10]))
    assert len(as_price_series(business).prices) == 59  # a holiday: nothing to add
    sparse = pd.DataFrame({"close": np.arange(20.0) + 1}, index=days[::2][:18].append(days[60:62]))
    assert len(as_price_series(sparse).prices) == 20  # most days absent: not a daily series with holes; only its gaps noted


def test_a_daily_series_with_many_single_day_holes_is_taken_as_it_stands_with_a_note():
    """More than a tenth of the days absent, one at a time: no gap of 3 days for the gap report, and no word before."""
    days = pd.date_range("2021-01-01", periods=100, freq="D")
    frame = pd.DataFrame({"close": np.arange(100.0) + 1}, index=days).drop(days[5::7])  # 14 single days
    for missing in ("error", "drop", "ffill"):
        s = as_price_series(frame, missing=missing)
        assert len(s.prices) == 86 and s.frequency.alias == "D"
        said = [n for n in s.notes if "have no row" in n]
        assert said == ["14 day(s) have no row (first 2021-01-06), more than a tenth of its rows: the series is taken as "
                        "it stands, with no row added or refused; a season counted in rows is one day off after each"]


def _rows(tmp_path, stamps, name="c.csv"):
    stamps = pd.DatetimeIndex(stamps)
    text = "Date,Close\n" + "".join(f"{s:%Y-%m-%d %H:%M},{100 + k}\n" for k, s in enumerate(stamps))
    return write(tmp_path, name, text)


@pytest.mark.parametrize("stamps, first", [
    # a mid-month row in a monthly series: January 2005 twice
    (pd.date_range("2000-01-31", periods=240, freq="BME").append(pd.DatetimeIndex(["2005-01-15"])).sort_values(),
     "2005-01-15 and 2005-01-31"),
    # a stamp slipped into the next month: February absent and March twice (refused as a second row first)
    (pd.date_range("2000-01-31", periods=240, freq="BME").map(lambda d: pd.Timestamp("2005-03-01") if d == pd.Timestamp("2005-02-28") else d),
     "2005-03-01 and 2005-03-31"),
    # two times on one date of a daily series
    (pd.date_range("2019-01-01", periods=600, freq="D").append(pd.DatetimeIndex(["2019-10-27 23:59"])).sort_values(),
     "2019-10-27 and 2019-10-27"),
])
def test_a_second_row_in_one_period_is_refused(tmp_path, stamps, first):
    """Seasons are counted in rows: a second row in a month shifted every later month by one, without a word."""
    with pytest.raises(DataError, match=rf"1 (month|day)\(s\) hold a second row \(first {first}\).*Keep one row per"):
        load_prices(_rows(tmp_path, stamps))


def test_a_last_row_in_the_period_before_is_the_running_price_and_is_dropped(tmp_path):
    months = pd.date_range("2010-01-01", periods=60, freq="MS").append(pd.DatetimeIndex(["2014-12-17"]))
    s = load_prices(_rows(tmp_path, months))
    assert len(s.prices) == 60 and s.frame.index[-1] == pd.Timestamp("2014-12-01")
    assert any("the last row (2014-12-17) is in the month of the row before it (2014-12-01): the running price of an "
               "unfinished month, dropped" in n for n in s.notes)


def test_weekly_stamps_moved_to_another_weekday_skip_no_week(tmp_path):
    """A vendor that moved its stamps from Mondays to Fridays: every calendar week still has one row (it was refused
    as a missing week, and --missing ffill then gave that week two rows)."""
    fridays = pd.date_range("2010-01-01", periods=400, freq="W-FRI")
    stamps = (fridays[:200] - pd.Timedelta(days=4)).append(fridays[200:])
    s = load_prices(_rows(tmp_path, stamps))
    assert len(s.prices) == 400 and not any("no row" in n or "second row" in n for n in s.notes)


@pytest.mark.parametrize("divide, kind", [(2, "2:1"), (4, "4:1"), (3, "3:1"), (0.5, "1:2"), (1, None), (1.3, None)])
def test_a_step_of_a_splits_ratio_far_beyond_the_usual_steps_is_noted(divide, kind):
    """An unadjusted 2:1 or 4:1 split (a -50% or -75% day) passed without a word; only moves over 10-fold were named."""
    days = pd.bdate_range("2015-01-01", periods=700)
    prices = 1500 * np.exp(np.cumsum(np.random.default_rng(0).normal(0, 0.01, 700)))
    prices[600:] /= divide  # 1.3: a large move, but no split's ratio
    said = [n for n in as_price_series(pd.DataFrame({"close": prices}, index=days)).notes if "split's ratio" in n]
    if kind is None:
        assert not said
    else:
        assert len(said) == 1 and said[0].startswith("1 step(s) move the price by a split's ratio") and f", {kind});" in said[0]
        assert "2017-04-19 to" in said[0] and "Adj Close" in said[0]


def test_a_volatile_series_gets_no_split_note_for_its_ordinary_halvings():
    """A coin that often halves in a day: a halving is not far beyond its usual steps."""
    days = pd.date_range("2020-01-01", periods=400, freq="D")
    steps = np.random.default_rng(1).normal(0, 0.25, 400)
    steps[200] = -np.log(2)
    notes = as_price_series(pd.DataFrame({"close": np.exp(np.cumsum(steps))}, index=days)).notes
    assert not any("split's ratio" in n for n in notes)


def test_the_real_unadjusted_split_in_the_embedded_msft_closes_is_noted():
    """MSFT's 2:1 split of 2003-02-18 (48.30 to 24.96, a ratio of 1.935 with the day's own 3% rise) was outside the
    3% tolerance, and the Close column passed without a word."""
    from scratchlstm.data import EMBEDDED_CSV

    notes = [n for n in load_prices(EMBEDDED_CSV, price_column="Close").notes if "split's ratio" in n]
    assert len(notes) == 1 and "48.3 on 2003-02-14 to 24.96 on 2003-02-18, 2:1" in notes[0]
    assert not any("split's ratio" in n for n in load_prices(EMBEDDED_CSV).notes)  # Adj Close: adjusted, nothing to say


def test_a_rate_that_falls_tenfold_in_a_turbulent_spell_is_no_split():
    """The 3-month T-bill rate, 1.17 in 2008Q3 to 0.12 in 2008Q4 (statsmodels' macrodata), was noted as a 10:1 split
    with the advice to use Adj Close; the quarters around it moved far more than usual."""
    macrodata = pytest.importorskip("statsmodels.datasets.macrodata")
    data = macrodata.load_pandas().data
    quarters = pd.PeriodIndex.from_fields(year=data["year"].astype(int), quarter=data["quarter"].astype(int), freq="Q")
    frame = pd.DataFrame({"close": data["tbilrate"].to_numpy()}, index=quarters.to_timestamp())
    frame = frame[frame["close"] > 0]
    assert not any("split's ratio" in n for n in as_price_series(frame).notes)


@pytest.mark.parametrize("kind, period", [("M", "month"), ("W", "week"), ("Q", "quarter")])
def test_a_last_row_stamped_well_before_its_periods_end_is_the_running_price(kind, period):
    """Stooq's shape: each row stamped with its period's last trading day, and the last with the download's day
    (2018-12-04): four days of December stood in for a whole month, week or quarter without a word."""
    days = pd.bdate_range("2015-01-01", "2018-12-04")
    daily = pd.Series(100 * np.exp(np.cumsum(np.random.default_rng(0).normal(0, 0.01, len(days)))), index=days)
    groups = [g for _, g in daily.groupby(daily.index.to_period(kind))]
    at_end = pd.DataFrame({"close": [g.iloc[-1] for g in groups]}, index=pd.DatetimeIndex([g.index[-1] for g in groups]))
    s = as_price_series(at_end)
    assert len(s.prices) == len(at_end) - 1 and s.frame.index[-1] < pd.Timestamp("2018-12-01")
    assert any("the last row (2018-12-04) is" in n and f"the running price of an unfinished {period}, dropped" in n for n in s.notes)
    at_start = pd.DataFrame({"close": [g.iloc[-1] for g in groups]}, index=pd.DatetimeIndex([g.index[0] for g in groups]))
    assert len(as_price_series(at_start).prices) == len(at_start)  # stamped at the start: nothing tells, nothing dropped


def test_a_few_weekend_rows_leave_business_days_business_days_and_are_named():
    """Five Saturday or Sunday rows in 921 business days (a source that shifted its dates by a day) made the series
    "daily": 390 weekend days were then said to have no row, and a season of 7 rows was tried on 5-day weeks."""
    days = pd.bdate_range("2018-01-01", periods=916)
    stray = pd.DatetimeIndex(["2018-07-01", "2019-01-05", "2019-01-12", "2019-01-19", "2019-01-26"])  # Sun, Sats
    index = days.append(stray).sort_values()
    frame = pd.DataFrame({"close": 100 + np.arange(len(index), dtype=float)}, index=index)
    s = as_price_series(frame)
    assert s.frequency.alias == "B" and len(s.prices) == 921
    assert any(n.startswith("5 row(s) of these business-day prices fall on a Saturday or Sunday (first 2018-07-01)") for n in s.notes)
    assert not any("have no row" in n for n in s.notes)
    crypto = pd.DataFrame({"close": 100 + np.arange(60.0)}, index=pd.date_range("2021-01-01", periods=60))
    assert as_price_series(crypto).frequency.alias == "D"  # seven days a week stays daily


def _daily(tmp_path, dates, name="p.csv"):
    prices = 100 + np.cumsum(np.random.default_rng(0).normal(0, 1, len(dates)))
    path = tmp_path / name
    pd.DataFrame({"Date": pd.DatetimeIndex(dates).strftime("%Y-%m-%d"), "Close": prices}).to_csv(path, index=False)
    return path


def test_many_small_gaps_are_taken_as_the_series_stands_with_a_note(tmp_path):
    """Every fifth day absent (a quarter of the rows): the series is less regular than its median spacing says."""
    days = pd.date_range("2020-01-01", periods=500, freq="D")
    series = load_prices(_daily(tmp_path, days[np.arange(500) % 5 != 4]))
    assert any("more than a tenth of its rows: the series is taken as it stands" in n for n in series.notes)


def test_one_gap_longer_than_a_tenth_of_the_rows_is_a_break_not_an_irregular_series(tmp_path):
    """A last row a year late (its year mistyped) was taken as it stood: 365 absent days are more than a tenth of
    the rows, the rule for a series irregular throughout, and its forecast was for a day a year later."""
    days = list(pd.date_range("2021-01-01", periods=400, freq="D"))
    days[-1] = days[-1] + pd.DateOffset(years=1)
    path = _daily(tmp_path, days)
    with pytest.raises(DataError, match=r"365 day\(s\) have no row \(first 2022-02-04\); the longest gap is 365 day\(s\), "
                                        r"between the rows of 2022-02-03 and 2023-02-04; .* If a date is mistyped, fix it"):
        load_prices(path)
    dropped = load_prices(path, missing="drop")
    assert len(dropped.prices) == 400 and any("left out as missing='drop' says" in n for n in dropped.notes)


def test_a_weekend_in_a_few_rows_is_not_a_break(tmp_path):
    """Five business days read as daily: a gap of 2 is more than a tenth of 5 rows, but no break (14 periods or more)."""
    series = load_prices(_daily(tmp_path, pd.bdate_range("2020-01-01", periods=5)))
    assert len(series.prices) == 5
