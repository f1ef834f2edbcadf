"""CoinGecko's public API: daily prices of a coin, saved as a CSV the loaders read.

    GET https://api.coingecko.com/api/v3/coins/{coin}/market_chart?vs_currency=usd&days=N&interval=daily

returns ``{"prices": [[ms, price], ...], "market_caps": [...], "total_volumes": [...]}``. For daily
data the last entry is the current, unfinished day (its "price" is the latest trade), so it is
dropped: a close must be a close.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pandas as pd

from ..errors import DataError
from ..io import atomic_write_text
from .loaders import coingecko_frame

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
        raise DataError(f"cannot reach CoinGecko ({reason}); you seem to be offline: download the prices elsewhere and pass them with --csv") from None
    try:
        return json.loads(body)
    except json.JSONDecodeError:
        raise DataError("CoinGecko's answer was not JSON; retry later") from None


def daily_closes(doc: dict) -> pd.DataFrame:
    """Daily frame (date, close, volume, market_cap) without the last, unfinished day."""
    frame = coingecko_frame(doc)
    frame = frame.sort_values("date")
    frame["date"] = frame["date"].dt.normalize()
    frame = frame.drop_duplicates("date", keep="last")
    return frame.iloc[:-1]  # the current day is not closed yet


def fetch_to_csv(coin: str, days: int, out: str | Path, vs_currency: str = "usd", opener=urllib.request.urlopen) -> pd.DataFrame:
    """Fetch ``days`` of daily prices of ``coin`` and write ``Date,Close,Volume,Market Cap`` to ``out``."""
    if days < 2:
        raise DataError(f"--days must be at least 2, got {days}")
    frame = daily_closes(fetch_market_chart(coin, days, vs_currency, opener=opener))
    table = frame.rename(columns={"date": "Date", "close": "Close", "volume": "Volume", "market_cap": "Market Cap"})
    table["Date"] = table["Date"].dt.strftime("%Y-%m-%d")
    atomic_write_text(out, table.to_csv(index=False))
    return frame
