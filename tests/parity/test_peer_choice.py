"""The peer chosen before the test span (``benchmarks/peer_choice.py``): the lowest MAE on hand-built
errors, errors equal to statsforecast's own forecasts on the calibration block, and a pick that no
value of the test span can change, even where the test span favours another peer."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.peer_choice import peer_combination, peer_errors_before_test, peer_picked_before_test
from scratchlstm.forecast import ForecastConfig
from scratchlstm.forecast.automatic import adapt_to_series
from scratchlstm.forecast.baselines import classical_forecasts
from scratchlstm.forecast.intervals import calibration_origins
from scratchlstm.forecast.windows import walk_forward_origins

SEASON = 12


def test_pick_is_the_lowest_mean_absolute_error_by_hand():
    errors = {"AutoETS": np.array([1.0, -1.0, 2.0]),  # MAE 4/3
              "AutoARIMA": np.array([0.5, -0.5, 0.5]),  # MAE 1/2
              "AutoTheta": np.array([0.0, 0.0, 3.0])}  # MAE 1
    assert peer_picked_before_test(errors) == "AutoARIMA"
    # signs cancel in the mean error, not in the MAE: ETS's mean error is 0, Theta's 1/3, yet Theta is chosen
    assert peer_picked_before_test({"AutoETS": np.array([2.0, -2.0]), "AutoTheta": np.array([1.0, -0.5])}) == "AutoTheta"


def test_pick_breaks_a_tie_in_peer_order_and_needs_errors():
    assert peer_picked_before_test({"AutoTheta": np.array([1.0, -1.0]), "AutoARIMA": np.array([-1.0, 1.0])}) == "AutoARIMA"
    assert peer_picked_before_test({}) is None
    assert peer_picked_before_test({"AutoETS": np.empty(0)}) is None


def test_combination_is_the_mean_of_the_three_peers():
    forecasts = {"AutoETS": np.array([1.0, 4.0]), "AutoARIMA": np.array([2.0, 5.0]), "AutoTheta": np.array([6.0, 0.0]),
                 "naive": np.array([100.0, 100.0])}
    assert np.array_equal(peer_combination(forecasts), np.array([3.0, 3.0]))
    assert peer_combination({"AutoETS": np.ones(2), "AutoARIMA": np.ones(2)}) is None


@pytest.fixture(scope="module")
def seasonal():
    """120 monthly values with a trend and a season; the planned settings and the test origins."""
    pytest.importorskip("statsforecast")
    t = np.arange(120)
    prices = 100 + 0.5 * t + 10 * np.sin(2 * np.pi * t / SEASON) + np.random.default_rng(0).normal(0, 1, len(t))
    config, _ = adapt_to_series(ForecastConfig(), len(prices), SEASON)
    origins = walk_forward_origins(len(prices), config)
    return prices, config, origins, peer_errors_before_test(prices, int(origins[0]), config, SEASON)


def test_errors_are_statsforecast_forecasts_on_the_calibration_block(seasonal):
    from statsforecast.models import AutoETS

    prices, config, origins, errors = seasonal
    cal = calibration_origins(int(origins[0]), config, SEASON)
    h = config.horizon
    assert len(cal) > 0 and cal[-1] + h <= origins[0]  # every target known at the first test origin
    assert set(errors) == {"AutoETS", "AutoARIMA", "AutoTheta"} and all(len(e) == len(cal) for e in errors.values())
    first = AutoETS(season_length=SEASON).fit(prices[: cal[0] + 1]).predict(h)["mean"][h - 1]
    assert errors["AutoETS"][0] == pytest.approx(first - prices[cal[0] + h], rel=1e-9, abs=1e-9)


def test_pick_does_not_change_when_the_test_span_favours_another_peer(seasonal):
    prices, config, origins, errors = seasonal
    chosen = peer_picked_before_test(errors)
    flat = prices.copy()
    flat[origins[0] + 1 :] = prices[origins[0]]  # after the first test origin the series stops: no season, no trend
    peers = classical_forecasts(flat, origins, config.horizon, SEASON, config.refit_every).forecasts
    target = flat[origins + config.horizon]
    test_mae = {name: float(np.mean(np.abs(f - target))) for name, f in peers.items()}
    assert min(test_mae, key=test_mae.get) != chosen  # the test span would pick another peer
    errors_flat = peer_errors_before_test(flat, int(origins[0]), config, SEASON)
    assert all(np.array_equal(errors_flat[name], errors[name]) for name in errors)
    assert peer_picked_before_test(errors_flat) == chosen


def test_a_forecast_picks_on_the_block_its_intervals_calibrate_on(seasonal):
    """On a real ``run_forecast`` result: the first test origin is the one its test targets follow, the
    peers' errors are on the calibration block that calibrates their intervals (same forecasts, so
    the same log scores), and the benchmark's ratio to the chosen peer is the two MAEs' quotient."""
    import pandas as pd

    from benchmarks.forecast_panel import versus_chosen_peer
    from benchmarks.peer_choice import first_test_origin
    from scratchlstm.forecast import run_forecast
    from scratchlstm.forecast.intervals import log_scores

    prices, _, origins, errors = seasonal
    series = pd.Series(prices, index=pd.date_range("2000-01-01", periods=len(prices), freq="MS"))
    result = run_forecast(series, ForecastConfig(classical=True, epochs=2), quiet=True)
    assert result.season == SEASON and first_test_origin(result) == origins[0]
    first = first_test_origin(result)
    h = result.config.horizon
    cal = calibration_origins(first, result.config, SEASON)
    for name, e in errors.items():
        actual = prices[cal + h]
        assert np.allclose(log_scores(e + actual, actual), result.intervals.forecasters[name].calibration_scores, rtol=1e-12)
    rel = {k: m["rel_mae"] for k, m in result.metrics.items()}
    rel["global"] = rel["model"]
    row = versus_chosen_peer(result, result, rel)
    chosen = peer_picked_before_test(errors)
    mae = lambda f: np.mean(np.abs(f - result.actual))  # noqa: E731
    assert row["chosen_peer"] == chosen and row["calibration_points"] == len(cal)
    assert row["global_over_chosen"] == pytest.approx(mae(result.forecasts["model"]) / mae(result.forecasts[chosen]), rel=1e-12)
    combination = np.mean([result.forecasts[p] for p in ("AutoETS", "AutoARIMA", "AutoTheta")], axis=0)
    assert row["global_over_mean"] == pytest.approx(mae(result.forecasts["model"]) / mae(combination), rel=1e-12)
