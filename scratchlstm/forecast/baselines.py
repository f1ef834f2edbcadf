"""Baselines on the same walk-forward points as the model: simple rules and the classical peers.

At origin t with last value ``p[t]``, horizon h, window ``p[t-W+1..t]`` and season length m:

    naive           p[t]                                   (last value)
    adjusted naive  p[t] exp(S_t[t+h] - S_t[t])            (the last value moved by the seasonal index)
    smoothed level  exp(l_t[t] + S_t[t+h])                 (the adjusted series' smoothed level, moved by it)
    drift           p[t] + h (p[t] - p[t-W]) / W           (the window's average step, continued)
    window mean     mean(p[t-W+1..t])
    seasonal naive  p[t + h - m k],  k = ceil(h / m)       (the same season one cycle earlier)

The season length m comes from the calendar (``calendar_season``: 12 for monthly rows, 4 for
quarterly, 52 for weekly, 7 for daily, 5 for business days, 24 for hourly, or the rows of one
trading day when the file has no nights) and is kept only when the data confirm it
(``season_is_confirmed``: the autocorrelation of the log-differences at lag m, tested against
Bartlett's standard error), or it is given explicitly.

The adjusted naive is naive on the seasonally adjusted series ``a[s] = p[s] exp(-S_t[s mod m])``,
multiplied back by the target's seasonal factor; ``S_t`` is the seasonal index of ``log p[0..t]``
(``seasonal.SeasonalIndex``, fitted at each origin from the values up to it). It is exactly what the
untrained LSTM forecasts on a seasonal series with ``--no-smooth-level`` (its returns head starts at
zero: "no change" on the adjusted series). The smoothed level starts from exponential smoothing's
level of ``log a[0..t]`` instead (``level.SmoothedLevel``, its constant chosen on those values): it is
what the untrained LSTM forecasts by default, so the model's row minus this row is what the LSTM
itself contributes. Without a season both are naive, and they are left out of the table
(``baseline_forecasts``).

The classical peers (``classical_forecasts``: AutoETS, AutoARIMA, AutoTheta from the optional
``statsforecast`` package) run on the same origins and horizon with the model's refit schedule:
estimated at the first origin and every ``refit_every`` origins, and between refits applied with
their estimated parameters to the data up to each origin (statsforecast's ``forward``), so that
they see exactly what the model sees.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .level import SmoothedLevel
from .seasonal import SeasonalIndex

if TYPE_CHECKING:  # (pandas is imported where a calendar is read: a worker that only fits does without it)
    import pandas as pd

BASELINES = ("naive", "adjusted_naive", "smoothed_level", "seasonal_naive", "drift", "window_mean")  # the second and third
# only with a season
PEERS = ("AutoETS", "AutoARIMA", "AutoTheta")
INSTALL_PEERS = "pip install 'statsforecast>=2.0', or pip install -e '.[classic]' in scratchlstm's folder"

# (largest median spacing in days, season length, what the rows are): the first match wins
CALENDAR_SEASONS = {  # the kind of step (data.frequency) -> the cycle it suggests
    "h": (24, "hourly rows, a daily cycle"),
    "B": (5, "business-day rows, a weekly cycle"),
    "D": (7, "daily rows, a weekly cycle"),
    "W": (52, "weekly rows, a yearly cycle"),
    "M": (12, "monthly rows, a yearly cycle"),
    "Q": (4, "quarterly rows, a yearly cycle"),
}
CONFIRM_Z = 2.326  # one-sided 1%: a random walk is called seasonal in about 1 case in 100


def naive_forecast(prices: np.ndarray, origins: np.ndarray) -> np.ndarray:
    """``p[t]`` at every origin."""
    return prices[origins].astype(float)


def drift_forecast(prices: np.ndarray, origins: np.ndarray, window: int, horizon: int) -> np.ndarray:
    """``p[t] + h (p[t] - p[t-W]) / W``: the window's average step continued for h steps."""
    last = prices[origins]
    start = np.maximum(origins - window, 0)
    return last + horizon * (last - prices[start]) / np.maximum(origins - start, 1)


def window_mean_forecast(prices: np.ndarray, origins: np.ndarray, window: int) -> np.ndarray:
    """``mean(p[t-W+1..t])``."""
    return np.array([prices[max(t - window + 1, 0) : t + 1].mean() for t in origins])


def seasonal_naive_forecast(prices: np.ndarray, origins: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """``p[t + h - m ceil(h / m)]``: the last value seen for the target's season (naive when m = 1)."""
    back = season * math.ceil(horizon / season)
    source = origins + horizon - back  # always <= t: the value is known at the origin
    if np.any(source < 0):
        raise ValueError(f"seasonal naive with season {season} needs origins >= {back - horizon}, got {int(origins.min())}")
    return prices[source].astype(float)


def adjusted_naive_forecast(prices: np.ndarray, origins: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """``p[t] exp(S_t[(t+h) mod m] - S_t[t mod m])``: naive on the seasonally adjusted series, with the
    seasonal index ``S_t`` fitted on ``p[0..t]`` at each origin (naive when m = 1 or before three
    seasons). Computed as the model's forecast is (``protocol.forecast_prices``), so that an untrained
    LSTM's forecast equals it to the last bit."""
    out = np.empty(len(origins))
    for k, t in enumerate(np.asarray(origins)):
        S = SeasonalIndex.fit(prices, int(t), season)
        out[k] = S.factor(t + horizon) * S.remove(np.asarray(prices[: t + 1], dtype=float))[t]
    return out


def smoothed_level_forecast(prices: np.ndarray, origins: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """``exp(l_t[t] + S_t[(t+h) mod m])``: the smoothed level of the seasonally adjusted series (``level.SmoothedLevel``,
    fitted on ``log a[0..t]``), moved by the seasonal index ``S_t`` fitted on ``p[0..t]``, at each origin. Computed as
    the model's forecast is (``protocol.forecast_prices``), so that an untrained LSTM's forecast equals it to the last bit."""
    out = np.empty(len(origins))
    for k, t in enumerate(np.asarray(origins)):
        S = SeasonalIndex.fit(prices, int(t), season)
        adjusted = S.remove(np.asarray(prices[: t + 1], dtype=float))
        level = SmoothedLevel.fit(np.log(adjusted)) if S.season > 1 else SmoothedLevel()  # as protocol.level_at
        out[k] = S.factor(t + horizon) * level.start(adjusted, np.array([t]))[0]
    return out


def baseline_forecasts(prices: np.ndarray, origins: np.ndarray, window: int, horizon: int, season: int = 1) -> dict[str, np.ndarray]:
    """Every simple baseline's forecasts of ``p[t + h]`` at every origin, keyed as in ``BASELINES``.

    The adjusted naive is there only with a season (m > 1): without one it is naive to the last bit,
    and a second row with naive's numbers would only repeat it (and its verdict would repeat naive's).
    """
    forecasts = {"naive": naive_forecast(prices, origins)}
    if season > 1:
        forecasts["adjusted_naive"] = adjusted_naive_forecast(prices, origins, horizon, season)
        forecasts["smoothed_level"] = smoothed_level_forecast(prices, origins, horizon, season)
    forecasts.update({
        "seasonal_naive": seasonal_naive_forecast(prices, origins, horizon, season),
        "drift": drift_forecast(prices, origins, window, horizon),
        "window_mean": window_mean_forecast(prices, origins, window),
    })
    return forecasts


# ----------------------------------------------------------------------------------------------
# the season length


def calendar_season(dates: pd.DatetimeIndex) -> tuple[int, str]:
    """The season length the rows' frequency suggests (``CALENDAR_SEASONS``), and the reason in words.

    The frequency is the loader's (``data.frequency.detect_frequency``): business days (a 5-day
    week), days, weeks, months, quarters, hours. Other spacings, years and irregular ones have no
    season (1).
    """
    if len(dates) < 3:
        return 1, "too few rows to tell the spacing"
    import pandas as pd  # here, not at the top: a worker process that only fits never imports pandas (0.3 s of its start)

    from ..data.frequency import detect_frequency

    frequency = detect_frequency(pd.DatetimeIndex(dates))
    key = "B" if frequency.alias == "B" else frequency.kind
    if key == "h":
        return _bars_per_day(pd.DatetimeIndex(dates))
    if key in CALENDAR_SEASONS:
        return CALENDAR_SEASONS[key]
    return 1, f"{frequency.word} rows: no calendar season"


def _bars_per_day(dates: pd.DatetimeIndex) -> tuple[int, str]:
    """The daily cycle of hourly rows: 24 rows a day around the clock, or the rows of a trading day
    (7 for 9:30 to 15:30) when the nights are not in the file; the days of another count (half days)
    are said, as their rows sit off the cycle."""
    import pandas as pd

    per_day = pd.Series(1, index=dates).groupby(dates.normalize()).size().to_numpy()
    whole = per_day[1:-1] if len(per_day) > 2 else per_day[per_day == per_day.max()]  # the first and last day may be cut
    season = int(np.bincount(whole).argmax())  # the most common count
    if season == 24:
        return CALENDAR_SEASONS["h"]
    if season < 2:
        return 1, "hourly rows, one a day: no calendar season"
    other = float(np.mean(whole != season))
    off = f"; {other:.0%} of the days have another count, and their rows sit off the cycle" if other else ""
    return season, f"hourly rows, {season} a day (the nights are not in the file), a daily cycle{off}"


def seasonal_autocorrelation(values: np.ndarray, season: int) -> tuple[float, float]:
    """``(r_m, z)``: autocorrelation of the log-differences at lag m and its Bartlett z-score.

        d[s] = log v[s] - log v[s-1],   r_k = sum (d[s] - dbar)(d[s-k] - dbar) / sum (d[s] - dbar)^2
        z = r_m / sqrt((1 + 2 sum_{k<m} r_k^2) / n)

    Differences, not levels: a trend or a random walk makes every lag of the levels correlated.
    """
    d = np.diff(np.log(np.asarray(values, dtype=float)))
    n = len(d)
    if season < 2 or n <= season + 2:
        return math.nan, math.nan
    dc = d - d.mean()
    denom = float(dc @ dc)
    if denom == 0:
        return math.nan, math.nan
    r = np.array([float(dc[k:] @ dc[: n - k]) / denom for k in range(1, season + 1)])  # r_1 .. r_m
    se = math.sqrt((1 + 2 * float(np.sum(r[:-1] ** 2))) / n)
    return float(r[-1]), float(r[-1] / se)


def season_is_confirmed(values: np.ndarray, season: int) -> bool:
    """Is the lag-m autocorrelation of the log-differences significantly positive (1%, one-sided)?"""
    _, z = seasonal_autocorrelation(values, season)
    return bool(z > CONFIRM_Z)


def detect_season(dates: pd.DatetimeIndex, values: np.ndarray) -> tuple[int, str]:
    """The season length from the calendar, kept only if ``values`` confirm it; and why, in words.

    Pass only the values a forecaster may see (up to the first test origin): the choice is part
    of the model and must not look at the test span.
    """
    season, words = calendar_season(dates)
    if season == 1:
        return 1, words
    r, z = seasonal_autocorrelation(values, season)
    if math.isnan(z):
        return 1, f"{words}, but too few values to check a season of {season}: none used"
    if z > CONFIRM_Z:
        return season, f"{words}: season {season} (lag-{season} autocorrelation of the changes {r:.2f}, z = {z:.1f})"
    return 1, f"{words}, but the changes show no cycle at lag {season} (autocorrelation {r:.2f}, z = {z:.1f}): no season used"


# ----------------------------------------------------------------------------------------------
# the classical peers


@dataclass
class PeerForecasts:
    """The classical peers' forecasts on the walk-forward origins, or why they were not run."""

    forecasts: dict[str, np.ndarray] = field(default_factory=dict)  # name -> forecast of p[t + h] at each origin
    seconds: dict[str, float] = field(default_factory=dict)  # name -> wall time of its fits and forecasts
    notes: list[str] = field(default_factory=list)  # how they were run; what failed or was not installed


def classical_forecasts(prices: np.ndarray, origins: np.ndarray, horizon: int, season: int,
                        refit_every: int | None, peers: tuple[str, ...] = PEERS) -> PeerForecasts:
    """AutoETS, AutoARIMA and AutoTheta from ``statsforecast`` on the model's walk-forward schedule.

    Each peer is estimated on ``p[0..o]`` at the first origin o and again every ``refit_every``
    origins (once, when None); at the origins in between it keeps its estimated parameters and is
    only run forward over the data up to that origin (``forward``), as the model keeps its weights
    and reads a new window. A peer that fails is left out with a note; without statsforecast none
    is run and the note says how to install it.
    """
    try:
        import statsforecast.models as sf
    except ImportError:
        return PeerForecasts(notes=[f"classical peers (ETS, ARIMA, Theta) not run: statsforecast is not installed ({INSTALL_PEERS})"])
    prices = np.asarray(prices, dtype=float)
    block = refit_every or len(origins)
    result = PeerForecasts(notes=[f"classical peers: statsforecast, season {season}, estimated at the first origin and every "
                                  f"{block} origins, run forward with those estimates in between"])
    for name in peers:
        start = time.perf_counter()
        out = np.empty(len(origins))
        try:
            with np.errstate(all="ignore"):
                for k, t in enumerate(origins):
                    if k % block == 0:
                        model = getattr(sf, name)(season_length=season).fit(prices[: t + 1])
                        mean = model.predict(horizon)["mean"]
                    else:
                        mean = model.forward(prices[: t + 1], horizon)["mean"]
                    out[k] = mean[horizon - 1]
        except Exception as exc:  # a library failure on one series must not hide the other peers
            result.notes.append(f"{name} failed and is left out: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
            continue
        if not np.all(np.isfinite(out)):
            result.notes.append(f"{name} gave non-finite forecasts and is left out")
            continue
        result.forecasts[name] = out
        result.seconds[name] = time.perf_counter() - start
    return result
