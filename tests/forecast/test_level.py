"""The smoothed level of the adjusted series (``forecast/level.py``): checked against exponential
smoothing written out by hand, its constant against a brute-force search, the untrained LSTM's
forecast against the baseline row that names it, and the training targets against their definition."""

import numpy as np
import pytest

from scratchlstm.forecast import ForecastConfig
from scratchlstm.forecast.automatic import resolved
from scratchlstm.forecast.baselines import baseline_forecasts, smoothed_level_forecast
from scratchlstm.forecast.level import ALPHAS, SmoothedLevel
from scratchlstm.forecast.protocol import fit_at_cutoff, forecast_prices, training_windows
from scratchlstm.forecast.seasonal import SeasonalIndex
from scratchlstm.forecast.windows import Scaler
from scratchlstm.nn.model import Model


def ses_by_hand(x, alpha):
    """Simple exponential smoothing as the textbooks write it: l0 = x0, l_s = alpha x_s + (1 - alpha) l_{s-1}."""
    level = [x[0]]
    for value in x[1:]:
        level.append(alpha * value + (1 - alpha) * level[-1])
    return np.array(level)


def best_alpha_by_hand(x):
    """The grid's alpha with the least sum of squared one-step errors x_s - l_{s-1}, the first on a tie."""
    sse = [sum((x[s] - ses_by_hand(x, a)[s - 1]) ** 2 for s in range(1, len(x))) for a in np.arange(1, 21) / 20]
    return (np.arange(1, 21) / 20)[int(np.argmin(sse))]


def noisy_seasonal(n=120, season=4, noise=0.05, seed=0):
    """A steady level with a quarterly pattern and independent noise: the last value is a noisy level."""
    rng = np.random.default_rng(seed)
    pattern = np.array([0.1, -0.15, 0.2, -0.15])[np.arange(n) % season]
    return np.exp(4.0 + 0.002 * np.arange(n) + pattern + noise * rng.standard_normal(n))


def test_the_levels_and_errors_are_exponential_smoothing_and_its_one_step_errors():
    x = np.log(noisy_seasonal(60))
    for alpha in (0.05, 0.3, 0.85):
        level = SmoothedLevel(alpha)
        np.testing.assert_allclose(level.levels(x), ses_by_hand(x, alpha), rtol=0, atol=1e-13)
        e = level.errors(x)
        assert np.isnan(e[0])
        np.testing.assert_allclose(e[1:], x[1:] - ses_by_hand(x, alpha)[:-1], rtol=0, atol=1e-13)
    # alpha 1: the level is the series itself and the errors are its differences, bit for bit (the log-returns)
    assert np.array_equal(SmoothedLevel(1.0).levels(x), x)
    assert np.array_equal(SmoothedLevel(1.0).errors(x)[1:], np.diff(x))


def test_the_constant_is_the_grid_point_with_the_least_squared_one_step_error():
    assert list(ALPHAS) == [k / 20 for k in range(1, 21)]
    for seed in range(3):
        x = np.log(noisy_seasonal(80, seed=seed))
        assert SmoothedLevel.fit(x).alpha == best_alpha_by_hand(x)
    rng = np.random.default_rng(5)
    walk = np.cumsum(0.05 * rng.standard_normal(200))
    assert SmoothedLevel.fit(walk).alpha >= 0.85  # a random walk: the last value is the best level
    level_and_noise = 0.05 * rng.standard_normal(200)
    assert SmoothedLevel.fit(level_and_noise).alpha <= 0.2  # white noise around a level: smooth hard
    assert SmoothedLevel.fit(np.zeros(10)).alpha == 0.05  # a flat series: every alpha ties, the first wins
    assert SmoothedLevel.fit(np.array([1.0, 2.0])).alpha == 1.0  # too short to choose


def test_the_smoothed_level_baseline_is_the_index_on_the_smoothed_level_by_hand():
    prices = noisy_seasonal(100)
    origins = np.arange(80, 99)
    got = smoothed_level_forecast(prices, origins, horizon=1, season=4)
    for k, t in enumerate(origins):
        S = SeasonalIndex.fit(prices, int(t), 4)
        x = np.log(prices[: t + 1]) - S.index[np.arange(t + 1) % 4]
        alpha = best_alpha_by_hand(x)
        expected = np.exp(ses_by_hand(x, alpha)[-1] + S.index[(t + 1) % 4])
        assert got[k] == pytest.approx(expected, rel=1e-12)
    assert np.array_equal(baseline_forecasts(prices, origins, 8, 1, season=4)["smoothed_level"], got)
    assert "smoothed_level" not in baseline_forecasts(prices, origins, 8, 1, season=1)


@pytest.mark.parametrize("horizon", [1, 3])
def test_the_untrained_lstm_forecasts_the_smoothed_level_to_the_last_bit(horizon):
    prices = noisy_seasonal(120)
    config = ForecastConfig(window=8, test_size=20, season=4, epochs=1, horizon=horizon)
    model = Model.create(config.model_config(1), seed=3)  # the returns head starts at zero
    origins = np.arange(95, 120 - horizon)
    out = forecast_prices(model, Scaler(0.0, 0.02), prices, origins, config, season=4)
    assert np.array_equal(out, smoothed_level_forecast(prices, origins, horizon, season=4))
    assert not np.array_equal(out, baseline_forecasts(prices, origins, 8, horizon, season=4)["adjusted_naive"])
    off = forecast_prices(model, Scaler(0.0, 0.02), prices, origins, config.updated(smooth_level=False), season=4)
    assert np.array_equal(off, baseline_forecasts(prices, origins, 8, horizon, season=4)["adjusted_naive"])


@pytest.mark.parametrize("horizon", [1, 3])
def test_the_targets_sum_to_the_log_change_from_the_smoothed_level(horizon):
    """Y[:, 0] is the level's one-step error, the later steps the log-returns, so that the outputs sum
    to log a[t+h] - l[t], from which the forecast starts; the inputs are the level's one-step errors."""
    prices = noisy_seasonal(120)
    cutoff = 90
    config = resolved(ForecastConfig(window=8, test_size=20, season=4, horizon=horizon), len(prices))
    seasonal, level, scaler, origins, X, Y = training_windows(prices, cutoff, config)
    x = np.log(prices) - seasonal.index[np.arange(len(prices)) % 4]
    assert level.alpha == best_alpha_by_hand(x[: cutoff + 1]) < 1
    smoothed = ses_by_hand(x, level.alpha)
    for k, t in enumerate(origins):
        assert np.sum(Y[k]) * scaler.scale == pytest.approx(x[t + horizon] - smoothed[t], abs=1e-12)
        inputs = x[t - 7 : t + 1] - smoothed[t - 8 : t]  # e[s] = x[s] - l[s-1]
        np.testing.assert_allclose(X[k, :, 0] * scaler.scale, inputs, rtol=0, atol=1e-12)
    assert origins[-1] + horizon <= cutoff


def test_the_level_at_a_cutoff_ignores_everything_after_it():
    prices = noisy_seasonal(120)
    changed = prices.copy()
    changed[91:] *= np.exp(np.random.default_rng(1).normal(0, 0.3, len(prices) - 91))
    config = ForecastConfig(window=8, test_size=20, season=4, epochs=2, hidden_sizes=(3,))
    a, b = fit_at_cutoff(prices, 90, config), fit_at_cutoff(changed, 90, config)
    assert a.level == b.level and a.level.alpha < 1
    assert a.scaler == b.scaler
    for name, value in a.model.named_params().items():
        assert np.array_equal(value, b.model.named_params()[name])


def test_without_smoothing_or_without_a_season_the_fit_starts_from_the_last_value():
    prices = noisy_seasonal(120)
    off = fit_at_cutoff(prices, 90, ForecastConfig(window=8, test_size=20, season=4, epochs=1, smooth_level=False))
    none = fit_at_cutoff(prices, 90, ForecastConfig(window=8, test_size=20, season=1, epochs=1))
    assert off.level.alpha == 1.0 and none.level.alpha == 1.0


def test_a_seasonal_run_says_that_its_forecasts_start_from_the_smoothed_level():
    import pandas as pd

    from scratchlstm.data import PriceSeries
    from scratchlstm.forecast import run_forecast

    prices = noisy_seasonal(120)
    frame = pd.DataFrame({"close": prices}, index=pd.date_range("1990-01-01", periods=120, freq="QS", name="date"))
    series = PriceSeries(frame=frame, price_column="close", source="quarterly", format="synthetic")
    config = ForecastConfig(window=8, test_size=20, season=4, epochs=1, hidden_sizes=(2,), refit_every=10)
    result = run_forecast(series, config, quiet=True)
    alphas = [f.level.alpha for f in result.fits]
    assert len(alphas) == 2 and all(a < 1 for a in alphas)
    [note] = [n for n in result.notes if n.startswith("level:")]
    assert f"smoothing constant {alphas[0]:g}, {alphas[1]:g} at the fits' cutoffs" in note and "--no-smooth-level" in note
    assert not any(n.startswith("level:") for n in run_forecast(series, config.updated(smooth_level=False), quiet=True).notes)
    assert not any(n.startswith("level:") for n in run_forecast(series, config.updated(season=1), quiet=True).notes)


def test_the_price_target_and_the_unadjusted_series_have_no_smoothed_level_to_compare_with():
    """The level is for the returns target on the adjusted series: a price-level model's untrained version is a random
    head, and without the adjustment the untrained LSTM is naive; neither line credits or blames a level."""
    import pandas as pd

    from scratchlstm.data import PriceSeries
    from scratchlstm.forecast import run_forecast

    frame = pd.DataFrame({"close": noisy_seasonal(120)}, index=pd.date_range("1990-01-01", periods=120, freq="QS", name="date"))
    series = PriceSeries(frame=frame, price_column="close", source="quarterly", format="synthetic")
    config = ForecastConfig(window=8, test_size=20, season=4, epochs=1, hidden_sizes=(2,))
    price = run_forecast(series, config.updated(target="price"), quiet=True)
    assert price.untrained_name == "naive" and all(f.level.alpha == 1.0 for f in price.fits)
    assert price.verdict_vs_untrained.startswith("a price-level model's untrained version")
    raw = run_forecast(series, config.updated(deseasonalise=False), quiet=True)
    assert raw.untrained_name == "naive" and "forecasts the last price" in raw.verdict_vs_untrained
    assert "smoothed_level" in raw.forecasts  # the row is still there, as a baseline of its own
