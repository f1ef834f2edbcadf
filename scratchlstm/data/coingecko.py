"""CoinGecko's public API: daily prices of a coin, saved as a CSV the loaders read.

    GET https://api.coingecko.com/api/v3/coins/{coin}/market_chart?vs_currency=usd&days=N&interval=daily

returns ``{"prices": [[ms, price], ...], "market_caps": [...], "total_volumes": [...]}``. For daily
data the last entry is the current, unfinished day (its "price" is the latest trade), so it is
dropped: a close must be a close. ``fetch`` always asks for data up to now, so it drops the last day
whatever its stamp. A saved response passed as a file may also come from elsewhere (a ``/range``
query ending in the past), so the loader drops its last point only when it shows itself as the
running price: the others lie on one grid (every day at 00:00 UTC) and it does not
(``ends_with_running_price``).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError
from ..io import atomic_write_text
from .dates import unix_stamps
from .refusal import refuse

API = "https://api.coingecko.com/api/v3"


def market_chart_url(coin: str, days: int, vs_currency: str = "usd") -> str:
    query = urllib.parse.urlencode({"vs_currency": vs_currency, "days": days, "interval": "daily"})
    return f"{API}/coins/{urllib.parse.quote(coin)}/market_chart?{query}"


def fetch_market_chart(coin: str, days: int, vs_currency: str = "usd", timeout: float = 30.0, opener=urllib.request.urlopen) -> dict:
    """The decoded JSON document for ``coin`` (``opener`` is replaceable for tests)."""
    url = market_chart_url(coin, days, vs_currency)
    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "scratchlstm"})
    try:
        with opener(request, timeout=timeout) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:
        hint = "check the coin id (e.g. bitcoin, ethereum)" if exc.code == 404 else "wait a minute and retry (rate limit)" if exc.code == 429 else "retry later"
        raise DataError(f"CoinGecko answered HTTP {exc.code} for {coin!r}; {hint}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DataError(f"cannot reach CoinGecko ({reason}); you seem to be offline: download the prices elsewhere and give the file to forecast or predict (--csv FILE)") from None
    try:
        return json.loads(body)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise DataError("CoinGecko's answer was not JSON; retry later") from None


def coingecko_frame(doc, source="CoinGecko response") -> pd.DataFrame:
    """Frame (date, close, volume, market_cap) from a ``market_chart`` document, oldest first as sent.

    Raises
    ------
    scratchlstm.errors.DataError
        for an error document (``{"error": ...}`` or ``{"status": {"error_message": ...}}``), an
        empty ``prices`` list, pairs that are not ``[milliseconds, price]``, or stamps outside 1973-2200.
    """
    if isinstance(doc, dict) and ("error" in doc or isinstance(doc.get("status"), dict)):
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
    for key, column in (("total_volumes", "volume"), ("market_caps", "market_cap")):
        values = doc.get(key)
        if isinstance(values, list) and len(values) == len(prices):
            frame[column] = _pairs(values, key, source)[:, 1]
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
    """Daily frame (date, close, volume, market_cap) without the last, unfinished day."""
    frame = coingecko_frame(doc)
    frame = frame.sort_values("date")
    frame["date"] = frame["date"].dt.normalize()
    frame = frame.drop_duplicates("date", keep="last")
    frame = frame.iloc[:-1]  # the current day is not closed yet
    if frame.empty:
        raise DataError("CoinGecko sent no finished day (only today's running price); ask for more --days")
    return frame


def fetch_to_csv(coin: str, days: int, out: str | Path, vs_currency: str = "usd", opener=urllib.request.urlopen) -> pd.DataFrame:
    """Fetch ``days`` of daily prices of ``coin`` and write ``Date,Close,Volume,Market Cap`` to ``out``."""
    if days < 2:
        raise DataError(f"--days must be at least 2, got {days}")
    frame = daily_closes(fetch_market_chart(coin, days, vs_currency, opener=opener))
    table = frame.rename(columns={"date": "Date", "close": "Close", "volume": "Volume", "market_cap": "Market Cap"})
    table["Date"] = table["Date"].dt.strftime("%Y-%m-%d")
    atomic_write_text(out, table.to_csv(index=False))
    return frame
