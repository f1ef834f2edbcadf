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
