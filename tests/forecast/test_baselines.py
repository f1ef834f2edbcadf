"""Baselines by hand, the season length from the calendar and the data, the seasonal index, and the
classical peers' record when statsforecast is missing."""

import math
import sys

import numpy as np
import pandas as pd
import pytest

from scratchlstm.forecast.baselines import (
    INSTALL_PEERS,
    baseline_forecasts,
    calendar_season,
    classical_forecasts,
    detect_season,
    seasonal_autocorrelation,
    seasonal_naive_forecast,
)
from scratchlstm.forecast.seasonal import SeasonalIndex


def test_baselines_by_hand():
    prices = np.array([10.0, 11.0, 13.0, 12.0, 15.0, 14.0])
    origins = np.array([3, 4])
    b = baseline_forecasts(prices, origins, window=3, horizon=1, season=2)
    assert list(b["naive"]) == [12.0, 15.0]
    assert list(b["drift"]) == pytest.approx([12.0 + (12.0 - 10.0) / 3, 15.0 + (15.0 - 11.0) / 3])
    assert list(b["window_mean"]) == pytest.approx([12.0, 40.0 / 3])
    assert list(b["seasonal_naive"]) == [13.0, 12.0]  # p[t + 1 - 2]: one season before the target


def test_seasonal_naive_by_hand_for_horizons_longer_than_a_season():
    prices = np.arange(20.0)
    # h = 5, m = 4: the target t + 5 is seen 8 steps earlier, at t - 3
    assert list(seasonal_naive_forecast(prices, np.array([10, 11]), horizon=5, season=4)) == [7.0, 8.0]
    # m = 1 is the naive forecast, whatever the horizon
    assert list(seasonal_naive_forecast(prices, np.array([10]), horizon=3, season=1)) == [10.0]
    with pytest.raises(ValueError, match="origins >= 3"):
        seasonal_naive_forecast(prices, np.array([2]), horizon=1, season=4)


TRADING_HOURS = pd.DatetimeIndex([day + pd.Timedelta(hours=9.5 + k) for day in pd.bdate_range("2024-01-02", periods=30)
                                  for k in range(7)])


@pytest.mark.parametrize(
    "dates, season",
    [
        (pd.date_range("2000-01-01", periods=40, freq="MS"), 12),
        (pd.date_range("2000-01-31", periods=40, freq="ME"), 12),
        (pd.date_range("2000-01-01", periods=40, freq="QS"), 4),
        (pd.date_range("2000-01-03", periods=40, freq="W-MON"), 52),
        (pd.date_range("2000-01-01", periods=40, freq="D"), 7),
        (pd.bdate_range("2000-01-03", periods=40), 5),
        (pd.date_range("2000-01-01", periods=40, freq="h"), 24),
        (pd.date_range("2000-01-01 05:00", periods=100, freq="h"), 24),  # cut first and last days
        (TRADING_HOURS, 7),  # 9:30 to 15:30 on business days: seven rows a day, not 24
        (pd.date_range("2000-01-01", periods=40, freq="YS"), 1),
    ],
)
def test_calendar_season_from_the_spacing_of_the_rows(dates, season):
    assert calendar_season(dates)[0] == season


def test_a_daily_profile_in_trading_hours_is_found_at_the_bars_of_a_day():
    """Hourly bars without the nights: the daily cycle is 7 rows, and lag 24 (3 days and 3 hours) missed it."""
    rng = np.random.default_rng(4)
    profile = np.tile([0.006, -0.003, -0.002, 0.0, 0.001, 0.002, -0.004], 30)  # the same move at each hour of each day
    values = 100 * np.exp(np.cumsum(profile + 0.002 * rng.standard_normal(len(profile))))
    season, why = detect_season(TRADING_HOURS, values)
    assert season == 7 and "7 a day (the nights are not in the file)" in why and "another count" not in why
    half_day = TRADING_HOURS[~((TRADING_HOURS.day == 5) & (TRADING_HOURS.month == 1) & (TRADING_HOURS.hour >= 13))]
    season, why = calendar_season(half_day)  # 2024-01-05 closes at 12:30: four rows, said
    assert season == 7 and "4% of the days have another count" in why


def test_seasonal_autocorrelation_against_a_direct_computation():
    rng = np.random.default_rng(0)
    values = np.exp(np.cumsum(0.01 * rng.standard_normal(60)) + 0.05 * np.sin(np.arange(60) * 2 * np.pi / 4))
    d = np.diff(np.log(values))
    dc = d - d.mean()
    r = [np.sum(dc[k:] * dc[:-k]) / np.sum(dc**2) for k in (1, 2, 3, 4)]
    r4, z = seasonal_autocorrelation(values, 4)
    assert r4 == pytest.approx(r[3])
    assert z == pytest.approx(r[3] / math.sqrt((1 + 2 * (r[0] ** 2 + r[1] ** 2 + r[2] ** 2)) / len(d)))


def test_seasonal_autocorrelation_agrees_with_statsmodels():
    stattools = pytest.importorskip("statsmodels.tsa.stattools")
    values = np.exp(np.sin(np.arange(80) * 2 * np.pi / 12) + 0.1 * np.random.default_rng(1).standard_normal(80))
    expected = stattools.acf(np.diff(np.log(values)), nlags=12, fft=False)[12]
    assert seasonal_autocorrelation(values, 12)[0] == pytest.approx(expected)


def test_detect_season_keeps_a_real_cycle_and_refuses_a_random_walk():
    dates = pd.date_range("2000-01-01", periods=120, freq="MS")
    rng = np.random.default_rng(2)
    seasonal = 100 * np.exp(0.2 * np.sin(np.arange(120) * 2 * np.pi / 12) + 0.02 * rng.standard_normal(120))
    season, why = detect_season(dates, seasonal)
    assert season == 12 and "monthly" in why
    walk = 100 * np.exp(np.cumsum(0.02 * rng.standard_normal(120)))
    season, why = detect_season(dates, walk)
    assert season == 1 and "no cycle at lag 12" in why


def test_detect_season_refuses_on_random_walks_about_one_time_in_a_hundred():
    """The 1% one-sided test: on 300 daily random walks, far fewer than 5% are called weekly."""
    dates = pd.date_range("2000-01-01", periods=500, freq="D")
    rng = np.random.default_rng(3)
    called = sum(detect_season(dates, np.exp(np.cumsum(0.01 * rng.standard_normal(500))))[0] != 1 for _ in range(300))
    assert called <= 9, called


def test_seasonal_index_recovers_a_known_multiplicative_season():
    """log p = linear trend + S[s mod 4] exactly: the centred 2x4 average removes S and keeps the
    trend, so the index comes back exactly (centred to sum 0)."""
    S = np.array([0.1, -0.2, 0.3, -0.2])
    s = np.arange(40)
    prices = np.exp(2.0 + 0.01 * s + S[s % 4])
    index = SeasonalIndex.fit(prices, cutoff=35, season=4)
    np.testing.assert_allclose(index.index, S, atol=1e-12)
    np.testing.assert_allclose(index.remove(prices), np.exp(2.0 + 0.01 * s), rtol=1e-12)
    odd = np.array([0.1, -0.3, 0.2])
    np.testing.assert_allclose(SeasonalIndex.fit(np.exp(1 + 0.02 * s + odd[s % 3]), 39, 3).index, odd, atol=1e-12)


def test_seasonal_index_uses_only_values_up_to_the_cutoff():
    s = np.arange(60)
    prices = np.exp(0.2 * np.sin(s * 2 * np.pi / 12) + 0.01 * np.random.default_rng(4).standard_normal(60))
    changed = prices.copy()
    changed[41:] *= 3.0
    np.testing.assert_array_equal(SeasonalIndex.fit(prices, 40, 12).index, SeasonalIndex.fit(changed, 40, 12).index)


def test_seasonal_index_needs_three_seasons():
    index = SeasonalIndex.fit(np.linspace(1, 2, 30), cutoff=29, season=12)
    assert index.season == 1 and np.array_equal(index.remove(np.ones(5)), np.ones(5))


def test_classical_peers_without_statsforecast_say_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "statsforecast", None)
    monkeypatch.setitem(sys.modules, "statsforecast.models", None)
    result = classical_forecasts(np.linspace(1, 2, 50), np.arange(40, 49), 1, 1, None)
    assert result.forecasts == {} and INSTALL_PEERS in result.notes[0] and "not run" in result.notes[0]


def test_adjusted_naive_by_hand_is_the_seasonal_index_on_the_last_value():
    """Twelve quarterly values (three seasons, the fewest the index needs): the 2 x 4 centred moving
    average of log p, each quarter's mean of log p minus it, centred to sum 0; the forecast of
    p[t + 1] is p[t] exp(S[t + 1 mod 4] - S[t mod 4]). Written out step by step, apart from the code."""
    from scratchlstm.forecast.baselines import adjusted_naive_forecast

    prices = np.array([10.0, 14.0, 9.0, 12.0, 11.0, 15.5, 9.5, 13.0, 12.0, 16.0, 10.5, 14.5, 13.0])
    t = 11  # the origin: p[0..11] are known
    x = [math.log(v) for v in prices[: t + 1]]
    detrended = {}
    for s in range(2, t - 1):  # the 2 x 4 average needs x[s-2] .. x[s+2]
        trend = (0.5 * x[s - 2] + x[s - 1] + x[s] + x[s + 1] + 0.5 * x[s + 2]) / 4
        detrended.setdefault(s % 4, []).append(x[s] - trend)
    raw = [sum(detrended[j]) / len(detrended[j]) for j in range(4)]
    S = [v - sum(raw) / 4 for v in raw]
    expected = prices[t] * math.exp(S[(t + 1) % 4] - S[t % 4])
    got = adjusted_naive_forecast(prices, np.array([t]), horizon=1, season=4)
    assert got[0] == pytest.approx(expected, rel=1e-12)
    assert got[0] != pytest.approx(prices[t])  # a real move, not naive
    assert "adjusted_naive" not in baseline_forecasts(prices, np.array([t]), window=4, horizon=1, season=1)
    with_season = baseline_forecasts(prices, np.array([t]), window=4, horizon=1, season=4)
    assert list(with_season)[:2] == ["naive", "adjusted_naive"] and with_season["adjusted_naive"][0] == got[0]


def test_a_season_given_by_hand_is_used_and_checked_in_words():
    """--season 12 on business-day random walks was used with the words "season 12 (given)" alone."""
    from scratchlstm.forecast import ForecastConfig
    from scratchlstm.forecast.automatic import choose_season

    days = pd.bdate_range("2015-01-01", periods=700)
    walk = 100 * np.exp(np.cumsum(0.01 * np.random.default_rng(5).standard_normal(700)))
    season, words = choose_season(ForecastConfig(season=12), days, walk)
    assert season == 12 and words.startswith("season 12 (given); the changes before the test span show no cycle at lag 12")
    cycle = 100 * np.exp(np.cumsum(np.tile([0.02, -0.01, 0.0, -0.015, 0.005], 140) + 0.002 * np.random.default_rng(6).standard_normal(700)))
    assert choose_season(ForecastConfig(season=5), days, cycle) == (5, "season 5 (given)")  # confirmed: nothing to add
