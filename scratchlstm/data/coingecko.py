"""CoinGecko's public API: daily prices of a coin, saved as a CSV the loaders read.

    GET https://api.coingecko.com/api/v3/coins/{coin}/market_chart?vs_currency=usd&days=N&interval=daily

returns ``{"prices": [[ms, price], ...], "market_caps": [...], "total_volumes": [...]}``: one point per
day at 00:00 UTC (CoinGecko records it as the day before ends, and publishes it ten minutes after
midnight), and last the running price of the day in progress, stamped when the request was made
(``14:37:05.123``). That point is not a close and is dropped: ``fetch`` drops a last point off 00:00, the
loader a saved answer's last point off the grid all the others lie on (``ends_with_running_price``); every point
at 00:00 is kept, today's included. A row dated D holds the price at 00:00 UTC of D, under the CSV column Close
that the loaders read; ``fetch`` says so.

Refused, naming the date, rather than written: a price that is not a positive number (``null``, ``true``,
``0``, ``-5``, ``Infinity``; by ``fetch`` and in a saved answer alike), and by ``fetch`` a point off the 00:00
grid before the last one (hourly data where daily was asked) and two points of one day with two prices.
Volumes and market caps are matched to the prices by their time stamps, not by their places in the lists.
"""

from __future__ import annotations

import http.client
import json
import math
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError
from ..io import atomic_write_text, check_file_target
from .dates import unix_stamps
from .refusal import refuse

API = "https://api.coingecko.com/api/v3"


def market_chart_url(coin: str, days: int, vs_currency: str = "usd") -> str:
    query = urllib.parse.urlencode({"vs_currency": vs_currency, "days": days, "interval": "daily"})
    return f"{API}/coins/{urllib.parse.quote(coin)}/market_chart?{query}"


KEYLESS_DAYS = 365  # the public API without a key serves the past 365 days at most (it answers 401 beyond)


def fetch_market_chart(coin: str, days: int, vs_currency: str = "usd", timeout: float = 30.0, opener=urllib.request.urlopen) -> dict:
    """The decoded JSON document for ``coin`` (``opener`` is replaceable for tests)."""
    url = market_chart_url(coin, days, vs_currency)
    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "scratchlstm"})
    try:
        with opener(request, timeout=timeout) as response:
            body = _read_by(response, time.monotonic() + timeout)
    except urllib.error.HTTPError as exc:
        raise DataError(f"CoinGecko answered HTTP {exc.code} for {coin!r}{_said(exc)}; {_http_advice(exc, days)}") from None
    except http.client.HTTPException as exc:  # IncompleteRead, BadStatusLine: not OSErrors
        raise DataError(f"the connection to CoinGecko was cut mid-answer ({type(exc).__name__}); fetch again") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        why = (f"CoinGecko did not answer within {timeout:g} s; retry later, or" if isinstance(reason, TimeoutError)
               else f"cannot reach CoinGecko ({reason}); you seem to be offline:")
        raise DataError(f"{why} download the prices elsewhere and give the file to forecast or predict (--csv FILE)") from None
    try:
        return json.loads(body)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise DataError("CoinGecko's answer was not JSON; retry later") from None


def _read_by(response, deadline: float, chunk: int = 1 << 16) -> bytes:
    """The whole body, or a ``TimeoutError`` once ``deadline`` (``time.monotonic``) has passed: the socket's timeout
    bounds each read, and a server sending a byte at a time kept a download going for minutes."""
    parts = []
    while part := response.read(chunk):
        parts.append(part)
        if time.monotonic() > deadline:
            raise TimeoutError("the answer took longer than its timeout")
    return b"".join(parts)


def _said(exc: urllib.error.HTTPError) -> str:
    """CoinGecko's own words in an error's body (``{"error": ...}`` or ``{"status": {"error_message": ...}}``), if any."""
    try:
        doc = json.loads(exc.read() or b"null")
    except Exception:  # no body, not JSON, a connection already closed: the status alone
        return ""
    status = doc.get("status") if isinstance(doc, dict) else None
    message = (doc.get("error") if isinstance(doc, dict) else None) or (status.get("error_message") if isinstance(status, dict) else None)
    return f' ("{" ".join(str(message).split())[:300]}")' if message else ""


def _http_advice(exc: urllib.error.HTTPError, days: int) -> str:
    if exc.code == 404:
        return "check the coin id (e.g. bitcoin, ethereum)"
    if exc.code == 429:
        wait = exc.headers.get("Retry-After", "") if exc.headers else ""
        return f"wait {wait} s and retry (rate limit)" if wait.isdigit() else "wait a minute and retry (rate limit)"
    if exc.code in (401, 403) and days > KEYLESS_DAYS:
        return f"the public API without a key serves the past {KEYLESS_DAYS} days at most: use --days {KEYLESS_DAYS} or fewer"
    if exc.code in (400, 422):
        return "check the coin id and --vs (a currency code such as usd, eur or btc)"
    return "retry later" if exc.code >= 500 else "the request was refused; check the coin id, --days and --vs"


def coingecko_frame(doc, source="CoinGecko response") -> pd.DataFrame:
    """Frame (date, close, volume, market_cap) from a ``market_chart`` document, oldest first as sent.

    Raises
    ------
    scratchlstm.errors.DataError
        for an error document (``{"error": ...}`` or ``{"status": {"error_message": ...}}``), an
        empty ``prices`` list, pairs that are not ``[milliseconds, price]``, or stamps outside 1973-2200.
    """
    if isinstance(doc, dict) and (doc.get("error") or isinstance(doc.get("status"), dict) and "prices" not in doc):
        status = doc.get("status") if isinstance(doc.get("status"), dict) else {}
        message = doc.get("error") or status.get("error_message") or status
        raise refuse(source, f"CoinGecko answered with an error instead of prices ({message})",
                     "Check the coin id and the number of days, wait a minute if it is a rate limit, and fetch again")
    if not isinstance(doc, dict) or "prices" not in doc:
        raise refuse(source, "JSON without a 'prices' list; only CoinGecko /coins/{id}/market_chart responses are understood",
                     "Export the prices as CSV with Date and Close columns")
    prices = _pairs(doc["prices"], "prices", source)
    if len(prices) == 0:
        raise refuse(source, "the 'prices' list is empty", "Check the coin id and the number of days, and fetch again")
    fix = ("CoinGecko stamps its points in unix milliseconds; save its answer as it came (stamps in seconds: multiply "
           "them by 1000)")
    frame = pd.DataFrame({"date": unix_stamps(prices[:, 0], "ms", name="prices", source=source, fix=fix), "close": prices[:, 1]})
    for raw, date, price in zip(doc["prices"], frame["date"], frame["close"]):
        if isinstance(raw[1], bool) or not (math.isfinite(price) and price > 0):  # null reads as NaN, true as 1.0
            raise refuse(source, f"the price at {date:%Y-%m-%d %H:%M} UTC is {json.dumps(raw[1])}, not a positive number",
                         "Fetch again; if it stays, that day has no price at CoinGecko: give a file without it")
    for key, column in (("total_volumes", "volume"), ("market_caps", "market_cap")):
        by_stamp = {v[0]: float(v[1]) for v in doc.get(key) or () if isinstance(v, list) and len(v) == 2
                    and all(isinstance(a, (int, float)) and not isinstance(a, bool) for a in v)}
        matched = [by_stamp.get(raw[0], math.nan) for raw in doc["prices"]]  # by time stamp, not by place in the list
        if not all(math.isnan(value) for value in matched):
            frame[column] = matched
    return frame


def ends_with_running_price(stamps: pd.DatetimeIndex) -> bool:
    """Whether the last of ``stamps`` (sorted) is off the regular grid that all the others lie on.

    CoinGecko's daily points are stamped at 00:00 UTC; the live price of the day in progress is
    stamped when the request was made (``14:37:05.123``).
    """
    if len(stamps) < 3:
        return False
    ns = stamps.asi8  # nanoseconds
    step = int(np.median(np.diff(ns[:-1])))
    if step <= 0 or np.any((ns[:-1] - ns[0]) % step):
        return False
    return bool((ns[-1] - ns[0]) % step)


def _pairs(values, key: str, source) -> np.ndarray:
    try:
        pairs = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise refuse(source, f"{key!r} is not a list of [milliseconds, value] pairs ({exc})", "Save the API response again") from None
    if pairs.size == 0:
        return pairs.reshape(0, 2)
    if pairs.ndim != 2 or pairs.shape[1] != 2:
        raise refuse(source, f"{key!r} is not a list of [milliseconds, value] pairs (its shape is {pairs.shape})",
                     "Save the API response again")
    return pairs


def daily_closes(doc: dict) -> pd.DataFrame:
    """Daily frame (date, close, volume, market_cap): the points at 00:00 UTC, without the running price of the day in
    progress; see the module docstring for what is refused."""
    frame = coingecko_frame(doc).sort_values("date", kind="stable").reset_index(drop=True)
    stamps = pd.DatetimeIndex(frame["date"])
    off_grid = stamps != stamps.normalize()
    if off_grid[-1]:  # the running price, stamped when asked
        frame, stamps, off_grid = frame.iloc[:-1], stamps[:-1], off_grid[:-1]
    if off_grid.any():
        raise DataError(f"CoinGecko sent points within a day ({stamps[off_grid][0]:%Y-%m-%d %H:%M} UTC, {int(off_grid.sum())} in all) "
                        "where daily prices were asked; fetch again")
    prices_of_day = frame.groupby("date")["close"]
    conflicting = prices_of_day.nunique() > 1  # every day, not only the first one sent twice
    if conflicting.any():
        day = conflicting.idxmax()
        raise DataError(f"CoinGecko sent two prices for {day:%Y-%m-%d}: {', '.join(f'{p:g}' for p in prices_of_day.get_group(day))}; "
                        "fetch again")
    frame = frame.drop_duplicates("date")  # the same point sent twice
    if len(frame) < 2:
        raise DataError(f"CoinGecko sent {len(frame)} finished day(s) (a price at 00:00 UTC); ask for more --days")
    return frame


def fetch_to_csv(coin: str, days: int, out: str | Path, vs_currency: str = "usd", opener=urllib.request.urlopen) -> pd.DataFrame:
    """Fetch ``days`` of daily prices of ``coin`` and write ``Date,Close,Volume,Market Cap`` to ``out``: a row dated D holds
    the price at 00:00 UTC of D."""
    if days < 2:
        raise DataError(f"--days must be at least 2, got {days}")
    check_file_target(out)  # before the download, which the rate limit counts
    frame = daily_closes(fetch_market_chart(coin, days, vs_currency, opener=opener))
    table = frame.rename(columns={"date": "Date", "close": "Close", "volume": "Volume", "market_cap": "Market Cap"})
    table["Date"] = table["Date"].dt.strftime("%Y-%m-%d")
    atomic_write_text(out, table.to_csv(index=False))
    return frame


def fetch_notes(frame: pd.DataFrame, days: int, today: pd.Timestamp | None = None) -> list[str]:
    """What a fetch's numbers alone do not say: fewer days than asked (the coin's history is shorter), and prices that
    end days before ``today`` (UTC; a coin no longer traded)."""
    today = pd.Timestamp.now("UTC").tz_localize(None).normalize() if today is None else today
    first, last = frame["date"].iloc[0], frame["date"].iloc[-1]
    notes = []
    if len(frame) < days:
        notes.append(f"CoinGecko has {len(frame)} days of {days} asked: its prices of this coin start on {first:%Y-%m-%d}")
    if (today - last).days > 2:
        notes.append(f"the prices end on {last:%Y-%m-%d}, {(today - last).days} days ago: CoinGecko has no later ones (a coin "
                     "no longer traded?); a forecast from them is for a day long past")
    return notes
